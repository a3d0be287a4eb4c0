"""The registry's child process: checkpoints written in order and retried, champions loaded on
request and watched (see :mod:`tickcast.stores.registry_child` for the rules it keeps)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

from tickcast.codecs import key_partition
from tickcast.logs import LogFormat
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.retry import Backoff
from tickcast.stores.registry import Registry, short, transient
from tickcast.stores.registry_messages import (
    Adoption,
    Close,
    Login,
    Stats,
    WarmReply,
    WarmRequest,
)

__all__ = ["Writer", "child_main"]

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0
PARENT_CHECK_S = 1.0
LOG_EVERY = 100  # refusals and drops: the first, then one in this many
MAX_STRIKES = 3  # failures of one checkpoint while others were written: then it is refused


def child_main(
    login: Login,
    poll_s: float,
    watch: bool,
    max_pending: int,
    requests: Any,
    events: Any,
    parent: int,
    log_format: LogFormat = "text",
) -> None:
    """The registry process: a reader thread takes requests off the queue at once (so the
    stream's side never fills up), the loop writes them and watches the aliases."""
    from tickcast import logs

    logs.configure("INFO", log_format)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # one line per attempt is ours
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    writer = Writer(login, poll_s, watch, max_pending, events.put)
    thread = threading.Thread(target=writer.run, name="registry-writer", daemon=True)
    thread.start()
    while True:
        request = requests.get()
        if isinstance(request, Close):
            writer.close(request.timeout)
            thread.join(1)
            writer.emit_stats()
            return
        writer.submit(request)


def _exit_with(parent: int) -> None:
    """End this process once its parent is gone: a parent killed by SIGKILL runs no cleanup,
    and a child left behind holds its memory (and a store's locks) for good."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


class Waiting:
    """A checkpoint in the queue; a newer one of its symbol may take its place. ``strikes``:
    its failures while other checkpoints were written (the store was up: it is this one)."""

    __slots__ = ("checkpoint", "strikes", "written_then")

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.strikes = 0
        self.written_then: int | None = None  # the writer's count at its last failure


class Writer:
    """The child's loop over one :class:`Registry`: write in order, retry, watch aliases."""

    def __init__(
        self, login: Login, poll_s: float, watch: bool, max_pending: int, emit: Any
    ) -> None:
        self.login = login
        self.poll_s = poll_s
        self.watch = watch
        self.max_pending = max_pending
        self.emit = emit
        self.pending: deque[Waiting] = deque()
        self.waiting: dict[str, Waiting] = {}  # symbol -> its newest checkpoint waiting
        self.warm_requests: deque[WarmRequest] = deque()
        self.champions: dict[str, int] | None = None  # loaded as seen; None before the first look
        self.lock = threading.RLock()  # the queue and the counts: the reader and the writer
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.busy = False  # a checkpoint is being written
        self.counts = Stats()

    def count(self, **more: int) -> None:
        """Add to the counts and report them: under the lock, so that the parent hears every
        report in the order the counts grew."""
        with self.lock:
            c = self.counts
            self.counts = Stats(
                *(getattr(c, name) + more.get(name, 0) for name in Stats.__dataclass_fields__)
            )
            self.emit(self.counts)

    def submit(self, request: Checkpoint | WarmRequest) -> None:
        with self.lock:
            if isinstance(request, WarmRequest):
                self.warm_requests.append(request)
            else:
                self._queue(request)
        self.wake.set()

    def _queue(self, checkpoint: Checkpoint) -> None:
        """In order while the child keeps up; past ``max_pending``, the symbol's waiting
        checkpoint (if any) is replaced by this newer one."""
        waiting = self.waiting.get(checkpoint.symbol)
        if waiting is not None and len(self.pending) >= self.max_pending:
            waiting.checkpoint = checkpoint
            waiting.strikes, waiting.written_then = 0, None
            self.count(replaced=1)
            return
        entry = Waiting(checkpoint)
        self.pending.append(entry)
        self.waiting[checkpoint.symbol] = entry

    def close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (self.pending or self.busy) and time.monotonic() < deadline:
            self.wake.set()
            time.sleep(0.05)
        self.stop.set()
        self.wake.set()

    def run(self) -> None:
        registry: Registry | None = None
        backoff = Backoff(1.0, max_s=MAX_BACKOFF_S)
        delays = backoff.delays()
        next_poll = 0.0
        while not self.stop.is_set():
            wait: float | None
            try:
                registry = registry or self.login.registry()
                self._answer_warm(registry)  # first: a worker waits on it before it consumes
                self._write_pending(registry)
                if self.watch and time.monotonic() >= next_poll:
                    self._poll(registry)
                    next_poll = time.monotonic() + self.poll_s
                delays = backoff.delays()  # answered: the next failure waits the least again
                wait = max(0.0, next_poll - time.monotonic()) if self.watch else None
            except Exception as exc:  # MLflow down or slow: keep the checkpoints, try again
                self.count(failures=1)
                wait = next(delays)
                log.warning(
                    "registry %s unavailable (%s); retrying in %.0f s, %d checkpoint(s) waiting",
                    self.login.address,
                    short(exc),
                    wait,
                    len(self.pending),
                )
            self.wake.wait(wait)
            self.wake.clear()

    def emit_stats(self) -> None:
        with self.lock:
            self.emit(self.counts)

    def _write_pending(self, registry: Registry) -> None:
        while not self.warm_requests:  # a warm request waits for one write at most
            with self.lock:
                if not self.pending:
                    return
                entry = self.pending.popleft()
                if self.waiting.get(entry.checkpoint.symbol) is entry:
                    del self.waiting[entry.checkpoint.symbol]
                self.busy = True
            checkpoint = entry.checkpoint
            try:
                version, moved = registry.log(checkpoint)
            except Exception as exc:
                if not transient(exc):
                    self._refused(checkpoint, exc)
                    continue
                with self.lock:
                    self._requeue(entry, exc)
                raise
            finally:
                self.busy = False
            self.count(written=1)
            if moved and self.champions is not None:
                self.champions[checkpoint.symbol] = version

    def _requeue(self, entry: Waiting, exc: Exception) -> None:
        """A checkpoint whose write failed in a way that may pass: it waits again, behind the
        others, unless a newer one of its symbol waits (that one will be written instead), or
        it kept failing while others were written (then the store is up and refuses this one:
        dropped, so one symbol's failure never holds the others)."""
        symbol = entry.checkpoint.symbol
        if entry.written_then is not None and self.counts.written > entry.written_then:
            entry.strikes += 1
        entry.written_then = self.counts.written
        if entry.strikes >= MAX_STRIKES:
            self._refused(entry.checkpoint, exc)
        elif symbol in self.waiting:
            self.count(replaced=1)
        else:
            self.pending.append(entry)
            self.waiting[symbol] = entry

    def _refused(self, checkpoint: Checkpoint, exc: Exception) -> None:
        """MLflow refused this checkpoint (not the store being away): drop it, counted."""
        self.count(refused=1)
        if self.counts.refused % LOG_EVERY == 1:
            log.error(
                "registry %s refused the checkpoint of %s at %s (%d refused so far): %s",
                self.login.address,
                checkpoint.symbol,
                checkpoint.ts,
                self.counts.refused,
                short(exc),
            )

    def _answer_warm(self, registry: Registry) -> None:
        while self.warm_requests:
            request = self.warm_requests[0]
            champions = registry.champions()
            wanted = set(request.partitions)
            states = {}
            for symbol, version in list(champions.items()):
                if key_partition(symbol.encode(), request.total) not in wanted:
                    continue
                loaded = self._load(registry, symbol, version)
                if loaded is None:
                    del champions[symbol]  # not seen: the next look tries it again
                else:
                    states[symbol] = (version, loaded)
            self.champions = champions
            self.emit(WarmReply(request.request, states))
            self.warm_requests.popleft()
            log.info(
                "registry %s: champions of %d symbol(s) loaded for partitions %s",
                self.login.address,
                len(states),
                list(request.partitions),
            )

    def _poll(self, registry: Registry) -> None:
        champions = registry.champions()
        known = self.champions
        if known is None:
            self.champions = champions
            return
        for symbol, version in champions.items():
            if known.get(symbol) == version:
                continue
            state = self._load(registry, symbol, version)
            if state is None:
                continue  # not recorded as seen: the next poll tries again
            log.info("champion of %s moved to version %d: adopting it", symbol, version)
            self.emit(Adoption(symbol, version, state))
            known[symbol] = version

    def _load(self, registry: Registry, symbol: str, version: int) -> bytes | None:
        """A champion's state; None when this one version cannot be had (the store being
        away raises: everything waits)."""
        try:
            return registry.load_bytes(symbol, version)
        except Exception as exc:
            if transient(exc):
                raise
            log.error(
                "registry %s: %s version %d does not load: %s",
                self.login.address,
                symbol,
                version,
                short(exc),
            )
            return None
