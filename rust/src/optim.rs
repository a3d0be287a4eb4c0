//! Optimisers and the losses' gradients: what every learned model of `models` and `network`
//! steps its weights with.

use crate::config::OptimizerSpec;
use crate::contract::Loss;

/// Updates weights in place from their gradients (same length; the last slot is the
/// intercept). The hyper-parameters are the spec's; the learned part is the current learning
/// rate (a drift boost raises it for a while), the step count and up to two slots per weight
/// (momentum's velocity, AdaGrad's squared sums, Adam's two moments), empty until the first step.
#[derive(Clone, Debug)]
pub struct Optimizer {
    pub spec: OptimizerSpec,
    pub lr: f64,
    pub t: u64,
    pub first: Vec<f64>,
    pub second: Vec<f64>,
}

impl Optimizer {
    pub fn new(spec: &OptimizerSpec) -> Self {
        Optimizer { spec: spec.clone(), lr: spec.lr(), t: 0, first: vec![], second: vec![] }
    }

    /// How many slots per weight the optimiser keeps.
    pub fn n_slots(&self) -> usize {
        match self.spec {
            OptimizerSpec::Sgd { .. } => 0,
            OptimizerSpec::Momentum { .. } | OptimizerSpec::AdaGrad { .. } => 1,
            OptimizerSpec::Adam { .. } => 2,
        }
    }

    pub fn step(&mut self, weights: &mut [f64], grads: &[f64]) {
        let lr = self.lr;
        if self.first.is_empty() && self.n_slots() > 0 {
            self.first.resize(weights.len(), 0.0);
        }
        match self.spec {
            OptimizerSpec::Sgd { .. } => {
                for (w, g) in weights.iter_mut().zip(grads) {
                    *w -= lr * g;
                }
            }
            OptimizerSpec::Momentum { rho, .. } => {
                let velocity = &mut self.first;
                for i in 0..grads.len() {
                    velocity[i] = rho * velocity[i] + lr * grads[i];
                    weights[i] -= velocity[i];
                }
            }
            OptimizerSpec::AdaGrad { eps, .. } => {
                let g2 = &mut self.first;
                for i in 0..grads.len() {
                    let g = grads[i];
                    g2[i] += g * g;
                    weights[i] -= lr * g / (g2[i].sqrt() + eps);
                }
            }
            OptimizerSpec::Adam { beta1: b1, beta2: b2, eps, .. } => {
                if self.second.is_empty() {
                    self.second.resize(weights.len(), 0.0);
                }
                self.t += 1;
                let t = self.t as f64; // powf is C pow, as Python's float ** int
                let rate = lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
                let (m, v) = (&mut self.first, &mut self.second);
                for i in 0..grads.len() {
                    let g = grads[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    weights[i] -= rate * m[i] / (v[i].sqrt() + eps);
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_takes_a_step_of_about_lr_against_the_gradient_at_first() {
        let spec = OptimizerSpec::Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
        let mut o = Optimizer::new(&spec);
        let mut w = vec![1.0, -1.0];
        o.step(&mut w, &[2.0, -0.5]);
        assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 0.9).abs() < 1e-6, "{w:?}");
        assert_eq!((o.t, o.first.len(), o.second.len()), (1, 2, 2));
    }

    #[test]
    fn sgd_keeps_no_slots_and_momentum_one() {
        let mut sgd = Optimizer::new(&OptimizerSpec::Sgd { lr: 0.5 });
        let mut w = vec![1.0];
        sgd.step(&mut w, &[1.0]);
        assert_eq!((w[0], sgd.first.len()), (0.5, 0));
        let mut momentum = Optimizer::new(&OptimizerSpec::Momentum { lr: 0.5, rho: 0.9 });
        momentum.step(&mut w, &[1.0]);
        momentum.step(&mut w, &[1.0]);
        assert!((w[0] - (0.5 - 0.5 - 0.95)).abs() < 1e-12, "{w:?}");
    }
}
