-- tickcast's ClickHouse schema. Created on start when missing (tickcast.stores.clickhouse).
-- ReplacingMergeTree keyed by the record identity: a re-written row collapses (read with FINAL).
-- A retention TTL is applied by configuration (TICKCAST_CLICKHOUSE_TTL_DAYS), not here.

CREATE TABLE IF NOT EXISTS ticks
(
    symbol LowCardinality(String),
    ts     DateTime64(3, 'UTC'),
    price  Float64,
    volume Nullable(Float64),
    open   Nullable(Float64),
    high   Nullable(Float64),
    low    Nullable(Float64),
    close  Nullable(Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, ts);

CREATE TABLE IF NOT EXISTS forecasts
(
    symbol           LowCardinality(String),
    ts               DateTime64(3, 'UTC'),
    horizon          UInt32,
    model            LowCardinality(String),
    model_version    LowCardinality(String),
    based_on         LowCardinality(String),
    price            Float64,
    predicted_return Float64,
    predicted_price  Float64,
    lower            Float64,
    upper            Float64,
    p_up             Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, ts);

CREATE TABLE IF NOT EXISTS outcomes
(
    symbol           LowCardinality(String),
    ts               DateTime64(3, 'UTC'),
    label_ts         DateTime64(3, 'UTC'),
    horizon          UInt32,
    model            LowCardinality(String),
    predicted_return Float64,
    realised_return  Float64,
    lower_return     Float64,
    upper_return     Float64,
    inside           Bool,
    p_up             Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, ts);

CREATE TABLE IF NOT EXISTS model_metrics
(
    symbol                   LowCardinality(String),
    ts                       DateTime64(3, 'UTC'),
    model                    LowCardinality(String),
    window                   LowCardinality(String),
    based_on                 LowCardinality(String),
    n                        UInt64,
    mae                      Float64,
    mse                      Float64,
    rmse                     Float64,
    r2                       Float64,
    adj_r2                   Float64,
    r2_oos                   Float64,
    mae_ratio_vs_random_walk Float64,
    hit_rate                 Float64,
    coverage                 Float64,
    interval_score           Float64,
    bias                     Float64,
    precision                Float64,
    recall                   Float64,
    f1                       Float64,
    roc_auc                  Float64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, window, ts);

CREATE TABLE IF NOT EXISTS drift_events
(
    symbol    LowCardinality(String),
    ts        DateTime64(3, 'UTC'),
    model     LowCardinality(String),
    detector  LowCardinality(String),
    kind      LowCardinality(String),
    feature   LowCardinality(String),
    value     Float64,
    threshold Float64,
    reaction  LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, detector, feature, ts);

CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    reason      String,
    payload     String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, cityHash64(payload), reason);
