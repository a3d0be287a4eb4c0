"""``tickcast kafka-setup``: the brokers' topics, users and ACLs, made once by their admin."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tickcast.cli.app import app, settings_of
from tickcast.cli.common import kafka_address, log
from tickcast.exceptions import TickcastError


def _password(role: str) -> Any:
    """The option of a role's password, also read from its environment variable."""
    return typer.Option(
        f"--{role}-password",
        envvar=f"KAFKA_{role.upper()}_PASSWORD",
        help=f"the {role} user's password (KAFKA_{role.upper()}_PASSWORD); omitted: left as is",
        show_default=False,
    )


@app.command("kafka-setup")
def kafka_setup(
    ctx: typer.Context,
    worker: Annotated[str, _password("worker")] = "",
    producer: Annotated[str, _password("producer")] = "",
    reader: Annotated[str, _password("reader")] = "",
) -> None:
    """As the brokers' admin (TICKCAST_KAFKA_USERNAME and _PASSWORD): create the topics, the
    users worker, producer and reader (SCRAM-SHA-512) and each one's ACLs. Run it again to
    change a password; what is already so stays."""
    from tickcast.kafka_roles import set_up

    settings = settings_of(ctx)
    if not settings.kafka_username:
        raise TickcastError("kafka-setup runs as the brokers' admin: set TICKCAST_KAFKA_USERNAME")
    log.info("tickcast kafka-setup: kafka=%s app_id=%s", kafka_address(settings), settings.app_id)
    try:
        set_up(
            settings,
            {"worker": worker, "producer": producer, "reader": reader},
            settings.kafka_auth,
        )
    except TickcastError:
        raise
    except Exception as exc:  # unreachable brokers and the like: one line, not a traceback
        raise TickcastError(f"Kafka at {settings.kafka_bootstrap}: {exc}") from None
