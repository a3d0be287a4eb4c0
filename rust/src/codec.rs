//! A symbol's state as compact bytes: little-endian numbers and length-prefixed arrays, field
//! by field, in a fixed order. The header (format version, configuration fingerprint) and the
//! compression are `tickcast.codecs`' (Python); this is the payload.

use std::collections::VecDeque;

use crate::config::Config;
use crate::drift::{PageHinkley, Phase, Shift};
use crate::contract::{AUC_BINS, N_LAGS};
use crate::features::Features;
use crate::intervals::Tracker;
use crate::learner::{DriftMonitor, Forecaster, Pending, Prediction, Progress, State};
use crate::metrics::{Metrics, Sums};
use crate::models::{Affine, Direction, Linear, Model, Scaler};
use crate::optim::Optimizer;
use crate::network::Mlp;
use crate::stats::{Ewma, Garch, Rolling};

pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    fn f64(&mut self, v: f64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn f64s(&mut self, v: &[f64]) {
        self.u32(v.len() as u32);
        for &x in v {
            self.f64(x);
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.i64(x);
            }
            None => self.u8(0),
        }
    }
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

pub type Decoded<T> = Result<T, String>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if self.at + n > self.bytes.len() {
            return Err(format!("truncated state at byte {}", self.at));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }
    fn f64(&mut self) -> Decoded<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Decoded<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Decoded<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Decoded<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u8(&mut self) -> Decoded<u8> {
        Ok(self.take(1)?[0])
    }
    fn f64s(&mut self) -> Decoded<Vec<f64>> {
        let n = self.u32()? as usize;
        if n > (self.bytes.len() - self.at) / 8 {
            return Err(format!("an array of {n} values runs past the state's end"));
        }
        (0..n).map(|_| self.f64()).collect()
    }
    fn f64s_of(&mut self, expected: usize, what: &str) -> Decoded<Vec<f64>> {
        let v = self.f64s()?;
        if v.len() != expected {
            return Err(format!("{what} has {} values, expected {expected}", v.len()));
        }
        Ok(v)
    }
    fn opt_i64(&mut self) -> Decoded<Option<i64>> {
        Ok(if self.u8()? == 1 { Some(self.i64()?) } else { None })
    }
    pub fn done(&self) -> Decoded<()> {
        if self.at == self.bytes.len() { Ok(()) } else { Err("trailing bytes after the state".into()) }
    }
}

fn put_rolling(w: &mut Writer, r: &Rolling) {
    // In window order, oldest first: the ring is rebuilt from the start on decoding.
    let (newest, oldest) = r.buffer.split_at(if r.buffer.len() < r.window { 0 } else { r.next });
    let ordered: Vec<f64> = oldest.iter().chain(newest).copied().collect();
    w.f64s(&ordered);
    w.u64(r.n);
    w.f64(r.total);
    w.f64(r.total_sq);
}

fn get_rolling(r: &mut Reader, window: usize) -> Decoded<Rolling> {
    let buffer = r.f64s()?;
    if buffer.len() > window {
        return Err("a rolling window holds more values than its size".into());
    }
    Ok(Rolling { buffer, next: 0, window, n: r.u64()?, total: r.f64()?, total_sq: r.f64()? })
}

fn put_ewma(w: &mut Writer, e: &Ewma) {
    w.f64(e.value);
    w.u8(e.seeded as u8);
}

fn get_ewma(r: &mut Reader, template: &Ewma) -> Decoded<Ewma> {
    Ok(Ewma { alpha: template.alpha, value: r.f64()?, seeded: r.u8()? == 1 })
}

fn put_optimizer(w: &mut Writer, o: &Optimizer) {
    // The kind and hyper-parameters come from the configuration; the learned state is here.
    w.f64(o.lr);
    match o.n_slots() {
        0 => {}
        1 => w.f64s(&o.first),
        _ => {
            w.u64(o.t);
            w.f64s(&o.first);
            w.f64s(&o.second);
        }
    }
}

/// An optimiser's learned slots for `n` weights: empty until its first step, then one per
/// weight (another length would index out of bounds at the next step).
fn get_optimizer(r: &mut Reader, template: &Optimizer, n: usize) -> Decoded<Optimizer> {
    let mut o = template.clone();
    o.lr = r.f64()?;
    let slots = |r: &mut Reader| -> Decoded<Vec<f64>> {
        let v = r.f64s()?;
        if !v.is_empty() && v.len() != n {
            return Err(format!("an optimiser has {} slots for {n} weights", v.len()));
        }
        Ok(v)
    };
    match o.n_slots() {
        0 => {}
        1 => o.first = slots(r)?,
        _ => {
            o.t = r.u64()?;
            o.first = slots(r)?;
            o.second = slots(r)?;
            if o.first.len() != o.second.len() {
                return Err("an optimiser's moments differ in length".into());
            }
        }
    }
    Ok(o)
}

fn put_model(w: &mut Writer, m: &Model) {
    match m {
        Model::RandomWalk | Model::External { .. } => {}
        Model::Mean { n, mean } => {
            w.u64(*n);
            w.f64(*mean);
        }
        Model::Linear(Linear { affine, .. }) | Model::Direction(Direction { affine }) => {
            w.f64s(&affine.weights);
            put_optimizer(w, &affine.optimizer);
        }
        Model::Mlp(mlp) => {
            w.u64(mlp.seed);
            w.u64(mlp.steps);
            w.f64s(&mlp.params);
            w.f64s(&mlp.grad_norms);
            put_optimizer(w, &mlp.optimizer);
        }
    }
}

fn get_model(r: &mut Reader, template: &Model, width: usize) -> Decoded<Model> {
    Ok(match template {
        Model::RandomWalk => Model::RandomWalk,
        Model::External { n_inputs } => Model::External { n_inputs: *n_inputs },
        Model::Mean { .. } => Model::Mean { n: r.u64()?, mean: r.f64()? },
        Model::Linear(linear) => Model::Linear(Linear {
            affine: get_affine(r, &linear.affine, width, "a linear model")?,
            ..linear.clone()
        }),
        Model::Direction(direction) => Model::Direction(Direction {
            affine: get_affine(r, &direction.affine, width, "a direction model")?,
        }),
        Model::Mlp(mlp) => Model::Mlp(Box::new(Mlp {
            seed: r.u64()?,
            steps: r.u64()?,
            params: r.f64s_of(mlp.n_params(), "a network")?,
            grad_norms: r.f64s_of(mlp.grad_norms.len(), "a network's gradient norms")?,
            optimizer: get_optimizer(r, &mlp.optimizer, mlp.n_params())?,
            ..(**mlp).clone()
        })),
    })
}

fn get_affine(r: &mut Reader, template: &Affine, width: usize, what: &str) -> Decoded<Affine> {
    Ok(Affine {
        weights: r.f64s_of(width + 1, what)?,
        optimizer: get_optimizer(r, &template.optimizer, width + 1)?,
        ..template.clone()
    })
}

fn put_sums(w: &mut Writer, s: &Sums) {
    for v in [
        s.w, s.w2, s.abs_err, s.sq_err, s.err, s.y, s.y2, s.sq_err_mean, s.abs_rw, s.gain,
        s.gain2, s.hits, s.yhat_y, s.yhat2, s.winkler, s.covered, s.tp, s.fp, s.fn_, s.tn,
        s.log_loss, s.fit_w, s.fit_abs_err,
    ] {
        w.f64(v);
    }
    w.f64s(&s.pos_bins);
    w.f64s(&s.neg_bins);
}

fn get_sums(r: &mut Reader) -> Decoded<Sums> {
    let mut v = [0.0; 23];
    for x in v.iter_mut() {
        *x = r.f64()?;
    }
    let [w, w2, abs_err, sq_err, err, y, y2, sq_err_mean, abs_rw, gain, gain2, hits, yhat_y,
         yhat2, winkler, covered, tp, fp, fn_, tn, log_loss, fit_w, fit_abs_err] = v;
    let pos_bins = r.f64s_of(AUC_BINS, "AUC bins")?;
    let neg_bins = r.f64s_of(AUC_BINS, "AUC bins")?;
    Ok(Sums {
        w, w2, abs_err, sq_err, err, y, y2, sq_err_mean, abs_rw, gain, gain2, hits, yhat_y,
        yhat2, winkler, covered, tp, fp, fn_, tn, log_loss, fit_w, fit_abs_err, pos_bins,
        neg_bins,
    })
}

fn put_shift(w: &mut Writer, s: &Shift) {
    // The edges are not written: they follow from (mean, m2) once the scale is frozen.
    w.u8(match s.phase {
        Phase::Scaling => 0,
        Phase::Reference => 1,
        Phase::Monitoring => 2,
    });
    w.u64(s.seen);
    w.f64(s.mean);
    w.f64(s.m2);
    if s.phase != Phase::Scaling {
        w.f64s(&s.reference);
    }
    if s.phase == Phase::Monitoring {
        w.f64s(&s.current);
        w.f64(s.w);
        w.f64(s.w2);
    }
}

fn get_shift(r: &mut Reader, window: u64) -> Decoded<Shift> {
    let phase = match r.u8()? {
        0 => Phase::Scaling,
        1 => Phase::Reference,
        2 => Phase::Monitoring,
        other => return Err(format!("unknown drift phase {other}")),
    };
    let mut s = Shift::new();
    s.phase = phase;
    s.seen = r.u64()?;
    s.mean = r.f64()?;
    s.m2 = r.f64()?;
    let bins = s.reference.len();
    if phase != Phase::Scaling {
        s.freeze_edges(window);
        s.reference.copy_from_slice(&r.f64s_of(bins, "a reference")?);
    }
    if phase == Phase::Monitoring {
        s.current.copy_from_slice(&r.f64s_of(bins, "a histogram")?);
        s.w = r.f64()?;
        s.w2 = r.f64()?;
    }
    Ok(s)
}

fn put_prediction(w: &mut Writer, p: &Prediction) {
    for v in [p.u_hat, p.y_hat, p.lower, p.upper, p.p_up] {
        w.f64(v);
    }
}

fn get_prediction(r: &mut Reader) -> Decoded<Prediction> {
    Ok(Prediction { u_hat: r.f64()?, y_hat: r.f64()?, lower: r.f64()?, upper: r.f64()?, p_up: r.f64()? })
}

/// A forecaster's learned parts: its model (if it has one) and boost, its interval's quantile,
/// its metrics and its drift test.
fn put_forecaster(w: &mut Writer, f: &Forecaster) {
    if let Some(model) = &f.model {
        put_model(w, model);
        match f.boosted {
            Some((lr, until)) => {
                w.u8(1);
                w.f64(lr);
                w.u64(until);
            }
            None => w.u8(0),
        }
    }
    w.f64(f.interval.q);
    put_sums(w, &f.metrics.cumulative);
    put_sums(w, &f.metrics.rolling);
    let ph = &f.errors;
    w.u64(ph.n);
    w.f64(ph.mean);
    w.f64(ph.cum);
    w.f64(ph.low);
}

fn get_forecaster(r: &mut Reader, template: &Forecaster, width: usize) -> Decoded<Forecaster> {
    let (model, boosted) = match &template.model {
        Some(m) => {
            let model = get_model(r, m, width)?;
            let boosted = if r.u8()? == 1 { Some((r.f64()?, r.u64()?)) } else { None };
            (Some(model), boosted)
        }
        None => (None, None),
    };
    Ok(Forecaster {
        model,
        boosted,
        interval: Tracker { q: r.f64()? },
        metrics: Metrics { cumulative: get_sums(r)?, rolling: get_sums(r)? },
        errors: PageHinkley { n: r.u64()?, mean: r.f64()?, cum: r.f64()?, low: r.f64()? },
    })
}

pub fn encode(state: &State) -> Vec<u8> {
    let mut w = Writer { bytes: Vec::with_capacity(8192) };
    let f = &state.features;
    w.u64(f.n_ticks);
    w.f64(f.last_price);
    w.f64s(&f.lags);
    for rolling in &f.returns {
        put_rolling(&mut w, rolling);
    }
    for ema in f.emas.iter().chain([&f.gain, &f.loss]) {
        put_ewma(&mut w, ema);
    }
    w.u64(f.variance.n);
    w.f64(f.variance.long_run);
    w.f64(f.variance.value);
    put_rolling(&mut w, &f.volume);
    w.u64(state.scaler.n);
    w.f64s(&state.scaler.means);
    w.f64s(&state.scaler.m2);
    for f in &state.forecasters {
        put_forecaster(&mut w, f);
    }
    w.u32(state.pending.len() as u32);
    for p in &state.pending {
        w.i64(p.ts);
        w.u32(p.seq);
        w.f64(p.price);
        w.f64s(&p.z);
        w.f64(p.sigma);
        for prediction in &p.predictions {
            put_prediction(&mut w, prediction);
        }
    }
    w.u64(state.selected as u64);
    w.f64(state.shrink);
    w.f64(state.label_mean);
    let p = &state.progress;
    for v in [p.n_ticks, p.n_labels, p.n_duplicates, p.n_late] {
        w.u64(v);
    }
    w.opt_i64(p.last_ts);
    w.u32(p.last_seq);
    w.opt_i64(p.first_ts);
    w.opt_i64(state.checkpointed.map(|(n, _)| n as i64));
    w.opt_i64(state.checkpointed.map(|(_, ts)| ts));
    let d = &state.drift;
    for shift in d.inputs.iter().chain([&d.prediction]) {
        put_shift(&mut w, shift);
    }
    w.u8(d.biased as u8);
    w.u64(d.seen);
    w.bytes
}

pub fn decode(bytes: &[u8], cfg: &Config) -> Decoded<State> {
    let template = State::new(cfg);
    let mut r = Reader::new(bytes);
    let n_ticks = r.u64()?;
    let last_price = r.f64()?;
    let lags_v = r.f64s_of(N_LAGS, "the lags")?;
    let mut lags = [0.0; N_LAGS];
    lags.copy_from_slice(&lags_v);
    let returns = cfg
        .windows
        .iter()
        .map(|&window| get_rolling(&mut r, window))
        .collect::<Decoded<Vec<_>>>()?;
    let t = &template.features;
    let emas = [get_ewma(&mut r, &t.emas[0])?, get_ewma(&mut r, &t.emas[1])?];
    let gain = get_ewma(&mut r, &t.gain)?;
    let loss = get_ewma(&mut r, &t.loss)?;
    let variance = Garch { n: r.u64()?, long_run: r.f64()?, value: r.f64()?, ..t.variance.clone() };
    let volume = get_rolling(&mut r, t.volume.window)?;
    let features = Features { n_ticks, last_price, lags, returns, emas, gain, loss, volume, variance };
    let scaler = Scaler {
        n: r.u64()?,
        means: r.f64s_of(cfg.width, "the scaler")?,
        m2: r.f64s_of(cfg.width, "the scaler")?,
    };
    let forecasters = template
        .forecasters
        .iter()
        .map(|f| get_forecaster(&mut r, f, cfg.width))
        .collect::<Decoded<Vec<_>>>()?;
    let n = cfg.n_models();
    let n_pending = r.u32()? as usize;
    if n_pending > cfg.horizon {
        return Err(format!("{n_pending} pending forecasts for a horizon of {}", cfg.horizon));
    }
    let mut pending = VecDeque::with_capacity(n_pending);
    for _ in 0..n_pending {
        let ts = r.i64()?;
        let seq = r.u32()?;
        let price = r.f64()?;
        let z = r.f64s_of(cfg.width, "a pending feature vector")?;
        let sigma = r.f64()?;
        let predictions = (0..=n).map(|_| get_prediction(&mut r)).collect::<Decoded<Vec<_>>>()?;
        pending.push_back(Pending { ts, seq, price, z, sigma, predictions });
    }
    let selected = r.u64()? as usize;
    if selected >= n {
        return Err(format!("served model {selected} of {n}"));
    }
    let shrink = r.f64()?;
    let label_mean = r.f64()?;
    let progress = Progress {
        n_ticks: r.u64()?,
        n_labels: r.u64()?,
        n_duplicates: r.u64()?,
        n_late: r.u64()?,
        last_ts: r.opt_i64()?,
        last_seq: r.u32()?,
        first_ts: r.opt_i64()?,
    };
    let checkpoint_labels = r.opt_i64()?;
    let checkpoint_ts = r.opt_i64()?;
    let checkpointed = checkpoint_labels.zip(checkpoint_ts).map(|(n, ts)| (n as u64, ts));
    let window = cfg.drift.window;
    let inputs =
        cfg.checked.iter().map(|_| get_shift(&mut r, window)).collect::<Decoded<Vec<_>>>()?;
    let prediction = get_shift(&mut r, window)?;
    let biased = r.u8()? == 1;
    let seen = r.u64()?;
    r.done()?;
    let mut state = template;
    state.features = features;
    state.scaler = scaler;
    state.forecasters = forecasters;
    state.pending = pending;
    state.selected = selected;
    state.shrink = shrink;
    state.label_mean = label_mean;
    state.progress = progress;
    state.checkpointed = checkpointed;
    state.drift = DriftMonitor { inputs, prediction, biased, seen };
    Ok(state.with_scratch(cfg))
}
