//! What a step writes: forecasts, outcomes, metric snapshots and drift events, by forecaster
//! index (names are the bridge's business).

use super::Prediction;
use crate::contract::{Detector, DriftKind, Reaction};

pub struct ForecastRow {
    pub ts: i64,
    pub seq: u32,
    pub forecaster: usize, // model index; n_models is the served forecast
    pub selected: usize,   // the model the served forecast comes from
    pub price: f64,
    pub prediction: Prediction,
}

pub struct OutcomeRow {
    pub ts: i64,
    pub seq: u32,
    pub label_ts: i64,
    pub forecaster: usize,
    pub prediction: Prediction,
    pub realised: f64,
}

pub struct MetricRow {
    pub ts: i64,
    pub forecaster: usize,
    pub rolling: bool,
    pub selected: usize,
    pub values: Vec<(&'static str, f64)>,
}

pub struct DriftRow {
    pub ts: i64,
    pub forecaster: Option<usize>, // None: data drift
    pub detector: Detector,
    pub kind: DriftKind,
    pub feature: String,
    pub value: f64,
    pub threshold: f64,
    pub reaction: Reaction,
}

/// Where one symbol's step writes its outputs.
#[derive(Default)]
pub struct Outputs {
    pub forecasts: Vec<ForecastRow>,
    pub outcomes: Vec<OutcomeRow>,
    pub metrics: Vec<MetricRow>,
    pub drift: Vec<DriftRow>,
}

