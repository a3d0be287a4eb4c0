//! tickcast's forecasting core, for Python: `tickcast._core`.
//!
//! Layers, each using only those above it: `contract` (generated: the names and numbers
//! Python shares) and `config` (the resolved configuration); `stats`, `optim`, `network`,
//! `models`, `features`, `intervals`, `metrics`, `drift` (the parts of a learner); `learner`
//! (one symbol's state and its step), `cadence` (when to checkpoint) and `codec` (a state's
//! bytes); `wire` (the forecasts topic's message) and `batch` (a batch's outputs as columns);
//! `bridge` (Python's view: `Spec`, `SymbolCore`, `step_batch`).

mod batch;
mod bridge;
mod cadence;
mod codec;
mod config;
mod contract;
mod drift;
mod features;
mod intervals;
mod learner;
mod metrics;
mod models;
mod network;
mod optim;
mod stats;
mod wire;

#[cfg(test)]
mod core_tests;
