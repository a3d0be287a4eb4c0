"""Log lines at a bounded rate: a lost connection is said once, then now and then.

Kafka's clients (librdkafka above all: about 20 lines a second while a broker is down) and
Faust's repeat the same failure for as long as it lasts. :class:`Throttle` lets the first line
of a kind through at once and then one a period, saying how many like it were held back; a kind
is the logger, the level and the message with its numbers blanked out.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["NOISY", "JsonLines", "LogFormat", "Throttle", "config", "configure"]

LogFormat = Literal["text", "json"]

# Loggers that repeat a failure while it lasts; tickcast's own say so at their own bounded rates.
NOISY = ("aiokafka", "kafka", "faust", "mode", "tickcast.producers.librdkafka", "urllib3")
CHATTY = ("kafka", "aiokafka", "faust", "mode")
NUMBERS = re.compile(r"\d+")
MAX_KINDS = 1000  # kinds remembered at once (then the oldest are forgotten)


class Throttle(logging.Filter):
    """Each kind of line from ``loggers`` at most once per ``every_s`` seconds."""

    def __init__(
        self,
        loggers: tuple[str, ...] = NOISY,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.loggers = loggers
        self.every_s = every_s
        self.clock = clock
        self.kinds: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if not any(name == n or name.startswith(n + ".") for n in self.loggers):
            return True
        kind = (name, record.levelno, NUMBERS.sub("#", record.getMessage())[:200])
        now = self.clock()
        said, held = self.kinds.get(kind, (-self.every_s, 0))
        if now - said < self.every_s:
            self.kinds[kind] = (said, held + 1)
            return False
        if held:
            record.msg = f"{record.getMessage()} ({held} more like it held back)"
            record.args = ()
        if len(self.kinds) >= MAX_KINDS:
            del self.kinds[next(iter(self.kinds))]
        self.kinds[kind] = (now, 0)
        return True


class JsonLines(logging.Formatter):
    """One JSON object a record: ts (epoch ms), level, logger, message; an event's name and
    fields (:mod:`tickcast.events`); the exception, if any, as text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": int(record.created * 1000),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event is not None:
            line |= {**getattr(record, "fields", {}), "event": event}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def config(level: str, log_format: LogFormat = "text") -> dict[str, Any]:
    """The process's logging, as ``logging.config.dictConfig`` takes it (Faust's worker takes
    it too, where it would otherwise install its own): one line per record on stderr (a JSON
    object with ``log_format="json"``), third parties at WARNING and above, repeated failures
    throttled."""
    quiet = max(logging.WARNING, logging.getLevelName(level))
    line = (
        {"()": JsonLines}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": line},
        "filters": {"throttle": {"()": Throttle}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["throttle"],
            }
        },
        "loggers": {name: {"level": quiet} for name in CHATTY},  # their INFO is per connection
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure(level: str, log_format: LogFormat = "text") -> None:
    logging.config.dictConfig(config(level, log_format))
