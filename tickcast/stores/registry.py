"""The MLflow model registry of learner checkpoints: one registered model per symbol.

One registered model per symbol (``tickcast.<SYMBOL>``), because MLflow aliases belong to a
registered model and every symbol has its own champion. Each checkpoint is an MLflow run (its
parameters, the key prequential metrics, and as artifacts the state in the versioned codec and
every metric as JSON) and a version of its symbol's registered model.

Aliases, which live workers follow:
- ``challenger``: the newest checkpoint of a live worker.
- ``champion``: moves only on measured evidence (a checkpoint whose served forecast beat the
  random walk by the online selection's own test, see ``Checkpoint.beats_baseline``) or by an
  operator's ``tickcast models promote``/``rollback``. An operator's choice is pinned: no
  checkpoint moves it until ``tickcast models unpin``. Workers warm-start a symbol from its
  champion and adopt the version an operator moves it to.
Replays and backtests register their checkpoints without touching either alias unless asked
(``--move-aliases``), so an analyst's run never hot-swaps what production serves.

:class:`Registry` makes the MLflow calls; :class:`BackgroundRegistry` runs them in a child
process so MLflow being slow or down never stalls the stream.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickcast.codecs import key_partition
from tickcast.exceptions import TickcastError
from tickcast.online_model import SERVED
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.retry import Backoff

__all__ = ["BackgroundRegistry", "Registry", "VersionInfo", "holding", "tracking_uri"]

log = logging.getLogger(__name__)
PREFIX = "tickcast."
EXPERIMENT = "tickcast-checkpoints"
CHAMPION, CHALLENGER = "champion", "challenger"
PINNED_TAG = "champion_pinned"  # on the registered model: an operator chose the champion
ARTIFACT_DIR, STATE_FILE, METRICS_FILE = "checkpoint", "state.tks", "metrics.json"
MAX_BACKOFF_S = 60.0
PARENT_CHECK_S = 1.0
# The MLflow metrics of a checkpoint (each costs about a millisecond to log in a SQLite store);
# every metric is in the run's metrics.json artifact.
LOGGED_SUFFIXES = (".rolling.mae_ratio_vs_random_walk", ".rolling.coverage")


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
    selected_model: str
    runner_up_model: str
    served_mae_ratio: float | None
    aliases: tuple[str, ...]
    run_id: str
    origin: str  # "worker" (a live worker) or "replay" (a replay, demo or backtest)


class Registry:
    """Synchronous registry operations over one MLflow tracking + registry store."""

    def __init__(self, uri: str) -> None:
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # we retry ourselves
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no calls outside the store
        from mlflow import MlflowClient

        self.uri = tracking_uri(uri)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._experiments: dict[str, str] = {}
        self._models: set[str] = set()  # registered models known to exist

    def log(self, checkpoint: Checkpoint) -> tuple[int, bool]:
        """Record a checkpoint as a run and a version; returns (version, champion moved)."""
        from mlflow.entities import Metric, Param

        client = self.client
        origin = "worker" if checkpoint.moves_aliases else "replay"
        run = client.create_run(
            self.experiment(EXPERIMENT),
            run_name=f"{checkpoint.symbol}@{checkpoint.ts}",
            tags={"symbol": checkpoint.symbol, "event_ts": str(checkpoint.ts), "origin": origin},
        )
        run_id = run.info.run_id
        logged = {
            k: v
            for k, v in checkpoint.metrics.items()
            if k.startswith(f"{SERVED}.") or k.endswith(LOGGED_SUFFIXES)
        }
        metrics = [Metric(k, v, checkpoint.ts, checkpoint.n_labels) for k, v in logged.items()]
        params = [Param(key, value) for key, value in checkpoint.params.items()]
        for start in range(0, max(len(metrics), len(params)), 100):  # MLflow's batch limits
            client.log_batch(
                run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
            )
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, STATE_FILE).write_bytes(checkpoint.state)
            Path(folder, METRICS_FILE).write_text(json.dumps(checkpoint.metrics))
            client.log_artifacts(run_id, folder, ARTIFACT_DIR)
        client.set_terminated(run_id)
        name = PREFIX + checkpoint.symbol
        self._ensure_model(name)
        tags = {
            "event_ts": str(checkpoint.ts),
            "n_labels": str(checkpoint.n_labels),
            "selected_model": checkpoint.selected,
            "runner_up_model": checkpoint.runner_up,
            "served_mae_ratio": str(checkpoint.served_mae_ratio),
            "served_advantage": f"{checkpoint.served_advantage:.3f}",
            "origin": origin,
            **{f"version.{model}": version for model, version in checkpoint.models.items()},
        }
        created = client.create_model_version(
            name, f"runs:/{run_id}/{ARTIFACT_DIR}", run_id, tags=tags
        )
        version = int(created.version)
        if not checkpoint.moves_aliases:
            return version, False
        client.set_registered_model_alias(name, CHALLENGER, str(version))
        moved = checkpoint.beats_baseline and not self.pinned(checkpoint.symbol)
        if moved:
            client.set_registered_model_alias(name, CHAMPION, str(version))
        return version, moved

    def champions(self) -> dict[str, int]:
        """Symbol -> champion version, for every symbol in the registry."""
        return {
            m.name[len(PREFIX) :]: int(m.aliases[CHAMPION])
            for m in self._search()
            if CHAMPION in (m.aliases or {})
        }

    def symbols(self) -> list[str]:
        return sorted(m.name[len(PREFIX) :] for m in self._search())

    def _search(self) -> list[Any]:
        return list(self.client.search_registered_models(filter_string=f"name LIKE '{PREFIX}%'"))

    def versions(self, symbol: str) -> list[VersionInfo]:
        """Every version of the symbol, newest first."""
        return self.listing(symbol)[0]

    def listing(self, symbol: str) -> tuple[list[VersionInfo], bool]:
        """Every version of the symbol, newest first, and whether its champion is pinned: the
        registered model read once for both."""
        name = PREFIX + symbol
        model = self._registered(name)
        aliases_of: dict[int, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases_of.setdefault(int(version), []).append(alias)
        found = self.client.search_model_versions(f"name = '{name}'")
        infos = sorted(
            (_info(symbol, v, aliases_of.get(int(v.version), [])) for v in found),
            key=lambda info: -info.version,
        )
        return infos, _pinned(model)

    def load_bytes(self, symbol: str, version: int) -> bytes:
        """The encoded state stored in one version."""
        found = self.client.get_model_version(PREFIX + symbol, str(version))
        with tempfile.TemporaryDirectory() as folder:
            path = self.client.download_artifacts(
                found.run_id or "", f"{ARTIFACT_DIR}/{STATE_FILE}", folder
            )
            return Path(path).read_bytes()

    def pinned(self, symbol: str) -> bool:
        """Whether an operator chose the symbol's champion (checkpoints leave it alone)."""
        return _pinned(self._registered(PREFIX + symbol))

    def promote(self, symbol: str, version: int) -> int | None:
        """Point ``champion`` at a version and pin it; returns the version it pointed at."""
        name = PREFIX + symbol
        before = (self._registered(name).aliases or {}).get(CHAMPION)
        self.client.get_model_version(name, str(version))  # fails clearly if missing
        self.client.set_registered_model_alias(name, CHAMPION, str(version))
        self.client.set_registered_model_tag(name, PINNED_TAG, "true")
        return None if before is None else int(before)

    def rollback(self, symbol: str) -> tuple[int, int]:
        """Move ``champion`` to the newest version older than it and pin it; (from, to)."""
        current = (self._registered(PREFIX + symbol).aliases or {}).get(CHAMPION)
        if current is None:
            raise TickcastError(f"{symbol} has no champion to roll back from")
        older = [v.version for v in self.versions(symbol) if v.version < int(current)]
        if not older:
            raise TickcastError(f"{symbol}: version {current} is the oldest; no rollback")
        self.promote(symbol, older[0])
        return int(current), older[0]

    def unpin(self, symbol: str) -> bool:
        """Let measured evidence move the champion again; returns whether it was pinned."""
        name = PREFIX + symbol
        was = self.pinned(symbol)
        if was:
            self.client.delete_registered_model_tag(name, PINNED_TAG)
        return was

    def _registered(self, name: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException:
            raise TickcastError(f"no registered model {name!r} in {self.uri}") from None

    def _ensure_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        if name in self._models:
            return
        try:
            self.client.create_registered_model(name, tags={"symbol": name[len(PREFIX) :]})
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        self._models.add(name)

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


def holding(versions: list[VersionInfo], alias: str) -> VersionInfo | None:
    """The version an alias (champion, challenger) points at, if any."""
    return next((v for v in versions if alias in v.aliases), None)


def _pinned(model: Any) -> bool:
    return (model.tags or {}).get(PINNED_TAG) == "true"


def _info(symbol: str, version: Any, aliases: list[str]) -> VersionInfo:
    tags = version.tags or {}
    ratio = tags.get("served_mae_ratio", "None")
    return VersionInfo(
        symbol=symbol,
        version=int(version.version),
        ts=int(tags.get("event_ts", 0)),
        n_labels=int(tags.get("n_labels", 0)),
        selected_model=tags.get("selected_model", tags.get("champion_model", "")),  # older tags
        runner_up_model=tags.get("runner_up_model", tags.get("challenger_model", "")),
        served_mae_ratio=None if ratio == "None" else float(ratio),
        aliases=tuple(sorted(aliases)),
        run_id=version.run_id or "",
        origin=tags.get("origin", "worker"),
    )


# Messages between the stream's process and the registry's child process.


@dataclass(frozen=True)
class WarmRequest:
    """Load the champions of the symbols whose key falls in ``partitions`` of ``total``."""

    request: int
    partitions: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class Close:
    timeout: float


@dataclass(frozen=True)
class Stats:
    written: int
    failures: int  # failed attempts to reach MLflow
    dropped: int


@dataclass(frozen=True)
class WarmReply:
    request: int
    states: dict[str, tuple[int, bytes]]  # symbol -> (champion version, encoded state)


@dataclass(frozen=True)
class Adoption:
    """Someone moved a symbol's champion: the version and its encoded state."""

    symbol: str
    version: int
    state: bytes


class BackgroundRegistry:
    """The registry in a child process: checkpoints written and champion moves watched there.

    A process, not a thread: MLflow's client (SQLAlchemy, HTTP, importing it at all) is
    CPU-heavy Python, and in a thread it took a quarter of the stream's throughput through the
    GIL. The stream's side only puts messages on a queue and reads events back (:meth:`poll`,
    at every flush), so ``submit`` never blocks. In the child, checkpoints wait in order, at
    most ``max_pending`` of them; past that the oldest is dropped and counted, so an outage
    costs bounded memory and loses old checkpoints first. Failures are retried with exponential
    backoff. Champions for warm starts are loaded on request, for a worker's own partitions
    only; afterwards the child polls the champion aliases and reports a version someone else
    moved ``champion`` to, for the hot path to adopt. The child ends itself when its parent
    dies, even by SIGKILL.
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
            args=(uri, poll_s, watch, max_pending, self._requests, self._events, os.getpid()),
            name="tickcast-registry",
            daemon=True,
        )
        self._warm: dict[str, tuple[int, bytes]] = {}
        self._asked = 0  # the last warm request sent ...
        self._answered = 0  # ... and the last one answered
        self._adoptions: list[Adoption] = []
        self.submitted = 0
        self._stats = Stats(0, 0, 0)  # as the child last said

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
        """What the child reported last: checkpoints written, failed attempts to reach MLflow,
        old checkpoints dropped."""
        self.poll()
        return self._stats

    @property
    def pending(self) -> int:
        """Checkpoints submitted and neither written nor dropped yet."""
        stats = self.stats
        return self.submitted - stats.written - stats.dropped

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
            log.warning("registry %s: %d checkpoint(s) not written", self.uri, self.pending)

    def poll(self, block_s: float = 0.0) -> None:
        """Read what the child said (stats, warm states, adoptions). The stream calls it at
        every flush: a child whose events nobody reads would stall on its pipe."""
        while True:
            try:
                event = self._events.get(timeout=block_s) if block_s else self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if isinstance(event, Stats):
                self._stats = event
            elif isinstance(event, WarmReply):
                self._warm.update(event.states)
                self._answered = max(self._answered, event.request)
            elif isinstance(event, Adoption):
                self._adoptions.append(event)


def _child_main(
    uri: str,
    poll_s: float,
    watch: bool,
    max_pending: int,
    requests: Any,
    events: Any,
    parent: int,
) -> None:
    """The registry process: a reader thread takes requests off the queue at once (so the
    stream's side never fills up), the loop writes them and watches the aliases."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # one line per attempt is ours
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    writer = _Writer(uri, poll_s, watch, max_pending, events.put)
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


class _Writer:
    """The child's loop over one :class:`Registry`: write in order, retry, watch aliases."""

    def __init__(self, uri: str, poll_s: float, watch: bool, max_pending: int, emit: Any) -> None:
        self.uri = uri
        self.poll_s = poll_s
        self.watch = watch
        self.max_pending = max_pending
        self.emit = emit
        self.pending: deque[Checkpoint] = deque()
        self.warm_requests: deque[WarmRequest] = deque()
        self.champions: dict[str, int] | None = None  # as last seen; None before the first look
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.busy = False  # a checkpoint is being written
        self.written = self.failures = self.dropped = 0

    def submit(self, request: Checkpoint | WarmRequest) -> None:
        with self.lock:
            if isinstance(request, WarmRequest):
                self.warm_requests.append(request)
            else:
                self.pending.append(request)
                if len(self.pending) > self.max_pending:
                    self.pending.popleft()
                    self.dropped += 1
                    if self.dropped % 100 == 1:
                        log.warning(
                            "registry %s behind: %d old checkpoint(s) dropped so far",
                            self.uri,
                            self.dropped,
                        )
                    self.emit_stats()
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
        backoff = Backoff(1.0, max_s=MAX_BACKOFF_S)
        delays = backoff.delays()
        next_poll = 0.0
        while not self.stop.is_set():
            wait: float | None
            try:
                registry = registry or Registry(self.uri)
                self._answer_warm(registry)  # first: a worker waits on it before it consumes
                self._write_pending(registry)
                if self.watch and time.monotonic() >= next_poll:
                    self._poll(registry)
                    next_poll = time.monotonic() + self.poll_s
                delays = backoff.delays()  # answered: the next failure waits the least again
                wait = max(0.0, next_poll - time.monotonic()) if self.watch else None
            except Exception as exc:  # MLflow down or slow: keep the checkpoints, try again
                self.failures += 1
                self.emit_stats()
                wait = next(delays)
                log.warning(
                    "registry %s unavailable (%s); retrying in %.0f s, %d checkpoint(s) waiting",
                    self.uri,
                    _short(exc),
                    wait,
                    len(self.pending),
                )
            self.wake.wait(wait)
            self.wake.clear()

    def emit_stats(self) -> None:
        self.emit(Stats(self.written, self.failures, self.dropped))

    def _write_pending(self, registry: Registry) -> None:
        while not self.warm_requests:  # a warm request waits for one write at most
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
            self.emit_stats()
            if moved and self.champions is not None:
                self.champions[checkpoint.symbol] = version

    def _answer_warm(self, registry: Registry) -> None:
        while self.warm_requests:
            request = self.warm_requests[0]
            champions = registry.champions()
            wanted = set(request.partitions)
            states = {
                symbol: (version, registry.load_bytes(symbol, version))
                for symbol, version in champions.items()
                if key_partition(symbol.encode(), request.total) in wanted
            }
            self.champions = champions
            self.emit(WarmReply(request.request, states))
            self.warm_requests.popleft()
            log.info(
                "registry %s: champions of %d symbol(s) loaded for partitions %s",
                self.uri,
                len(states),
                list(request.partitions),
            )

    def _poll(self, registry: Registry) -> None:
        champions = registry.champions()
        known = self.champions
        self.champions = champions
        if known is None:
            return
        for symbol, version in champions.items():
            if known.get(symbol) != version:
                log.info("champion of %s moved to version %d: adopting it", symbol, version)
                self.emit(Adoption(symbol, version, registry.load_bytes(symbol, version)))


def _short(exc: Exception) -> str:
    """The exception in one short line (MLflow's carry whole URLs and nested causes)."""
    text = str(exc).split(" failed with exception ")[-1]
    return f"{type(exc).__name__}: {text[:160]}"
