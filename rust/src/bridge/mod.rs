//! The Python bridge: `SymbolCore` (one symbol's learner), `step_batch` (the runtime's hot
//! path) and the module's registration. Nothing here decides anything: it reads Python's
//! values, calls the pure core and hands its outputs back.

pub mod config;
pub mod rows;
#[cfg(feature = "testing")]
mod testing;

use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::batch::Batch;
use crate::cadence::{checkpoint_due, Cadence};
use crate::codec;
use crate::config::Config;
use crate::contract::{self, Status, AUC_BINS, DIGEST, STATE_FORMAT};
use crate::features::{self, TickFields};
use crate::learner::{Externals, NoExternals, Outputs, Progress, State};
use crate::metrics;
use config::Spec;
use rows::{summary_dict, CoreDrift, CoreForecast, CoreMetrics, CoreOutcome, Stepped};

/// Calls the Python object that holds a symbol's opt-in models and detectors; the first
/// error is kept and raised once the step is over.
struct PyExternals<'py> {
    obj: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

impl PyExternals<'_> {
    fn keep<T: Default>(&mut self, result: PyResult<T>) -> T {
        result.unwrap_or_else(|err| {
            self.error.get_or_insert(err);
            T::default()
        })
    }
}

impl Externals for PyExternals<'_> {
    fn predict(&mut self, model: usize, z: &[f64]) -> (f64, f64) {
        let result = self.obj.call_method1("predict", (model, z.to_vec())).and_then(|r| r.extract());
        self.keep(result)
    }
    fn learn(&mut self, model: usize, z: &[f64], u: f64) {
        let result = self.obj.call_method1("learn", (model, z.to_vec(), u)).map(|_| ());
        self.keep(result)
    }
    fn reset(&mut self, model: usize) {
        let result = self.obj.call_method1("reset", (model,)).map(|_| ());
        self.keep(result)
    }
    fn detect(&mut self, forecaster: usize, score: f64) -> Option<f64> {
        let result = self.obj.call_method1("detect", (forecaster, score)).and_then(|r| r.extract());
        self.keep(result)
    }
}

pub fn tick_fields(tick: &Bound<'_, PyAny>) -> PyResult<TickFields> {
    let py = tick.py();
    Ok(TickFields {
        ts: tick.getattr(pyo3::intern!(py, "ts"))?.extract()?,
        seq: tick.getattr(pyo3::intern!(py, "seq"))?.extract()?,
        price: tick.getattr(pyo3::intern!(py, "price"))?.extract()?,
        volume: tick.getattr(pyo3::intern!(py, "volume"))?.extract()?,
        high: tick.getattr(pyo3::intern!(py, "high"))?.extract()?,
        low: tick.getattr(pyo3::intern!(py, "low"))?.extract()?,
    })
}

/// One symbol's learner: features, models, calibrators, metrics, drift, pending forecasts.
#[pyclass(module = "tickcast._core")]
pub struct SymbolCore {
    pub cfg: Arc<Config>,
    pub state: State,
    #[pyo3(get)]
    externals: Option<PyObject>,
}

impl SymbolCore {
    fn run(&mut self, py: Python<'_>, tick: &TickFields, out: &mut Outputs) -> PyResult<Status> {
        match &self.externals {
            None => Ok(self.state.step(&self.cfg, tick, &mut NoExternals, out)),
            Some(obj) => {
                let mut ext = PyExternals { obj: obj.bind(py).clone(), error: None };
                let status = self.state.step(&self.cfg, tick, &mut ext, out);
                match ext.error {
                    Some(err) => Err(err),
                    None => Ok(status),
                }
            }
        }
    }
}

#[pymethods]
impl SymbolCore {
    #[new]
    #[pyo3(signature = (spec, externals=None, seed=0))]
    fn new(spec: &Spec, externals: Option<PyObject>, seed: u64) -> Self {
        let mut state = State::new(&spec.cfg);
        state.seed_dropout(seed);
        SymbolCore { cfg: spec.cfg.clone(), state, externals }
    }

    /// Step one tick; what it wrote comes back as typed rows, by forecaster index.
    fn step(&mut self, py: Python<'_>, tick: &Bound<'_, PyAny>) -> PyResult<Stepped> {
        let fields = tick_fields(tick)?;
        let symbol: pyo3::pybacked::PyBackedStr = tick.getattr(pyo3::intern!(py, "symbol"))?.extract()?;
        let mut out = Outputs::default();
        let status = self.run(py, &fields, &mut out)?;
        let cfg = &self.cfg;
        Ok(Stepped {
            status: status as u8,
            forecasts: out.forecasts.iter()
                .map(|f| Py::new(py, CoreForecast::of(&symbol, f, cfg.based_on(f.forecaster, f.selected))))
                .collect::<PyResult<_>>()?,
            outcomes: out.outcomes.iter()
                .map(|o| Py::new(py, CoreOutcome::of(&symbol, o)))
                .collect::<PyResult<_>>()?,
            metrics: out.metrics.iter()
                .map(|m| Py::new(py, CoreMetrics::of(py, &symbol, m, cfg.based_on(m.forecaster, m.selected))?))
                .collect::<PyResult<_>>()?,
            drift: out.drift.iter()
                .map(|d| Py::new(py, CoreDrift::of(&symbol, d)))
                .collect::<PyResult<_>>()?,
        })
    }

    /// How far the stream has got (counts and the last tick's identity).
    #[getter]
    fn progress(&self) -> Progress {
        self.state.progress
    }
    /// The index of the model whose forecast is served.
    #[getter]
    fn selected(&self) -> usize {
        self.state.selected
    }
    /// The runner-up of the online selection.
    #[getter]
    fn runner_up(&self) -> usize {
        self.state.runner_up()
    }
    #[getter]
    fn shrink(&self) -> f64 {
        self.state.shrink
    }
    #[getter]
    fn checkpointed(&self) -> Option<(u64, i64)> {
        self.state.checkpointed
    }
    #[setter]
    fn set_checkpointed(&mut self, value: Option<(u64, i64)>) {
        self.state.checkpointed = value;
    }
    /// Per model: (its base learning rate, the label its boost ends at), or None.
    #[getter]
    fn boosted(&self) -> Vec<Option<(f64, u64)>> {
        self.state.models().iter().map(|f| f.boosted).collect()
    }
    /// Per model: each layer's average gradient norm, the output layer last (networks only).
    #[getter]
    fn gradient_norms(&self) -> Vec<Option<Vec<f64>>> {
        self.state.gradient_norms()
    }
    /// The current learning rate of each model that has one (None for the others).
    #[getter]
    fn learning_rates(&self) -> Vec<Option<f64>> {
        self.state.models().iter().map(|f| f.model().optimizer().map(|o| o.lr)).collect()
    }
    /// The intervals' current half-widths in volatility units, per forecaster.
    #[getter]
    fn interval_quantiles(&self) -> Vec<f64> {
        self.state.forecasters.iter().map(|f| f.interval.quantile()).collect()
    }

    /// Inputs each forecaster fits (adjusted R2's penalty).
    fn inputs(&self) -> Vec<usize> {
        self.state.inputs(&self.cfg)
    }

    /// Every forecaster's summary of one window ("rolling" or "cumulative").
    fn summaries<'py>(&self, py: Python<'py>, window: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let inputs = self.state.inputs(&self.cfg);
        self.state
            .forecasters
            .iter()
            .zip(inputs)
            .enumerate()
            .map(|(i, (f, n))| {
                let m = &f.metrics;
                let sums = if window == "rolling" { &m.rolling } else { &m.cumulative };
                summary_dict(py, &self.state.summary(&self.cfg, i, sums, n))
            })
            .collect()
    }

    /// (advantage, shrinkage) of the served forecast over the rolling window.
    fn served_evidence(&self) -> (f64, f64) {
        self.state.served_evidence()
    }

    /// The state's payload bytes (the header is Python's).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new_bound(py, &codec::encode(&self.state))
    }

    /// A state decoded from `encode`'s bytes, to run under `spec`; ValueError with the reason
    /// if the bytes do not fit it.
    #[staticmethod]
    #[pyo3(signature = (spec, payload, externals=None))]
    fn decode(spec: &Spec, payload: &[u8], externals: Option<PyObject>) -> PyResult<Self> {
        let state = codec::decode(payload, &spec.cfg).map_err(PyValueError::new_err)?;
        Ok(SymbolCore { cfg: spec.cfg.clone(), state, externals })
    }

    /// Serve what `chosen` learned (scaler, models, calibration, the served model's choice, a
    /// boost still running), keeping this state's data state and event-time position.
    fn adopt_learned(&mut self, py: Python<'_>, chosen: &SymbolCore) -> PyResult<()> {
        if !Arc::ptr_eq(&self.cfg, &chosen.cfg) && format!("{:?}", self.cfg) != format!("{:?}", chosen.cfg) {
            return Err(PyValueError::new_err("learned under another core configuration"));
        }
        self.state.adopt_learned(&chosen.state);
        self.externals = chosen.externals.as_ref().map(|e| e.clone_ref(py));
        Ok(())
    }
}

/// Step `ticks[i]` on `states[i]` from `start`, appending the outputs of the ok ones to
/// `batch`, and stop after a tick that makes its state's checkpoint due (the policy's
/// `every_labels`, `every_ms` and `min_gap_ms`, 0 for off): the caller takes the checkpoint
/// there, so the cadence is the same whatever the batch. Returns the statuses of the ticks
/// stepped (the contract's `status`, by number) as bytes, and whether it stopped for a
/// checkpoint (of the last tick's state). Whether one is due is decided here only.
///
/// The ticks' fields are read a chunk at a time, holding the GIL; the stepping of each chunk
/// runs without it (unless a River model is configured: those run in Python), so a writer
/// thread of the same process (ClickHouse's, Kafka's) is not held back by the core. A tick
/// that cannot be read fails the call after the chunks before it were stepped (the pipeline
/// hands over parsed `Tick`s only).
#[pyfunction]
#[pyo3(signature = (states, ticks, batch, start=0, every_labels=0, every_ms=0, min_gap_ms=0))]
#[allow(clippy::too_many_arguments)]
fn step_batch<'py>(
    py: Python<'py>, states: &Bound<'py, PyList>, ticks: &Bound<'py, PyList>, batch: &mut Batch,
    start: usize, every_labels: u64, every_ms: i64, min_gap_ms: i64,
) -> PyResult<(Bound<'py, PyBytes>, bool)> {
    if states.len() != ticks.len() {
        return Err(PyValueError::new_err("one state per tick"));
    }
    let symbol_attr = pyo3::intern!(py, "symbol");
    let open_attr = pyo3::intern!(py, "open");
    let close_attr = pyo3::intern!(py, "close");
    let mut cores: Vec<PyRefMut<'py, SymbolCore>> = Vec::new();
    let mut slots: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let checkpoints = (every_labels, every_ms, min_gap_ms);
    let mut statuses: Vec<u8> = Vec::with_capacity(ticks.len().saturating_sub(start));
    let mut stopped = false;
    let (mut from, mut chunk) = (start, FIRST_CHUNK);
    // A chunk's fields are read, then stepped: a stop for a checkpoint wastes at most one
    // chunk's reading (the caller comes back from the tick after it), not the batch's.
    while from < ticks.len() && !stopped {
        let to = (from + chunk).min(ticks.len());
        chunk *= 2;
        let mut work: Vec<Work> = Vec::with_capacity(to - from);
        for i in from..to {
            let (state, tick) = (states.get_item(i)?, ticks.get_item(i)?);
            let core = match slots.get(&(state.as_ptr() as usize)) {
                Some(&k) => k,
                None => {
                    cores.push(state.extract()?);
                    slots.insert(state.as_ptr() as usize, cores.len() - 1);
                    cores.len() - 1
                }
            };
            let symbol: pyo3::pybacked::PyBackedStr = tick.getattr(symbol_attr)?.extract()?;
            work.push(Work {
                core,
                fields: tick_fields(&tick)?,
                symbol: batch.symbol_index(&symbol),
                open: tick.getattr(open_attr)?.extract()?,
                close: tick.getattr(close_attr)?.extract()?,
            });
        }
        let externals = cores.iter().any(|core| core.externals.is_some());
        let mut refs: Vec<&mut SymbolCore> = cores.iter_mut().map(|core| &mut **core).collect();
        let (done, stop) = if externals {
            step_all(&mut refs, &work, batch, checkpoints, |core, tick, out| core.run(py, tick, out))?
        } else {
            py.allow_threads(|| {
                step_all(&mut refs, &work, batch, checkpoints, |core, tick, out| {
                    Ok(core.state.step(&core.cfg, tick, &mut NoExternals, out))
                })
            })?
        };
        statuses.extend_from_slice(&done);
        stopped = stop;
        from = to;
    }
    Ok((PyBytes::new_bound(py, &statuses), stopped))
}

/// The ticks `step_batch` reads and steps first; each next chunk is twice the last, so a
/// stop for a checkpoint wastes little reading and a long batch takes the GIL back few times.
const FIRST_CHUNK: usize = 256;

/// One tick of a batch, read from Python: its core (an index into the batch's cores), its
/// fields and its symbol's index in the batch.
struct Work {
    core: usize,
    fields: TickFields,
    symbol: u32,
    open: Option<f64>,
    close: Option<f64>,
}

fn step_all(
    cores: &mut [&mut SymbolCore], work: &[Work], batch: &mut Batch, cadence: Cadence,
    mut step: impl FnMut(&mut SymbolCore, &TickFields, &mut Outputs) -> PyResult<Status>,
) -> PyResult<(Vec<u8>, bool)> {
    let mut statuses = Vec::with_capacity(work.len());
    let mut out = Outputs::default();
    let checkpoints = cadence.0 > 0 || cadence.1 > 0;
    for item in work {
        let core = &mut *cores[item.core];
        out.forecasts.clear();
        out.outcomes.clear();
        out.metrics.clear();
        out.drift.clear();
        let status = step(core, &item.fields, &mut out)?;
        statuses.push(status as u8);
        if status == Status::Ok {
            let cfg = core.cfg.clone();
            batch.add(&cfg, item.symbol, &item.fields, item.open, item.close, &mut out);
            if checkpoints && checkpoint_due(&core.state, cadence) {
                return Ok((statuses, true));
            }
        }
    }
    Ok((statuses, false))
}

/// Pooled cumulative summaries over symbols, per forecaster (the backtest's figures).
#[pyfunction]
fn pooled<'py>(py: Python<'py>, states: Vec<PyRef<'py, SymbolCore>>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let first = states.first().ok_or_else(|| PyRuntimeError::new_err("no states to pool"))?;
    let n = first.state.forecasters.len();
    let mut inputs = vec![0usize; n];
    let mut sums: Vec<metrics::Sums> = (0..n).map(|_| metrics::Sums::new()).collect();
    for core in &states {
        for (i, count) in core.state.inputs(&core.cfg).into_iter().enumerate() {
            inputs[i] = inputs[i].max(count);
            sums[i].merge(&core.state.forecasters[i].metrics.cumulative);
        }
    }
    sums.iter().zip(inputs).map(|(s, n)| summary_dict(py, &s.summary(n))).collect()
}

/// The features' names for the given windows, in vector order.
#[pyfunction]
fn feature_names(windows: Vec<usize>) -> Vec<String> {
    features::names(&windows)
}

/// The contract as this build holds it: each enum's values by name, the metrics and the
/// message's fields (tests compare it with Python's side, generated from the same file).
#[pyfunction]
#[pyo3(name = "contract")]
fn contract_view(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new_bound(py);
    for (name, values) in contract::enums() {
        d.set_item(name, values)?;
    }
    d.set_item("metric_names", contract::METRIC_NAMES.to_vec())?;
    d.set_item("shared_fields", contract::SHARED_FIELDS.to_vec())?;
    d.set_item("per_model_fields", contract::PER_MODEL_FIELDS.to_vec())?;
    d.set_item("state_format", STATE_FORMAT)?;
    d.set_item("served", contract::SERVED)?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CONTRACT", DIGEST)?;
    m.add("STATE_FORMAT", STATE_FORMAT)?;
    m.add("AUC_BINS", AUC_BINS)?;
    m.add_class::<Spec>()?;
    m.add_class::<SymbolCore>()?;
    m.add_class::<Batch>()?;
    m.add_class::<Progress>()?;
    m.add_class::<Stepped>()?;
    m.add_class::<CoreForecast>()?;
    m.add_class::<CoreOutcome>()?;
    m.add_class::<CoreMetrics>()?;
    m.add_class::<CoreDrift>()?;
    m.add_function(wrap_pyfunction!(step_batch, m)?)?;
    m.add_function(wrap_pyfunction!(pooled, m)?)?;
    m.add_function(wrap_pyfunction!(feature_names, m)?)?;
    m.add_function(wrap_pyfunction!(contract_view, m)?)?;
    #[cfg(feature = "testing")]
    testing::register(m)?;
    Ok(())
}
