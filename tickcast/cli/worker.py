"""``tickcast worker``: the Faust worker."""

from __future__ import annotations

import typer

from tickcast.cli.app import app, settings_of
from tickcast.cli.common import announce, core_config, serve_metrics
from tickcast.cli.options import ModelOptions, with_option_groups
from tickcast.exceptions import TickcastError


@app.command()
@with_option_groups
def worker(ctx: typer.Context, model: ModelOptions) -> None:
    """Run a Faust worker: consume ticks, forecast, write Kafka, ClickHouse and Redis."""
    from faust import Worker

    from tickcast.producers.kafka_publisher import ensure_topics
    from tickcast.stream_processors.faust_app import STATE_TABLE, build_app

    settings = settings_of(ctx)
    config = core_config(settings, model)
    try:
        ensure_topics(
            settings.kafka_bootstrap,
            {
                settings.ticks_topic: settings.partitions,
                settings.forecasts_topic: settings.partitions,
                settings.dlq_topic: 1,
            },
        )
        faust_app, shell = build_app(settings, config)
        shell.setup()
    except TickcastError:
        raise
    except Exception as exc:  # broker unreachable and the like: one line, not a traceback
        raise TickcastError(f"cannot start the worker: {exc}") from None
    changelog = f"{settings.app_id}-{STATE_TABLE}-changelog"
    metrics = serve_metrics(settings, settings.worker_metrics_port)
    announce(
        "worker",
        settings,
        kafka=settings.kafka_bootstrap,
        app_id=settings.app_id,
        ticks=settings.ticks_topic,
        forecasts=settings.forecasts_topic,
        dlq=settings.dlq_topic,
        state=changelog,
        metrics=metrics,
    )
    Worker(faust_app, loglevel=settings.log_level.lower(), quiet=True).execute_from_commandline()
