//! The forecasters of a symbol's model set, on the `learn_one` / `predict_one` protocol.
//!
//! Every model forecasts the standardised return `u = r / sigma` from the scaled feature vector
//! `z` (`sigma`: the running volatility over the horizon when the forecast was made): one
//! learning rate and one Huber threshold then suit daily and second-level data alike. The hot
//! set (baselines, linear regression with any loss and optimiser, logistic direction) is here;
//! opt-in models that River provides are external (called back in Python).

use crate::network::Mlp;
use crate::stats::normal_cdf;

pub const EXPECTED_ABS_NORMAL: f64 = 0.797_884_560_802_865_4; // E|u| for a standard normal u

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

/// Updates `weights` in place from `grads` (same length; the last slot is the intercept).
#[derive(Clone, Debug)]
pub enum Optimizer {
    Sgd { lr: f64 },
    Momentum { lr: f64, rho: f64, velocity: Vec<f64> },
    AdaGrad { lr: f64, eps: f64, g2: Vec<f64> },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, t: u64, m: Vec<f64>, v: Vec<f64> },
}

impl Optimizer {
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Sgd { lr }
            | Optimizer::Momentum { lr, .. }
            | Optimizer::AdaGrad { lr, .. }
            | Optimizer::Adam { lr, .. } => *lr,
        }
    }

    pub fn set_lr(&mut self, value: f64) {
        match self {
            Optimizer::Sgd { lr }
            | Optimizer::Momentum { lr, .. }
            | Optimizer::AdaGrad { lr, .. }
            | Optimizer::Adam { lr, .. } => *lr = value,
        }
    }

    pub fn step(&mut self, weights: &mut [f64], grads: &[f64]) {
        match self {
            Optimizer::Sgd { lr } => {
                for (w, g) in weights.iter_mut().zip(grads) {
                    *w -= *lr * g;
                }
            }
            Optimizer::Momentum { lr, rho, velocity } => {
                if velocity.is_empty() {
                    velocity.resize(weights.len(), 0.0);
                }
                for i in 0..grads.len() {
                    velocity[i] = *rho * velocity[i] + *lr * grads[i];
                    weights[i] -= velocity[i];
                }
            }
            Optimizer::AdaGrad { lr, eps, g2 } => {
                if g2.is_empty() {
                    g2.resize(weights.len(), 0.0);
                }
                for i in 0..grads.len() {
                    let g = grads[i];
                    g2[i] += g * g;
                    weights[i] -= *lr * g / (g2[i].sqrt() + *eps);
                }
            }
            Optimizer::Adam { lr, beta1, beta2, eps, t, m, v } => {
                if m.is_empty() {
                    m.resize(weights.len(), 0.0);
                    v.resize(weights.len(), 0.0);
                }
                *t += 1;
                let (b1, b2) = (*beta1, *beta2);
                let t = *t as f64; // powf is C pow, as Python's float ** int
                let rate = *lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
                for i in 0..grads.len() {
                    let g = grads[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    weights[i] -= rate * m[i] / (v[i].sqrt() + *eps);
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Squared,
    Absolute,
    Huber,
}

/// -1, 0 or 1 (0 at 0, where L1's subgradient is taken as 0).
pub fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The loss's gradient with respect to the forecast, at error `err` = forecast - outcome.
pub fn residual_gradient(loss: Loss, huber_delta: f64, err: f64) -> f64 {
    match loss {
        Loss::Squared => err,
        Loss::Absolute => sign(err),
        Loss::Huber => err.clamp(-huber_delta, huber_delta),
    }
}

/// Online linear regression: squared, absolute or Huber loss, L1 and L2, any optimiser.
#[derive(Clone, Debug)]
pub struct Linear {
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub l1: f64,
    pub l2: f64,
    pub huber_delta: f64,
    pub clip: f64,
    pub weights: Vec<f64>, // the last one is the intercept
}

impl Linear {
    pub fn score(&self, z: &[f64]) -> f64 {
        let w = &self.weights;
        let mut total = w[w.len() - 1];
        for (wi, zi) in w.iter().zip(z) {
            total += wi * zi;
        }
        total
    }

    fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        let g = residual_gradient(self.loss, self.huber_delta, self.score(z) - u);
        self.step(z, g.clamp(-self.clip, self.clip), grads);
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

/// Logistic regression of P(return > 0); its return forecast is (2p - 1) E|u|.
#[derive(Clone, Debug)]
pub struct Direction {
    pub linear: Linear,
}

impl Direction {
    fn probability(&self, z: &[f64]) -> f64 {
        let score = self.linear.score(z).clamp(-30.0, 30.0);
        1.0 / (1.0 + (-score).exp())
    }

    fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        // The log loss's gradient with respect to the score: p - [u > 0].
        let g = self.probability(z) - if u > 0.0 { 1.0 } else { 0.0 };
        self.linear.step(z, g, grads);
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
                let u_hat = linear.score(z);
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
            Model::Linear(linear) => Some(&linear.optimizer),
            Model::Direction(direction) => Some(&direction.linear.optimizer),
            Model::Mlp(mlp) => Some(&mlp.optimizer),
            _ => None,
        }
    }

    pub fn optimizer_mut(&mut self) -> Option<&mut Optimizer> {
        match self {
            Model::Linear(linear) => Some(&mut linear.optimizer),
            Model::Direction(direction) => Some(&mut direction.linear.optimizer),
            Model::Mlp(mlp) => Some(&mut mlp.optimizer),
            _ => None,
        }
    }
}
