//! The rows the core hands Python, as named and typed objects: forecasters and models by
//! index (Python holds their names), everything else as the records will hold it. A field
//! read by name cannot be read from the wrong position.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::batch::prices;
use crate::learner::rows::{DriftRow, ForecastRow, MetricRow, OutcomeRow};

/// A forecast: `forecaster` is the model index (the served forecast last), `based_on` the
/// model it comes from (the served forecast's selected model).
#[pyclass(frozen, get_all, module = "tickcast._core")]
pub struct CoreForecast {
    pub symbol: String,
    pub ts: i64,
    pub seq: u32,
    pub forecaster: usize,
    pub based_on: usize,
    pub price: f64,
    pub predicted_return: f64,
    pub predicted_price: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_up: f64,
}

impl CoreForecast {
    pub fn of(symbol: &str, row: &ForecastRow, based_on: usize) -> Self {
        let (predicted_price, lower, upper) = prices(row.price, &row.prediction);
        CoreForecast {
            symbol: symbol.to_owned(),
            ts: row.ts,
            seq: row.seq,
            forecaster: row.forecaster,
            based_on,
            price: row.price,
            predicted_return: row.prediction.y_hat,
            predicted_price,
            lower,
            upper,
            p_up: row.prediction.p_up,
        }
    }
}

/// A matured forecast with its label, in return space.
#[pyclass(frozen, get_all, module = "tickcast._core")]
pub struct CoreOutcome {
    pub symbol: String,
    pub ts: i64,
    pub seq: u32,
    pub label_ts: i64,
    pub forecaster: usize,
    pub predicted_return: f64,
    pub realised_return: f64,
    pub lower_return: f64,
    pub upper_return: f64,
    pub inside: bool,
    pub p_up: f64,
}

impl CoreOutcome {
    pub fn of(symbol: &str, row: &OutcomeRow) -> Self {
        let p = &row.prediction;
        CoreOutcome {
            symbol: symbol.to_owned(),
            ts: row.ts,
            seq: row.seq,
            label_ts: row.label_ts,
            forecaster: row.forecaster,
            predicted_return: p.y_hat,
            realised_return: row.realised,
            lower_return: p.lower,
            upper_return: p.upper,
            inside: p.lower <= row.realised && row.realised <= p.upper,
            p_up: p.p_up,
        }
    }
}

/// A forecaster's metrics over one window (`rolling` or cumulative), by the contract's names.
#[pyclass(frozen, get_all, module = "tickcast._core")]
pub struct CoreMetrics {
    pub symbol: String,
    pub ts: i64,
    pub forecaster: usize,
    pub rolling: bool,
    pub based_on: usize,
    pub values: Py<PyDict>,
}

impl CoreMetrics {
    pub fn of(py: Python<'_>, symbol: &str, row: &MetricRow, based_on: usize) -> PyResult<Self> {
        Ok(CoreMetrics {
            symbol: symbol.to_owned(),
            ts: row.ts,
            forecaster: row.forecaster,
            rolling: row.rolling,
            based_on,
            values: summary_dict(py, &row.values)?.unbind(),
        })
    }
}

/// A drift event: `forecaster` None for data drift; names are the contract's.
#[pyclass(frozen, get_all, module = "tickcast._core")]
pub struct CoreDrift {
    pub symbol: String,
    pub ts: i64,
    pub forecaster: Option<usize>,
    pub detector: &'static str,
    pub kind: &'static str,
    pub feature: String,
    pub value: f64,
    pub threshold: f64,
    pub reaction: &'static str,
}

impl CoreDrift {
    pub fn of(symbol: &str, row: &DriftRow) -> Self {
        CoreDrift {
            symbol: symbol.to_owned(),
            ts: row.ts,
            forecaster: row.forecaster,
            detector: row.detector.name(),
            kind: row.kind.name(),
            feature: row.feature.clone(),
            value: row.value,
            threshold: row.threshold,
            reaction: row.reaction.name(),
        }
    }
}

/// What one tick's step wrote: its status (the contract's, by number) and its rows.
#[pyclass(frozen, get_all, module = "tickcast._core")]
pub struct Stepped {
    pub status: u8,
    pub forecasts: Vec<Py<CoreForecast>>,
    pub outcomes: Vec<Py<CoreOutcome>>,
    pub metrics: Vec<Py<CoreMetrics>>,
    pub drift: Vec<Py<CoreDrift>>,
}

/// A metric summary as a dict (the count as an int).
pub fn summary_dict<'py>(py: Python<'py>, values: &[(&'static str, f64)]) -> PyResult<Bound<'py, PyDict>> {
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
