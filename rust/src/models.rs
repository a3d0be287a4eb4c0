//! The forecasters of a symbol's model set, on the `learn_one` / `predict_one` protocol.
//!
//! Every model forecasts the standardised return `u = r / sigma` from the scaled feature vector
//! `z` (`sigma`: the running volatility over the horizon when the forecast was made): one
//! learning rate and one Huber threshold then suit daily and second-level data alike. The hot
//! set (baselines, linear regression with any loss and optimiser, logistic direction) is here;
//! opt-in models that River provides are external (called back in Python).

use crate::config::{text_seed, AffineSpec, ModelConfig, ModelParams};
use crate::contract::Loss;
use crate::network::Mlp;
use crate::optim::{residual_gradient, sign, Optimizer};
use crate::stats::{normal_cdf, EXPECTED_ABS_NORMAL};

/// Per-feature running mean and variance (Welford), shared by every model of a symbol.
#[derive(Clone, Debug)]
pub struct Scaler {
    pub n: u64,
    pub means: Vec<f64>,
    pub m2: Vec<f64>,
}

impl Scaler {
    pub fn new(width: usize) -> Self {
        Scaler { n: 0, means: vec![0.0; width], m2: vec![0.0; width] }
    }

    /// Fold `x` into the statistics, then write it standardised into `z` (0 where flat).
    pub fn learn_transform(&mut self, x: &[f64], z: &mut [f64]) {
        self.n += 1;
        let n = self.n as f64;
        for i in 0..x.len() {
            let xi = x[i];
            let delta = xi - self.means[i];
            let mean = self.means[i] + delta / n;
            self.means[i] = mean;
            self.m2[i] += delta * (xi - mean);
            let var = self.m2[i] / n;
            z[i] = if var > 1e-24 { (xi - mean) / var.sqrt() } else { 0.0 };
        }
    }
}

/// A linear score of the features: its weights (the last one the intercept), L1 and L2
/// penalties and the optimiser that steps them.
#[derive(Clone, Debug)]
pub struct Affine {
    pub optimizer: Optimizer,
    pub l1: f64,
    pub l2: f64,
    pub weights: Vec<f64>,
}

impl Affine {
    fn new(spec: &AffineSpec, width: usize) -> Self {
        Affine {
            optimizer: Optimizer::new(&spec.optimizer),
            l1: spec.l1,
            l2: spec.l2,
            weights: vec![0.0; width + 1],
        }
    }

    pub fn score(&self, z: &[f64]) -> f64 {
        let w = &self.weights;
        let mut total = w[w.len() - 1];
        for (wi, zi) in w.iter().zip(z) {
            total += wi * zi;
        }
        total
    }

    /// One optimiser step for the loss's gradient `g` with respect to the score, L1 and L2 added.
    fn step(&mut self, z: &[f64], g: f64, grads: &mut Vec<f64>) {
        let (l1, l2, w) = (self.l1, self.l2, &self.weights);
        grads.clear();
        for (i, zi) in z.iter().enumerate() {
            grads.push(g * zi + l2 * w[i] + l1 * sign(w[i]));
        }
        grads.push(g);
        self.optimizer.step(&mut self.weights, grads);
    }
}

/// Online linear regression: squared, absolute or Huber loss, L1 and L2, any optimiser.
#[derive(Clone, Debug)]
pub struct Linear {
    pub affine: Affine,
    pub loss: Loss,
    pub huber_delta: f64,
    pub clip: f64,
}

impl Linear {
    fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        let g = residual_gradient(self.loss, self.huber_delta, self.affine.score(z) - u);
        self.affine.step(z, g.clamp(-self.clip, self.clip), grads);
    }
}

/// Logistic regression of P(return > 0); its return forecast is (2p - 1) E|u|.
#[derive(Clone, Debug)]
pub struct Direction {
    pub affine: Affine,
}

impl Direction {
    fn probability(&self, z: &[f64]) -> f64 {
        let score = self.affine.score(z).clamp(-30.0, 30.0);
        1.0 / (1.0 + (-score).exp())
    }

    fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        // The log loss's gradient with respect to the score: p - [u > 0].
        let g = self.probability(z) - if u > 0.0 { 1.0 } else { 0.0 };
        self.affine.step(z, g, grads);
    }
}

/// A model of the set. `External` models live in Python (River's); the learner calls them
/// through the `Externals` it is given, by their index in the set.
#[derive(Clone, Debug)]
pub enum Model {
    RandomWalk,
    Mean { n: u64, mean: f64 },
    Linear(Linear),
    Direction(Direction),
    Mlp(Box<Mlp>),
    External { n_inputs: usize },
}

impl Model {
    /// A fresh model of `config` for feature vectors of `width`.
    pub fn new(config: &ModelConfig, width: usize) -> Self {
        match &config.params {
            ModelParams::RandomWalk => Model::RandomWalk,
            ModelParams::Mean => Model::Mean { n: 0, mean: 0.0 },
            ModelParams::Linear { affine, loss, huber_delta, clip } => Model::Linear(Linear {
                affine: Affine::new(affine, width),
                loss: *loss,
                huber_delta: *huber_delta,
                clip: *clip,
            }),
            ModelParams::Direction { affine } => {
                Model::Direction(Direction { affine: Affine::new(affine, width) })
            }
            ModelParams::Mlp(spec) => {
                Model::Mlp(Box::new(Mlp::new(spec, width, text_seed(&config.fingerprint))))
            }
            ModelParams::External { n_inputs } => Model::External { n_inputs: *n_inputs },
        }
    }

    /// Inputs the model fits: adjusted R2's penalty.
    pub fn n_inputs(&self, width: usize) -> usize {
        match self {
            Model::RandomWalk | Model::Mean { .. } => 0,
            Model::Linear(_) | Model::Direction(_) => width,
            Model::Mlp(mlp) => mlp.n_params(),
            Model::External { n_inputs } => *n_inputs,
        }
    }

    /// The forecast and P(up) of a model that lives here (not of an external one).
    pub fn predict(&self, z: &[f64]) -> (f64, f64) {
        match self {
            Model::RandomWalk => (0.0, 0.5),
            Model::Mean { mean, .. } => (*mean, normal_cdf(*mean)),
            Model::Linear(linear) => {
                let u_hat = linear.affine.score(z);
                (u_hat, normal_cdf(u_hat))
            }
            Model::Direction(direction) => {
                let u_hat = (2.0 * direction.probability(z) - 1.0) * EXPECTED_ABS_NORMAL;
                (u_hat, 0.5 + u_hat / (2.0 * EXPECTED_ABS_NORMAL))
            }
            Model::Mlp(mlp) => mlp.predict(z),
            Model::External { .. } => unreachable!("external models are called in Python"),
        }
    }

    pub fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        match self {
            Model::RandomWalk | Model::External { .. } => {}
            Model::Mean { n, mean } => {
                *n += 1;
                *mean += (u - *mean) / *n as f64;
            }
            Model::Linear(linear) => linear.learn(z, u, grads),
            Model::Direction(direction) => direction.learn(z, u, grads),
            Model::Mlp(mlp) => mlp.learn(z, u, grads),
        }
    }

    pub fn optimizer(&self) -> Option<&Optimizer> {
        match self {
            Model::Linear(linear) => Some(&linear.affine.optimizer),
            Model::Direction(direction) => Some(&direction.affine.optimizer),
            Model::Mlp(mlp) => Some(&mlp.optimizer),
            _ => None,
        }
    }

    pub fn optimizer_mut(&mut self) -> Option<&mut Optimizer> {
        match self {
            Model::Linear(linear) => Some(&mut linear.affine.optimizer),
            Model::Direction(direction) => Some(&mut direction.affine.optimizer),
            Model::Mlp(mlp) => Some(&mut mlp.optimizer),
            _ => None,
        }
    }
}
