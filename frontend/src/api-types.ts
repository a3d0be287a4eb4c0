// Generated from tests/unit/openapi.json by openapi-typescript: do not edit by hand.
// Regenerate with `npm run types` in frontend/ (scripts/api-types.mjs) after the snapshot changes
// (`python -m tests.unit.test_openapi` renews it from the API).

export interface paths {
  "/forecasts/latest": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Latest Forecasts
     * @description The latest served forecast of each requested symbol (without symbols: of every symbol,
     *     sorted, a page at a time).
     */
    get: operations["latest_forecasts_forecasts_latest_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/forecasts/{symbol}": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Symbol Forecast
     * @description The latest served forecast for one symbol, from the API's copy in memory.
     *
     *     The hottest route: it reads the services straight from the app (no dependency to solve)
     *     and answers with the JSON rendered once per update, about a third faster than the same
     *     through dependencies and a response model. While the copy is not live, the store is read
     *     on a worker thread, never on the event loop.
     */
    get: operations["symbol_forecast_forecasts__symbol__get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/forecasts/{symbol}/history": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Symbol History
     * @description The served forecasts of one symbol, newest first, from ClickHouse.
     */
    get: operations["symbol_history_forecasts__symbol__history_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/forecasts/{symbol}/outcomes": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Symbol Outcomes
     * @description The served forecasts made in [start, end) beside their outcomes, oldest first; without
     *     a range, the newest ``limit``.
     */
    get: operations["symbol_outcomes_forecasts__symbol__outcomes_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/health": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Health
     * @description The process is up (it may still be waiting for its stores: see /ready).
     */
    get: operations["health_health_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/metrics": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Metrics
     * @description Prometheus text exposition of this process's metrics.
     */
    get: operations["metrics_metrics_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/ready": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Ready
     * @description Every store answers; 503 names the ones that do not.
     */
    get: operations["ready_ready_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/stream": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Stream
     * @description Server-Sent Events: one ``forecast`` event per new served forecast (JSON data).
     */
    get: operations["stream_stream_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/symbols": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Symbols
     * @description The symbols with a latest forecast, sorted, a page at a time.
     */
    get: operations["symbols_symbols_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/symbols/{symbol}/drift": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Drift
     * @description The symbol's newest drift events, oldest first, and what the learner did about each.
     */
    get: operations["drift_symbols__symbol__drift_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/symbols/{symbol}/quality": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Quality
     * @description Each model's newest rolling quality (MAE over random_walk's, hit rate, coverage,
     *     interval score), the served model and since when it is served, from model_metrics.
     */
    get: operations["quality_symbols__symbol__quality_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/symbols/{symbol}/ticks": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Ticks
     * @description The symbol's newest stored ticks, oldest first, with their bars where the source had
     *     them (the live page's candles).
     */
    get: operations["ticks_symbols__symbol__ticks_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  "/symbols/{symbol}/versions": {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Versions
     * @description The registry's versions of the symbol, newest first, with its champion and
     *     challenger.
     */
    get: operations["versions_symbols__symbol__versions_get"];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** DriftEventOut */
    DriftEventOut: {
      /**
       * Detector
       * @enum {string}
       */
      detector: "page_hinkley" | "adwin" | "psi_ks" | "bias_t";
      /**
       * Feature
       * @description what was watched: abs_error, a feature, served_return...
       */
      feature: string;
      /**
       * Kind
       * @enum {string}
       */
      kind: "concept" | "data" | "prediction" | "bias";
      /**
       * Model
       * @description the forecaster, or empty for drift in the data
       */
      model: string;
      /**
       * Reaction
       * @description what the learner did about it
       * @enum {string}
       */
      reaction: "log" | "reset" | "boost_lr";
      /** Threshold */
      threshold: number;
      /**
       * Ts
       * Format: date-time
       */
      ts: string;
      /** Value */
      value: number;
    };
    /**
     * ErrorOut
     * @description Why a request could not be answered (404: nothing known; 503: a store is down).
     */
    ErrorOut: {
      /** Detail */
      detail: string;
    };
    /** ForecastOut */
    ForecastOut: {
      /**
       * Horizon
       * @description ticks ahead
       */
      horizon: number;
      /**
       * Interval Level
       * @description nominal coverage of [lower, upper]
       */
      interval_level: number;
      /**
       * Lower
       * @description lower bound of the price interval
       */
      lower: number;
      /**
       * Model
       * @description the model the served forecast comes from
       */
      model: string;
      /**
       * Model Version
       * @description fingerprint of the served model's spec: it changes when the spec does
       */
      model_version: string;
      /**
       * P Up
       * @description probability that the price rises over the horizon
       */
      p_up: number;
      /** Predicted Price */
      predicted_price: number;
      /**
       * Predicted Return
       * @description forecast log return over the horizon
       */
      predicted_return: number;
      /**
       * Price
       * @description price at ts
       */
      price: number;
      /**
       * Seq
       * @description the tick's number within its millisecond (usually 0)
       * @default 0
       */
      seq: number;
      /** Symbol */
      symbol: string;
      /**
       * Ts
       * Format: date-time
       * @description event time of the tick the forecast was made at (UTC)
       */
      ts: string;
      /**
       * Upper
       * @description upper bound of the price interval
       */
      upper: number;
    };
    /** HTTPValidationError */
    HTTPValidationError: {
      /** Detail */
      detail?: components["schemas"]["ValidationError"][];
    };
    /** HealthOut */
    HealthOut: {
      /** Status */
      status: string;
    };
    /** LatestOut */
    LatestOut: {
      /** Forecasts */
      forecasts: components["schemas"]["ForecastOut"][];
      /**
       * Missing
       * @description requested, but no forecast
       */
      missing?: string[];
    };
    /**
     * ModelQualityOut
     * @description One forecaster's newest rolling scores (null where a score is not defined yet).
     */
    ModelQualityOut: {
      /**
       * Based On
       * @description the model behind the forecaster (for served: the chosen)
       */
      based_on: string;
      /**
       * Coverage
       * @description share of outcomes inside the interval
       */
      coverage: number | null;
      /**
       * Hit Rate
       * @description share of outcomes whose direction was right
       */
      hit_rate: number | null;
      /**
       * Interval Score
       * @description Winkler score of the interval (lower wins)
       */
      interval_score: number | null;
      /** Mae */
      mae: number | null;
      /**
       * Mae Ratio
       * @description MAE over the random walk's (below 1: better)
       */
      mae_ratio: number | null;
      /**
       * N
       * @description outcomes in the rolling window
       */
      n: number;
    };
    /**
     * OutcomeOut
     * @description A served forecast beside what happened: returns over the horizon, log scale.
     */
    OutcomeOut: {
      /** Horizon */
      horizon: number;
      /**
       * Inside
       * @description whether the outcome fell inside the interval
       */
      inside: boolean;
      /**
       * Label Ts
       * Format: date-time
       * @description event time the outcome was known at
       */
      label_ts: string;
      /** Lower Return */
      lower_return: number;
      /** P Up */
      p_up: number;
      /** Predicted Return */
      predicted_return: number;
      /** Realised Return */
      realised_return: number;
      /** Seq */
      seq: number;
      /**
       * Ts
       * Format: date-time
       * @description event time the forecast was made at
       */
      ts: string;
      /** Upper Return */
      upper_return: number;
    };
    /** OutcomesOut */
    OutcomesOut: {
      /**
       * Outcomes
       * @description oldest first
       */
      outcomes: components["schemas"]["OutcomeOut"][];
      /** Symbol */
      symbol: string;
      /**
       * Truncated
       * @description more outcomes fall in the range than were returned
       */
      truncated: boolean;
    };
    /** QualityOut */
    QualityOut: {
      /** Models */
      models: {
        [key: string]: components["schemas"]["ModelQualityOut"];
      };
      /**
       * Selected
       * @description the model the served forecast comes from
       */
      selected: string | null;
      /**
       * Served Since
       * @description event time of the first metrics row since the served model last changed
       */
      served_since: string | null;
      /** Symbol */
      symbol: string;
    };
    /** ReadyOut */
    ReadyOut: {
      /** Checks */
      checks: {
        [key: string]: string;
      };
      /** Status */
      status: string;
    };
    /**
     * TickOut
     * @description A stored tick; open, high, low and close where the source had bars (yfinance).
     */
    TickOut: {
      /** Close */
      close: number | null;
      /** High */
      high: number | null;
      /** Low */
      low: number | null;
      /** Open */
      open: number | null;
      /** Price */
      price: number;
      /** Seq */
      seq: number;
      /**
       * Ts
       * Format: date-time
       */
      ts: string;
      /** Volume */
      volume: number | null;
    };
    /** ValidationError */
    ValidationError: {
      /** Context */
      ctx?: Record<string, never>;
      /** Input */
      input?: unknown;
      /** Location */
      loc: (string | number)[];
      /** Message */
      msg: string;
      /** Error Type */
      type: string;
    };
    /** VersionOut */
    VersionOut: {
      /** Aliases */
      aliases: string[];
      /** N Labels */
      n_labels: number;
      /**
       * Origin
       * @description a live worker's checkpoint (it moves the aliases) or a replay's
       * @enum {string}
       */
      origin: "worker" | "replay";
      /** Runner Up Model */
      runner_up_model: string;
      /** Selected Model */
      selected_model: string;
      /** Served Mae Ratio */
      served_mae_ratio: number | null;
      /**
       * Ts
       * Format: date-time
       * @description event time of the checkpoint
       */
      ts: string;
      /** Version */
      version: number;
    };
    /** VersionsOut */
    VersionsOut: {
      /**
       * Challenger
       * @description the newest version a live worker checkpointed
       */
      challenger: number | null;
      /**
       * Champion
       * @description the version a starting worker warms from
       */
      champion: number | null;
      /**
       * Pinned
       * @description an operator chose the champion; checkpoints leave it
       */
      pinned: boolean;
      /** Symbol */
      symbol: string;
      /**
       * Versions
       * @description newest first, at most the limit
       */
      versions: components["schemas"]["VersionOut"][];
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  latest_forecasts_forecasts_latest_get: {
    parameters: {
      query?: {
        /** @description symbols, repeated or comma-separated */
        symbols?: string[] | null;
        /** @description items at most */
        limit?: number;
        /** @description items to pass over */
        offset?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["LatestOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  symbol_forecast_forecasts__symbol__get: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ForecastOut"];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  symbol_history_forecasts__symbol__history_get: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ForecastOut"][];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  symbol_outcomes_forecasts__symbol__outcomes_get: {
    parameters: {
      query?: {
        /** @description from this event time (UTC) */
        start?: string | null;
        /** @description before this event time (UTC) */
        end?: string | null;
        limit?: number;
      };
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["OutcomesOut"];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  health_health_get: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HealthOut"];
        };
      };
    };
  };
  metrics_metrics_get: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  ready_ready_get: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ReadyOut"];
        };
      };
      /** @description Service Unavailable */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ReadyOut"];
        };
      };
    };
  };
  stream_stream_get: {
    parameters: {
      query?: {
        /** @description comma-separated; all when absent */
        symbols?: string | null;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/event-stream": unknown;
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "text/event-stream": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  symbols_symbols_get: {
    parameters: {
      query?: {
        /** @description items at most */
        limit?: number;
        /** @description items to pass over */
        offset?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": string[];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
    };
  };
  drift_symbols__symbol__drift_get: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["DriftEventOut"][];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  quality_symbols__symbol__quality_get: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["QualityOut"];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  ticks_symbols__symbol__ticks_get: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["TickOut"][];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
  versions_symbols__symbol__versions_get: {
    parameters: {
      query?: {
        limit?: number;
        /** @description versions to pass over, newest first */
        offset?: number;
      };
      header?: never;
      path: {
        /** @description e.g. AAPL, ^GSPC */
        symbol: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Successful Response */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["VersionsOut"];
        };
      };
      /** @description unknown */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
      /** @description Validation Error */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["HTTPValidationError"];
        };
      };
      /** @description a store is down */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          "application/json": components["schemas"]["ErrorOut"];
        };
      };
    };
  };
}
