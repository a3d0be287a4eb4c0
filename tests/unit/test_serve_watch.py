"""The API thread of `worker --serve` cannot end unnoticed: should it stop by itself once it
served, the worker is told to stop too (its supervisor restarts both)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tickcast.cli.serve import run_watched


class Server:
    def __init__(self, *, started: bool, should_exit: bool, fails: bool) -> None:
        self.started, self.should_exit, self.fails = started, should_exit, fails

    def run(self) -> None:
        if self.fails:
            raise RuntimeError("the event loop broke")


@pytest.mark.parametrize(
    ("server", "told"),
    [
        (Server(started=True, should_exit=False, fails=True), True),  # died serving
        (Server(started=True, should_exit=False, fails=False), True),  # returned by itself
        (Server(started=True, should_exit=True, fails=False), False),  # asked to stop
        (Server(started=False, should_exit=False, fails=False), False),  # never listened
    ],
    ids=["died", "returned", "asked", "never-started"],
)
def test_the_worker_hears_when_its_api_thread_ends_by_itself(server: Any, told: bool) -> None:
    heard: list[bool] = []
    with contextlib.suppress(RuntimeError):  # the thread's own exception, as it would end
        run_watched(server, lambda: heard.append(True))
    assert heard == ([True] if told else [])
