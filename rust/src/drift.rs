//! Drift detectors, part of each symbol's state so they replay and recover with the models.
//!
//! - Concept drift: Page-Hinkley on each forecaster's absolute error in volatility units (the
//!   conformal score), so one threshold fits every symbol and bar size (or River's ADWIN,
//!   called in Python, when configured).
//! - Data drift: the population stability index (PSI) of each feature against a reference,
//!   with a two-sample Kolmogorov-Smirnov test evaluated at the bin edges (a binned KS test:
//!   the CDFs are compared where the bins meet, not at every value).
//! - Prediction drift: the same on the served forecast.
//! - Bias: the served forecast's rolling mean signed error, as a t-statistic.
//!
//! A `Shift` keeps no raw values: it learns the stream's mean and spread over its first
//! `window / 5` values, freezes bin edges at the normal deciles of that scale, counts a
//! reference over the next `window` values, then compares an exponentially weighted histogram
//! of the values since (decay `1 - 2 / (window + 1)`: an effective size of `window`, like the
//! reference's) with it, once `window` values have been seen.

const BINS: usize = 10;
const NORMAL_DECILES: [f64; BINS - 1] = [
    -1.2815515655446004, -0.8416212335729143, -0.5244005127080407, -0.2533471031357997, 0.0,
    0.2533471031357997, 0.5244005127080407, 0.8416212335729143, 1.2815515655446004,
];

#[derive(Clone, Debug)]
pub struct PageHinkley {
    pub n: u64,
    pub mean: f64,
    pub cum: f64,
    pub low: f64,
}

impl PageHinkley {
    pub fn new() -> Self {
        PageHinkley { n: 0, mean: 0.0, cum: 0.0, low: 0.0 }
    }

    /// Add one value; the statistic when it crosses the threshold (then it starts again).
    pub fn update(&mut self, x: f64, delta: f64, threshold: f64, min_n: u64) -> Option<f64> {
        self.n += 1;
        self.mean += (x - self.mean) / self.n as f64;
        self.cum += x - self.mean - delta;
        if self.cum < self.low {
            self.low = self.cum;
        }
        let statistic = self.cum - self.low;
        if self.n >= min_n && statistic > threshold {
            *self = PageHinkley::new();
            return Some(statistic);
        }
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Phase {
    Scaling,
    Reference,
    Monitoring,
}

#[derive(Clone, Debug)]
pub struct Shift {
    pub phase: Phase,
    pub seen: u64,
    pub mean: f64,
    pub m2: f64,
    pub edges: [f64; BINS - 1],
    pub reference: [f64; BINS],
    pub current: [f64; BINS],
    pub w: f64,
    pub w2: f64,
}

/// How many values the scaling phase learns the scale from.
fn scaling_size(window: u64) -> u64 {
    (window / 5).max(2)
}

fn bin(edges: &[f64; BINS - 1], x: f64) -> usize {
    edges.iter().take_while(|&&edge| edge <= x).count()
}

impl Shift {
    pub fn new() -> Self {
        Shift {
            phase: Phase::Scaling,
            seen: 0,
            mean: 0.0,
            m2: 0.0,
            edges: [0.0; BINS - 1],
            reference: [0.0; BINS],
            current: [0.0; BINS],
            w: 0.0,
            w2: 0.0,
        }
    }

    /// The bin edges at the normal deciles of the scale learned over the first values: a
    /// function of (mean, m2), so a decoded state recomputes them instead of storing them.
    pub fn freeze_edges(&mut self, window: u64) {
        let std = (self.m2 / (scaling_size(window) - 1) as f64).sqrt();
        for (edge, z) in self.edges.iter_mut().zip(NORMAL_DECILES) {
            *edge = self.mean + std * z;
        }
    }

    pub fn update(&mut self, x: f64, window: u64) {
        if !x.is_finite() {
            return;
        }
        self.seen += 1;
        match self.phase {
            Phase::Scaling => {
                let delta = x - self.mean;
                self.mean += delta / self.seen as f64;
                self.m2 += delta * (x - self.mean);
                if self.seen >= scaling_size(window) {
                    self.freeze_edges(window);
                    self.phase = Phase::Reference;
                    self.seen = 0;
                }
            }
            Phase::Reference => {
                self.reference[bin(&self.edges, x)] += 1.0;
                if self.seen >= window {
                    self.phase = Phase::Monitoring;
                    self.seen = 0;
                }
            }
            Phase::Monitoring => {
                let d = 1.0 - 2.0 / (window as f64 + 1.0); // an effective size of `window`
                for c in self.current.iter_mut() {
                    *c *= d;
                }
                self.current[bin(&self.edges, x)] += 1.0;
                self.w = d * self.w + 1.0;
                self.w2 = d * d * self.w2 + 1.0;
            }
        }
    }

    /// The current histogram as counts of its effective size (w^2 / w2).
    fn current_counts(&self) -> [f64; BINS] {
        let scale = if self.w > 0.0 { self.w / self.w2 } else { 0.0 };
        self.current.map(|c| c * scale)
    }

    /// (PSI, KS p-value) once a window has been monitored, else None.
    pub fn check(&self, window: u64) -> Option<(f64, f64)> {
        if self.phase != Phase::Monitoring || self.seen < window {
            return None;
        }
        let current = self.current_counts();
        Some((psi(&self.reference, &current), binned_ks_pvalue(&self.reference, &current)))
    }

    /// Take what is seen now as the new reference (one shift is one event).
    pub fn rebase(&mut self) {
        self.reference = self.current_counts();
    }
}

/// Population stability index of two binned samples (half a count added to each bin).
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    let bins = expected.len() as f64;
    let n_e = expected.iter().sum::<f64>() + 0.5 * bins;
    let n_a = actual.iter().sum::<f64>() + 0.5 * bins;
    expected
        .iter()
        .zip(actual)
        .map(|(e, a)| {
            let (p, q) = ((e + 0.5) / n_e, (a + 0.5) / n_a);
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// Two-sample Kolmogorov-Smirnov p-value (asymptotic), the CDFs compared at the bin edges.
pub fn binned_ks_pvalue(expected: &[f64], actual: &[f64]) -> f64 {
    let n: f64 = expected.iter().sum();
    let m: f64 = actual.iter().sum();
    if n <= 0.0 || m <= 0.0 {
        return 1.0;
    }
    let (mut ce, mut ca, mut d) = (0.0, 0.0, 0.0f64);
    for (e, a) in expected.iter().zip(actual) {
        ce += e;
        ca += a;
        d = d.max((ce / n - ca / m).abs());
    }
    let lam = d * (n * m / (n + m)).sqrt();
    if lam < 0.2 {
        return 1.0;
    }
    let mut series = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let sign = if k as u64 % 2 == 1 { 1.0 } else { -1.0 };
        series += sign * (-2.0 * k * k * lam * lam).exp();
    }
    (2.0 * series).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_do_not_shift() {
        assert!(psi(&[10.0, 20.0, 30.0], &[10.0, 20.0, 30.0]).abs() < 1e-12);
        assert_eq!(binned_ks_pvalue(&[10.0, 20.0, 30.0], &[10.0, 20.0, 30.0]), 1.0);
    }

    #[test]
    fn page_hinkley_finds_a_mean_shift() {
        let mut ph = PageHinkley::new();
        let before = (0..500).filter_map(|_| ph.update(1.0, 0.05, 50.0, 100)).count();
        let hit = (0..500).position(|_| ph.update(2.0, 0.05, 50.0, 100).is_some());
        assert_eq!(before, 0);
        assert!(hit.unwrap() < 100);
    }
}
