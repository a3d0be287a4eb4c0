//! The core's configuration, as Python's `CoreConfig` resolves it (defaults and validation
//! stay there, in `tickcast.online_model.spec`; this is the resolved, typed form). A leaf:
//! models are built from it in `models`.

use crate::contract::{Activation, ConceptDetector, Loss, Reaction};

#[derive(Clone, Debug)]
pub struct DriftConfig {
    pub reaction: Reaction,
    pub detector: ConceptDetector,
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
    /// What the concept detector's statistic is compared with, for the event record.
    pub fn threshold(&self) -> f64 {
        match self.detector {
            ConceptDetector::PageHinkley => self.ph_threshold,
            ConceptDetector::Adwin => self.adwin_delta,
        }
    }
}

/// An optimiser and its hyper-parameters (its learned slots are `optim::Optimizer`'s).
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerSpec {
    Sgd { lr: f64 },
    Momentum { lr: f64, rho: f64 },
    AdaGrad { lr: f64, eps: f64 },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64 },
}

impl OptimizerSpec {
    /// The configured learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerSpec::Sgd { lr }
            | OptimizerSpec::Momentum { lr, .. }
            | OptimizerSpec::AdaGrad { lr, .. }
            | OptimizerSpec::Adam { lr, .. } => lr,
        }
    }
}

/// A linear model's weights, their penalties and their optimiser.
#[derive(Clone, Debug)]
pub struct AffineSpec {
    pub optimizer: OptimizerSpec,
    pub l1: f64,
    pub l2: f64,
}

/// What a model is, with its hyper-parameters.
#[derive(Clone, Debug)]
pub enum ModelParams {
    RandomWalk,
    Mean,
    Linear { affine: AffineSpec, loss: Loss, huber_delta: f64, clip: f64 },
    Direction { affine: AffineSpec },
    Mlp(MlpSpec),
    External { n_inputs: usize },
}

/// What a network's output unit forecasts, and so which loss it learns by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Head {
    Return { loss: Loss, huber_delta: f64 },
    Direction,
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
    pub params: ModelParams,
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
        self.drift.detector == ConceptDetector::Adwin
            || self.models.iter().any(|m| matches!(m.params, ModelParams::External { .. }))
    }
}
