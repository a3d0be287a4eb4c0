"""The registry in a child process: checkpoints written and champion moves watched there.

A process, not a thread: MLflow's client (SQLAlchemy, HTTP, importing it at all) is CPU-heavy
Python, and in a thread it took a quarter of the stream's throughput through the GIL. The
stream's side only puts messages on a queue and reads events back (:meth:`BackgroundRegistry.poll`,
at every flush), so ``submit`` never blocks.

In the child, bounded whatever the number of symbols or the length of an outage:

- checkpoints wait in order while the child keeps up; once ``max_pending`` wait, a symbol's
  newer checkpoint replaces its older waiting one instead of queueing behind the others, and a
  symbol with none waiting is always taken, so every symbol keeps its newest checkpoint;
- a failure that may pass (MLflow down, busy, locked: :func:`~tickcast.stores.registry.transient`)
  keeps the checkpoint and waits with exponential backoff; a refusal of one checkpoint (an
  invalid value, a version that vanished) drops that checkpoint, counted, and the others go on;
- champions for warm starts are loaded on request, for a worker's own partitions only, each
  symbol apart (one that fails to load is left for the next look); afterwards the child polls
  the champion aliases and reports a version someone moved ``champion`` to, for the hot path to
  adopt, and records a champion as seen only once its state loaded.

The child ends itself when its parent dies, even by SIGKILL. Its counts reach Prometheus
through the parent (``tickcast_registry_checkpoints_total``).
"""

from __future__ import annotations

import logging
import os
import queue
import time
from typing import Any

from tickcast.logs import LogFormat
from tickcast.monitor.prometheus import observe_registry
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.stores.registry import KEEP_VERSIONS
from tickcast.stores.registry_messages import (
    Adoption,
    Close,
    Login,
    Stats,
    WarmReply,
    WarmRequest,
)
from tickcast.stores.registry_writer import child_main

__all__ = ["Adoption", "BackgroundRegistry", "Stats"]

log = logging.getLogger(__name__)
MAX_PENDING = 256  # waiting in order; past this, a symbol's newer one replaces its older one


class BackgroundRegistry:
    """The stream's side of the registry's child process (see the module)."""

    def __init__(
        self,
        uri: str,
        poll_s: float = 5.0,
        *,
        watch: bool = True,
        max_pending: int = MAX_PENDING,
        username: str = "",
        password: str = "",
        keep: int = KEEP_VERSIONS,
        log_format: LogFormat = "text",
    ) -> None:
        import multiprocessing

        login = Login(uri, username, password, keep)
        self.address = login.address
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._requests: Any = context.Queue()
        self._events: Any = context.Queue()
        self._process = context.Process(
            target=child_main,
            args=(login, poll_s, watch, max_pending, self._requests, self._events, os.getpid()),
            kwargs={"log_format": log_format},
            name="tickcast-registry",
            daemon=True,
        )
        self._warm: dict[str, tuple[int, bytes]] = {}
        self._asked = 0  # the last warm request sent ...
        self._answered = 0  # ... and the last one answered
        self._adoptions: list[Adoption] = []
        self.submitted = 0
        self._stats = Stats()  # as the child last said

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> BackgroundRegistry:
        self._process.start()
        return self

    def submit(self, checkpoint: Checkpoint) -> None:
        self._requests.put(checkpoint)
        self.submitted += 1

    @property
    def stats(self) -> Stats:
        """What the child reported last."""
        self.poll()
        return self._stats

    @property
    def pending(self) -> int:
        """Checkpoints submitted and neither written, refused nor replaced yet."""
        s = self.stats
        return self.submitted - s.written - s.refused - s.replaced

    def request_warm(self, partitions: set[int], total: int) -> None:
        """Ask for the champions of the symbols in these partitions (of ``total``)."""
        self._asked += 1
        self._requests.put(WarmRequest(self._asked, tuple(sorted(partitions)), total))

    def wait_warm(self, timeout: float) -> bool:
        """Whether the last warm request was answered within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self.poll()
        while self._answered < self._asked and time.monotonic() < deadline:
            self.poll(block_s=min(0.2, max(0.0, deadline - time.monotonic())))
        return self._answered >= self._asked

    def warm_state(self, symbol: str) -> tuple[int, bytes] | None:
        """The symbol's champion (version, encoded state) as loaded on request, once."""
        self.poll()
        return self._warm.pop(symbol, None)

    def take_adoptions(self) -> list[Adoption]:
        """Versions someone moved ``champion`` to since the last call."""
        self.poll()
        taken, self._adoptions = self._adoptions, []
        return taken

    def close(self, timeout: float = 30.0) -> None:
        """Let the child write what is pending within ``timeout`` seconds, then end it."""
        deadline = time.monotonic() + timeout + 5
        if self._process.is_alive():
            self._requests.put(Close(timeout))
        while self._process.is_alive() and time.monotonic() < deadline:
            self.poll(block_s=0.1)  # keep its queue empty, or it cannot exit
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self.poll(block_s=0.2)  # the child's last word
        if self.pending:
            log.warning("registry %s: %d checkpoint(s) not written", self.address, self.pending)

    def poll(self, block_s: float = 0.0) -> None:
        """Read what the child said (stats, warm states, adoptions). The stream calls it at
        every flush: a child whose events nobody reads would stall on its pipe."""
        while True:
            try:
                event = self._events.get(timeout=block_s) if block_s else self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if isinstance(event, Stats):
                observe_registry(event, self._stats)
                self._stats = event
            elif isinstance(event, WarmReply):
                self._warm.update(event.states)
                self._answered = max(self._answered, event.request)
            elif isinstance(event, Adoption):
                self._adoptions.append(event)
