"""MLflow as the stack runs it: its basic-auth app (docker-compose.yml's own configuration), the
users `tickcast setup mlflow` makes, and what each may do: nobody gets in without a user, the
workers' user writes its checkpoints and prunes its own versions and their artifacts, the
API's reader reads and may not move an alias."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import CODEC, REPO, free_port, make_ticks
from tests.eventually import eventually
from tests.integration.kafka_support import TICKCAST
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import take
from tickcast.stores.registry import Registry

pytestmark = pytest.mark.e2e
ADMIN = "admin-password-of-the-tests"
PASSWORDS = {"worker": "worker-password-of-the-tests", "reader": "reader-password-of-the-tests"}


@dataclass(frozen=True)
class Served:
    uri: str  # the tracking URI, as workers are given it (under the static prefix)


@pytest.fixture(scope="module")
def mlflow_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`mlflow server --app-name basic-auth` with the stack's settings (its ini written by the
    compose command's own printf line, its flags but the store and the port)."""
    folder = tmp_path_factory.mktemp("mlflow-auth")
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["mlflow"]
    line = service["command"][0]
    ini = re.search(r"printf '([^']+)'", line)
    assert ini is not None
    text = (
        ini.group(1)
        .replace("\\n", "\n")
        .replace("sqlite:////home/tickcast/auth/auth.db", f"sqlite:///{folder / 'auth.db'}")
    )
    (folder / "auth.ini").write_text(text)
    flags = re.search(r"--app-name basic-auth.*?--workers 1", line, re.S)
    assert flags is not None
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(folder / "auth.ini"),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a secret of the tests",
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{folder / 'mlflow.db'}",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--app-name",
            "basic-auth",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--static-prefix",
            "/mlflow",
        ],
        env=env,
        cwd=folder,
        stdout=(folder / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/mlflow"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return server.poll() is not None  # ended: stop asking, and say so below

    eventually(
        healthy,
        120,
        lambda: f"MLflow's basic-auth app:\n{(folder / 'server.log').read_text()[-3000:]}",
        every=0.5,
    )
    if server.poll() is not None:
        pytest.fail(
            f"MLflow's basic-auth app ended:\n{(folder / 'server.log').read_text()[-3000:]}"
        )
    try:
        yield Served(base)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def setup_mlflow(uri: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "TICKCAST_MLFLOW_URI": uri,
        "TICKCAST_MLFLOW_USERNAME": "admin",
        "TICKCAST_MLFLOW_PASSWORD": ADMIN,
        "MLFLOW_WORKER_PASSWORD": PASSWORDS["worker"],
        "MLFLOW_READER_PASSWORD": PASSWORDS["reader"],
    }
    return subprocess.run(
        [TICKCAST, "setup", "mlflow"], env=env, capture_output=True, text=True, timeout=120
    )


def test_each_user_does_what_its_role_needs_and_nobody_gets_in_without_one(
    mlflow_auth: Served,
) -> None:
    uri = mlflow_auth.uri
    for _ in range(2):  # again: the users exist, their passwords are set anew
        made = setup_mlflow(uri)
        assert made.returncode == 0, made.stderr
    assert ADMIN not in made.stderr
    search = f"{uri}/api/2.0/mlflow/registered-models/search"
    assert httpx.get(search).status_code == 401
    assert httpx.get(search, auth=("worker", "wrong")).status_code == 401

    state = SymbolState("AAPL", CoreConfig(min_outcomes=30))
    worker = Registry(uri, "worker", PASSWORDS["worker"], keep=2)
    ticks = make_ticks(304, symbols=1)
    for tick in ticks[:300]:
        state.step(tick)
    for tick in ticks[300:]:  # four checkpoints: two are kept
        state.step(tick)
        worker.log(take(state, CODEC, moves_aliases=True))
    assert [v.version for v in worker.versions("AAPL")] == [4, 3]  # its own, pruned

    reader = Registry(uri, "reader", PASSWORDS["reader"])
    assert [v.version for v in reader.versions("AAPL")] == [4, 3]
    with pytest.raises(Exception, match="403"):
        reader.promote("AAPL", 3)
