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

Bounded: every search is paged (any number of symbols), and each symbol keeps its newest
``keep`` versions and every version an alias points at; older ones go, with their runs'
artifacts. :class:`Registry` makes the MLflow calls; :mod:`tickcast.stores.registry_child`
runs them in a child process so MLflow being slow or down never stalls the stream.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tickcast.config import redact
from tickcast.exceptions import TickcastError
from tickcast.online_model import SERVED
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.stores.registry_versions import (
    CHALLENGER,
    CHAMPION,
    PINNED_TAG,
    VersionInfo,
    described,
    pinned,
)

__all__ = ["KEEP_VERSIONS", "Registry", "tracking_uri", "transient"]

log = logging.getLogger(__name__)
PREFIX = "tickcast."
EXPERIMENT = "tickcast-checkpoints"
ARTIFACT_DIR, STATE_FILE, METRICS_FILE = "checkpoint", "state.tks", "metrics.json"
KEEP_VERSIONS = 20  # per symbol, besides the versions an alias points at
PAGE = 1000  # MLflow's largest page of registered models
# MLflow's error codes of a failure that may pass (the store down, busy, locked; credentials an
# operator has yet to fix): the checkpoint waits and is tried again. Any other is a refusal.
TRANSIENT_CODES = {
    "TEMPORARILY_UNAVAILABLE",
    "INTERNAL_ERROR",  # also how the client reports a refused connection or a timeout
    "UNAUTHENTICATED",
    "REQUEST_LIMIT_EXCEEDED",
    "DEADLINE_EXCEEDED",
    "ABORTED",
}
# The MLflow metrics of a checkpoint (each costs about a millisecond to log in a SQLite store);
# every metric is in the run's metrics.json artifact.
LOGGED_SUFFIXES = (
    ".mae",
    ".mae_ratio_vs_random_walk",
    ".coverage",
    ".interval_score",
    ".hit_rate",
)


def tracking_uri(uri: str) -> str:
    """The URI with a relative SQLite path made absolute (and its folder created)."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path = Path(uri[len(prefix) :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return uri


def transient(exc: BaseException) -> bool:
    """Whether an MLflow call's failure may pass by itself (retry) rather than be a refusal of
    what was asked (drop it)."""
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException):
        return exc.error_code in TRANSIENT_CODES
    import requests
    import sqlalchemy.exc

    if isinstance(exc, FileNotFoundError):  # a version's artifact that is gone: that version
        return False
    network = (requests.ConnectionError, requests.Timeout, sqlalchemy.exc.OperationalError)
    return isinstance(exc, network | OSError)


class Registry:
    """Synchronous registry operations over one MLflow tracking + registry store, as
    ``username`` (a server's basic-auth user) when given; ``keep``: versions kept per symbol."""

    def __init__(
        self, uri: str, username: str = "", password: str = "", keep: int = KEEP_VERSIONS
    ) -> None:
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # we retry ourselves
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no calls outside the store
        if username:  # MLflow's client reads its credentials from the environment only
            os.environ["MLFLOW_TRACKING_USERNAME"] = username
            os.environ["MLFLOW_TRACKING_PASSWORD"] = password
        import mlflow
        from mlflow import MlflowClient

        self.uri = tracking_uri(uri)
        self.keep = keep
        mlflow.set_tracking_uri(self.uri)  # proxied artifacts (mlflow-artifacts:) resolve by it
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._experiments: dict[str, str] = {}
        self._models: set[str] = set()  # registered models known to exist

    @property
    def address(self) -> str:
        """The store as log lines show it (a database URI's password masked)."""
        return redact(self.uri)

    def log(self, checkpoint: Checkpoint) -> tuple[int, bool]:
        """Record a checkpoint as a run and a version, and let older versions go; returns
        (version, champion moved). A run whose version could not be made is deleted again
        (as far as the store lets it), so a retried checkpoint leaves no orphan."""
        client = self.client
        origin = "worker" if checkpoint.moves_aliases else "replay"
        run_id = self._run(checkpoint, origin)
        name = PREFIX + checkpoint.symbol
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
        try:
            self._ensure_model(name)
            created = client.create_model_version(
                name, f"runs:/{run_id}/{ARTIFACT_DIR}", run_id, tags=tags
            )
        except Exception:
            self._forget(run_id)
            raise
        version = int(created.version)
        moved = False
        if checkpoint.moves_aliases:
            client.set_registered_model_alias(name, CHALLENGER, str(version))
            moved = checkpoint.beats_baseline and not self.pinned(checkpoint.symbol)
            if moved:
                client.set_registered_model_alias(name, CHAMPION, str(version))
        if version > self.keep:  # versions are numbered from 1: fewer cannot be too many
            self.prune(checkpoint.symbol)
        return version, moved

    def _run(self, checkpoint: Checkpoint, origin: str) -> str:
        """The checkpoint as an MLflow run (parameters, key metrics, the state and every metric
        as artifacts); its id."""
        from mlflow.entities import Metric, Param

        client = self.client
        run = client.create_run(
            self.experiment(EXPERIMENT),
            run_name=f"{checkpoint.symbol}@{checkpoint.ts}",
            tags={"symbol": checkpoint.symbol, "event_ts": str(checkpoint.ts), "origin": origin},
        )
        run_id: str = run.info.run_id
        logged = {
            k: v
            for k, v in checkpoint.metrics.items()
            if k.endswith(LOGGED_SUFFIXES) and (k.startswith(f"{SERVED}.") or ".rolling." in k)
        }
        metrics = [Metric(k, v, checkpoint.ts, checkpoint.n_labels) for k, v in logged.items()]
        params = [Param(key, value) for key, value in checkpoint.params.items()]
        try:
            for start in range(0, max(len(metrics), len(params)), 100):  # MLflow's batch limits
                client.log_batch(
                    run_id,
                    metrics=metrics[start : start + 100],
                    params=params[start : start + 100],
                )
            with tempfile.TemporaryDirectory() as folder:
                Path(folder, STATE_FILE).write_bytes(checkpoint.state)
                Path(folder, METRICS_FILE).write_text(json.dumps(checkpoint.metrics))
                client.log_artifacts(run_id, folder, ARTIFACT_DIR)
            client.set_terminated(run_id)
        except Exception:
            self._forget(run_id)
            raise
        return run_id

    def _forget(self, run_id: str) -> None:
        """Delete a run whose checkpoint failed, if the store lets it now."""
        try:
            self._delete_run(run_id)
        except Exception as exc:  # the store is away: the run stays, named in this line
            log.warning("registry %s: run %s left behind: %s", self.address, run_id, short(exc))

    def prune(self, symbol: str) -> int:
        """Delete the symbol's versions past the newest ``keep`` that no alias points at, and
        their runs' artifacts; returns how many went. A failure is logged, not raised: the
        checkpoint it follows was written, and the next one prunes again."""
        name = PREFIX + symbol
        gone = 0
        try:
            aliased = {int(v) for v in (self._registered(name).aliases or {}).values()}
            versions = sorted(self._versions(name), key=lambda v: -int(v.version))
            for old in versions[self.keep :]:
                if int(old.version) in aliased:
                    continue
                self.client.delete_model_version(name, old.version)
                if old.run_id:
                    self._delete_run(old.run_id)
                gone += 1
        except Exception as exc:  # the store down or refusing: the next checkpoint tries again
            log.warning("registry %s: pruning %s stopped: %s", self.address, symbol, short(exc))
        return gone

    def _delete_run(self, run_id: str) -> None:
        """A run's artifacts (the state, the metrics) and the run itself."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        run = self.client.get_run(run_id)
        get_artifact_repository(run.info.artifact_uri).delete_artifacts()  # type: ignore[no-untyped-call]
        self.client.delete_run(run_id)

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
        """Every symbol's registered model, page by page."""
        return list(
            _paged(
                self.client.search_registered_models,
                filter_string=f"name LIKE '{PREFIX}%'",
                max_results=PAGE,
            )
        )

    def _versions(self, name: str) -> list[Any]:
        return list(_paged(self.client.search_model_versions, filter_string=f"name = '{name}'"))

    def overview(self) -> dict[str, tuple[list[VersionInfo], bool]]:
        """Every symbol's versions (newest first) and whether its champion is pinned: two
        paged searches whatever the number of symbols (``tickcast models list``)."""
        models = {m.name: m for m in self._search()}
        found: dict[str, list[Any]] = {name: [] for name in models}
        for version in _paged(
            self.client.search_model_versions, filter_string=f"name LIKE '{PREFIX}%'"
        ):
            found.setdefault(version.name, []).append(version)
        return {
            name[len(PREFIX) :]: described(name[len(PREFIX) :], model, found[name])
            for name, model in sorted(models.items())
        }

    def versions(self, symbol: str) -> list[VersionInfo]:
        """Every version of the symbol, newest first."""
        return self.listing(symbol)[0]

    def listing(self, symbol: str) -> tuple[list[VersionInfo], bool]:
        """Every version of the symbol, newest first, and whether its champion is pinned: the
        registered model read once for both."""
        name = PREFIX + symbol
        return described(symbol, self._registered(name), self._versions(name))

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
        return pinned(self._registered(PREFIX + symbol))

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
            raise TickcastError(f"no registered model {name!r} in {self.address}") from None

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


def _paged(search: Callable[..., Any], **options: Any) -> Iterator[Any]:
    """Every result of an MLflow search, following its page tokens."""
    token = None
    while True:
        page = search(page_token=token, **options)
        yield from page
        token = page.token
        if not token:
            return


def short(exc: BaseException) -> str:
    """The exception in one short line (MLflow's carry whole URLs and nested causes)."""
    text = str(exc).split(" failed with exception ")[-1]
    return f"{type(exc).__name__}: {text[:160]}"
