"""``tickcast worker``: the Faust worker."""

from __future__ import annotations

from typing import Annotated

import typer

from tickcast import logs
from tickcast.cli.app import app, settings_of
from tickcast.cli.common import announce, core_config, kafka_address, serve_metrics
from tickcast.cli.options import ModelOptions, with_option_groups
from tickcast.cli.serve import serve_beside
from tickcast.exceptions import TickcastError


@app.command()
@with_option_groups
def worker(
    ctx: typer.Context,
    model: ModelOptions,
    serve_api: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="serve the API from this process too, over its own stores (with the embedded "
            "chdb store, the only process that can read the history it writes)",
        ),
    ] = False,
) -> None:
    """Run a Faust worker: consume ticks, forecast, write Kafka, ClickHouse and Redis."""
    from faust import Worker

    from tickcast import bootstrap
    from tickcast.producers.kafka_publisher import ensure_topics
    from tickcast.stream_processors.faust_app import STATE_TABLE

    settings = settings_of(ctx)
    config = core_config(settings, model)
    try:
        ensure_topics(
            settings.kafka_auth,
            {
                settings.ticks_topic: settings.partitions,
                settings.forecasts_topic: settings.partitions,
                settings.dlq_topic: 1,
            },
        )
        faust_app, shell = bootstrap.faust_worker(settings, config)
        shell.setup()
    except TickcastError:
        raise
    except Exception as exc:  # broker unreachable and the like: one line, not a traceback
        raise TickcastError(f"cannot start the worker: {exc}") from None
    changelog = f"{settings.app_id}-{STATE_TABLE}-changelog"
    metrics = serve_metrics(settings, settings.worker_metrics_port)
    api = serve_beside(settings, shell.clickhouse, shell.latest) if serve_api else "off"
    announce(
        "worker",
        settings,
        kafka=kafka_address(settings),
        app_id=settings.app_id,
        ticks=settings.ticks_topic,
        forecasts=settings.forecasts_topic,
        dlq=settings.dlq_topic,
        state=changelog,
        metrics=metrics,
        api=api,
        state_key=shell.runtime.pipeline.codec.key_id,
    )
    Worker(
        faust_app,
        loglevel=settings.log_level.lower(),
        logging_config=logs.config(settings.log_level, settings.log_format),
        quiet=True,
    ).execute_from_commandline()
