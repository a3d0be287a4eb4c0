//! The resolved core configuration from Python (`CoreConfig.resolved()`), parsed into
//! `config::Config`: every name through the contract's `parse`, so an unknown one is an error
//! that names it.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::{AffineSpec, Config, DriftConfig, Head, MlpSpec, ModelConfig, ModelParams, OptimizerSpec};
use crate::contract::{Activation, ConceptDetector, Loss, ModelKind, OptimizerKind, Reaction, Target};
use crate::features;

fn get<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match d.get_item(key)? {
        Some(value) => value.extract(),
        None => Err(PyValueError::new_err(format!("the core configuration lacks {key:?}"))),
    }
}

/// A contract name read from `key`, parsed by `parse` (the contract enum's).
fn named<T>(d: &Bound<'_, PyDict>, key: &str, parse: fn(&str) -> Result<T, String>) -> PyResult<T> {
    parse(&get::<String>(d, key)?).map_err(PyValueError::new_err)
}

fn optimizer_spec(d: &Bound<'_, PyDict>) -> PyResult<OptimizerSpec> {
    let lr: f64 = get(d, "lr")?;
    Ok(match named(d, "optimizer", OptimizerKind::parse)? {
        OptimizerKind::Sgd => OptimizerSpec::Sgd { lr },
        OptimizerKind::Momentum => OptimizerSpec::Momentum { lr, rho: get(d, "rho")? },
        OptimizerKind::Adagrad => OptimizerSpec::AdaGrad { lr, eps: get(d, "eps")? },
        OptimizerKind::Adam => OptimizerSpec::Adam {
            lr, beta1: get(d, "beta1")?, beta2: get(d, "beta2")?, eps: get(d, "eps")?,
        },
    })
}

fn affine_spec(d: &Bound<'_, PyDict>) -> PyResult<AffineSpec> {
    Ok(AffineSpec { optimizer: optimizer_spec(d)?, l1: get(d, "l1")?, l2: get(d, "l2")? })
}

fn mlp_spec(d: &Bound<'_, PyDict>) -> PyResult<MlpSpec> {
    Ok(MlpSpec {
        hidden: get(d, "hidden")?,
        activations: get::<Vec<String>>(d, "activations")?
            .iter()
            .map(|a| Activation::parse(a).map_err(PyValueError::new_err))
            .collect::<PyResult<_>>()?,
        head: match named(d, "target", Target::parse)? {
            Target::Return => Head::Return {
                loss: named(d, "loss", Loss::parse)?,
                huber_delta: get(d, "huber_delta")?,
            },
            Target::Direction => Head::Direction,
        },
        dropout: get(d, "dropout")?,
        l1: get(d, "l1")?,
        l2: get(d, "l2")?,
        clip: get(d, "clip")?,
        optimizer: optimizer_spec(d)?,
    })
}

fn model_config(d: &Bound<'_, PyDict>) -> PyResult<ModelConfig> {
    let params = match named(d, "kind", ModelKind::parse)? {
        ModelKind::RandomWalk => ModelParams::RandomWalk,
        ModelKind::Mean => ModelParams::Mean,
        ModelKind::Linear => ModelParams::Linear {
            affine: affine_spec(d)?,
            loss: named(d, "loss", Loss::parse)?,
            huber_delta: get(d, "huber_delta")?,
            clip: get(d, "clip")?,
        },
        ModelKind::Direction => ModelParams::Direction { affine: affine_spec(d)? },
        ModelKind::Mlp => ModelParams::Mlp(mlp_spec(d)?),
        ModelKind::External => ModelParams::External { n_inputs: get(d, "n_inputs")? },
    };
    Ok(ModelConfig { name: get(d, "name")?, fingerprint: get(d, "fingerprint")?, params })
}

fn drift_config(d: &Bound<'_, PyDict>) -> PyResult<DriftConfig> {
    Ok(DriftConfig {
        reaction: named(d, "reaction", Reaction::parse)?,
        detector: named(d, "detector", ConceptDetector::parse)?,
        ph_delta: get(d, "ph_delta")?,
        ph_threshold: get(d, "ph_threshold")?,
        ph_min_n: get(d, "ph_min_n")?,
        adwin_delta: get(d, "adwin_delta")?,
        window: get(d, "window")?,
        psi: get(d, "psi")?,
        ks_p: get(d, "ks_p")?,
        bias_t: get(d, "bias_t")?,
        sample: get(d, "sample")?,
        boost: get(d, "boost")?,
        boost_labels: get(d, "boost_labels")?,
    })
}

/// A resolved core configuration (see `CoreConfig.resolved()` in Python).
#[pyclass(frozen, module = "tickcast._core")]
pub struct Spec {
    pub cfg: Arc<Config>,
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
        let models: Vec<Bound<'_, PyDict>> = get(d, "models")?;
        let windows: Vec<usize> = get(d, "windows")?;
        let metrics_window: usize = get(d, "metrics_window")?;
        let level: f64 = get(d, "level")?;
        let cfg = Config {
            horizon: get(d, "horizon")?,
            level,
            alpha: 1.0 - level,
            prior: get(d, "prior")?,
            interval_step: get(d, "interval_step")?,
            width: features::width(&windows),
            feature_names: features::names(&windows),
            volatility: get(d, "volatility")?,
            windows,
            checked: get(d, "checked")?,
            decay: 1.0 - 1.0 / metrics_window as f64,
            block: (metrics_window as u64 / 10).max(1),
            select_t: get(d, "select_t")?,
            select_hysteresis: get(d, "select_hysteresis")?,
            min_outcomes: get(d, "min_outcomes")?,
            metrics_every: get(d, "metrics_every")?,
            warmup: get(d, "warmup")?,
            models: models.iter().map(model_config).collect::<PyResult<_>>()?,
            drift: drift_config(&get(d, "drift")?)?,
        };
        if get::<Vec<String>>(d, "feature_names")? != cfg.feature_names {
            return Err(PyValueError::new_err("feature names do not match the core's layout"));
        }
        Ok(Spec { width: cfg.width, has_externals: cfg.has_externals(), cfg: Arc::new(cfg) })
    }
}
