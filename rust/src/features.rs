//! Per-symbol features, updated incrementally from each tick's own fields and event time.
//!
//! The vector, in order: three lagged returns; the mean and standard deviation of the returns
//! over each window; the gaps to two price EMAs; an RSI-like balance; the volume's z-score;
//! the log high/low range; the time of day and the day of the week as sine and cosine.

use crate::contract::{EMA_SPANS, N_LAGS, REST_FEATURES};
use crate::stats::{Ewma, Garch, Rolling};

const DAY_MS: i64 = 86_400_000;
const EPOCH_WEEKDAY: i64 = 3; // 1970-01-01 was a Thursday; Monday is 0
const RSI_PERIOD: f64 = 14.0;
const VOLUME_WINDOW: usize = 20;

/// How many features the given windows make.
pub fn width(windows: &[usize]) -> usize {
    N_LAGS + 2 * windows.len() + EMA_SPANS.len() + REST_FEATURES.len()
}

/// The features' names for the given windows, in vector order.
pub fn names(windows: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = (1..=N_LAGS).map(|i| format!("ret_lag{i}")).collect();
    for w in windows {
        names.push(format!("ret_mean_{w}"));
        names.push(format!("ret_std_{w}"));
    }
    names.extend(EMA_SPANS.iter().map(|span| format!("ema_gap_{span}")));
    names.extend(REST_FEATURES.iter().map(|name| name.to_string()));
    names
}

/// One tick's fields as the features read them.
#[derive(Clone, Copy, Debug)]
pub struct TickFields {
    pub ts: i64,
    pub seq: u32,
    pub price: f64,
    pub volume: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Features {
    pub n_ticks: u64,
    pub last_price: f64,
    pub lags: [f64; N_LAGS],
    pub returns: Vec<Rolling>,
    pub emas: [Ewma; 2],
    pub gain: Ewma,
    pub loss: Ewma,
    pub volume: Rolling,
    pub variance: Garch, // the running volatility that scales targets and intervals
}

impl Features {
    /// `volatility`: the variance recursion's weights (a, b).
    pub fn new(windows: &[usize], volatility: (f64, f64)) -> Self {
        Features {
            n_ticks: 0,
            last_price: 0.0,
            lags: [0.0; N_LAGS],
            returns: windows.iter().map(|&w| Rolling::new(w)).collect(),
            emas: [Ewma::new(EMA_SPANS[0]), Ewma::new(EMA_SPANS[1])],
            gain: Ewma::new(2.0 * RSI_PERIOD - 1.0), // Wilder's smoothing as an EMA
            loss: Ewma::new(2.0 * RSI_PERIOD - 1.0),
            volume: Rolling::new(VOLUME_WINDOW),
            variance: Garch::new(volatility.0, volatility.1),
        }
    }

    /// The forecast standard deviation of the next one-tick log return (0 before the first).
    pub fn volatility(&self) -> f64 {
        self.variance.value.sqrt()
    }

    /// Fold the tick into the state and write the feature vector as of this tick into `x`.
    pub fn update(&mut self, tick: &TickFields, x: &mut [f64]) {
        let price = tick.price;
        if self.n_ticks > 0 {
            let r = (price / self.last_price).ln();
            self.lags.rotate_right(1);
            self.lags[0] = r;
            for rolling in self.returns.iter_mut() {
                rolling.update(r);
            }
            self.gain.update(if r > 0.0 { r } else { 0.0 });
            self.loss.update(if r < 0.0 { -r } else { 0.0 });
            self.variance.update(r * r);
        }
        self.n_ticks += 1;
        self.last_price = price;
        for ema in self.emas.iter_mut() {
            ema.update(price);
        }
        let mut volume_z = 0.0;
        if let Some(volume) = tick.volume {
            let v = volume.ln_1p();
            if self.volume.n >= 2 {
                let std = self.volume.std();
                volume_z = if std > 0.0 { (v - self.volume.mean()) / std } else { 0.0 };
            }
            self.volume.update(v);
        }
        let mut i = 0;
        for lag in self.lags {
            x[i] = lag;
            i += 1;
        }
        for rolling in &self.returns {
            x[i] = rolling.mean();
            x[i + 1] = rolling.std();
            i += 2;
        }
        for ema in &self.emas {
            x[i] = (price / ema.value).ln();
            i += 1;
        }
        let total = self.gain.value + self.loss.value;
        x[i] = if total > 0.0 { (self.gain.value - self.loss.value) / total } else { 0.0 };
        x[i + 1] = volume_z;
        x[i + 2] = match (tick.high, tick.low) {
            (Some(high), Some(low)) if high != 0.0 && low != 0.0 => (high / low).ln(),
            _ => 0.0,
        };
        let tau = 2.0 * std::f64::consts::PI;
        let day_phase = tau * (tick.ts.rem_euclid(DAY_MS) as f64) / DAY_MS as f64;
        let weekday = (tick.ts.div_euclid(DAY_MS) + EPOCH_WEEKDAY).rem_euclid(7);
        let week_phase = tau * (weekday as f64) / 7.0;
        x[i + 3] = day_phase.sin();
        x[i + 4] = day_phase.cos();
        x[i + 5] = week_phase.sin();
        x[i + 6] = week_phase.cos();
    }
}
