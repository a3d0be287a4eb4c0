//! Test-only functions for the Python oracle tests (behind the `testing` feature, which the
//! development install enables and the wheel and Docker builds do not): one part of the core
//! run over a stream, so Python can compare it with River and SciPy.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::config::Spec;
use super::tick_fields;
use crate::{drift, features, intervals, models};

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
    let config = cfg.models.get(model).ok_or_else(|| PyValueError::new_err("no such model"))?;
    let mut m = models::Model::new(config, cfg.width);
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [wrap_pyfunction!(feature_stream, m)?, wrap_pyfunction!(model_stream, m)?,
              wrap_pyfunction!(shift_stream, m)?, wrap_pyfunction!(psi, m)?,
              wrap_pyfunction!(binned_ks_pvalue, m)?, wrap_pyfunction!(page_hinkley_stream, m)?,
              wrap_pyfunction!(quantile_stream, m)?] {
        m.add_function(f)?;
    }
    Ok(())
}
