"""The MLflow model registry of learner checkpoints: one registered model per symbol.

One registered model per symbol (``tickcast.<SYMBOL>``), because MLflow aliases belong to a
registered model and every symbol has its own champion: with one shared model and per-symbol
tags, ``champion`` could point at one symbol's version only. Each checkpoint is an MLflow run
(parameters, the prequential metrics so far, the pickled learner as the artifact
``checkpoint/state.pkl``) and a version of its symbol's registered model.

Aliases:
- ``challenger``: the newest checkpoint.
- ``champion``: the newest checkpoint whose served forecast was no worse than the random walk
  over the rolling window (the online selection's own test), or the version an operator
  promoted or rolled back to. A worker serves its champion: it warm-starts a symbol from it,
  and adopts a version an operator moved it to.

:class:`Registry` makes the MLflow calls; :class:`BackgroundRegistry` runs them in one thread
so MLflow being slow or down never stalls the stream.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tickcast.exceptions import TickcastError
from tickcast.online_model.checkpoints import Checkpoint, restore

if TYPE_CHECKING:
    from tickcast.online_model import SymbolState

__all__ = ["BackgroundRegistry", "Registry", "VersionInfo", "tracking_uri"]

log = logging.getLogger(__name__)
PREFIX = "tickcast."
EXPERIMENT = "tickcast-checkpoints"
CHAMPION, CHALLENGER = "champion", "challenger"
ARTIFACT_DIR, STATE_FILE = "checkpoint", "state.pkl"
MAX_BACKOFF_S = 60.0


def tracking_uri(uri: str) -> str:
    """The URI with a relative SQLite path made absolute (and its folder created)."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path = Path(uri[len(prefix) :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return uri


@dataclass(frozen=True)
class VersionInfo:
    """What ``tickcast models`` shows about one registered version."""

    symbol: str
    version: int
    ts: int
    n_labels: int
    champion_model: str
    challenger_model: str
    served_mae_ratio: float | None
    aliases: tuple[str, ...]
    run_id: str


class Registry:
    """Synchronous registry operations over one MLflow tracking + registry store."""

    def __init__(self, uri: str) -> None:
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # we retry ourselves
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        from mlflow import MlflowClient

        self.uri = tracking_uri(uri)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._experiments: dict[str, str] = {}

    def log(self, checkpoint: Checkpoint) -> tuple[int, bool]:
        """Record a checkpoint as a run and a version; returns (version, champion moved)."""
        from mlflow.entities import Metric, Param

        client = self.client
        run = client.create_run(
            self.experiment(EXPERIMENT),
            run_name=f"{checkpoint.symbol}@{checkpoint.ts}",
            tags={"symbol": checkpoint.symbol, "event_ts": str(checkpoint.ts)},
        )
        run_id = run.info.run_id
        metrics = [
            Metric(key, value, checkpoint.ts, checkpoint.n_labels)
            for key, value in checkpoint.metrics.items()
        ]
        params = [Param(key, value) for key, value in checkpoint.params.items()]
        for start in range(0, len(metrics), 1000):  # MLflow's batch limits
            client.log_batch(run_id, metrics=metrics[start : start + 1000])
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start : start + 100])
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, STATE_FILE).write_bytes(checkpoint.state)
            client.log_artifacts(run_id, folder, ARTIFACT_DIR)
        client.set_terminated(run_id)
        name = PREFIX + checkpoint.symbol
        self._ensure_model(name)
        tags = {
            "event_ts": str(checkpoint.ts),
            "n_labels": str(checkpoint.n_labels),
            "champion_model": checkpoint.champion,
            "challenger_model": checkpoint.challenger,
            "served_mae_ratio": str(checkpoint.served_mae_ratio),
            **{f"version.{model}": version for model, version in checkpoint.models.items()},
        }
        created = client.create_model_version(
            name, f"runs:/{run_id}/{ARTIFACT_DIR}", run_id, tags=tags
        )
        version = int(created.version)
        client.set_registered_model_alias(name, CHALLENGER, str(version))
        if checkpoint.beats_baseline:
            client.set_registered_model_alias(name, CHAMPION, str(version))
        return version, checkpoint.beats_baseline

    def champions(self) -> dict[str, int]:
        """Symbol -> champion version, for every symbol in the registry."""
        models = self.client.search_registered_models(filter_string=f"name LIKE '{PREFIX}%'")
        return {
            m.name[len(PREFIX) :]: int(m.aliases[CHAMPION])
            for m in models
            if CHAMPION in (m.aliases or {})
        }

    def symbols(self) -> list[str]:
        models = self.client.search_registered_models(filter_string=f"name LIKE '{PREFIX}%'")
        return sorted(m.name[len(PREFIX) :] for m in models)

    def versions(self, symbol: str) -> list[VersionInfo]:
        """Every version of the symbol, newest first."""
        name = PREFIX + symbol
        model = self._registered(name)
        aliases_of: dict[int, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases_of.setdefault(int(version), []).append(alias)
        found = self.client.search_model_versions(f"name = '{name}'")
        return sorted(
            (_info(symbol, v, aliases_of.get(int(v.version), [])) for v in found),
            key=lambda info: -info.version,
        )

    def load(self, symbol: str, version: int) -> SymbolState:
        """The learner stored in one version."""
        return restore(self.load_bytes(symbol, version))

    def load_bytes(self, symbol: str, version: int) -> bytes:
        found = self.client.get_model_version(PREFIX + symbol, str(version))
        with tempfile.TemporaryDirectory() as folder:
            path = self.client.download_artifacts(
                found.run_id or "", f"{ARTIFACT_DIR}/{STATE_FILE}", folder
            )
            return Path(path).read_bytes()

    def promote(self, symbol: str, version: int) -> int | None:
        """Point ``champion`` at a version; returns the version it pointed at before."""
        name = PREFIX + symbol
        before = (self._registered(name).aliases or {}).get(CHAMPION)
        self.client.get_model_version(name, str(version))  # fails clearly if missing
        self.client.set_registered_model_alias(name, CHAMPION, str(version))
        return None if before is None else int(before)

    def rollback(self, symbol: str) -> tuple[int, int]:
        """Move ``champion`` to the newest version older than it; returns (from, to)."""
        current = (self._registered(PREFIX + symbol).aliases or {}).get(CHAMPION)
        if current is None:
            raise TickcastError(f"{symbol} has no champion to roll back from")
        older = [v.version for v in self.versions(symbol) if v.version < int(current)]
        if not older:
            raise TickcastError(f"{symbol}: version {current} is the oldest; no rollback")
        self.promote(symbol, older[0])
        return int(current), older[0]

    def _registered(self, name: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException:
            raise TickcastError(f"no registered model {name!r} in {self.uri}") from None

    def _ensure_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name, tags={"symbol": name[len(PREFIX) :]})

    def experiment(self, name: str) -> str:
        """The id of experiment ``name``, created when missing."""
        if name not in self._experiments:
            found = self.client.get_experiment_by_name(name)
            self._experiments[name] = found.experiment_id if found else self._create(name)
        return self._experiments[name]

    def _create(self, name: str) -> str:
        """With a SQLite store, artifacts go next to the database file (MLflow's default is
        ./mlruns under whatever directory the process runs in); a server picks its own."""
        prefix = "sqlite:///"
        location = None
        if self.uri.startswith(prefix):
            location = (Path(self.uri[len(prefix) :]).parent / "mlartifacts").as_uri()
        return self.client.create_experiment(name, artifact_location=location)


def _info(symbol: str, version: Any, aliases: list[str]) -> VersionInfo:
    tags = version.tags or {}
    ratio = tags.get("served_mae_ratio", "None")
    return VersionInfo(
        symbol=symbol,
        version=int(version.version),
        ts=int(tags.get("event_ts", 0)),
        n_labels=int(tags.get("n_labels", 0)),
        champion_model=tags.get("champion_model", ""),
        challenger_model=tags.get("challenger_model", ""),
        served_mae_ratio=None if ratio == "None" else float(ratio),
        aliases=tuple(sorted(aliases)),
        run_id=version.run_id or "",
    )


class BackgroundRegistry:
    """The registry in a child process: checkpoints written and champion moves watched there.

    A process, not a thread: MLflow's client (SQLAlchemy, HTTP, importing it at all) is
    CPU-heavy Python, and in a thread it took a quarter of the stream's throughput through the
    GIL. The stream's side of it only puts checkpoints on a queue and reads events back, so
    ``submit`` never blocks. In the child, checkpoints wait in order, at most ``max_pending``
    of them (about 70 KB each); past that the oldest is dropped and counted, so an outage costs
    bounded memory and loses old checkpoints first. Failures are retried with exponential
    backoff. On start the child loads every symbol's champion (for warm starts); afterwards it
    polls the champion aliases and reports a version someone else moved ``champion`` to, for
    the hot path to adopt.
    """

    def __init__(
        self, uri: str, poll_s: float = 5.0, *, watch: bool = True, max_pending: int = 256
    ) -> None:
        import multiprocessing

        self.uri = uri
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._requests: Any = context.Queue()
        self._events: Any = context.Queue()
        self._process = context.Process(
            target=_child_main,
            args=(uri, poll_s, watch, max_pending, self._requests, self._events),
            name="tickcast-registry",
            daemon=True,
        )
        self._warm: dict[str, tuple[int, bytes]] = {}
        self._adoptions: list[tuple[str, int, bytes]] = []
        self._ready = False
        self.submitted = 0
        self._stats = (0, 0, 0)  # written, failed attempts, dropped: as the child last said

    def start(self) -> BackgroundRegistry:
        self._process.start()
        return self

    def submit(self, checkpoint: Checkpoint) -> None:
        self._requests.put(checkpoint)
        self.submitted += 1

    @property
    def written(self) -> int:
        self._read_events()
        return self._stats[0]

    @property
    def failures(self) -> int:
        """Failed attempts to reach MLflow so far."""
        self._read_events()
        return self._stats[1]

    @property
    def dropped(self) -> int:
        self._read_events()
        return self._stats[2]

    @property
    def pending(self) -> int:
        """Checkpoints submitted and neither written nor dropped yet."""
        self._read_events()
        written, _, dropped = self._stats
        return self.submitted - written - dropped

    def wait_ready(self, timeout: float) -> bool:
        """Whether the champions were loaded within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._ready and time.monotonic() < deadline:
            self._read_events(block_s=min(0.2, max(0.0, deadline - time.monotonic())))
        return self._ready

    def warm_state(self, symbol: str) -> tuple[int, SymbolState] | None:
        """The symbol's champion (version, learner) as loaded at start, once."""
        self._read_events()
        found = self._warm.pop(symbol, None)
        return None if found is None else (found[0], restore(found[1]))

    def take_adoptions(self) -> list[tuple[str, int, SymbolState]]:
        """Versions someone moved ``champion`` to since the last call."""
        self._read_events()
        taken, self._adoptions = self._adoptions, []
        return [(symbol, version, restore(data)) for symbol, version, data in taken]

    def close(self, timeout: float = 30.0) -> None:
        """Let the child write what is pending within ``timeout`` seconds, then end it."""
        deadline = time.monotonic() + timeout + 5
        if self._process.is_alive():
            self._requests.put(("close", timeout))
        while self._process.is_alive() and time.monotonic() < deadline:
            self._read_events(block_s=0.1)  # keep its queue empty, or it cannot exit
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._read_events(block_s=0.2)  # the child's last word
        if self.pending:
            log.warning("registry %s: %d checkpoint(s) not written", self.uri, self.pending)

    def _read_events(self, block_s: float = 0.0) -> None:
        import queue

        while True:
            try:
                event = self._events.get(timeout=block_s) if block_s else self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            kind = event[0]
            if kind == "stats":
                self._stats = event[1:]
            elif kind == "warm":
                self._warm.update(event[1])
                self._ready = True
            elif kind == "adopt":
                self._adoptions.append(event[1:])


def _child_main(
    uri: str, poll_s: float, watch: bool, max_pending: int, requests: Any, events: Any
) -> None:
    """The registry process: a reader thread takes requests off the queue at once (so the
    stream's side never fills up), the loop writes them and watches the aliases."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")  # fmt: skip
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # one line per attempt is ours
    writer = _Writer(uri, poll_s, watch, max_pending, events.put)
    thread = threading.Thread(target=writer.run, name="registry-writer", daemon=True)
    thread.start()
    while True:
        request = requests.get()
        if isinstance(request, tuple):  # ("close", timeout)
            writer.close(request[1])
            thread.join(1)
            events.put(("stats", writer.written, writer.failures, writer.dropped))
            return
        writer.submit(request)


class _Writer:
    """The child's loop over one :class:`Registry`: write in order, retry, watch aliases."""

    def __init__(self, uri: str, poll_s: float, watch: bool, max_pending: int, emit: Any) -> None:
        self.uri = uri
        self.poll_s = poll_s
        self.watch = watch
        self.max_pending = max_pending
        self.emit = emit
        self.pending: deque[Checkpoint] = deque()
        self.champions: dict[str, int] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.ready = False
        self.busy = False  # a checkpoint is being written
        self.written = self.failures = self.dropped = 0

    def submit(self, checkpoint: Checkpoint) -> None:
        with self.lock:
            self.pending.append(checkpoint)
            if len(self.pending) > self.max_pending:
                self.pending.popleft()
                self.dropped += 1
                if self.dropped % 100 == 1:
                    log.warning("registry %s behind: %d old checkpoint(s) dropped so far",
                                self.uri, self.dropped)  # fmt: skip
                self._stats()
        self.wake.set()

    def close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (self.pending or self.busy) and time.monotonic() < deadline:
            self.wake.set()
            time.sleep(0.05)
        self.stop.set()
        self.wake.set()

    def run(self) -> None:
        registry: Registry | None = None
        backoff = 1.0
        next_poll = 0.0
        while not self.stop.is_set():
            wait: float | None
            try:
                registry = registry or Registry(self.uri)
                if not self.ready:
                    self._load_champions(registry)
                self._write_pending(registry)
                if self.watch and time.monotonic() >= next_poll:
                    self._poll(registry)
                    next_poll = time.monotonic() + self.poll_s
                backoff = 1.0
                wait = max(0.0, next_poll - time.monotonic()) if self.watch else None
            except Exception as exc:  # MLflow down or slow: keep the checkpoints, try again
                self.failures += 1
                self._stats()
                log.warning(
                    "registry %s unavailable (%s); retrying in %.0f s, %d checkpoint(s) waiting",
                    self.uri, _short(exc), backoff, len(self.pending),
                )  # fmt: skip
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
            self.wake.wait(wait)
            self.wake.clear()

    def _stats(self) -> None:
        self.emit(("stats", self.written, self.failures, self.dropped))

    def _write_pending(self, registry: Registry) -> None:
        while True:
            with self.lock:
                if not self.pending:
                    return
                checkpoint = self.pending.popleft()
                self.busy = True
            try:
                version, moved = registry.log(checkpoint)
            except Exception:
                with self.lock:  # first in line again
                    self.pending.appendleft(checkpoint)
                raise
            finally:
                self.busy = False
            self.written += 1
            self._stats()
            if moved:
                self.champions[checkpoint.symbol] = version

    def _load_champions(self, registry: Registry) -> None:
        champions = registry.champions()
        warm = {s: (v, registry.load_bytes(s, v)) for s, v in champions.items()}
        self.champions.update(champions)
        self.ready = True
        self.emit(("warm", warm))
        if champions:
            log.info("registry %s: champions of %d symbol(s) loaded for warm starts",
                     self.uri, len(champions))  # fmt: skip

    def _poll(self, registry: Registry) -> None:
        for symbol, version in registry.champions().items():
            known = self.champions.get(symbol)
            if known is not None and known != version:
                data = registry.load_bytes(symbol, version)
                log.info("champion of %s moved to version %d: adopting it", symbol, version)
                self.emit(("adopt", symbol, version, data))
            self.champions[symbol] = version


def _short(exc: Exception) -> str:
    """The exception in one short line (MLflow's carry whole URLs and nested causes)."""
    text = str(exc).split(" failed with exception ")[-1]
    return f"{type(exc).__name__}: {text[:160]}"
