-- tickcast's ClickHouse schema, the only copy. Created on start when missing (tickcast.stores.clickhouse).
-- ReplacingMergeTree keyed by the record identity: a re-written row collapses (read with FINAL).
-- Partitions are event-time months (a re-written row lands in its original's partition, where
-- it collapses); an insert spanning more than 100 months is split into blocks of 100.
-- written_at is when the row was written: a retention TTL (TICKCAST_CLICKHOUSE_TTL_DAYS) is keyed
-- on it, so replayed history is kept as long as live rows are, not deleted at once.

CREATE TABLE IF NOT EXISTS ticks
(
    symbol     LowCardinality(String),
    ts         DateTime64(3, 'UTC'),
    seq        UInt32,
    price      Float64,
    volume     Nullable(Float64),
    open       Nullable(Float64),
    high       Nullable(Float64),
    low        Nullable(Float64),
    close      Nullable(Float64),
    written_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, ts, seq);

CREATE TABLE IF NOT EXISTS forecasts
(
    symbol           LowCardinality(String),
    ts               DateTime64(3, 'UTC'),
    seq              UInt32,
    horizon          UInt32,
    model            LowCardinality(String),
    model_fingerprint LowCardinality(String),
    based_on         LowCardinality(String),
    price            Float64,
    predicted_return Float64,
    predicted_price  Float64,
    lower            Float64,
    upper            Float64,
    level            Float64,
    p_up             Float64,
    written_at       DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, ts, seq);

CREATE TABLE IF NOT EXISTS labels
(
    symbol          LowCardinality(String),
    ts              DateTime64(3, 'UTC'),
    seq             UInt32,
    label_ts        DateTime64(3, 'UTC'),
    horizon         UInt32,
    realised_return Float64,
    written_at      DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, ts, seq);

-- Every model's scored forecast: its row joined with the label that matured it (one label per
-- tick, not per model: a third of the rows and bytes a table per model would write).
CREATE VIEW IF NOT EXISTS outcomes AS
SELECT
    f.symbol AS symbol,
    f.ts AS ts,
    f.seq AS seq,
    l.label_ts AS label_ts,
    f.horizon AS horizon,
    f.model AS model,
    f.predicted_return AS predicted_return,
    l.realised_return AS realised_return,
    log(f.lower / f.price) AS lower_return,
    log(f.upper / f.price) AS upper_return,
    f.lower <= f.price * exp(l.realised_return) AND f.price * exp(l.realised_return) <= f.upper
        AS inside,
    f.p_up AS p_up
FROM forecasts AS f FINAL
INNER JOIN labels AS l FINAL ON f.symbol = l.symbol AND f.ts = l.ts AND f.seq = l.seq;

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
    roc_auc                  Float64,
    log_loss                 Float64,
    in_sample_mae            Float64,
    grad_norm_input          Float64,
    grad_norm_output         Float64,
    written_at               DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, window, ts);

CREATE TABLE IF NOT EXISTS drift_events
(
    symbol     LowCardinality(String),
    ts         DateTime64(3, 'UTC'),
    model      LowCardinality(String),
    detector   LowCardinality(String),
    kind       LowCardinality(String),
    feature    LowCardinality(String),
    value      Float64,
    threshold  Float64,
    reaction   LowCardinality(String),
    written_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, model, detector, feature, ts);

CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    code        LowCardinality(String),
    reason      String,
    payload     String,
    written_at  DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, cityHash64(payload), reason);
