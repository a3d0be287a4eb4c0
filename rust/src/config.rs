//! The core's configuration, as Python's `CoreConfig` resolves it (defaults and validation
//! stay there, in `tickcast.online_model.spec`; this is the resolved, typed form).

use crate::models::{Direction, Linear, Loss, Model, Optimizer};
use crate::network::{Activation, Head, Mlp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    Log,
    Reset,
    BoostLr,
}

impl Reaction {
    pub fn name(self) -> &'static str {
        match self {
            Reaction::Log => "log",
            Reaction::Reset => "reset",
            Reaction::BoostLr => "boost_lr",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detector {
    PageHinkley,
    Adwin, // River's, called in Python
}

#[derive(Clone, Debug)]
pub struct DriftConfig {
    pub reaction: Reaction,
    pub detector: Detector,
    pub ph_delta: f64,
    pub ph_threshold: f64,
    pub ph_min_n: u64,
    pub adwin_delta: f64,
    pub window: u64,
    pub psi: f64,
    pub ks_p: f64,
    pub bias_t: f64,
    pub sample: u64,
    pub boost: f64,
    pub boost_labels: u64,
}

impl DriftConfig {
    pub fn detector_name(&self) -> &'static str {
        match self.detector {
            Detector::PageHinkley => "page_hinkley",
            Detector::Adwin => "adwin",
        }
    }

    /// What the concept detector's statistic is compared with, for the event record.
    pub fn threshold(&self) -> f64 {
        match self.detector {
            Detector::PageHinkley => self.ph_threshold,
            Detector::Adwin => self.adwin_delta,
        }
    }
}

#[derive(Clone, Debug)]
pub enum OptimizerSpec {
    Sgd { lr: f64 },
    Momentum { lr: f64, rho: f64 },
    AdaGrad { lr: f64, eps: f64 },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64 },
}

impl OptimizerSpec {
    pub fn build(&self) -> Optimizer {
        match *self {
            OptimizerSpec::Sgd { lr } => Optimizer::Sgd { lr },
            OptimizerSpec::Momentum { lr, rho } => Optimizer::Momentum { lr, rho, velocity: vec![] },
            OptimizerSpec::AdaGrad { lr, eps } => Optimizer::AdaGrad { lr, eps, g2: vec![] },
            OptimizerSpec::Adam { lr, beta1, beta2, eps } => {
                Optimizer::Adam { lr, beta1, beta2, eps, t: 0, m: vec![], v: vec![] }
            }
        }
    }
}

#[derive(Clone, Debug)]
pub enum ModelKind {
    RandomWalk,
    Mean,
    Linear { loss: Loss, optimizer: OptimizerSpec, l1: f64, l2: f64, huber_delta: f64, clip: f64 },
    Direction { optimizer: OptimizerSpec, l1: f64, l2: f64 },
    Mlp(MlpSpec),
    External { n_inputs: usize },
}

#[derive(Clone, Debug)]
pub struct MlpSpec {
    pub hidden: Vec<usize>,
    pub activations: Vec<Activation>, // one per hidden layer
    pub head: Head,
    pub dropout: f64,
    pub l1: f64,
    pub l2: f64,
    pub clip: f64,
    pub optimizer: OptimizerSpec,
}

/// A 64-bit hash of a text (FNV-1a): the network's initial weights follow from its fingerprint.
pub fn text_seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub name: String,
    pub fingerprint: String,
    pub kind: ModelKind,
}

impl ModelConfig {
    /// A fresh model of this spec for feature vectors of `width`.
    pub fn build(&self, width: usize) -> Model {
        match &self.kind {
            ModelKind::RandomWalk => Model::RandomWalk,
            ModelKind::Mean => Model::Mean { n: 0, mean: 0.0 },
            ModelKind::Linear { loss, optimizer, l1, l2, huber_delta, clip } => {
                Model::Linear(Linear {
                    loss: *loss,
                    optimizer: optimizer.build(),
                    l1: *l1,
                    l2: *l2,
                    huber_delta: *huber_delta,
                    clip: *clip,
                    weights: vec![0.0; width + 1],
                })
            }
            ModelKind::Direction { optimizer, l1, l2 } => Model::Direction(Direction {
                linear: Linear {
                    loss: Loss::Squared,
                    optimizer: optimizer.build(),
                    l1: *l1,
                    l2: *l2,
                    huber_delta: 1.345,
                    clip: 10.0,
                    weights: vec![0.0; width + 1],
                },
            }),
            ModelKind::Mlp(spec) => {
                Model::Mlp(Box::new(Mlp::new(spec, width, text_seed(&self.fingerprint))))
            }
            ModelKind::External { n_inputs } => Model::External { n_inputs: *n_inputs },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub horizon: usize,
    pub level: f64,
    pub alpha: f64,
    pub prior: f64, // the normal quantile the intervals start from
    pub interval_step: f64,
    pub windows: Vec<usize>,
    pub volatility: (f64, f64), // the variance recursion's weights (a, b)
    pub width: usize,
    pub feature_names: Vec<String>,
    pub checked: Vec<usize>, // features the data drift check watches (not the calendar ones)
    pub decay: f64,
    pub block: u64, // labels between two selections of the served model
    pub select_t: f64,
    pub select_hysteresis: f64,
    pub min_outcomes: u64,
    pub metrics_every: u64,
    pub warmup: u64,
    pub models: Vec<ModelConfig>,
    pub drift: DriftConfig,
}

/// The random walk's number among the models: the set always starts with it.
pub const BASELINE: usize = 0;

impl Config {
    pub fn n_models(&self) -> usize {
        self.models.len()
    }

    /// The served forecast's number among a tick's rows: after every model's.
    pub fn served(&self) -> usize {
        self.models.len()
    }

    /// The model a row comes from: itself, or for the served forecast the selected model.
    pub fn based_on(&self, forecaster: usize, selected: usize) -> usize {
        if forecaster == self.served() { selected } else { forecaster }
    }

    pub fn has_externals(&self) -> bool {
        self.drift.detector == Detector::Adwin
            || self.models.iter().any(|m| matches!(m.kind, ModelKind::External { .. }))
    }
}
