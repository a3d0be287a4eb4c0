//! Prequential forecast metrics: every forecast is scored once, when its label matures.
//!
//! `Sums` keeps weighted running sums and derives every figure from them on demand. Each
//! forecaster has two: cumulative (every weight 1) and rolling (exponentially weighted: each
//! outcome's weight decays by `1 - 1/window` per later outcome, so the effective window is
//! `window` outcomes), so both cost one update per outcome and a fixed size, whatever the
//! window.
//!
//! Conventions: error = forecast - realised (bias > 0 means over-forecasting); a hit is a
//! forecast whose sign matches the realised return, a zero forecast or a zero return counting
//! half; the direction metrics (precision, recall, F1, ROC AUC) read P(up) > 0.5 as "up" and
//! leave out outcomes whose return is exactly zero; ROC AUC is estimated from a histogram of
//! logit P(up) in 32 bins over [-2, 2] (the backtest report computes it exactly); log loss is
//! the mean cross-entropy of P(up) over the same outcomes. The in-sample MAE is the error on an
//! outcome after learning it, beside the prequential MAE before: the two make learning curves.

use crate::contract::{AUC_BINS, METRIC_NAMES, N_SCORES};

const LOGIT_SPAN: f64 = 2.0;
const LOG_LOSS_FLOOR: f64 = 1e-6; // a certain, wrong P(up) costs -ln(1e-6), not infinity

/// One scored outcome of one forecaster.
#[derive(Clone, Copy, Debug)]
pub struct Scored {
    pub y: f64,
    pub yhat: f64,
    pub lo: f64,
    pub hi: f64,
    pub p_up: f64,
    pub mean_fc: f64, // the running mean of realised returns: r2_oos's reference
}

#[derive(Clone, Debug, Default)]
pub struct Sums {
    pub w: f64,  // the sum of weights (the count, when cumulative)
    pub w2: f64, // the sum of squared weights
    pub abs_err: f64,
    pub sq_err: f64,
    pub err: f64,
    pub y: f64,
    pub y2: f64,
    pub sq_err_mean: f64,
    pub abs_rw: f64,
    pub gain: f64,
    pub gain2: f64,
    pub hits: f64,
    pub yhat_y: f64,
    pub yhat2: f64,
    pub winkler: f64,
    pub covered: f64,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
    pub log_loss: f64, // the cross-entropy of P(up) and the realised direction, summed
    pub fit_w: f64,       // the weights of the in-sample errors (learned outcomes only)
    pub fit_abs_err: f64, // |forecast after learning an outcome - the outcome|, summed
    pub pos_bins: Vec<f64>,
    pub neg_bins: Vec<f64>,
}

fn auc_bin(p_up: f64) -> usize {
    let p = p_up.clamp(1e-12, 1.0 - 1e-12);
    let logit = (p / (1.0 - p)).ln();
    let at = ((logit + LOGIT_SPAN) / (2.0 * LOGIT_SPAN) * AUC_BINS as f64).floor();
    at.clamp(0.0, (AUC_BINS - 1) as f64) as usize
}

pub fn advantage(w: f64, w2: f64, gain: f64, gain2: f64) -> f64 {
    // The weighted paired t-statistic of the gain over the random walk, n_eff = w^2 / w2.
    if w <= 0.0 || w * w - w2 <= 1e-12 * w * w {
        return 0.0;
    }
    let mean = gain / w;
    let var = (gain2 / w - mean * mean) * (w * w) / (w * w - w2);
    let n_eff = w * w / w2;
    if var > 1e-300 { mean / (var / n_eff).sqrt() } else { 0.0 }
}

pub fn shrinkage(yhat_y: f64, yhat2: f64) -> f64 {
    if yhat2 <= 0.0 { 0.0 } else { (yhat_y / yhat2).clamp(0.0, 1.0) }
}

impl Sums {
    pub fn new() -> Self {
        Sums { pos_bins: vec![0.0; AUC_BINS], neg_bins: vec![0.0; AUC_BINS], ..Default::default() }
    }

    /// Decay every sum by `d` (1 for cumulative sums), then add the outcome with weight 1.
    pub fn update(&mut self, s: &Scored, alpha: f64, d: f64) {
        if d != 1.0 {
            self.decay(d);
        }
        let e = s.yhat - s.y;
        let abs_e = e.abs();
        let abs_y = s.y.abs();
        let gain = abs_y - abs_e; // how much closer than the random walk
        self.w += 1.0;
        self.w2 += 1.0;
        self.abs_err += abs_e;
        self.sq_err += e * e;
        self.err += e;
        self.y += s.y;
        self.y2 += s.y * s.y;
        self.sq_err_mean += (s.mean_fc - s.y) * (s.mean_fc - s.y);
        self.abs_rw += abs_y;
        self.gain += gain;
        self.gain2 += gain * gain;
        self.hits += if s.yhat == 0.0 || s.y == 0.0 {
            0.5
        } else if (s.yhat > 0.0) == (s.y > 0.0) {
            1.0
        } else {
            0.0
        };
        self.yhat_y += s.yhat * s.y;
        self.yhat2 += s.yhat * s.yhat;
        let mut width = s.hi - s.lo;
        if s.y < s.lo {
            width += 2.0 / alpha * (s.lo - s.y);
        } else if s.y > s.hi {
            width += 2.0 / alpha * (s.y - s.hi);
        } else {
            self.covered += 1.0;
        }
        self.winkler += width;
        if s.y == 0.0 {
            return; // neither up nor down: no direction outcome
        }
        let up = s.y > 0.0;
        match (s.p_up > 0.5, up) {
            (true, true) => self.tp += 1.0,
            (true, false) => self.fp += 1.0,
            (false, true) => self.fn_ += 1.0,
            (false, false) => self.tn += 1.0,
        }
        let p = s.p_up.clamp(LOG_LOSS_FLOOR, 1.0 - LOG_LOSS_FLOOR);
        self.log_loss -= if up { p.ln() } else { (1.0 - p).ln() };
        let bins = if up { &mut self.pos_bins } else { &mut self.neg_bins };
        bins[auc_bin(s.p_up)] += 1.0;
    }

    fn decay(&mut self, d: f64) {
        self.w *= d;
        self.w2 *= d * d;
        for value in [
            &mut self.abs_err, &mut self.sq_err, &mut self.err, &mut self.y, &mut self.y2,
            &mut self.sq_err_mean, &mut self.abs_rw, &mut self.gain, &mut self.gain2,
            &mut self.hits, &mut self.yhat_y, &mut self.yhat2, &mut self.winkler,
            &mut self.covered, &mut self.tp, &mut self.fp, &mut self.fn_, &mut self.tn,
            &mut self.log_loss, &mut self.fit_w, &mut self.fit_abs_err,
        ] {
            *value *= d;
        }
        for b in self.pos_bins.iter_mut().chain(self.neg_bins.iter_mut()) {
            *b *= d;
        }
    }

    /// Add another set of sums (pooling symbols: cumulative sums only).
    pub fn merge(&mut self, o: &Sums) {
        self.w += o.w;
        self.w2 += o.w2;
        self.abs_err += o.abs_err;
        self.sq_err += o.sq_err;
        self.err += o.err;
        self.y += o.y;
        self.y2 += o.y2;
        self.sq_err_mean += o.sq_err_mean;
        self.abs_rw += o.abs_rw;
        self.gain += o.gain;
        self.gain2 += o.gain2;
        self.hits += o.hits;
        self.yhat_y += o.yhat_y;
        self.yhat2 += o.yhat2;
        self.winkler += o.winkler;
        self.covered += o.covered;
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
        self.log_loss += o.log_loss;
        self.fit_w += o.fit_w;
        self.fit_abs_err += o.fit_abs_err;
        for (a, b) in self.pos_bins.iter_mut().zip(&o.pos_bins) {
            *a += b;
        }
        for (a, b) in self.neg_bins.iter_mut().zip(&o.neg_bins) {
            *a += b;
        }
    }

    pub fn n_eff(&self) -> f64 {
        if self.w2 > 0.0 { self.w * self.w / self.w2 } else { 0.0 }
    }

    pub fn advantage(&self) -> f64 {
        advantage(self.w, self.w2, self.gain, self.gain2)
    }

    pub fn shrinkage(&self) -> f64 {
        shrinkage(self.yhat_y, self.yhat2)
    }

    pub fn roc_auc(&self) -> f64 {
        let pos: f64 = self.pos_bins.iter().sum();
        let neg: f64 = self.neg_bins.iter().sum();
        if pos <= 0.0 || neg <= 0.0 {
            return f64::NAN;
        }
        let (mut area, mut neg_below) = (0.0, 0.0);
        for (p, q) in self.pos_bins.iter().zip(&self.neg_bins) {
            area += p * (neg_below + 0.5 * q);
            neg_below += q;
        }
        area / (pos * neg)
    }

    /// Every figure derived from the sums; NaN where undefined. `n_inputs`: how many inputs
    /// the forecaster fits (adjusted R2's penalty). The names are the metrics' columns.
    pub fn summary(&self, n_inputs: usize) -> Vec<(&'static str, f64)> {
        let w = self.w;
        let n = self.n_eff();
        if w <= 0.0 {
            return vec![("n", 0.0)];
        }
        let nan = f64::NAN;
        let sst = self.y2 - self.y * self.y / w;
        let r2 = if sst > 0.0 { 1.0 - self.sq_err / sst } else { nan };
        let dof = n - n_inputs as f64 - 1.0;
        let directions = self.tp + self.fp + self.fn_ + self.tn;
        let precision = if self.tp + self.fp > 0.0 { self.tp / (self.tp + self.fp) } else { nan };
        let recall = if self.tp + self.fn_ > 0.0 { self.tp / (self.tp + self.fn_) } else { nan };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            nan
        };
        let values: [f64; N_SCORES] = [
            n.round(),
            self.abs_err / w,
            self.sq_err / w,
            (self.sq_err / w).sqrt(),
            r2,
            if dof > 0.0 { 1.0 - (1.0 - r2) * (n - 1.0) / dof } else { nan },
            if self.sq_err_mean > 0.0 { 1.0 - self.sq_err / self.sq_err_mean } else { nan },
            if self.abs_rw > 0.0 { self.abs_err / self.abs_rw } else { nan },
            self.hits / w,
            self.covered / w,
            self.winkler / w,
            self.err / w,
            precision,
            recall,
            f1,
            self.roc_auc(),
            if directions > 0.0 { self.log_loss / directions } else { nan },
            if self.fit_w > 0.0 { self.fit_abs_err / self.fit_w } else { nan },
        ];
        METRIC_NAMES.into_iter().zip(values).collect()
    }
}

/// A forecaster's cumulative and rolling sums.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub cumulative: Sums,
    pub rolling: Sums,
}

impl Metrics {
    pub fn new() -> Self {
        Metrics { cumulative: Sums::new(), rolling: Sums::new() }
    }

    pub fn update(&mut self, s: &Scored, alpha: f64, decay: f64) {
        self.cumulative.update(s, alpha, 1.0);
        self.rolling.update(s, alpha, decay);
    }

    /// The in-sample error of the outcome just scored (weighted as that outcome): the error of
    /// the model's forecast of it after learning it. Far below the prequential error: over-fit.
    pub fn fit(&mut self, abs_err: f64) {
        for sums in [&mut self.cumulative, &mut self.rolling] {
            sums.fit_w += 1.0;
            sums.fit_abs_err += abs_err;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(y: f64, yhat: f64) -> Scored {
        Scored { y, yhat, lo: yhat - 1.0, hi: yhat + 1.0, p_up: 0.5, mean_fc: 0.0 }
    }

    #[test]
    fn cumulative_sums_give_plain_means() {
        let mut m = Metrics::new();
        for (y, yhat) in [(1.0, 0.0), (2.0, 0.0), (3.0, 0.0)] {
            m.update(&scored(y, yhat), 0.1, 0.9);
        }
        let summary: std::collections::HashMap<_, _> = m.cumulative.summary(0).into_iter().collect();
        assert_eq!(summary["n"], 3.0);
        assert_eq!(summary["mae"], 2.0);
        assert!(m.rolling.w < 3.0); // the rolling weights decayed
    }

    #[test]
    fn the_weighted_t_statistic_is_the_paired_one_when_weights_are_equal() {
        let (gains, n) = ([0.5, 1.5, 1.0, 2.0], 4.0);
        let gain: f64 = gains.iter().sum();
        let gain2: f64 = gains.iter().map(|g| g * g).sum();
        let mean = gain / n;
        let var = (gain2 - n * mean * mean) / (n - 1.0);
        assert!((advantage(n, n, gain, gain2) - mean / (var / n).sqrt()).abs() < 1e-12);
    }
}
