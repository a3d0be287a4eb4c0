"""The commands that bring ticks in: ``produce`` (to Kafka) and ``fetch`` (yfinance history)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import (
    Source,
    kafka_address,
    log,
    open_source,
    progress,
    serve_metrics,
)
from tickcast.cli.options import SourceOptions, finite_positive, with_option_groups
from tickcast.config import Settings
from tickcast.exceptions import TickcastError

if TYPE_CHECKING:
    from tickcast.producers.kafka_publisher import TickPublisher

STOP_FLUSH_S = 5.0  # after a stop signal: what is queued has this long to reach the broker
DELIVERY_WAIT_S = 125.0  # at the end of a source: librdkafka's own delivery timeout, and some


@app.command()
@with_option_groups
def produce(
    ctx: typer.Context,
    source: SourceOptions,
    sample: Annotated[bool, typer.Option(help="publish the bundled SP500 sample")] = False,
    yfinance: Annotated[
        str | None, typer.Option(help="poll 1-minute bars of these symbols (comma-separated)")
    ] = None,
    poll_s: Annotated[
        float, typer.Option(help="seconds between yfinance polls", callback=finite_positive)
    ] = 60.0,
) -> None:
    """Publish ticks to Kafka: replayed files, the sample, synthetic load (--live: stamped with
    the wall clock, paced, until stopped), or live yfinance bars."""
    from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics

    settings = settings_of(ctx)
    if not (source.files or source.synthetic or sample or source.live or yfinance):
        raise TickcastError(
            "give tick files, --synthetic N, --live, --sample or --yfinance SYMBOLS"
        )
    ticks = None if yfinance else open_source(source)
    stop = _stop_on_signals()
    try:
        ensure_topics(
            settings.kafka_auth,
            {settings.ticks_topic: settings.partitions, settings.dlq_topic: 1},
        )
        publisher = TickPublisher(
            settings.kafka_auth, settings.ticks_topic, settings.dlq_topic, stopping=stop.is_set
        )
    except Exception as exc:  # the broker is down or refuses: one line, not a traceback
        raise TickcastError(f"Kafka at {settings.kafka_bootstrap}: {exc}") from None
    metrics = serve_metrics(settings, settings.producer_metrics_port)
    if ticks is None:
        _poll_yfinance(settings, publisher, (yfinance or "").split(","), poll_s, metrics, stop)
        return
    log.info(
        "tickcast produce: kafka=%s topic=%s dlq=%s source=%s ticks=%s speed=%s rate=%s metrics=%s",
        kafka_address(settings),
        settings.ticks_topic,
        settings.dlq_topic,
        ticks.name,
        ticks.total or "unbounded",
        source.speed,
        source.rate if source.live else "-",
        metrics,
    )
    start = time.perf_counter()
    with progress("produce", ticks.total) as advance:
        asyncio.run(_publish(publisher, ticks, source.speed, advance, stop))
    undelivered = publisher.stop(STOP_FLUSH_S if stop.is_set() else DELIVERY_WAIT_S)
    elapsed = time.perf_counter() - start
    counts = publisher.counts
    if undelivered:
        log.error(
            "%d tick(s) not delivered to %s (the broker did not take them in time)",
            undelivered,
            settings.kafka_bootstrap,
        )
    n = counts["published"] + counts["invalid"]
    typer.echo(
        json.dumps(
            {
                "ticks": n,
                "seconds": round(elapsed, 3),
                "ticks_per_s": round(n / elapsed) if elapsed else 0,
                "counts": dict(counts),
                "stopped": stop.is_set(),
            }
        )
    )


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (as PID 1 in a container too, where a signal without
    a handler of its own is ignored): the source stops, what is queued gets
    ``STOP_FLUSH_S`` to reach the broker, and the rest is given up and counted."""
    stop = threading.Event()

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():  # a second signal: the user means it
            raise SystemExit(128 + signum)
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    return stop


async def _publish(
    publisher: TickPublisher,
    source: Source,
    speed: float,
    advance: Callable[[int], None],
    stop: threading.Event,
) -> None:
    """Publish every record (paced when asked, or as the live source makes them) until the
    source ends or ``stop`` is set."""
    from tickcast.producers import paced

    records = source.records
    if not isinstance(records, AsyncIterator):
        if not speed:
            publisher.publish_all(records, on_progress=advance)
            return
        records = paced(records, speed)
    async for record in records:
        if stop.is_set():
            return
        publisher.publish(record)
        advance(1)


def _poll_yfinance(
    settings: Settings,
    publisher: TickPublisher,
    symbols: list[str],
    poll_s: float,
    metrics: str,
    stop: threading.Event,
) -> None:
    from tickcast.producers.yfinance_source import poll_new_bars

    log.info(
        "tickcast produce: kafka=%s topic=%s yfinance=%s every %ss metrics=%s",
        kafka_address(settings),
        settings.ticks_topic,
        ",".join(symbols),
        poll_s,
        metrics,
    )
    last_seen: dict[str, int] = {}
    while not stop.is_set():
        bars = poll_new_bars(symbols, last_seen)
        for bar in bars:
            publisher.publish(bar)
        log.info("published %d new bars", len(bars))
        stop.wait(poll_s)
    if undelivered := publisher.stop(STOP_FLUSH_S):
        log.error("%d bar(s) not delivered to %s", undelivered, settings.kafka_bootstrap)


@app.command()
def fetch(
    symbols: Annotated[list[str], typer.Argument(help="e.g. AAPL MSFT ^GSPC")],
    out: Annotated[Path, typer.Option(help="Parquet file to write")] = Path("data/history.parquet"),
    period: Annotated[str, typer.Option(help="yfinance period, e.g. 1y, 5d, max")] = "1y",
    interval: Annotated[str, typer.Option(help="yfinance interval, e.g. 1d, 1m")] = "1d",
) -> None:
    """Download price history with yfinance into a long-format Parquet file (needs internet)."""
    from tickcast.producers.yfinance_source import fetch_history

    frame = fetch_history(symbols, out, period=period, interval=interval)
    err.print(f"wrote {len(frame)} rows for {', '.join(symbols)} to {out}")
