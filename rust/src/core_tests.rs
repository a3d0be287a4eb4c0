//! The pure core end to end, without Python: a learner steps a generated stream; its state
//! survives the codec; the same ticks give the same forecasts; duplicates and late ticks are
//! never learned.

use crate::codec;
use crate::config::{AffineSpec, Config, DriftConfig, Head, MlpSpec, ModelConfig, ModelParams, OptimizerSpec};
use crate::contract::{Activation, ConceptDetector, Loss, Reaction, Status};
use crate::features::{self, TickFields};
use crate::learner::{NoExternals, Outputs, State};

fn model(name: &str, params: ModelParams) -> ModelConfig {
    ModelConfig { name: name.into(), fingerprint: format!("{name}-fp"), params }
}

/// The default set and a network, as Python's defaults resolve them (values need not match).
fn config() -> Config {
    let windows = vec![5, 20];
    let affine = |optimizer| AffineSpec { optimizer, l1: 0.0, l2: 0.001 };
    let names = features::names(&windows);
    let checked = (0..names.len() - 4).collect();
    Config {
        horizon: 1, level: 0.9, alpha: 0.1, prior: 1.645, interval_step: 0.01,
        width: features::width(&windows), feature_names: names, windows, checked,
        volatility: (0.08, 0.9), decay: 1.0 - 1.0 / 500.0, block: 50, select_t: 2.0,
        select_hysteresis: 0.5, min_outcomes: 100, metrics_every: 100, warmup: 20,
        models: vec![
            model("random_walk", ModelParams::RandomWalk),
            model("mean", ModelParams::Mean),
            model("huber", ModelParams::Linear {
                affine: affine(OptimizerSpec::Adam { lr: 0.0005, beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
                loss: Loss::Huber, huber_delta: 1.345, clip: 10.0,
            }),
            model("direction", ModelParams::Direction { affine: affine(OptimizerSpec::Sgd { lr: 0.002 }) }),
            model("mlp", ModelParams::Mlp(MlpSpec {
                hidden: vec![8], activations: vec![Activation::Tanh],
                head: Head::Return { loss: Loss::Squared, huber_delta: 1.345 }, dropout: 0.1,
                l1: 0.0, l2: 1e-4, clip: 5.0, optimizer: OptimizerSpec::Momentum { lr: 0.001, rho: 0.9 },
            })),
        ],
        drift: DriftConfig {
            reaction: Reaction::BoostLr, detector: ConceptDetector::PageHinkley, ph_delta: 0.05,
            ph_threshold: 50.0, ph_min_n: 30, adwin_delta: 0.002, window: 500, psi: 0.25,
            ks_p: 0.01, bias_t: 4.0, sample: 1, boost: 3.0, boost_labels: 200,
        },
    }
}

/// A random walk with a little momentum, one tick a minute (a deterministic generator).
fn ticks(n: usize) -> Vec<TickFields> {
    let (mut price, mut state, mut last) = (100.0_f64, 7_u64, 0.0_f64);
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let noise = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.004;
            last = 0.3 * last + noise;
            price *= last.exp();
            TickFields { ts: 1_700_000_000_000 + 60_000 * i as i64, seq: 0, price, volume: Some(1e4),
                         high: Some(price * 1.001), low: Some(price * 0.999) }
        })
        .collect()
}

/// Every served forecast's (ts, y_hat, lower, upper) as bits, for exact comparison.
fn run(state: &mut State, cfg: &Config, ticks: &[TickFields]) -> Vec<(i64, [u64; 3])> {
    let mut out = Outputs::default();
    let mut served = Vec::new();
    for tick in ticks {
        out.forecasts.clear();
        assert_eq!(state.step(cfg, tick, &mut NoExternals, &mut out), Status::Ok);
        for f in out.forecasts.iter().filter(|f| f.forecaster == cfg.served()) {
            let p = &f.prediction;
            served.push((f.ts, [p.y_hat.to_bits(), p.lower.to_bits(), p.upper.to_bits()]));
        }
    }
    served
}

#[test]
fn the_same_ticks_give_the_same_forecasts() {
    let (cfg, stream) = (config(), ticks(3_000));
    let mut a = State::new(&cfg);
    let mut b = State::new(&cfg);
    assert_eq!(run(&mut a, &cfg, &stream), run(&mut b, &cfg, &stream));
    assert_eq!(a.progress.n_labels, 2_999);
}

#[test]
fn a_state_through_the_codec_continues_as_if_never_stopped() {
    let (cfg, stream) = (config(), ticks(4_000));
    let mut whole = State::new(&cfg);
    let expected = run(&mut whole, &cfg, &stream);
    let mut first = State::new(&cfg);
    let mut served = run(&mut first, &cfg, &stream[..2_500]);
    let bytes = codec::encode(&first);
    let mut restored = codec::decode(&bytes, &cfg).expect("a state decodes");
    assert_eq!(codec::encode(&restored), bytes, "encoding is a fixed point");
    served.extend(run(&mut restored, &cfg, &stream[2_500..]));
    assert_eq!(served, expected);
}

#[test]
fn a_truncated_or_foreign_state_is_refused_with_a_reason() {
    let cfg = config();
    let mut state = State::new(&cfg);
    run(&mut state, &cfg, &ticks(300));
    let bytes = codec::encode(&state);
    assert!(codec::decode(&bytes[..bytes.len() - 9], &cfg).is_err());
    let mut other = config();
    other.windows = vec![5];
    other.width = features::width(&other.windows);
    assert!(codec::decode(&bytes, &other).is_err());
}

#[test]
fn a_duplicate_or_late_tick_is_counted_and_never_learned() {
    let (cfg, stream) = (config(), ticks(200));
    let mut state = State::new(&cfg);
    run(&mut state, &cfg, &stream);
    let labels = state.progress.n_labels;
    let mut out = Outputs::default();
    assert_eq!(state.step(&cfg, &stream[199], &mut NoExternals, &mut out), Status::Duplicate);
    assert_eq!(state.step(&cfg, &stream[100], &mut NoExternals, &mut out), Status::Late);
    assert_eq!((state.progress.n_labels, state.progress.n_duplicates, state.progress.n_late), (labels, 1, 1));
    assert!(out.forecasts.is_empty());
}

#[test]
fn every_interval_is_ordered_and_the_served_one_covers_near_its_level() {
    let (cfg, stream) = (config(), ticks(3_000));
    let mut state = State::new(&cfg);
    let mut out = Outputs::default();
    for tick in &stream {
        state.step(&cfg, tick, &mut NoExternals, &mut out);
    }
    assert!(out.forecasts.iter().all(|f| f.prediction.lower <= f.prediction.upper));
    assert!(out.outcomes.len() >= 2_900 * cfg.models.len());
    let inside = out.outcomes.iter().filter(|o| o.forecaster == cfg.served())
        .filter(|o| o.prediction.lower <= o.realised && o.realised <= o.prediction.upper).count();
    let coverage = inside as f64 / 2_999.0;
    assert!((0.8..0.97).contains(&coverage), "served coverage {coverage}");
}
