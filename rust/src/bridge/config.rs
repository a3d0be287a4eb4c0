//! The resolved core configuration from Python (`CoreConfig.resolved()`), parsed into
//! `config::Config`: every name through the contract's `parse`, so an unknown one is an error
//! that names it, and every key read by name, so a key missing, mistyped or never read is an
//! error that names it too (the two sides cannot drift apart silently).

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::{AffineSpec, Config, DriftConfig, Head, MlpSpec, ModelConfig, ModelParams, OptimizerSpec};
use crate::contract::{Activation, ConceptDetector, Loss, ModelKind, OptimizerKind, Reaction, Target};
use crate::features;

/// One dict of the configuration, read key by key; `done` refuses a key nobody read.
struct Keys<'py> {
    d: Bound<'py, PyDict>,
    what: String,
    read: RefCell<Vec<&'static str>>,
}

impl<'py> Keys<'py> {
    fn of(d: Bound<'py, PyDict>, what: impl Into<String>) -> Self {
        Keys { d, what: what.into(), read: RefCell::new(Vec::new()) }
    }

    fn get<T: FromPyObject<'py>>(&self, key: &'static str) -> PyResult<T> {
        self.read.borrow_mut().push(key);
        let what = &self.what;
        match self.d.get_item(key)? {
            Some(value) => value
                .extract()
                .map_err(|err| PyValueError::new_err(format!("{what}: {key:?}: {err}"))),
            None => Err(PyValueError::new_err(format!("{what} lacks {key:?}"))),
        }
    }

    /// A contract name read from `key`, parsed by `parse` (the contract enum's).
    fn named<T>(&self, key: &'static str, parse: fn(&str) -> Result<T, String>) -> PyResult<T> {
        let what = &self.what;
        parse(&self.get::<String>(key)?).map_err(|err| PyValueError::new_err(format!("{what}: {err}")))
    }

    fn nested(&self, key: &'static str, what: String) -> PyResult<Keys<'py>> {
        Ok(Keys::of(self.get(key)?, what))
    }

    fn done(&self) -> PyResult<()> {
        let read = self.read.borrow();
        for key in self.d.keys() {
            let key: String = key.extract()?;
            if !read.contains(&key.as_str()) {
                let what = &self.what;
                return Err(PyValueError::new_err(format!("{what} has {key:?}, which the core does not read")));
            }
        }
        Ok(())
    }
}

fn optimizer_spec(d: &Keys<'_>) -> PyResult<OptimizerSpec> {
    let lr: f64 = d.get("lr")?;
    Ok(match d.named("optimizer", OptimizerKind::parse)? {
        OptimizerKind::Sgd => OptimizerSpec::Sgd { lr },
        OptimizerKind::Momentum => OptimizerSpec::Momentum { lr, rho: d.get("rho")? },
        OptimizerKind::Adagrad => OptimizerSpec::AdaGrad { lr, eps: d.get("eps")? },
        OptimizerKind::Adam => OptimizerSpec::Adam {
            lr, beta1: d.get("beta1")?, beta2: d.get("beta2")?, eps: d.get("eps")?,
        },
    })
}

fn affine_spec(d: &Keys<'_>) -> PyResult<AffineSpec> {
    Ok(AffineSpec { optimizer: optimizer_spec(d)?, l1: d.get("l1")?, l2: d.get("l2")? })
}

fn mlp_spec(d: &Keys<'_>) -> PyResult<MlpSpec> {
    Ok(MlpSpec {
        hidden: d.get("hidden")?,
        activations: d.get::<Vec<String>>("activations")?
            .iter()
            .map(|a| Activation::parse(a).map_err(PyValueError::new_err))
            .collect::<PyResult<_>>()?,
        head: match d.named("target", Target::parse)? {
            Target::Return => Head::Return {
                loss: d.named("loss", Loss::parse)?,
                huber_delta: d.get("huber_delta")?,
            },
            Target::Direction => Head::Direction,
        },
        dropout: d.get("dropout")?,
        l1: d.get("l1")?,
        l2: d.get("l2")?,
        clip: d.get("clip")?,
        optimizer: optimizer_spec(d)?,
    })
}

fn model_config(keys: Keys<'_>) -> PyResult<ModelConfig> {
    let d = &keys;
    let params = match d.named("kind", ModelKind::parse)? {
        ModelKind::RandomWalk => ModelParams::RandomWalk,
        ModelKind::Mean => ModelParams::Mean,
        ModelKind::Linear => ModelParams::Linear {
            affine: affine_spec(d)?,
            loss: d.named("loss", Loss::parse)?,
            huber_delta: d.get("huber_delta")?,
            clip: d.get("clip")?,
        },
        ModelKind::Direction => ModelParams::Direction { affine: affine_spec(d)? },
        ModelKind::Mlp => ModelParams::Mlp(mlp_spec(d)?),
        ModelKind::External => ModelParams::External { n_inputs: d.get("n_inputs")? },
    };
    let model = ModelConfig { name: d.get("name")?, fingerprint: d.get("fingerprint")?, params };
    keys.done()?;
    Ok(model)
}

fn drift_config(keys: Keys<'_>) -> PyResult<DriftConfig> {
    let d = &keys;
    let drift = DriftConfig {
        reaction: d.named("reaction", Reaction::parse)?,
        detector: d.named("detector", ConceptDetector::parse)?,
        ph_delta: d.get("ph_delta")?,
        ph_threshold: d.get("ph_threshold")?,
        ph_min_n: d.get("ph_min_n")?,
        adwin_delta: d.get("adwin_delta")?,
        window: d.get("window")?,
        psi: d.get("psi")?,
        ks_p: d.get("ks_p")?,
        bias_t: d.get("bias_t")?,
        sample: d.get("sample")?,
        boost: d.get("boost")?,
        boost_labels: d.get("boost_labels")?,
    };
    keys.done()?;
    Ok(drift)
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
    fn new(resolved: Bound<'_, PyDict>) -> PyResult<Self> {
        let d = &Keys::of(resolved, "the core configuration");
        let models: Vec<Bound<'_, PyDict>> = d.get("models")?;
        let windows: Vec<usize> = d.get("windows")?;
        let metrics_window: usize = d.get("metrics_window")?;
        let level: f64 = d.get("level")?;
        let cfg = Config {
            horizon: d.get("horizon")?,
            level,
            alpha: 1.0 - level,
            prior: d.get("prior")?,
            interval_step: d.get("interval_step")?,
            width: features::width(&windows),
            feature_names: features::names(&windows),
            volatility: d.get("volatility")?,
            windows,
            checked: d.get("checked")?,
            decay: 1.0 - 1.0 / metrics_window as f64,
            block: (metrics_window as u64 / 10).max(1),
            select_t: d.get("select_t")?,
            select_hysteresis: d.get("select_hysteresis")?,
            min_outcomes: d.get("min_outcomes")?,
            metrics_every: d.get("metrics_every")?,
            warmup: d.get("warmup")?,
            models: models
                .into_iter()
                .enumerate()
                .map(|(i, m)| model_config(Keys::of(m, format!("the core configuration's model {i}"))))
                .collect::<PyResult<_>>()?,
            drift: drift_config(d.nested("drift", "the core configuration's drift".into())?)?,
        };
        if d.get::<Vec<String>>("feature_names")? != cfg.feature_names {
            return Err(PyValueError::new_err("feature names do not match the core's layout"));
        }
        d.done()?;
        Ok(Spec { width: cfg.width, has_externals: cfg.has_externals(), cfg: Arc::new(cfg) })
    }
}
