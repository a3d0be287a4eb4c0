//! Drift: the checks run once per metrics block (data, prediction, bias) and the reaction to a
//! model's concept drift (log, reset, or a learning-rate boost that ends by itself).

use super::{DriftRow, Externals, Outputs, State};
use crate::config::{Config, BASELINE};
use crate::contract::{ConceptDetector, Detector, DriftKind, Reaction};
use crate::models::Model;

/// The detector a concept-drift event names.
pub fn concept(detector: ConceptDetector) -> Detector {
    match detector {
        ConceptDetector::PageHinkley => Detector::PageHinkley,
        ConceptDetector::Adwin => Detector::Adwin,
    }
}

impl State {
    /// The configured reaction to a model's concept drift, where it applies: never to the
    /// random walk, the served forecast or the model being served.
    pub(super) fn react(&mut self, cfg: &Config, i: usize, ext: &mut dyn Externals) -> Reaction {
        let reaction = cfg.drift.reaction;
        if reaction == Reaction::Log || i == BASELINE || i == cfg.served() || i == self.selected {
            return Reaction::Log;
        }
        let labels = self.progress.n_labels;
        let f = &mut self.forecasters[i];
        if reaction == Reaction::Reset {
            f.model = Some(Model::new(&cfg.models[i], cfg.width));
            ext.reset(i);
            return Reaction::Reset;
        }
        if f.boosted.is_some() {
            return Reaction::Log;
        }
        match f.model.as_mut().and_then(Model::optimizer_mut) {
            Some(optimizer) => {
                f.boosted = Some((optimizer.lr, labels + cfg.drift.boost_labels));
                optimizer.lr *= cfg.drift.boost;
                Reaction::BoostLr
            }
            None => Reaction::Log,
        }
    }

    pub(super) fn end_boosts(&mut self) {
        let labels = self.progress.n_labels;
        for f in &mut self.forecasters {
            if let Some((lr, until)) = f.boosted {
                if labels >= until {
                    if let Some(optimizer) = f.model.as_mut().and_then(Model::optimizer_mut) {
                        optimizer.lr = lr;
                    }
                    f.boosted = None;
                }
            }
        }
    }

    /// Data, prediction and bias drift, once per metrics block.
    pub(super) fn drift_checks(&mut self, cfg: &Config, ts: i64, out: &mut Outputs) {
        let d = &cfg.drift;
        let served = cfg.served();
        let watched = self.drift.inputs.iter_mut().zip(&cfg.checked).map(|(s, &i)| (s, Some(i)));
        for (shift, feature) in watched.chain(std::iter::once((&mut self.drift.prediction, None))) {
            if let Some((value, p)) = shift.check(d.window) {
                if value > d.psi && p < d.ks_p {
                    shift.rebase();
                    let (kind, name, forecaster) = match feature {
                        Some(i) => (DriftKind::Data, cfg.feature_names[i].clone(), None),
                        None => (DriftKind::Prediction, "served_return".to_string(), Some(served)),
                    };
                    out.drift.push(DriftRow {
                        ts, forecaster, detector: Detector::PsiKs, kind, feature: name, value,
                        threshold: d.psi, reaction: Reaction::Log,
                    });
                }
            }
        }
        let rolling = &self.served().metrics.rolling;
        let n = rolling.n_eff();
        if n < 30.0 || rolling.w <= 0.0 {
            return;
        }
        let (bias, rmse) = (rolling.err / rolling.w, (rolling.sq_err / rolling.w).sqrt());
        if !(rmse > 0.0) {
            return;
        }
        let t = bias / (rmse / n.sqrt());
        if self.drift.biased {
            self.drift.biased = t.abs() >= d.bias_t / 2.0;
        } else if t.abs() >= d.bias_t {
            self.drift.biased = true;
            out.drift.push(DriftRow {
                ts, forecaster: Some(served), detector: Detector::BiasT, kind: DriftKind::Bias,
                feature: "signed_error".into(), value: t, threshold: d.bias_t, reaction: Reaction::Log,
            });
        }
    }

}
