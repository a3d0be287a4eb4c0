//! Incremental statistics: running moments over a fixed window, exponential averages, and the
//! standard normal CDF. O(1) per update, no allocation after construction.

extern "C" {
    // The platform's libm, as Python's math.erf uses: no second implementation of erf.
    fn erf(x: f64) -> f64;
}

pub const EXPECTED_ABS_NORMAL: f64 = 0.797_884_560_802_865_4; // E|u| for a standard normal u

/// P(Z <= x) for a standard normal Z.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + unsafe { erf(x / std::f64::consts::SQRT_2) })
}

/// Count, mean and sample standard deviation of the last `window` values, by running sums
/// (the oldest value is reverted when a new one arrives).
#[derive(Clone, Debug)]
pub struct Rolling {
    pub buffer: Vec<f64>,
    pub next: usize,
    pub window: usize,
    pub n: u64,
    pub total: f64,
    pub total_sq: f64,
}

impl Rolling {
    pub fn new(window: usize) -> Self {
        Rolling { buffer: Vec::with_capacity(window), next: 0, window, n: 0, total: 0.0, total_sq: 0.0 }
    }

    pub fn update(&mut self, x: f64) {
        if self.buffer.len() < self.window {
            self.buffer.push(x);
        } else {
            let old = self.buffer[self.next];
            self.n -= 1;
            self.total -= old;
            self.total_sq -= old * old;
            self.buffer[self.next] = x;
            self.next = (self.next + 1) % self.window;
        }
        self.n += 1;
        self.total += x;
        self.total_sq += x * x;
    }

    pub fn mean(&self) -> f64 {
        if self.n > 0 { self.total / self.n as f64 } else { 0.0 }
    }

    pub fn std(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        let mean = self.total / n;
        ((self.total_sq - n * mean * mean) / (n - 1.0)).max(0.0).sqrt()
    }
}

/// Exponentially weighted mean with span `s` (alpha = 2 / (s + 1)); the first value seeds it.
#[derive(Clone, Debug)]
pub struct Ewma {
    pub alpha: f64,
    pub value: f64,
    pub seeded: bool,
}

impl Ewma {
    pub fn new(span: f64) -> Self {
        Ewma { alpha: 2.0 / (span + 1.0), value: 0.0, seeded: false }
    }

    pub fn update(&mut self, x: f64) {
        if self.seeded {
            self.value += self.alpha * (x - self.value);
        } else {
            self.value = x;
            self.seeded = true;
        }
    }
}

/// A GARCH(1,1)-type variance recursion with fixed weights that reverts to the series' own
/// long-run variance (see `LONG_RUN_SPAN`): after a calm spell it widens
/// toward the long run and after a storm it narrows, as fitted GARCH models do; an EWMA never
/// reverts, so its intervals were too narrow in calm and too wide in storm.
/// The long-run variance is the mean of the squared returns so far, then (past this many) an
/// exponential average over about as many: a lasting change of volatility is learned, not
/// averaged away over the whole history.
const LONG_RUN_SPAN: f64 = 1000.0;

#[derive(Clone, Debug)]
pub struct Garch {
    pub a: f64, // the weight of the newest squared return
    pub b: f64, // the weight of the last variance (a + b < 1: the persistence)
    pub n: u64,
    pub long_run: f64,
    pub value: f64,
}

impl Garch {
    pub fn new(a: f64, b: f64) -> Self {
        Garch { a, b, n: 0, long_run: 0.0, value: 0.0 }
    }

    pub fn update(&mut self, x2: f64) {
        self.n += 1;
        let weight = (1.0 / self.n as f64).max(1.0 / LONG_RUN_SPAN);
        self.long_run += (x2 - self.long_run) * weight;
        self.value = if self.n == 1 {
            x2
        } else {
            (1.0 - self.a - self.b) * self.long_run + self.a * x2 + self.b * self.value
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_keeps_the_last_window() {
        let mut r = Rolling::new(3);
        for x in [1.0, 2.0, 3.0, 4.0] {
            r.update(x);
        }
        assert_eq!(r.mean(), 3.0);
        assert!((r.std() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn normal_cdf_is_symmetric() {
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!((normal_cdf(1.6448536269514722) - 0.95).abs() < 1e-12);
    }
}
