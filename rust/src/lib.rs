//! tickcast's forecasting core, for Python: `tickcast._core`.
//!
//! `Spec` is a resolved core configuration; `SymbolCore` one symbol's learner. Two ways to
//! step it: `SymbolCore.step` (one tick, its outputs as plain tuples: tests, reports) and
//! `step_batch` (many ticks of many symbols, outputs appended to a `Batch` as columns and as
//! the `forecasts` topic's messages: the runtime's hot path, which builds no Python object per
//! tick). Both run the same `learner::State::step`.

mod codec;
mod config;
mod drift;
mod features;
mod intervals;
mod learner;
mod metrics;
mod models;
mod network;
mod stats;

use std::fmt::Write;
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use config::{Config, Detector, DriftConfig, MlpSpec, ModelConfig, ModelKind, OptimizerSpec, Reaction};
use network::{Activation, Head};
use features::TickFields;
use learner::{Externals, NoExternals, Outputs, Progress, State, Status};
use metrics::METRIC_NAMES;
use models::Loss;

fn get<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match d.get_item(key)? {
        Some(value) => value.extract(),
        None => Err(PyValueError::new_err(format!("the core configuration lacks {key:?}"))),
    }
}

fn optimizer_spec(d: &Bound<'_, PyDict>) -> PyResult<OptimizerSpec> {
    let name: String = get(d, "optimizer")?;
    let lr: f64 = get(d, "lr")?;
    Ok(match name.as_str() {
        "sgd" => OptimizerSpec::Sgd { lr },
        "momentum" => OptimizerSpec::Momentum { lr, rho: get(d, "rho")? },
        "adagrad" => OptimizerSpec::AdaGrad { lr, eps: get(d, "eps")? },
        "adam" => OptimizerSpec::Adam {
            lr, beta1: get(d, "beta1")?, beta2: get(d, "beta2")?, eps: get(d, "eps")?,
        },
        other => return Err(PyValueError::new_err(format!("unknown optimizer {other:?}"))),
    })
}

fn loss(d: &Bound<'_, PyDict>) -> PyResult<Loss> {
    Ok(match get::<String>(d, "loss")?.as_str() {
        "squared" => Loss::Squared,
        "absolute" => Loss::Absolute,
        "huber" => Loss::Huber,
        other => return Err(PyValueError::new_err(format!("unknown loss {other:?}"))),
    })
}

fn activation(name: &str) -> PyResult<Activation> {
    Ok(match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "elu" => Activation::Elu,
        other => return Err(PyValueError::new_err(format!("unknown activation {other:?}"))),
    })
}

fn model_config(d: &Bound<'_, PyDict>) -> PyResult<ModelConfig> {
    let kind: String = get(d, "kind")?;
    let kind = match kind.as_str() {
        "random_walk" => ModelKind::RandomWalk,
        "mean" => ModelKind::Mean,
        "linear" => ModelKind::Linear {
            loss: loss(d)?,
            optimizer: optimizer_spec(d)?,
            l1: get(d, "l1")?,
            l2: get(d, "l2")?,
            huber_delta: get(d, "huber_delta")?,
            clip: get(d, "clip")?,
        },
        "direction" => ModelKind::Direction {
            optimizer: optimizer_spec(d)?, l1: get(d, "l1")?, l2: get(d, "l2")?,
        },
        "mlp" => ModelKind::Mlp(MlpSpec {
            hidden: get(d, "hidden")?,
            activations: get::<Vec<String>>(d, "activations")?
                .iter()
                .map(|a| activation(a))
                .collect::<PyResult<_>>()?,
            head: match get::<String>(d, "target")?.as_str() {
                "return" => Head::Return { loss: loss(d)?, huber_delta: get(d, "huber_delta")? },
                "direction" => Head::Direction,
                other => return Err(PyValueError::new_err(format!("unknown target {other:?}"))),
            },
            dropout: get(d, "dropout")?,
            l1: get(d, "l1")?,
            l2: get(d, "l2")?,
            clip: get(d, "clip")?,
            optimizer: optimizer_spec(d)?,
        }),
        "external" => ModelKind::External { n_inputs: get(d, "n_inputs")? },
        other => return Err(PyValueError::new_err(format!("unknown model kind {other:?}"))),
    };
    Ok(ModelConfig { name: get(d, "name")?, fingerprint: get(d, "fingerprint")?, kind })
}

/// A resolved core configuration (see `CoreConfig.resolved()` in Python).
#[pyclass(frozen, module = "tickcast._core")]
struct Spec {
    cfg: Arc<Config>,
    /// The feature vector's width.
    #[pyo3(get)]
    width: usize,
    /// Whether a symbol needs Python-side models or detectors (River's).
    #[pyo3(get)]
    has_externals: bool,
}

#[pymethods]
impl Spec {
    #[new]
    fn new(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        let drift: Bound<'_, PyDict> = get(d, "drift")?;
        let models: Vec<Bound<'_, PyDict>> = get(d, "models")?;
        let windows: Vec<usize> = get(d, "windows")?;
        let feature_names: Vec<String> = get(d, "feature_names")?;
        let metrics_window: usize = get(d, "metrics_window")?;
        let level: f64 = get(d, "level")?;
        let cfg = Config {
            horizon: get(d, "horizon")?,
            level,
            alpha: 1.0 - level,
            prior: get(d, "prior")?,
            interval_step: get(d, "interval_step")?,
            width: features::width(&windows),
            volatility: get(d, "volatility")?,
            windows,
            checked: get(d, "checked")?,
            feature_names,
            decay: 1.0 - 1.0 / metrics_window as f64,
            block: (metrics_window as u64 / 10).max(1),
            select_t: get(d, "select_t")?,
            select_hysteresis: get(d, "select_hysteresis")?,
            min_outcomes: get(d, "min_outcomes")?,
            metrics_every: get(d, "metrics_every")?,
            warmup: get(d, "warmup")?,
            models: models.iter().map(model_config).collect::<PyResult<_>>()?,
            drift: DriftConfig {
                reaction: match get::<String>(&drift, "reaction")?.as_str() {
                    "log" => Reaction::Log,
                    "reset" => Reaction::Reset,
                    "boost_lr" => Reaction::BoostLr,
                    other => return Err(PyValueError::new_err(format!("unknown reaction {other:?}"))),
                },
                detector: match get::<String>(&drift, "detector")?.as_str() {
                    "page_hinkley" => Detector::PageHinkley,
                    "adwin" => Detector::Adwin,
                    other => return Err(PyValueError::new_err(format!("unknown detector {other:?}"))),
                },
                ph_delta: get(&drift, "ph_delta")?,
                ph_threshold: get(&drift, "ph_threshold")?,
                ph_min_n: get(&drift, "ph_min_n")?,
                adwin_delta: get(&drift, "adwin_delta")?,
                window: get(&drift, "window")?,
                psi: get(&drift, "psi")?,
                ks_p: get(&drift, "ks_p")?,
                bias_t: get(&drift, "bias_t")?,
                sample: get(&drift, "sample")?,
                boost: get(&drift, "boost")?,
                boost_labels: get(&drift, "boost_labels")?,
            },
        };
        if cfg.width != cfg.feature_names.len() {
            return Err(PyValueError::new_err("feature names do not match the windows"));
        }
        Ok(Spec { width: cfg.width, has_externals: cfg.has_externals(), cfg: Arc::new(cfg) })
    }
}

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

fn tick_fields(tick: &Bound<'_, PyAny>) -> PyResult<TickFields> {
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
struct SymbolCore {
    cfg: Arc<Config>,
    state: State,
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

fn prices(price: f64, p: &learner::Prediction) -> (f64, f64, f64) {
    (price * p.y_hat.exp(), price * p.lower.exp(), price * p.upper.exp())
}

fn summary_dict<'py>(py: Python<'py>, values: &[(&'static str, f64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new_bound(py);
    for (key, value) in values {
        if *key == "n" {
            d.set_item(key, *value as u64)?;
        } else {
            d.set_item(key, *value)?;
        }
    }
    Ok(d)
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

    /// Step one tick; returns (status, forecasts, outcomes, metric rows, drift events) as
    /// tuples: status 0 ok, 1 duplicate, 2 late; forecast (ts, seq, forecaster, selected,
    /// price, predicted_return, predicted_price, lower, upper, p_up); outcome (ts, seq,
    /// label_ts, forecaster, predicted_return, realised_return, lower_return, upper_return,
    /// inside, p_up); metric row (ts, forecaster, rolling, selected, {metric: value}); drift
    /// (ts, forecaster or None, detector, kind, feature, value, threshold, reaction).
    fn step<'py>(&mut self, py: Python<'py>, tick: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let fields = tick_fields(tick)?;
        let mut out = Outputs::default();
        let status = self.run(py, &fields, &mut out)?;
        let forecasts = PyList::empty_bound(py);
        for f in &out.forecasts {
            let (predicted, lower, upper) = prices(f.price, &f.prediction);
            forecasts.append((f.ts, f.seq, f.forecaster, f.selected, f.price, f.prediction.y_hat,
                              predicted, lower, upper, f.prediction.p_up))?;
        }
        let outcomes = PyList::empty_bound(py);
        for o in &out.outcomes {
            let p = &o.prediction;
            let inside = p.lower <= o.realised && o.realised <= p.upper;
            outcomes.append((o.ts, o.seq, o.label_ts, o.forecaster, p.y_hat, o.realised, p.lower,
                             p.upper, inside, p.p_up))?;
        }
        let metric_rows = PyList::empty_bound(py);
        for m in &out.metrics {
            metric_rows.append((m.ts, m.forecaster, m.rolling, m.selected, summary_dict(py, &m.values)?))?;
        }
        let drift = PyList::empty_bound(py);
        for d in &out.drift {
            drift.append((d.ts, d.forecaster, d.detector, d.kind, d.feature.as_str(), d.value,
                          d.threshold, d.reaction))?;
        }
        Ok(PyTuple::new_bound(py, [
            (status as u8).into_py(py), forecasts.into_py(py), outcomes.into_py(py),
            metric_rows.into_py(py), drift.into_py(py),
        ]))
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
        self.state.models().iter().map(|f| f.model().optimizer().map(|o| o.lr())).collect()
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

/// Outputs of many ticks as columns, and the `forecasts` topic's messages.
#[pyclass(module = "tickcast._core")]
#[derive(Default)]
struct Batch {
    symbols: Vec<String>,
    // ticks (the ok ones)
    t_symbol: Vec<u32>, t_ts: Vec<i64>, t_seq: Vec<u32>, t_price: Vec<f64>,
    t_volume: Vec<f64>, t_open: Vec<f64>, t_high: Vec<f64>, t_low: Vec<f64>, t_close: Vec<f64>,
    // forecasts
    f_symbol: Vec<u32>, f_ts: Vec<i64>, f_seq: Vec<u32>, f_model: Vec<u8>, f_based_on: Vec<u8>,
    f_price: Vec<f64>, f_return: Vec<f64>, f_predicted: Vec<f64>, f_lower: Vec<f64>,
    f_upper: Vec<f64>, f_p_up: Vec<f64>,
    // labels: the realised return that matured a tick's forecasts (one per tick, not per model:
    // a forecast's outcome is its row joined with its label)
    l_symbol: Vec<u32>, l_ts: Vec<i64>, l_seq: Vec<u32>, l_label_ts: Vec<i64>, l_realised: Vec<f64>,
    // the forecasts topic: one message per ok tick
    messages: Vec<u8>, message_ends: Vec<usize>, message_symbols: Vec<u32>,
    // metric snapshots, as columns (METRIC_NAMES' values row after row in m_values)
    m_symbol: Vec<u32>, m_ts: Vec<i64>, m_model: Vec<u8>, m_rolling: Vec<u8>, m_based_on: Vec<u8>,
    m_values: Vec<f64>,
    // drift events (rare): (symbol index, event)
    drift_rows: Vec<(u32, learner::DriftRow)>,
    latest: std::collections::HashMap<u32, usize>, // symbol -> its last served forecast row
    served: Vec<usize>, // the served forecasts' rows, in order
    index: std::collections::HashMap<String, u32>, // symbol -> its index in `symbols`
    with_messages: bool, // whether the forecasts topic's messages are written (a topic reads them)
}

/// The served forecast's name among the forecasters (tickcast.online_model.SERVED).
const SERVED: &str = "served";

fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(Utf8(out), "\\u{:04x}", c as u32);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn json_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        let _ = write!(Utf8(out), "{x:?}");
    } else {
        out.extend_from_slice(b"null");
    }
}

struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Batch {
    fn symbol_index(&mut self, symbol: &str) -> u32 {
        if let Some(&i) = self.index.get(symbol) {
            return i;
        }
        let i = self.symbols.len() as u32;
        self.symbols.push(symbol.to_string());
        self.index.insert(symbol.to_string(), i);
        i
    }

    /// The tick's `forecasts` topic message, from its forecast rows (`first_row` on).
    fn write_message(&mut self, cfg: &Config, s: u32, tick: &TickFields, first_row: usize) {
        let m = &mut self.messages;
        m.extend_from_slice(b"{\"symbol\":");
        json_str(m, &self.symbols[s as usize]);
        let _ = write!(Utf8(m), ",\"ts\":{},\"seq\":{},\"horizon\":{},\"price\":", tick.ts, tick.seq, cfg.horizon);
        json_f64(m, tick.price);
        m.extend_from_slice(b",\"level\":");
        json_f64(m, cfg.level);
        m.extend_from_slice(b",\"forecasts\":[");
        for r in first_row..self.f_ts.len() {
            let (forecaster, based_on) = (self.f_model[r] as usize, self.f_based_on[r] as usize);
            if r > first_row {
                m.push(b',');
            }
            m.extend_from_slice(b"{\"model\":");
            json_str(m, if forecaster == cfg.served() { SERVED } else { &cfg.models[forecaster].name });
            m.extend_from_slice(b",\"model_fingerprint\":");
            json_str(m, &cfg.models[based_on].fingerprint);
            m.extend_from_slice(b",\"based_on\":");
            json_str(m, &cfg.models[based_on].name);
            for (key, value) in [("predicted_return", self.f_return[r]), ("predicted_price", self.f_predicted[r]),
                                 ("lower", self.f_lower[r]), ("upper", self.f_upper[r]), ("p_up", self.f_p_up[r])] {
                let _ = write!(Utf8(m), ",\"{key}\":");
                json_f64(m, value);
            }
            m.push(b'}');
        }
        m.extend_from_slice(b"]}");
        self.message_ends.push(m.len());
        self.message_symbols.push(s);
    }

    fn add(&mut self, cfg: &Config, s: u32, tick: &TickFields, open: Option<f64>,
           close: Option<f64>, out: &mut Outputs) {
        let nan = f64::NAN;
        self.t_symbol.push(s);
        self.t_ts.push(tick.ts);
        self.t_seq.push(tick.seq);
        self.t_price.push(tick.price);
        self.t_volume.push(tick.volume.unwrap_or(nan));
        self.t_open.push(open.unwrap_or(nan));
        self.t_high.push(tick.high.unwrap_or(nan));
        self.t_low.push(tick.low.unwrap_or(nan));
        self.t_close.push(close.unwrap_or(nan));
        let first_row = self.f_ts.len();
        for f in &out.forecasts {
            let based_on = cfg.based_on(f.forecaster, f.selected);
            let (predicted, lower, upper) = prices(f.price, &f.prediction);
            if f.forecaster == cfg.served() {
                self.latest.insert(s, self.f_ts.len());
                self.served.push(self.f_ts.len());
            }
            self.f_symbol.push(s);
            self.f_ts.push(f.ts);
            self.f_seq.push(f.seq);
            self.f_model.push(f.forecaster as u8);
            self.f_based_on.push(based_on as u8);
            self.f_price.push(f.price);
            self.f_return.push(f.prediction.y_hat);
            self.f_predicted.push(predicted);
            self.f_lower.push(lower);
            self.f_upper.push(upper);
            self.f_p_up.push(f.prediction.p_up);
        }
        if self.with_messages {
            self.write_message(cfg, s, tick, first_row);
        }
        if let Some(o) = out.outcomes.first() {
            self.l_symbol.push(s);
            self.l_ts.push(o.ts);
            self.l_seq.push(o.seq);
            self.l_label_ts.push(o.label_ts);
            self.l_realised.push(o.realised);
        }
        for row in &out.metrics {
            self.m_symbol.push(s);
            self.m_ts.push(row.ts);
            self.m_model.push(row.forecaster as u8);
            self.m_rolling.push(row.rolling as u8);
            self.m_based_on.push(cfg.based_on(row.forecaster, row.selected) as u8);
            let start = self.m_values.len();
            self.m_values.resize(start + METRIC_NAMES.len(), nan);
            for (name, value) in &row.values {
                if let Some(k) = METRIC_NAMES.iter().position(|m| m == name) {
                    self.m_values[start + k] = *value;
                }
            }
        }
        for d in out.drift.drain(..) {
            self.drift_rows.push((s, d));
        }
    }
}

/// The values at `rows` of a column (all of them without), as `column` gives them.
fn picked<'py, T: Copy>(py: Python<'py>, values: &[T], rows: Option<&[usize]>) -> Bound<'py, PyBytes> {
    match rows {
        Some(rows) => column(py, &rows.iter().map(|&r| values[r]).collect::<Vec<T>>()),
        None => column(py, values),
    }
}

fn column<'py, T: Copy>(py: Python<'py>, values: &[T]) -> Bound<'py, PyBytes> {
    let bytes = unsafe {
        std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values))
    };
    PyBytes::new_bound(py, bytes)
}

#[pymethods]
impl Batch {
    /// A batch; ``messages``: whether to write the forecasts topic's messages (only a worker
    /// with that topic reads them).
    #[new]
    #[pyo3(signature = (messages = true))]
    fn new(messages: bool) -> Self {
        Batch { with_messages: messages, ..Batch::default() }
    }

    #[getter]
    fn with_messages(&self) -> bool {
        self.with_messages
    }

    /// Symbol names, in the order the columns' symbol indexes refer to.
    #[getter]
    fn symbols(&self) -> Vec<String> {
        self.symbols.clone()
    }

    #[getter]
    fn n_messages(&self) -> usize {
        self.message_ends.len()
    }

    /// Column buffers (native-endian arrays as bytes) of one table: "ticks", "forecasts" or
    /// "labels"; symbol and model columns hold indexes into the symbols and the model set.
    /// ``served``: of "forecasts", only the served forecast's rows.
    #[pyo3(signature = (table, served = false))]
    fn columns<'py>(&self, py: Python<'py>, table: &str, served: bool) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new_bound(py);
        match table {
            "ticks" => {
                d.set_item("symbol", column(py, &self.t_symbol))?;
                d.set_item("ts", column(py, &self.t_ts))?;
                d.set_item("seq", column(py, &self.t_seq))?;
                for (name, values) in [("price", &self.t_price), ("volume", &self.t_volume),
                                       ("open", &self.t_open), ("high", &self.t_high),
                                       ("low", &self.t_low), ("close", &self.t_close)] {
                    d.set_item(name, column(py, values))?;
                }
            }
            "forecasts" => {
                let rows = served.then_some(self.served.as_slice());
                d.set_item("symbol", picked(py, &self.f_symbol, rows))?;
                d.set_item("ts", picked(py, &self.f_ts, rows))?;
                d.set_item("seq", picked(py, &self.f_seq, rows))?;
                d.set_item("model", picked(py, &self.f_model, rows))?;
                d.set_item("based_on", picked(py, &self.f_based_on, rows))?;
                for (name, values) in [("price", &self.f_price), ("predicted_return", &self.f_return),
                                       ("predicted_price", &self.f_predicted), ("lower", &self.f_lower),
                                       ("upper", &self.f_upper), ("p_up", &self.f_p_up)] {
                    d.set_item(name, picked(py, values, rows))?;
                }
            }
            "labels" => {
                d.set_item("symbol", column(py, &self.l_symbol))?;
                d.set_item("ts", column(py, &self.l_ts))?;
                d.set_item("seq", column(py, &self.l_seq))?;
                d.set_item("label_ts", column(py, &self.l_label_ts))?;
                d.set_item("realised_return", column(py, &self.l_realised))?;
            }
            other => return Err(PyValueError::new_err(format!("no table {other:?}"))),
        }
        Ok(d)
    }

    /// The `forecasts` topic's messages: (key, value) per ok tick, key = the symbol.
    fn messages<'py>(&self, py: Python<'py>) -> Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let mut start = 0;
        self.message_ends
            .iter()
            .zip(&self.message_symbols)
            .map(|(&end, &s)| {
                let item = (PyBytes::new_bound(py, self.symbols[s as usize].as_bytes()),
                            PyBytes::new_bound(py, &self.messages[start..end]));
                start = end;
                item
            })
            .collect()
    }

    /// Each symbol's last served forecast row: (symbol index, row).
    fn latest(&self) -> Vec<(u32, usize)> {
        let mut rows: Vec<(u32, usize)> = self.latest.iter().map(|(&s, &r)| (s, r)).collect();
        rows.sort_unstable();
        rows
    }

    /// Forecast rows as tuples: (symbol, ts, seq, forecaster, based_on, price,
    /// predicted_return, predicted_price, lower, upper, p_up).
    fn forecast_rows<'py>(&self, py: Python<'py>, rows: Vec<usize>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        rows.iter()
            .map(|&r| {
                if r >= self.f_ts.len() {
                    return Err(PyValueError::new_err(format!("no forecast row {r}")));
                }
                Ok(PyTuple::new_bound(py, [
                    self.symbols[self.f_symbol[r] as usize].clone().into_py(py),
                    self.f_ts[r].into_py(py), self.f_seq[r].into_py(py),
                    self.f_model[r].into_py(py), self.f_based_on[r].into_py(py),
                    self.f_price[r].into_py(py), self.f_return[r].into_py(py),
                    self.f_predicted[r].into_py(py), self.f_lower[r].into_py(py),
                    self.f_upper[r].into_py(py), self.f_p_up[r].into_py(py),
                ]))
            })
            .collect()
    }

    /// Metric rows: (symbol, ts, forecaster, rolling, based_on, {metric: value}).
    fn metric_rows<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        (0..self.m_ts.len())
            .map(|r| {
                let values = &self.m_values[r * METRIC_NAMES.len()..(r + 1) * METRIC_NAMES.len()];
                let named: Vec<(&'static str, f64)> =
                    METRIC_NAMES.iter().copied().zip(values.iter().copied()).collect();
                Ok(PyTuple::new_bound(py, [
                    self.symbols[self.m_symbol[r] as usize].clone().into_py(py),
                    self.m_ts[r].into_py(py), (self.m_model[r] as usize).into_py(py),
                    (self.m_rolling[r] == 1).into_py(py), (self.m_based_on[r] as usize).into_py(py),
                    summary_dict(py, &named)?.into_py(py),
                ]))
            })
            .collect()
    }

    /// The model_metrics columns: symbol (index), ts, model (forecaster index), rolling (0/1),
    /// based_on (model index), then one float64 column per metric.
    fn metric_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new_bound(py);
        d.set_item("symbol", column(py, &self.m_symbol))?;
        d.set_item("ts", column(py, &self.m_ts))?;
        d.set_item("model", column(py, &self.m_model))?;
        d.set_item("rolling", column(py, &self.m_rolling))?;
        d.set_item("based_on", column(py, &self.m_based_on))?;
        let width = METRIC_NAMES.len();
        for (k, name) in METRIC_NAMES.iter().enumerate() {
            let values: Vec<f64> = self.m_values.iter().skip(k).step_by(width).copied().collect();
            d.set_item(*name, column(py, &values))?;
        }
        Ok(d)
    }

    /// Drift events: (symbol, ts, forecaster or None, detector, kind, feature, value,
    /// threshold, reaction).
    fn drift_rows<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyTuple>> {
        self.drift_rows
            .iter()
            .map(|(s, d)| {
                PyTuple::new_bound(py, [
                    self.symbols[*s as usize].clone().into_py(py), d.ts.into_py(py),
                    d.forecaster.into_py(py), d.detector.into_py(py), d.kind.into_py(py),
                    d.feature.clone().into_py(py), d.value.into_py(py), d.threshold.into_py(py),
                    d.reaction.into_py(py),
                ])
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        self.t_ts.len()
    }

    /// Rows of one table so far.
    fn rows(&self, table: &str) -> PyResult<usize> {
        Ok(match table {
            "ticks" => self.t_ts.len(),
            "forecasts" => self.f_ts.len(),
            "labels" => self.l_ts.len(),
            "model_metrics" => self.m_ts.len(),
            "drift_events" => self.drift_rows.len(),
            other => return Err(PyValueError::new_err(format!("no table {other:?}"))),
        })
    }
}

/// Whether a checkpoint of the state is due: `every_labels` learned ticks or `every_ms` of
/// event time since the last one (or the first tick), and never sooner than `min_gap_ms` of
/// event time after the last one; 0 turns a trigger off.
fn checkpoint_due(state: &State, (every_labels, every_ms, min_gap_ms): Cadence) -> bool {
    let p = &state.progress;
    let (Some(last_ts), Some(first_ts)) = (p.last_ts, p.first_ts) else { return false };
    if p.n_labels == 0 {
        return false;
    }
    let (labels, ts) = state.checkpointed.unwrap_or((0, first_ts));
    if state.checkpointed.is_some() && last_ts - ts < min_gap_ms {
        return false;
    }
    (every_labels > 0 && p.n_labels - labels >= every_labels)
        || (every_ms > 0 && last_ts - ts >= every_ms)
}

/// A checkpoint policy: every so many labels, every so much event time (ms), at least so much
/// event time (ms) apart.
type Cadence = (u64, i64, i64);

/// Step `ticks[i]` on `states[i]` from `start`, appending the outputs of the ok ones to
/// `batch`, and stop after a tick that makes its state's checkpoint due (the policy's
/// `every_labels`, `every_ms` and `min_gap_ms`, 0 for off): the caller takes the checkpoint there, so the
/// cadence is the same whatever the batch. Returns the statuses of the ticks stepped (0 ok, 1
/// duplicate, 2 late) as bytes; fewer than the ticks left means a checkpoint is due.
///
/// The ticks' fields are read first, holding the GIL; the stepping itself runs without it
/// (unless a River model is configured: those run in Python), so a writer thread of the same
/// process (ClickHouse's, Kafka's) is not held back by the core.
#[pyfunction]
#[pyo3(signature = (states, ticks, batch, start=0, every_labels=0, every_ms=0, min_gap_ms=0))]
#[allow(clippy::too_many_arguments)]
fn step_batch<'py>(
    py: Python<'py>, states: &Bound<'py, PyList>, ticks: &Bound<'py, PyList>, batch: &mut Batch,
    start: usize, every_labels: u64, every_ms: i64, min_gap_ms: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    if states.len() != ticks.len() {
        return Err(PyValueError::new_err("one state per tick"));
    }
    let symbol_attr = pyo3::intern!(py, "symbol");
    let open_attr = pyo3::intern!(py, "open");
    let close_attr = pyo3::intern!(py, "close");
    let mut cores: Vec<PyRefMut<'py, SymbolCore>> = Vec::new();
    let mut slots: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut work: Vec<Work> = Vec::with_capacity(ticks.len().saturating_sub(start));
    for (state, tick) in states.iter().zip(ticks.iter()).skip(start) {
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
    let checkpoints = (every_labels, every_ms, min_gap_ms);
    let statuses = if externals {
        step_all(&mut refs, &work, batch, checkpoints, |core, tick, out| core.run(py, tick, out))?
    } else {
        py.allow_threads(|| {
            step_all(&mut refs, &work, batch, checkpoints, |core, tick, out| {
                Ok(core.state.step(&core.cfg, tick, &mut NoExternals, out))
            })
        })?
    };
    Ok(PyBytes::new_bound(py, &statuses))
}

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
) -> PyResult<Vec<u8>> {
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
                break;
            }
        }
    }
    Ok(statuses)
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

/// The feature vectors and their standardised form, tick by tick, as a learner of `spec`
/// sees them: (x, z) per tick (for tests and oracle checks of the features and the scaler).
#[pyfunction]
fn feature_stream(spec: &Spec, ticks: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<(Vec<f64>, Vec<f64>)>> {
    let cfg = &spec.cfg;
    let mut features = features::Features::new(&cfg.windows, cfg.volatility);
    let mut scaler = models::Scaler::new(cfg.width);
    let mut rows = Vec::with_capacity(ticks.len());
    for tick in &ticks {
        let (mut x, mut z) = (vec![0.0; cfg.width], vec![0.0; cfg.width]);
        features.update(&tick_fields(tick)?, &mut x);
        scaler.learn_transform(&x, &mut z);
        rows.push((x, z));
    }
    Ok(rows)
}

/// One model of `spec` (by index) learning a stream: its forecast of each `u` before learning
/// it, from the standardised vector `z` (oracle checks of the models and optimisers).
#[pyfunction]
fn model_stream(spec: &Spec, model: usize, rows: Vec<(Vec<f64>, f64)>) -> PyResult<Vec<(f64, f64)>> {
    let cfg = &spec.cfg;
    let mut m = cfg.models.get(model).ok_or_else(|| PyValueError::new_err("no such model"))?.build(cfg.width);
    if matches!(m, models::Model::External { .. }) {
        return Err(PyValueError::new_err("an external model runs in Python"));
    }
    let mut grads = Vec::new();
    Ok(rows
        .iter()
        .map(|(z, u)| {
            let forecast = m.predict(z);
            m.learn(z, *u, &mut grads);
            forecast
        })
        .collect())
}

/// The data-drift check over one stream of values: (PSI, KS p-value) after each value once it
/// can compare, else None (`window`: the reference's size, as `DriftConfig.window`).
#[pyfunction]
fn shift_stream(values: Vec<f64>, window: u64) -> Vec<Option<(f64, f64)>> {
    let mut shift = drift::Shift::new();
    values
        .iter()
        .map(|&x| {
            shift.update(x, window);
            shift.check(window)
        })
        .collect()
}

/// Page-Hinkley over one stream of values (the concept-drift check of each forecaster's
/// errors): the statistic at each value where it fires, else None (oracle checks).
#[pyfunction]
fn page_hinkley_stream(values: Vec<f64>, delta: f64, threshold: f64, min_n: u64) -> Vec<Option<f64>> {
    let mut ph = drift::PageHinkley::new();
    values.iter().map(|&x| ph.update(x, delta, threshold, min_n)).collect()
}

/// The interval's quantile tracker over one stream of scores: the half-width (in
/// volatility units) each score is judged against, before it is learned (oracle checks).
#[pyfunction]
fn quantile_stream(scores: Vec<f64>, alpha: f64, step: f64, prior: f64) -> Vec<f64> {
    let mut tracker = intervals::Tracker::new(prior);
    scores
        .iter()
        .map(|&score| {
            let q = tracker.quantile();
            tracker.update(score, alpha, step);
            q
        })
        .collect()
}

/// The population stability index of two binned samples (half a count added to each bin).
#[pyfunction]
fn psi(expected: Vec<f64>, actual: Vec<f64>) -> f64 {
    drift::psi(&expected, &actual)
}

/// The binned two-sample Kolmogorov-Smirnov p-value (asymptotic), CDFs compared at bin edges.
#[pyfunction]
fn binned_ks_pvalue(expected: Vec<f64>, actual: Vec<f64>) -> f64 {
    drift::binned_ks_pvalue(&expected, &actual)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [wrap_pyfunction!(feature_stream, m)?, wrap_pyfunction!(model_stream, m)?,
              wrap_pyfunction!(shift_stream, m)?, wrap_pyfunction!(psi, m)?,
              wrap_pyfunction!(binned_ks_pvalue, m)?, wrap_pyfunction!(page_hinkley_stream, m)?,
              wrap_pyfunction!(quantile_stream, m)?] {
        m.add_function(f)?;
    }
    m.add("FORMAT", 2)?;
    m.add("AUC_BINS", metrics::AUC_BINS)?;
    m.add_class::<Spec>()?;
    m.add_class::<SymbolCore>()?;
    m.add_class::<Batch>()?;
    m.add_class::<Progress>()?;
    m.add_function(wrap_pyfunction!(step_batch, m)?)?;
    m.add_function(wrap_pyfunction!(pooled, m)?)?;
    Ok(())
}
