"""The command's root: one settings-and-logging callback and one error handler for all."""

from __future__ import annotations

import signal
import sys

import typer
from rich.console import Console

from tickcast import logs
from tickcast.config import Settings, load_settings, override
from tickcast.exceptions import TickcastError

__all__ = ["app", "err", "main", "settings_of"]

app = typer.Typer(
    help="Streaming stock price forecasts with online models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)  # progress and messages: stdout stays for --json and figures


@app.callback()
def _settings(ctx: typer.Context) -> None:
    """Streaming stock price forecasts with online models (settings: TICKCAST_*, see
    .env.example; a flag overrides its variable)."""
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    ctx.obj = settings


def settings_of(ctx: typer.Context, **flags: object) -> Settings:
    """The settings the callback read, with the command's flags (those given) over them."""
    return override(ctx.obj, **flags)


def main() -> None:
    """The command, with every deliberate error (a bad setting, file, flag combination or an
    unreachable store) as one line on stderr and exit status 2, never a traceback. SIGTERM
    stops a command as Ctrl-C does (commands that drain, produce, api and worker, install
    handlers of their own): as PID 1 in a container, a signal without a handler is ignored."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except TickcastError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        sys.exit(2)
