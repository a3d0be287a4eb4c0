"""``tickcast setup``: the users and rights of the stack's services, made once by their admin."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tickcast.cli.app import app, settings_of
from tickcast.cli.common import kafka_address, log
from tickcast.config import redact
from tickcast.exceptions import TickcastError

setup_app = typer.Typer(help="Users and rights of the stack's services (run as their admin).")
app.add_typer(setup_app, name="setup")


def _password(service: str, role: str) -> Any:
    """The option of a role's password, also read from its environment variable."""
    variable = f"{service.upper()}_{role.upper()}_PASSWORD"
    return typer.Option(
        f"--{role}-password",
        envvar=variable,
        help=f"the {role} user's password ({variable}); omitted: left as is",
        show_default=False,
    )


@setup_app.command("kafka")
def kafka(
    ctx: typer.Context,
    worker: Annotated[str, _password("kafka", "worker")] = "",
    producer: Annotated[str, _password("kafka", "producer")] = "",
    reader: Annotated[str, _password("kafka", "reader")] = "",
) -> None:
    """As the brokers' admin (TICKCAST_KAFKA_USERNAME and _PASSWORD): the topics, the users
    worker, producer and reader (SCRAM-SHA-512) and each one's ACLs. Run it again to change a
    password; what is already so stays."""
    from tickcast.kafka_roles import set_up

    settings = settings_of(ctx)
    if not settings.kafka_username:
        raise TickcastError("setup kafka runs as the brokers' admin: set TICKCAST_KAFKA_USERNAME")
    log.info("tickcast setup kafka: kafka=%s app_id=%s", kafka_address(settings), settings.app_id)
    try:
        set_up(settings, {"worker": worker, "producer": producer, "reader": reader})
    except TickcastError:
        raise
    except Exception as exc:  # unreachable brokers and the like: one line, not a traceback
        raise TickcastError(f"Kafka at {settings.kafka_bootstrap}: {exc}") from None


@setup_app.command("mlflow")
def mlflow(
    ctx: typer.Context,
    worker: Annotated[str, _password("mlflow", "worker")] = "",
    reader: Annotated[str, _password("mlflow", "reader")] = "",
) -> None:
    """As MLflow's admin (TICKCAST_MLFLOW_USERNAME and _PASSWORD, against a server running
    its basic-auth app): the users worker (its checkpoints' models are its own) and reader
    (reads every model, as every user may). Run it again to change a password."""
    from tickcast.mlflow_users import set_up

    settings = settings_of(ctx)
    if not settings.mlflow_username:
        raise TickcastError("setup mlflow runs as MLflow's admin: set TICKCAST_MLFLOW_USERNAME")
    log.info(
        "tickcast setup mlflow: mlflow=%s@%s", settings.mlflow_username, redact(settings.mlflow_uri)
    )
    set_up(
        settings.mlflow_uri,
        (settings.mlflow_username, settings.mlflow_password.get_secret_value()),
        {"worker": worker, "reader": reader},
    )
