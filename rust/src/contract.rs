//! Generated from contract/contract.toml by contract/generate.py (make contract): do not edit.
//!
//! The names and numbers the compiled core and Python share (see contract.toml).

#![allow(dead_code)] // Python uses what the core does not

pub const DIGEST: &str = "0e8c966d5b41b7e5";
pub const STATE_FORMAT: u8 = 4;
pub const SERVED: &str = "served";
pub const BASELINE: &str = "random_walk";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ModelKind {
    RandomWalk = 0,
    Mean = 1,
    Linear = 2,
    Direction = 3,
    Mlp = 4,
    External = 5,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [ModelKind::RandomWalk, ModelKind::Mean, ModelKind::Linear, ModelKind::Direction, ModelKind::Mlp, ModelKind::External];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::RandomWalk => "random_walk",
            ModelKind::Mean => "mean",
            ModelKind::Linear => "linear",
            ModelKind::Direction => "direction",
            ModelKind::Mlp => "mlp",
            ModelKind::External => "external",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "random_walk" => Ok(ModelKind::RandomWalk),
            "mean" => Ok(ModelKind::Mean),
            "linear" => Ok(ModelKind::Linear),
            "direction" => Ok(ModelKind::Direction),
            "mlp" => Ok(ModelKind::Mlp),
            "external" => Ok(ModelKind::External),
            other => Err(format!("unknown model kind {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Target {
    Return = 0,
    Direction = 1,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Return, Target::Direction];

    pub fn name(self) -> &'static str {
        match self {
            Target::Return => "return",
            Target::Direction => "direction",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "return" => Ok(Target::Return),
            "direction" => Ok(Target::Direction),
            other => Err(format!("unknown target {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Loss {
    Squared = 0,
    Absolute = 1,
    Huber = 2,
}

impl Loss {
    pub const ALL: [Loss; 3] = [Loss::Squared, Loss::Absolute, Loss::Huber];

    pub fn name(self) -> &'static str {
        match self {
            Loss::Squared => "squared",
            Loss::Absolute => "absolute",
            Loss::Huber => "huber",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "squared" => Ok(Loss::Squared),
            "absolute" => Ok(Loss::Absolute),
            "huber" => Ok(Loss::Huber),
            other => Err(format!("unknown loss {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Activation {
    Linear = 0,
    Relu = 1,
    Tanh = 2,
    Sigmoid = 3,
    Elu = 4,
}

impl Activation {
    pub const ALL: [Activation; 5] = [Activation::Linear, Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Elu];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Elu => "elu",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "linear" => Ok(Activation::Linear),
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            "sigmoid" => Ok(Activation::Sigmoid),
            "elu" => Ok(Activation::Elu),
            other => Err(format!("unknown activation {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OptimizerKind {
    Sgd = 0,
    Momentum = 1,
    Adagrad = 2,
    Adam = 3,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 4] = [OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adagrad, OptimizerKind::Adam];

    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Adam => "adam",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "sgd" => Ok(OptimizerKind::Sgd),
            "momentum" => Ok(OptimizerKind::Momentum),
            "adagrad" => Ok(OptimizerKind::Adagrad),
            "adam" => Ok(OptimizerKind::Adam),
            other => Err(format!("unknown optimizer kind {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConceptDetector {
    PageHinkley = 0,
    Adwin = 1,
}

impl ConceptDetector {
    pub const ALL: [ConceptDetector; 2] = [ConceptDetector::PageHinkley, ConceptDetector::Adwin];

    pub fn name(self) -> &'static str {
        match self {
            ConceptDetector::PageHinkley => "page_hinkley",
            ConceptDetector::Adwin => "adwin",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "page_hinkley" => Ok(ConceptDetector::PageHinkley),
            "adwin" => Ok(ConceptDetector::Adwin),
            other => Err(format!("unknown concept detector {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Detector {
    PageHinkley = 0,
    Adwin = 1,
    PsiKs = 2,
    BiasT = 3,
}

impl Detector {
    pub const ALL: [Detector; 4] = [Detector::PageHinkley, Detector::Adwin, Detector::PsiKs, Detector::BiasT];

    pub fn name(self) -> &'static str {
        match self {
            Detector::PageHinkley => "page_hinkley",
            Detector::Adwin => "adwin",
            Detector::PsiKs => "psi_ks",
            Detector::BiasT => "bias_t",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "page_hinkley" => Ok(Detector::PageHinkley),
            "adwin" => Ok(Detector::Adwin),
            "psi_ks" => Ok(Detector::PsiKs),
            "bias_t" => Ok(Detector::BiasT),
            other => Err(format!("unknown detector {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DriftKind {
    Concept = 0,
    Data = 1,
    Prediction = 2,
    Bias = 3,
}

impl DriftKind {
    pub const ALL: [DriftKind; 4] = [DriftKind::Concept, DriftKind::Data, DriftKind::Prediction, DriftKind::Bias];

    pub fn name(self) -> &'static str {
        match self {
            DriftKind::Concept => "concept",
            DriftKind::Data => "data",
            DriftKind::Prediction => "prediction",
            DriftKind::Bias => "bias",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "concept" => Ok(DriftKind::Concept),
            "data" => Ok(DriftKind::Data),
            "prediction" => Ok(DriftKind::Prediction),
            "bias" => Ok(DriftKind::Bias),
            other => Err(format!("unknown drift kind {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reaction {
    Log = 0,
    Reset = 1,
    BoostLr = 2,
}

impl Reaction {
    pub const ALL: [Reaction; 3] = [Reaction::Log, Reaction::Reset, Reaction::BoostLr];

    pub fn name(self) -> &'static str {
        match self {
            Reaction::Log => "log",
            Reaction::Reset => "reset",
            Reaction::BoostLr => "boost_lr",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "log" => Ok(Reaction::Log),
            "reset" => Ok(Reaction::Reset),
            "boost_lr" => Ok(Reaction::BoostLr),
            other => Err(format!("unknown reaction {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    Duplicate = 1,
    Late = 2,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Ok, Status::Duplicate, Status::Late];

    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Duplicate => "duplicate",
            Status::Late => "late",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "ok" => Ok(Status::Ok),
            "duplicate" => Ok(Status::Duplicate),
            "late" => Ok(Status::Late),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SummaryWindow {
    Rolling = 0,
    Cumulative = 1,
}

impl SummaryWindow {
    pub const ALL: [SummaryWindow; 2] = [SummaryWindow::Rolling, SummaryWindow::Cumulative];

    pub fn name(self) -> &'static str {
        match self {
            SummaryWindow::Rolling => "rolling",
            SummaryWindow::Cumulative => "cumulative",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "rolling" => Ok(SummaryWindow::Rolling),
            "cumulative" => Ok(SummaryWindow::Cumulative),
            other => Err(format!("unknown summary window {other:?}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Table {
    Ticks = 0,
    Forecasts = 1,
    Labels = 2,
    ModelMetrics = 3,
    DriftEvents = 4,
}

impl Table {
    pub const ALL: [Table; 5] = [Table::Ticks, Table::Forecasts, Table::Labels, Table::ModelMetrics, Table::DriftEvents];

    pub fn name(self) -> &'static str {
        match self {
            Table::Ticks => "ticks",
            Table::Forecasts => "forecasts",
            Table::Labels => "labels",
            Table::ModelMetrics => "model_metrics",
            Table::DriftEvents => "drift_events",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "ticks" => Ok(Table::Ticks),
            "forecasts" => Ok(Table::Forecasts),
            "labels" => Ok(Table::Labels),
            "model_metrics" => Ok(Table::ModelMetrics),
            "drift_events" => Ok(Table::DriftEvents),
            other => Err(format!("unknown table {other:?}")),
        }
    }
}

/// Every enum's values as this build names them, by the contract's name of the enum.
pub fn enums() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("model_kind", ModelKind::ALL.iter().map(|v| v.name()).collect()),
        ("target", Target::ALL.iter().map(|v| v.name()).collect()),
        ("loss", Loss::ALL.iter().map(|v| v.name()).collect()),
        ("activation", Activation::ALL.iter().map(|v| v.name()).collect()),
        ("optimizer_kind", OptimizerKind::ALL.iter().map(|v| v.name()).collect()),
        ("concept_detector", ConceptDetector::ALL.iter().map(|v| v.name()).collect()),
        ("detector", Detector::ALL.iter().map(|v| v.name()).collect()),
        ("drift_kind", DriftKind::ALL.iter().map(|v| v.name()).collect()),
        ("reaction", Reaction::ALL.iter().map(|v| v.name()).collect()),
        ("status", Status::ALL.iter().map(|v| v.name()).collect()),
        ("summary_window", SummaryWindow::ALL.iter().map(|v| v.name()).collect()),
        ("table", Table::ALL.iter().map(|v| v.name()).collect()),
    ]
}

pub const METRIC_NAMES: [&str; 20] = ["n", "mae", "mse", "rmse", "r2", "adj_r2", "r2_oos", "mae_ratio_vs_random_walk", "hit_rate", "coverage", "interval_score", "bias", "precision", "recall", "f1", "roc_auc", "log_loss", "in_sample_mae", "grad_norm_input", "grad_norm_output"];
pub const N_SCORES: usize = 18;
pub const AUC_BINS: usize = 32;

pub const N_LAGS: usize = 3;
pub const EMA_SPANS: [f64; 2] = [12.0, 26.0];
pub const REST_FEATURES: [&str; 7] = ["rsi", "volume_z", "range", "tod_sin", "tod_cos", "dow_sin", "dow_cos"];
pub const CALENDAR_FEATURES: [&str; 4] = ["tod_sin", "tod_cos", "dow_sin", "dow_cos"];

pub const ENTRIES_FIELD: &str = "forecasts";
pub const SHARED_FIELDS: [&str; 6] = ["symbol", "ts", "seq", "horizon", "price", "level"];
pub const PER_MODEL_FIELDS: [&str; 8] = ["model", "model_fingerprint", "based_on", "predicted_return", "predicted_price", "lower", "upper", "p_up"];
