//! Predict, then learn: one symbol's state and the step that advances it by one tick.
//!
//! At tick t the step (1) skips a tick at or before the last event-time position (ts, seq) (a
//! duplicate or late tick: counted, never learned twice), (2) updates the features, (3) scores
//! and learns the forecast made H ticks ago, now that its label (the realised log return) is
//! known, and re-selects the served model every block of labels, (4) forecasts from tick t with
//! every model and serves the selected model's forecast shrunk toward the random walk.
//!
//! Pure and deterministic: no I/O, no clock; the same ticks give the same forecasts anywhere.

use std::collections::VecDeque;

mod reactions;
pub mod rows;

pub use rows::{DriftRow, ForecastRow, MetricRow, OutcomeRow, Outputs};

use crate::config::{Config, BASELINE};
use crate::contract::{ConceptDetector, DriftKind, Status, METRIC_NAMES, N_SCORES};
use reactions::concept;
use crate::drift::{PageHinkley, Shift};
use crate::features::{Features, TickFields};
use crate::intervals::Tracker;
use crate::metrics::{advantage, shrinkage, Metrics, Scored, Sums};
use crate::models::{Model, Scaler};

pub const U_CLIP: f64 = 8.0; // beyond 8 sigma, a return trains as 8 sigma: one jump must not wreck a model

/// One forecaster's forecast in return space, kept until its label matures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prediction {
    pub u_hat: f64,
    pub y_hat: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_up: f64,
}

#[derive(Clone, Debug)]
pub struct Pending {
    pub ts: i64,
    pub seq: u32,
    pub price: f64,
    pub z: Vec<f64>,
    pub sigma: f64,
    pub predictions: Vec<Prediction>, // one per model, then the served forecast
}

/// What the opt-in models and detectors that live in Python do; the learner calls them by
/// the model's (or forecaster's) index.
pub trait Externals {
    fn predict(&mut self, model: usize, z: &[f64]) -> (f64, f64);
    fn learn(&mut self, model: usize, z: &[f64], u: f64);
    fn reset(&mut self, model: usize);
    fn detect(&mut self, forecaster: usize, score: f64) -> Option<f64>;
}

/// For a model set with no external part.
pub struct NoExternals;

impl Externals for NoExternals {
    fn predict(&mut self, _: usize, _: &[f64]) -> (f64, f64) {
        unreachable!("no external models")
    }
    fn learn(&mut self, _: usize, _: &[f64], _: f64) {}
    fn reset(&mut self, _: usize) {}
    fn detect(&mut self, _: usize, _: f64) -> Option<f64> {
        None
    }
}

/// One of a symbol's forecasters: a model of the set with what scores and calibrates it. The
/// served forecast is a forecaster too (the last, `Config::served`), with no model of its own:
/// it forwards the selected model's forecast, shrunk.
#[derive(Clone, Debug)]
pub struct Forecaster {
    pub model: Option<Model>,
    pub boosted: Option<(f64, u64)>, // a boosted learning rate's base, and the label it ends at
    pub interval: Tracker,
    pub metrics: Metrics,
    pub errors: PageHinkley, // the concept-drift test on its scores (unused with ADWIN)
}

impl Forecaster {
    fn new(model: Option<Model>, cfg: &Config) -> Self {
        Forecaster {
            model,
            boosted: None,
            interval: Tracker::new(cfg.prior),
            metrics: Metrics::new(),
            errors: PageHinkley::new(),
        }
    }

    /// The model of a model's forecaster (not the served forecast's, which has none).
    pub fn model(&self) -> &Model {
        self.model.as_ref().expect("the served forecast has no model")
    }
}

#[derive(Clone, Debug)]
pub struct DriftMonitor {
    pub inputs: Vec<Shift>, // one per checked feature
    pub prediction: Shift,
    pub biased: bool,
    pub seen: u64,
}

/// How far a symbol's stream has got: what it counted and the last tick's identity (read by
/// the shells' checkpoints and logs, so Python sees it as one read-only object).
#[pyo3::pyclass(frozen, get_all, module = "tickcast._core")]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub n_ticks: u64,
    pub n_labels: u64,
    pub n_duplicates: u64,
    pub n_late: u64,
    pub last_ts: Option<i64>,
    pub last_seq: u32,
    pub first_ts: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct State {
    pub features: Features,
    pub scaler: Scaler,
    pub forecasters: Vec<Forecaster>, // every model's, then the served forecast's
    pub pending: VecDeque<Pending>,
    pub selected: usize,
    pub shrink: f64,
    pub label_mean: f64,
    pub progress: Progress,
    pub checkpointed: Option<(u64, i64)>,
    pub drift: DriftMonitor,
    x: Vec<f64>,
    z: Vec<f64>,
    grads: Vec<f64>,
}

impl State {
    pub fn new(cfg: &Config) -> Self {
        let models = cfg.models.iter().map(|m| Some(Model::new(m, cfg.width)));
        State {
            features: Features::new(&cfg.windows, cfg.volatility),
            scaler: Scaler::new(cfg.width),
            forecasters: models.chain([None]).map(|m| Forecaster::new(m, cfg)).collect(),
            pending: VecDeque::new(),
            selected: 0,
            shrink: 0.0,
            label_mean: 0.0,
            progress: Progress::default(),
            checkpointed: None,
            drift: DriftMonitor {
                inputs: cfg.checked.iter().map(|_| Shift::new()).collect(),
                prediction: Shift::new(),
                biased: false,
                seen: 0,
            },
            x: vec![0.0; cfg.width],
            z: vec![0.0; cfg.width],
            grads: Vec::with_capacity(cfg.width + 1),
        }
    }

    /// The models' forecasters (every one but the served forecast's).
    pub fn models(&self) -> &[Forecaster] {
        &self.forecasters[..self.forecasters.len() - 1]
    }

    /// The served forecast's forecaster (the last).
    pub fn served(&self) -> &Forecaster {
        &self.forecasters[self.forecasters.len() - 1]
    }

    /// Seed the networks' dropout masks (from the symbol: replays draw the same masks).
    pub fn seed_dropout(&mut self, seed: u64) {
        for f in &mut self.forecasters {
            if let Some(Model::Mlp(mlp)) = &mut f.model {
                mlp.seed = seed;
            }
        }
    }

    fn dropout_seed(&self) -> u64 {
        let seeds = self.models().iter().filter_map(|f| match f.model() {
            Model::Mlp(mlp) => Some(mlp.seed),
            _ => None,
        });
        seeds.into_iter().next().unwrap_or(0)
    }

    /// Per model: each layer's average gradient norm (the output layer last), for networks.
    pub fn gradient_norms(&self) -> Vec<Option<Vec<f64>>> {
        let norms = |f: &Forecaster| match f.model() {
            Model::Mlp(mlp) => Some(mlp.grad_norms.clone()),
            _ => None,
        };
        self.models().iter().map(norms).collect()
    }

    /// The scratch buffers are not part of the state: rebuilt after decoding.
    pub fn with_scratch(mut self, cfg: &Config) -> Self {
        self.x = vec![0.0; cfg.width];
        self.z = vec![0.0; cfg.width];
        self.grads = Vec::with_capacity(cfg.width + 1);
        self
    }

    pub fn step(
        &mut self, cfg: &Config, tick: &TickFields, ext: &mut dyn Externals, out: &mut Outputs,
    ) -> Status {
        if let Some(last) = self.progress.last_ts {
            if tick.ts < last || (tick.ts == last && tick.seq < self.progress.last_seq) {
                self.progress.n_late += 1;
                return Status::Late;
            }
            if tick.ts == last && tick.seq == self.progress.last_seq {
                self.progress.n_duplicates += 1;
                return Status::Duplicate;
            }
        } else {
            self.progress.first_ts = Some(tick.ts);
        }
        self.progress.last_ts = Some(tick.ts);
        self.progress.last_seq = tick.seq;
        self.progress.n_ticks += 1;
        let mut x = std::mem::take(&mut self.x);
        self.features.update(tick, &mut x);
        self.on_features(cfg, &x);
        let mut z = std::mem::take(&mut self.z);
        self.scaler.learn_transform(&x, &mut z);
        self.x = x;
        let sigma = self.features.volatility() * (cfg.horizon as f64).sqrt();
        if self.pending.len() == cfg.horizon {
            let entry = self.pending.pop_front().expect("a pending forecast");
            self.learn(cfg, entry, tick, ext, out);
        }
        self.forecast(cfg, tick, &z, sigma, ext, out);
        self.z = z;
        if self.progress.n_ticks % cfg.metrics_every == 0 {
            self.metric_rows(cfg, tick.ts, out);
            self.drift_checks(cfg, tick.ts, out);
        }
        Status::Ok
    }

    fn on_features(&mut self, cfg: &Config, x: &[f64]) {
        let drift = &mut self.drift;
        drift.seen += 1;
        if drift.seen % cfg.drift.sample == 0 {
            for (shift, &i) in drift.inputs.iter_mut().zip(&cfg.checked) {
                shift.update(x[i], cfg.drift.window);
            }
        }
    }

    fn learn(
        &mut self, cfg: &Config, entry: Pending, tick: &TickFields, ext: &mut dyn Externals,
        out: &mut Outputs,
    ) {
        let y = (tick.price / entry.price).ln();
        let sigma = entry.sigma;
        let mean_fc = self.label_mean;
        for (i, p) in entry.predictions.iter().enumerate() {
            let scored = Scored { y, yhat: p.y_hat, lo: p.lower, hi: p.upper, p_up: p.p_up, mean_fc };
            let f = &mut self.forecasters[i];
            f.metrics.update(&scored, cfg.alpha, cfg.decay);
            if sigma > 0.0 {
                let score = (y - p.y_hat).abs() / sigma;
                f.interval.update(score, cfg.alpha, cfg.interval_step);
                let statistic = match cfg.drift.detector {
                    ConceptDetector::PageHinkley => f.errors.update(
                        score, cfg.drift.ph_delta, cfg.drift.ph_threshold, cfg.drift.ph_min_n,
                    ),
                    ConceptDetector::Adwin => ext.detect(i, score),
                };
                if let Some(value) = statistic {
                    let reaction = self.react(cfg, i, ext);
                    out.drift.push(DriftRow {
                        ts: tick.ts, forecaster: Some(i), detector: concept(cfg.drift.detector),
                        kind: DriftKind::Concept, feature: "abs_error".into(), value,
                        threshold: cfg.drift.threshold(), reaction,
                    });
                }
            }
            out.outcomes.push(OutcomeRow {
                ts: entry.ts, seq: entry.seq, label_ts: tick.ts, forecaster: i, prediction: *p,
                realised: y,
            });
        }
        if sigma > 0.0 && self.progress.n_ticks > cfg.warmup {
            let u = (y / sigma).clamp(-U_CLIP, U_CLIP);
            let n = self.forecasters.len() - 1;
            for (i, f) in self.forecasters[..n].iter_mut().enumerate() {
                let model = f.model.as_mut().expect("a model");
                let (u_after, _) = match model {
                    Model::External { .. } => {
                        ext.learn(i, &entry.z, u);
                        ext.predict(i, &entry.z)
                    }
                    _ => {
                        model.learn(&entry.z, u, &mut self.grads);
                        model.predict(&entry.z)
                    }
                };
                f.metrics.fit((u_after * sigma - y).abs());
            }
        }
        self.progress.n_labels += 1;
        self.label_mean += (y - self.label_mean) / self.progress.n_labels as f64;
        self.end_boosts();
        if self.progress.n_labels % cfg.block == 0 {
            self.select(cfg);
        }
    }

    /// Serve a model only while it beats the random walk significantly, with hysteresis: each
    /// model's advantage is the paired t-statistic of its rolling gain in absolute error over
    /// the random walk (raw MAE comparisons flip on noise, paired ones far less).
    fn select(&mut self, cfg: &Config) {
        if (self.forecasters[BASELINE].metrics.cumulative.w as u64) < cfg.min_outcomes {
            return;
        }
        let n = cfg.n_models();
        let mut t: Vec<f64> = self.models().iter().map(|f| f.metrics.rolling.advantage()).collect();
        t[0] = 0.0; // the random walk against itself
        let mut best = 0;
        for i in 1..n {
            if t[i] > t[best] {
                best = i;
            }
        }
        let mut current = self.selected;
        if t[current] < cfg.select_t / 2.0 {
            current = 0;
        }
        if best != current
            && t[best] >= cfg.select_t
            && t[best] >= t[current] + cfg.select_hysteresis
        {
            current = best;
        }
        if current != self.selected {
            self.drift.prediction = Shift::new(); // another model's forecasts: a new reference
        }
        self.selected = current;
        let rolling = &self.forecasters[current].metrics.rolling;
        self.shrink = if current > 0 { shrinkage(rolling.yhat_y, rolling.yhat2) } else { 0.0 };
    }

    /// The runner-up of the online selection: the best advantage after the served model's.
    pub fn runner_up(&self) -> usize {
        let n = self.forecasters.len() - 1;
        let others = (0..n).filter(|&i| i != self.selected);
        let advantage = |i: usize| self.forecasters[i].metrics.rolling.advantage();
        let t = |i: usize| if i == BASELINE { 0.0 } else { advantage(i) };
        others.fold(None, |best: Option<usize>, i| match best {
            Some(b) if t(b) >= t(i) => Some(b),
            _ => Some(i),
        })
        .unwrap_or(0)
    }

    fn forecast(
        &mut self, cfg: &Config, tick: &TickFields, z: &[f64], sigma: f64, ext: &mut dyn Externals,
        out: &mut Outputs,
    ) {
        let n = cfg.n_models();
        let mut predictions = Vec::with_capacity(n + 1);
        for (i, f) in self.models().iter().enumerate() {
            let model = f.model();
            let (u_hat, p_up) = match model {
                Model::External { .. } => ext.predict(i, z),
                _ => model.predict(z),
            };
            predictions.push(self.interval(i, u_hat, sigma, p_up));
        }
        let best = predictions[self.selected];
        let k = self.shrink;
        let served = self.interval(n, k * best.u_hat, sigma, 0.5 + k * (best.p_up - 0.5));
        predictions.push(served);
        self.drift.prediction.update(served.u_hat, cfg.drift.window);
        for (i, prediction) in predictions.iter().enumerate() {
            out.forecasts.push(ForecastRow {
                ts: tick.ts, seq: tick.seq, forecaster: i, selected: self.selected,
                price: tick.price, prediction: *prediction,
            });
        }
        self.pending.push_back(Pending {
            ts: tick.ts, seq: tick.seq, price: tick.price, z: z.to_vec(), sigma, predictions,
        });
    }

    fn interval(&self, i: usize, u_hat: f64, sigma: f64, p_up: f64) -> Prediction {
        let y_hat = u_hat * sigma;
        let half = self.forecasters[i].interval.quantile() * sigma;
        Prediction { u_hat, y_hat, lower: y_hat - half, upper: y_hat + half, p_up: p_up.clamp(0.0, 1.0) }
    }

    /// How many inputs each forecaster fits (adjusted R2's penalty), the served one's being
    /// the selected model's.
    pub fn inputs(&self, cfg: &Config) -> Vec<usize> {
        let mut counts: Vec<usize> =
            self.models().iter().map(|f| f.model().n_inputs(cfg.width)).collect();
        counts.push(counts[self.selected]);
        counts
    }

    /// A forecaster's scores from `sums`, then its model's gradient norms (the served
    /// forecast's are the selected model's).
    pub fn summary(&self, cfg: &Config, i: usize, sums: &Sums, n_inputs: usize) -> Vec<(&'static str, f64)> {
        let mut values = sums.summary(n_inputs);
        if values.len() == N_SCORES {
            let norms = match self.forecasters[cfg.based_on(i, self.selected)].model() {
                Model::Mlp(mlp) => (mlp.grad_norms[0], mlp.grad_norms[mlp.grad_norms.len() - 1]),
                _ => (f64::NAN, f64::NAN),
            };
            values.extend(METRIC_NAMES[N_SCORES..].iter().copied().zip([norms.0, norms.1]));
        }
        values
    }

    /// A snapshot of every forecaster's rolling and cumulative metrics at event time ts.
    pub fn metric_rows(&self, cfg: &Config, ts: i64, out: &mut Outputs) {
        for (i, n_inputs) in self.inputs(cfg).into_iter().enumerate() {
            let metrics = &self.forecasters[i].metrics;
            for (rolling, sums) in [(true, &metrics.rolling), (false, &metrics.cumulative)] {
                out.metrics.push(MetricRow {
                    ts, forecaster: i, rolling, selected: self.selected,
                    values: self.summary(cfg, i, sums, n_inputs),
                });
            }
        }
    }

    /// Serve what `chosen` learned from now on, keeping this state's data state (features,
    /// pending forecasts, metrics, drift references, event-time position).
    pub fn adopt_learned(&mut self, chosen: &State) {
        let seed = self.dropout_seed();
        let (labels, theirs) = (self.progress.n_labels, chosen.progress.n_labels);
        self.scaler = chosen.scaler.clone();
        for (mine, learned) in self.forecasters.iter_mut().zip(&chosen.forecasters) {
            mine.model = learned.model.clone();
            mine.interval = learned.interval.clone();
            mine.boosted = learned.boosted.map(|(lr, until)| (lr, labels + until.saturating_sub(theirs)));
        }
        self.seed_dropout(seed);
        self.selected = chosen.selected;
        self.shrink = chosen.shrink;
    }

    /// (advantage, shrinkage) of the served forecast over the rolling window.
    pub fn served_evidence(&self) -> (f64, f64) {
        let rolling = &self.served().metrics.rolling;
        (advantage(rolling.w, rolling.w2, rolling.gain, rolling.gain2), rolling.shrinkage())
    }
}
