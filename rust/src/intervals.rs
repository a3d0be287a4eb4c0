//! Online conformal prediction intervals on volatility-scaled residuals, by quantile tracking.
//!
//! The nonconformity score of a matured forecast is `|y - y_hat| / sigma`, with `sigma` the
//! running volatility when the forecast was made. The interval's half-width is `q * sigma`,
//! where `q` tracks the level's quantile of the scores online (Angelopoulos, Candes and
//! Tibshirani, "Conformal PID control", 2023, its proportional term): after each score,
//! `q += step * (miss - alpha)`, a miss being a score above `q`. Whatever the scores do, the
//! long-run share of misses is alpha up to `(max score + step) / (step * T)`; a window of scores
//! is not kept, so the state is one number. `q` starts at the normal quantile.

#[derive(Clone, Debug)]
pub struct Tracker {
    pub q: f64,
}

impl Tracker {
    pub fn new(prior: f64) -> Self {
        Tracker { q: prior }
    }

    /// The current half-width in volatility units.
    pub fn quantile(&self) -> f64 {
        self.q
    }

    /// Learn from one score (a non-finite score is passed over).
    pub fn update(&mut self, score: f64, alpha: f64, step: f64) {
        if !score.is_finite() {
            return;
        }
        let miss = if score > self.q { 1.0 } else { 0.0 };
        self.q = (self.q + step * (miss - alpha)).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_settle_at_alpha_whatever_the_start() {
        let mut tracker = Tracker::new(10.0);
        let mut misses = 0.0;
        let n = 20_000;
        let mut x: u64 = 7;
        for _ in 0..n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let score = (x >> 11) as f64 / (1u64 << 53) as f64 * 4.0; // uniform on [0, 4)
            if score > tracker.quantile() {
                misses += 1.0;
            }
            tracker.update(score, 0.1, 0.05);
        }
        assert!((misses / n as f64 - 0.1).abs() < 0.01);
        assert!((tracker.quantile() - 3.6).abs() < 0.2);
    }
}
