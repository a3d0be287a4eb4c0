//! When a symbol's state is checkpointed: the cadence the core stops a batch at, so the
//! checkpoints are the same whatever the batches.

use crate::learner::State;

/// Whether a checkpoint of the state is due: `every_labels` learned ticks or `every_ms` of
/// event time since the last one (or the first tick), and never sooner than `min_gap_ms` of
/// event time after the last one; 0 turns a trigger off.
pub fn checkpoint_due(state: &State, (every_labels, every_ms, min_gap_ms): Cadence) -> bool {
    let p = &state.progress;
    let (Some(last_ts), Some(first_ts)) = (p.last_ts, p.first_ts) else { return false };
    if p.n_labels == 0 {
        return false;
    }
    let (labels, ts) = state.checkpointed.unwrap_or((0, first_ts));
    if state.checkpointed.is_some() && last_ts - ts < min_gap_ms {
        return false;
    }
    (every_labels > 0 && p.n_labels - labels >= every_labels)
        || (every_ms > 0 && last_ts - ts >= every_ms)
}

/// A checkpoint policy: every so many labels, every so much event time (ms), at least so much
/// event time (ms) apart.
pub type Cadence = (u64, i64, i64);
