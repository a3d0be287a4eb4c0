//! A batch's outputs as columns (one buffer per column, handed to the stores without a
//! Python object per row) and as the `forecasts` topic's messages.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::bridge::rows::{summary_dict, CoreDrift, CoreForecast, CoreMetrics};
use crate::config::Config;
use crate::contract::{Table, METRIC_NAMES, SERVED};
use crate::features::TickFields;
use crate::learner::{self, Outputs};
use crate::wire::{write_message, Entry, Json, Shared};

/// A forecast's price, lower and upper bound from its return-space prediction.
pub fn prices(price: f64, p: &learner::Prediction) -> (f64, f64, f64) {
    (price * p.y_hat.exp(), price * p.lower.exp(), price * p.upper.exp())
}

/// Outputs of many ticks as columns, and the `forecasts` topic's messages.
#[pyclass(module = "tickcast._core")]
#[derive(Default)]
pub struct Batch {
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
    latest: HashMap<u32, usize>, // symbol -> its last served forecast row
    served: Vec<usize>, // the served forecasts' rows, in order
    index: HashMap<String, u32>, // symbol -> its index in `symbols`
    with_messages: bool, // whether the forecasts topic's messages are written (a topic reads them)
}


impl Batch {
    pub fn symbol_index(&mut self, symbol: &str) -> u32 {
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
        let shared: Shared = [
            Json::Str(&self.symbols[s as usize]), Json::Int(tick.ts), Json::Int(tick.seq.into()),
            Json::Int(cfg.horizon as i64), Json::Num(tick.price), Json::Num(cfg.level),
        ];
        let entries = (first_row..self.f_ts.len()).map(|r| {
            let (forecaster, based_on) = (self.f_model[r] as usize, self.f_based_on[r] as usize);
            let model = if forecaster == cfg.served() { SERVED } else { &cfg.models[forecaster].name };
            let entry: Entry = [
                Json::Str(model), Json::Str(&cfg.models[based_on].fingerprint),
                Json::Str(&cfg.models[based_on].name), Json::Num(self.f_return[r]),
                Json::Num(self.f_predicted[r]), Json::Num(self.f_lower[r]), Json::Num(self.f_upper[r]),
                Json::Num(self.f_p_up[r]),
            ];
            entry
        });
        write_message(&mut self.messages, &shared, entries);
        self.message_ends.push(self.messages.len());
        self.message_symbols.push(s);
    }

    pub fn add(&mut self, cfg: &Config, s: u32, tick: &TickFields, open: Option<f64>,
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
        match Table::parse(table).map_err(PyValueError::new_err)? {
            Table::Ticks => {
                d.set_item("symbol", column(py, &self.t_symbol))?;
                d.set_item("ts", column(py, &self.t_ts))?;
                d.set_item("seq", column(py, &self.t_seq))?;
                for (name, values) in [("price", &self.t_price), ("volume", &self.t_volume),
                                       ("open", &self.t_open), ("high", &self.t_high),
                                       ("low", &self.t_low), ("close", &self.t_close)] {
                    d.set_item(name, column(py, values))?;
                }
            }
            Table::Forecasts => {
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
            Table::Labels => {
                d.set_item("symbol", column(py, &self.l_symbol))?;
                d.set_item("ts", column(py, &self.l_ts))?;
                d.set_item("seq", column(py, &self.l_seq))?;
                d.set_item("label_ts", column(py, &self.l_label_ts))?;
                d.set_item("realised_return", column(py, &self.l_realised))?;
            }
            other => {
                return Err(PyValueError::new_err(format!("{} has no columns here", other.name())))
            }
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

    /// The forecasts of `rows`, as the core's forecast objects.
    fn forecast_rows(&self, rows: Vec<usize>) -> PyResult<Vec<CoreForecast>> {
        rows.iter()
            .map(|&r| {
                if r >= self.f_ts.len() {
                    return Err(PyValueError::new_err(format!("no forecast row {r}")));
                }
                Ok(CoreForecast {
                    symbol: self.symbols[self.f_symbol[r] as usize].clone(),
                    ts: self.f_ts[r],
                    seq: self.f_seq[r],
                    forecaster: self.f_model[r] as usize,
                    based_on: self.f_based_on[r] as usize,
                    price: self.f_price[r],
                    predicted_return: self.f_return[r],
                    predicted_price: self.f_predicted[r],
                    lower: self.f_lower[r],
                    upper: self.f_upper[r],
                    p_up: self.f_p_up[r],
                })
            })
            .collect()
    }

    /// The metric snapshots, as the core's metrics objects.
    fn metric_rows(&self, py: Python<'_>) -> PyResult<Vec<CoreMetrics>> {
        (0..self.m_ts.len())
            .map(|r| {
                let values = &self.m_values[r * METRIC_NAMES.len()..(r + 1) * METRIC_NAMES.len()];
                let named: Vec<(&'static str, f64)> =
                    METRIC_NAMES.iter().copied().zip(values.iter().copied()).collect();
                Ok(CoreMetrics {
                    symbol: self.symbols[self.m_symbol[r] as usize].clone(),
                    ts: self.m_ts[r],
                    forecaster: self.m_model[r] as usize,
                    rolling: self.m_rolling[r] == 1,
                    based_on: self.m_based_on[r] as usize,
                    values: summary_dict(py, &named)?.unbind(),
                })
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

    /// The drift events, as the core's drift objects.
    fn drift_rows(&self) -> Vec<CoreDrift> {
        self.drift_rows.iter().map(|(s, d)| CoreDrift::of(&self.symbols[*s as usize], d)).collect()
    }

    fn __len__(&self) -> usize {
        self.t_ts.len()
    }

    /// Rows of one table so far.
    fn rows(&self, table: &str) -> PyResult<usize> {
        Ok(match Table::parse(table).map_err(PyValueError::new_err)? {
            Table::Ticks => self.t_ts.len(),
            Table::Forecasts => self.f_ts.len(),
            Table::Labels => self.l_ts.len(),
            Table::ModelMetrics => self.m_ts.len(),
            Table::DriftEvents => self.drift_rows.len(),
        })
    }
}
