//! A small multilayer perceptron learned one tick at a time by back-propagation.
//!
//! Dense layers, each with its activation, then one linear output unit: the standardised return
//! (regression: squared, absolute or Huber loss) or the logit of P(up) (direction: log loss).
//! Every parameter sits in one flat vector so that any optimiser of `models` steps it; L1 and L2
//! apply to the weights, not the biases; the gradient is clipped to a maximum L2 norm. Dropout
//! masks come from a counter-based hash of (the symbol's seed, the learning step, the unit), so a
//! replay draws the same masks without any random state to save. Each layer's gradient norm is
//! followed by an exponential average: vanishing or exploding gradients show there.

use crate::config::{Head, MlpSpec};
use crate::contract::Activation;
use crate::optim::{residual_gradient, sign, Optimizer};
use crate::stats::{normal_cdf, EXPECTED_ABS_NORMAL};

const NORM_DECAY: f64 = 0.99; // the gradient norms' average spans about 100 learning steps

impl Activation {
    fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Elu => {
                if x > 0.0 {
                    x
                } else {
                    x.exp_m1()
                }
            }
        }
    }

    /// The derivative at pre-activation `x` whose activation is `a`.
    fn derivative(self, x: f64, a: f64) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Elu => {
                if x > 0.0 {
                    1.0
                } else {
                    a + 1.0
                }
            }
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x.clamp(-30.0, 30.0)).exp())
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of a counter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in [0, 1) from a hash.
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Clone, Debug)]
pub struct Mlp {
    pub spec: MlpSpec,
    pub sizes: Vec<usize>, // inputs, each hidden layer, 1
    pub seed: u64,
    pub steps: u64,
    pub params: Vec<f64>,
    pub optimizer: Optimizer,
    pub grad_norms: Vec<f64>, // per layer (the output layer last)
}

/// Where a layer's weights (`out` rows of `inp`) and biases start in the flat vector.
fn offsets(sizes: &[usize]) -> Vec<usize> {
    let mut at = vec![0];
    for pair in sizes.windows(2) {
        at.push(at[at.len() - 1] + pair[1] * (pair[0] + 1));
    }
    at
}

impl Mlp {
    /// A network of `spec` for inputs of `width`, its weights drawn by Glorot's uniform rule
    /// from `init_seed`.
    pub fn new(spec: &MlpSpec, width: usize, init_seed: u64) -> Self {
        let sizes = [vec![width], spec.hidden.clone(), vec![1]].concat();
        let at = offsets(&sizes);
        let mut params = vec![0.0; at[at.len() - 1]];
        for (layer, pair) in sizes.windows(2).enumerate() {
            let (inp, out) = (pair[0], pair[1]);
            let bound = (6.0 / (inp + out) as f64).sqrt();
            for k in 0..out * inp {
                let draw = unit(mix(init_seed ^ mix(((layer as u64) << 32) | k as u64)));
                params[at[layer] + k] = (2.0 * draw - 1.0) * bound;
            }
        }
        let n_layers = sizes.len() - 1;
        Mlp {
            spec: spec.clone(),
            sizes,
            seed: 0,
            steps: 0,
            params,
            optimizer: Optimizer::new(&spec.optimizer),
            grad_norms: vec![0.0; n_layers],
        }
    }

    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// One forward pass: every layer's activations (the input first, the output score last),
    /// the hidden layers' pre-activations and, with `train`, their dropout factors (0 for a
    /// dropped unit, 1 / keep for a kept one: inverted dropout).
    fn forward(&self, z: &[f64], train: bool) -> Pass {
        let at = offsets(&self.sizes);
        let n_layers = self.sizes.len() - 1;
        let keep = 1.0 - self.spec.dropout;
        let mut pass = Pass { acts: vec![z.to_vec()], pre: Vec::new(), masks: Vec::new() };
        for layer in 0..n_layers {
            let (inp, out) = (self.sizes[layer], self.sizes[layer + 1]);
            let w = &self.params[at[layer]..at[layer + 1]];
            let input = &pass.acts[layer];
            let p: Vec<f64> = (0..out)
                .map(|j| {
                    let row = &w[j * inp..(j + 1) * inp];
                    w[out * inp + j] + row.iter().zip(input).map(|(a, b)| a * b).sum::<f64>()
                })
                .collect();
            if layer + 1 == n_layers {
                pass.acts.push(p);
                break;
            }
            let act = self.spec.activations[layer];
            let mask: Vec<f64> = (0..out)
                .map(|j| {
                    if !train || self.spec.dropout == 0.0 {
                        return 1.0;
                    }
                    let key = (self.steps << 24) ^ ((layer as u64) << 16) ^ j as u64;
                    if unit(mix(self.seed ^ mix(key))) < keep { 1.0 / keep } else { 0.0 }
                })
                .collect();
            pass.acts.push(p.iter().zip(&mask).map(|(&x, m)| act.apply(x) * m).collect());
            pass.pre.push(p);
            pass.masks.push(mask);
        }
        pass
    }

    fn score(&self, z: &[f64]) -> f64 {
        self.forward(z, false).acts[self.sizes.len() - 1][0]
    }

    /// The forecast of the standardised return and P(up).
    pub fn predict(&self, z: &[f64]) -> (f64, f64) {
        let s = self.score(z);
        match self.spec.head {
            Head::Return { .. } => (s, normal_cdf(s)),
            Head::Direction => {
                let p = sigmoid(s);
                ((2.0 * p - 1.0) * EXPECTED_ABS_NORMAL, p)
            }
        }
    }

    /// One step of back-propagation on the outcome `u` of input `z`.
    pub fn learn(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        self.gradient(z, u, grads);
        let total = grads.iter().map(|g| g * g).sum::<f64>().sqrt();
        if total > self.spec.clip {
            let scale = self.spec.clip / total;
            grads.iter_mut().for_each(|g| *g *= scale);
        }
        self.optimizer.step(&mut self.params, grads);
        self.steps += 1;
    }

    /// The loss's gradient with respect to every parameter, by back-propagation (into `grads`);
    /// each layer's norm goes into its running average.
    fn gradient(&mut self, z: &[f64], u: f64, grads: &mut Vec<f64>) {
        let pass = self.forward(z, true);
        let n_layers = self.sizes.len() - 1;
        let s = pass.acts[n_layers][0];
        let mut delta = vec![match self.spec.head {
            Head::Return { loss, huber_delta } => residual_gradient(loss, huber_delta, s - u),
            Head::Direction => sigmoid(s) - if u > 0.0 { 1.0 } else { 0.0 },
        }];
        let at = offsets(&self.sizes);
        grads.clear();
        grads.resize(self.params.len(), 0.0);
        for layer in (0..n_layers).rev() {
            let (inp, out) = (self.sizes[layer], self.sizes[layer + 1]);
            let w = &self.params[at[layer]..at[layer + 1]];
            let g = &mut grads[at[layer]..at[layer + 1]];
            let input = &pass.acts[layer];
            for j in 0..out {
                for k in 0..inp {
                    let wk = w[j * inp + k];
                    g[j * inp + k] = delta[j] * input[k] + self.spec.l2 * wk + self.spec.l1 * sign(wk);
                }
                g[out * inp + j] = delta[j];
            }
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            self.grad_norms[layer] = NORM_DECAY * self.grad_norms[layer] + (1.0 - NORM_DECAY) * norm;
            if layer > 0 {
                let (act, pre, mask) =
                    (self.spec.activations[layer - 1], &pass.pre[layer - 1], &pass.masks[layer - 1]);
                delta = (0..inp)
                    .map(|k| {
                        let back: f64 = (0..out).map(|j| w[j * inp + k] * delta[j]).sum();
                        back * act.derivative(pre[k], act.apply(pre[k])) * mask[k]
                    })
                    .collect();
            }
        }
    }
}

/// What a forward pass leaves for the backward one.
struct Pass {
    acts: Vec<Vec<f64>>,
    pre: Vec<Vec<f64>>,
    masks: Vec<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OptimizerSpec;
    use crate::contract::Loss;

    fn network(activation: Activation, head: Head) -> Mlp {
        let spec = MlpSpec {
            hidden: vec![4, 3],
            activations: vec![activation; 2],
            head,
            dropout: 0.0,
            l1: 0.0,
            l2: 0.0,
            clip: 10.0,
            optimizer: OptimizerSpec::Sgd { lr: 0.01 },
        };
        Mlp::new(&spec, 3, 7)
    }

    fn loss(m: &Mlp, z: &[f64], u: f64) -> f64 {
        let s = m.forward(z, false).acts[m.sizes.len() - 1][0];
        match m.spec.head {
            Head::Return { .. } => 0.5 * (s - u) * (s - u),
            Head::Direction => {
                let p = sigmoid(s);
                if u > 0.0 { -p.ln() } else { -(1.0 - p).ln() }
            }
        }
    }

    #[test]
    fn back_propagation_agrees_with_finite_differences() {
        let z = [0.3, -1.2, 0.8];
        let heads = [Head::Return { loss: Loss::Squared, huber_delta: 1.0 }, Head::Direction];
        for activation in [
            Activation::Linear, Activation::Relu, Activation::Tanh, Activation::Sigmoid,
            Activation::Elu,
        ] {
            for head in heads {
                let mut m = network(activation, head);
                let mut grads = Vec::new();
                m.gradient(&z, 0.7, &mut grads);
                for k in 0..m.n_params() {
                    let (mut up, mut down) = (m.clone(), m.clone());
                    up.params[k] += 1e-6;
                    down.params[k] -= 1e-6;
                    let numeric = (loss(&up, &z, 0.7) - loss(&down, &z, 0.7)) / 2e-6;
                    assert!(
                        (numeric - grads[k]).abs() < 1e-6 * (1.0 + numeric.abs()),
                        "{activation:?} {head:?} parameter {k}: {numeric} vs {}", grads[k]
                    );
                }
            }
        }
    }

    #[test]
    fn dropout_masks_follow_the_seed_and_the_step_only() {
        let mut a = network(Activation::Relu, Head::Direction);
        a.spec.dropout = 0.5;
        let mut b = a.clone();
        let z = [0.3, -1.2, 0.8];
        assert_eq!(a.forward(&z, true).masks, b.forward(&z, true).masks);
        b.seed = 1;
        assert_ne!(a.forward(&z, true).masks, b.forward(&z, true).masks);
        let before = a.forward(&z, true).masks;
        a.learn(&z, 1.0, &mut Vec::new());
        assert_ne!(a.forward(&z, true).masks, before);
        assert!(a.forward(&z, false).masks.is_empty() || a.forward(&z, false).masks.iter().flatten().all(|&m| m == 1.0));
    }
}
