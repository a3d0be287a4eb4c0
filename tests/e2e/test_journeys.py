"""User journeys: the README's commands, each from a fresh temporary directory, at real sizes.

These are what a new user does first beyond the demo: install the package, replay a long
history, follow the README's order of commands, run the stack's producer, open the dashboards.
Each one failed once on a clean checkout; each runs against the real broker and stores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO, free_port, wait_for_port
from tests.dashboards import clickhouse_queries, expand
from tests.eventually import eventually, pause
from tests.factories import write_yfinance_csv
from tests.integration.kafka_support import TICKCAST, TopicCollector, Worker, topics_env
from tickcast.stores import ClickHouseStore

pytestmark = pytest.mark.e2e
SAMPLE_TICKS = 12_570
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
GRAFANA = REPO / "infra" / "grafana" / "dashboards"


def run(
    command: str, *args: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stderr[-3000:]}"
    return result


def fresh(tmp_path: Path, name: str = "user") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


GRID = """
[models.linear]
kind = "linear"
[models.linear.grid]
lr = [0.0002, 0.002]

[models.mlp]
kind = "mlp"
hidden = [8]
dropout = 0.1
[models.mlp.grid]
activation = ["tanh", "elu"]
"""


def test_the_package_built_from_a_clean_export_runs_installed_outside_the_repo(
    tmp_path: Path, kafka_bootstrap: str, redis_clean: str
) -> None:
    """`pip install .` as the Dockerfile does: the wheel must carry every file the code reads."""
    export = tmp_path / "export"
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (export / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, export / name)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(export)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("tickcast-*.whl")
    carried = zipfile.ZipFile(wheel).namelist()
    assert "tickcast/stores/schema.sql" in carried
    assert "tickcast/api/app/index.html" in carried  # built from frontend/ on the way
    assert any(n.startswith("tickcast/api/app/assets/") and n.endswith(".js") for n in carried)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    installed = subprocess.run(
        [str(tmp_path / "venv/bin/pip"), "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    tickcast = str(tmp_path / "venv/bin/tickcast")
    home = fresh(tmp_path)
    env = topics_env(kafka_bootstrap, TICKCAST_REDIS_URL=redis_clean, PYTHONPATH="")

    replay = run(tickcast, "replay", "--synthetic", "2000", "--symbols", "4", cwd=home, env=env)
    assert json.loads(replay.stdout)["counts"] == {"ok": 2000}
    (home / "grid.toml").write_text(GRID)
    run(
        tickcast,
        "tune",
        "--sample",
        "--models-file",
        "grid.toml",
        "--folds",
        "3",
        cwd=home,
        env=env,
    )
    tuned = run(
        tickcast,
        "backtest",
        "--sample",
        "--models-file",
        "tuned.toml",
        "--outcomes",
        "o.parquet",
        "--json",
        cwd=home,
        env=env,
    )
    assert set(json.loads(tuned.stdout)["models"]) == {"random_walk", "linear", "mlp", "served"}
    assert (home / "o.parquet").stat().st_size > 0

    port = free_port()
    api = subprocess.Popen(
        [tickcast, "api", "--port", str(port)], cwd=home, env=env, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, 60)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/ready").json()["checks"] == {"latest": "ok", "clickhouse": "ok"}
        assert httpx.get(f"{base}/forecasts/SYN000").json()["symbol"] == "SYN000"
        history = httpx.get(f"{base}/forecasts/SYN000/history?limit=5")
        assert history.status_code == 200, history.text
        assert len(history.json()) == 5
        application = httpx.get(f"{base}/").text
        assert 'id="root"' in application  # the React application, not the static page
        script = application.split('src="', 1)[1].split('"', 1)[0]
        assert httpx.get(f"{base}{script}").status_code == 200
    finally:
        api.send_signal(signal.SIGINT)
        api.wait(30)

    env["TICKCAST_MODELS_FILE"] = str(home / "tuned.toml")  # the tuned set, a network among them
    worker = Worker(env, home / "worker.log", cwd=home, command=tickcast)
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        worker.wait_assigned()
        run(tickcast, "produce", "--synthetic", "1000", "--symbols", "4", cwd=home, env=env)
        assert forecasts.distinct_after(1000, 120) == 1000
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()


def test_a_thirty_year_daily_history_replays_backtests_and_lands_in_clickhouse(
    tmp_path: Path,
) -> None:
    """`tickcast fetch AAPL --period max` gives decades of daily bars: 360 months in one flush."""
    home = fresh(tmp_path)
    write_yfinance_csv(home / "AAPL.csv", n=7800, start=date(1995, 1, 2))
    env = topics_env("127.0.0.1:9")
    replay = run(TICKCAST, "replay", "AAPL.csv", cwd=home, env=env)
    assert json.loads(replay.stdout)["counts"] == {"ok": 7800}
    backtest = run(TICKCAST, "backtest", "AAPL.csv", "--json", cwd=home, env=env)
    report = json.loads(backtest.stdout)
    assert list(report["symbols"]) == ["AAPL"]
    assert report["pooled"]["served"]["n"] == 7799
    store = ClickHouseStore(f"chdb://{home / 'data' / 'olap'}")
    store.setup()
    try:
        stored = store.query(
            "SELECT count() AS n, uniqExact(toYYYYMM(ts)) AS months FROM ticks FINAL"
        )[0]
        forecasts = store.query("SELECT count() AS n FROM forecasts FINAL")[0]["n"]
    finally:
        store.close()
    assert stored["n"] == 7800
    assert stored["months"] > 350
    assert forecasts == 7800  # the served forecast of every bar


def peak_rss_mb(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``command`` to its end: its peak resident memory (MB) and its standard output."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, out
    return usage.ru_maxrss / 1024, out


def test_a_hundred_thousand_synthetic_ticks_over_fifty_symbols_replay_in_flat_memory(
    tmp_path: Path,
) -> None:
    """`tickcast replay --synthetic 100000 --symbols 50`, as the README gives it, and the same
    at four times the length: every tick stored and forecast, memory flat (bounded buffers)."""
    env = topics_env("127.0.0.1:9")
    peaks = {}
    for n in (100_000, 400_000):
        home = fresh(tmp_path, f"replay-{n}")
        command = [TICKCAST, "replay", "--synthetic", str(n), "--symbols", "50"]
        peaks[n], out = peak_rss_mb(command, home, env)
        assert json.loads(out)["counts"] == {"ok": n}
    store = ClickHouseStore(f"chdb://{tmp_path / 'replay-100000' / 'data' / 'olap'}")
    store.setup()
    try:
        stored = store.query("SELECT count() AS n, uniqExact(symbol) AS s FROM ticks FINAL")[0]
        forecasts = store.query("SELECT count() AS n FROM forecasts FINAL")[0]["n"]
    finally:
        store.close()
    assert stored == {"n": 100_000, "s": 50}
    assert forecasts == 100_000
    assert peaks[400_000] < 1.25 * peaks[100_000], peaks  # measured: 418 and about 465 MB


def test_a_worker_forecasts_each_of_a_hundred_thousand_ticks_over_fifty_symbols(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """README, "With Kafka": `tickcast worker`, then `tickcast produce --synthetic 100000
    --symbols 50`: one forecast per tick on the forecasts topic, none lost, none late."""
    home = fresh(tmp_path)
    env = topics_env(kafka_bootstrap, TICKCAST_MLFLOW_URI="")
    worker = Worker(env, home / "worker.log", cwd=home)
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        worker.wait_assigned()
        produced = run(
            TICKCAST, "produce", "--synthetic", "100000", "--symbols", "50", cwd=home, env=env
        )
        assert json.loads(produced.stdout)["counts"] == {"published": 100_000}
        assert forecasts.distinct_after(100_000, 300) == 100_000
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()


def test_demo_then_a_worker_and_the_sample_in_the_same_directory_forecast_every_tick(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The README's order: `make demo`, then `tickcast worker` and `tickcast produce --sample`
    in the same directory, with the demo's checkpoints there; one symbol's newest version is
    promoted, so the worker starts it warm (learned parameters, never the demo's clock)."""
    home = fresh(tmp_path)
    env = topics_env(kafka_bootstrap)
    run(TICKCAST, "demo", "--no-serve", cwd=home, env=env)
    shown = run(TICKCAST, "models", "show", "AAPL", cwd=home, env=env).stdout
    newest = int(re.search(r"^\W*(\d+)\W", shown, re.M).group(1))  # type: ignore[union-attr]
    run(TICKCAST, "models", "promote", "AAPL", str(newest), cwd=home, env=env)
    worker = Worker(env, home / "worker.log", cwd=home)
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        worker.wait_assigned()
        produced = run(TICKCAST, "produce", "--sample", cwd=home, env=env)
        assert json.loads(produced.stdout)["counts"] == {"published": SAMPLE_TICKS}
        assert forecasts.distinct_after(SAMPLE_TICKS, 180) == SAMPLE_TICKS
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()
    assert {"symbol": "AAPL", "version": newest}.items() <= worker.events("warm_started")[0].items()


def test_the_readmes_kafka_commands_in_one_directory_serve_the_history_the_worker_writes(
    tmp_path: Path, kafka_bootstrap: str, redis_clean: str
) -> None:
    """README, "With Kafka": `tickcast worker --serve`, `tickcast produce --sample` and
    `tickcast api`, all in one directory on the embedded chdb store. The worker's own API
    serves the history it writes; an API in a process of its own serves the latest forecasts
    from Redis and says in its log, for the history, which process holds the store and what to
    do (its 503s name the request, never the internals)."""
    home = fresh(tmp_path)
    served, apart = free_port(), free_port()
    env = topics_env(kafka_bootstrap, TICKCAST_REDIS_URL=redis_clean, TICKCAST_MLFLOW_URI="")
    worker = Worker(
        {**env, "TICKCAST_API_PORT": str(served)}, home / "w.log", home, args=("--serve",)
    )
    api_log, api = home / "api.log", None
    try:
        worker.wait_assigned()
        assert worker.events("started")[0]["api"] == f"http://127.0.0.1:{served}"
        run(TICKCAST, "produce", "--sample", cwd=home, env=env)
        last = "2018-02-06T21:00:00Z"  # AAPL's last tick in the sample
        history_url = f"http://127.0.0.1:{served}/forecasts/AAPL/history?limit=5000"
        history = eventually(  # the worker writes ClickHouse batch by batch
            lambda: len((answer := httpx.get(history_url)).json()) >= SAMPLE_TICKS // 10 and answer,
            120,
            "every AAPL forecast in the history",
        )
        assert history.status_code == 200, history.text
        assert len(history.json()) == SAMPLE_TICKS // 10
        assert httpx.get(f"http://127.0.0.1:{served}/forecasts/AAPL").json()["ts"] == last
        assert httpx.get(f"http://127.0.0.1:{served}/ready").json()["status"] == "ok"
        with api_log.open("wb") as handle:  # now that the worker holds the store
            api = subprocess.Popen(
                [TICKCAST, "api", "--port", str(apart)], cwd=home, env=env, stderr=handle
            )
        wait_for_port(apart)
        assert httpx.get(f"http://127.0.0.1:{apart}/forecasts/AAPL").json()["ts"] == last
        refused = httpx.get(f"http://127.0.0.1:{apart}/forecasts/AAPL/history")
        assert refused.status_code == 503
        request = refused.headers["x-request-id"]
        assert refused.json()["detail"] == f"history is unavailable (request {request})"
        said = api_log.read_text()
        assert f"is held by process {worker.proc.pid}: the history routes answer 503" in said
        assert "tickcast worker --serve" in said
        [line] = [line for line in said.splitlines() if f"request {request}" in line]
        assert f"process {worker.proc.pid} holds this embedded store" in line  # the log says
    finally:
        if api is not None:
            api.send_signal(signal.SIGINT)
            api.wait(30)
        assert worker.stop() == 0, worker.text()[-3000:]


def stack_producer(**overrides: str) -> list[str]:
    """The compose stack's producer command, with some options scaled for a test."""
    command = list(COMPOSE["services"]["producer"]["command"])
    for option, value in overrides.items():
        flag = "--" + option.replace("_", "-")
        if flag in command:
            command[command.index(flag) + 1] = value
        else:
            command += [flag, value]
    return command


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_the_stack_producer_runs_without_end_in_flat_memory_and_resumes_from_now(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    home = fresh(tmp_path)
    env = topics_env(kafka_bootstrap)
    command = stack_producer(rate="5000")
    assert "--live" in command
    producer = subprocess.Popen(
        [TICKCAST, *command],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        pause(6, "imports, topics, librdkafka's buffers: the steady state starts here")
        samples = []
        for _ in range(40):
            samples.append(rss_mb(producer.pid))
            pause(0.5, "the memory sampled every half second")
    finally:
        producer.send_signal(signal.SIGTERM)
        out, _ = producer.communicate(timeout=60)
    assert producer.returncode == 0
    published = json.loads(out)["counts"]["published"]
    assert published > 5000 * 20  # 26 s at 5,000 ticks/s (most of them)
    growth = max(samples) - samples[0]
    assert growth < 25, (
        f"RSS grew {growth:.0f} MB over 20 s: {samples[0]:.0f} -> {max(samples):.0f}"
    )

    restarted = run(TICKCAST, *stack_producer(rate="5000", synthetic="5000"), cwd=home, env=env)
    assert json.loads(restarted.stdout)["counts"]["published"] == 5000
    ticks = TopicCollector(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"])
    try:
        messages = ticks.wait_for(published + 5000, timeout=60)
    finally:
        ticks.close()
    positions: dict[str, list[tuple[int, int]]] = {}
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        tick = json.loads(message.value)
        positions.setdefault(tick["symbol"], []).append((tick["ts"], tick["seq"]))
    for symbol, seen in positions.items():  # the restart went on from now: nothing repeated
        assert seen == sorted(set(seen)), f"{symbol}'s event times went back"


def default_range(board: dict[str, Any]) -> tuple[int, int]:
    """The board's default time range (e.g. now-6h .. now) in epoch seconds, as Grafana sends."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    now = int(time.time())

    def at(text: str) -> int:
        found = re.fullmatch(r"now(?:-(\d+)([smhdw]))?", text)
        assert found, f"unexpected time {text!r}"
        amount, unit = found.groups()
        return now - int(amount) * units[unit] if amount else now

    return at(board["time"]["from"]), at(board["time"]["to"])


def test_every_dashboard_panel_has_rows_in_its_default_range_on_the_stack_producers_data(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The stack's producer (live event times), a worker into ClickHouse, then every panel's
    query as Grafana sends it under the board's default range: none may come back empty."""
    home = fresh(tmp_path)
    env = topics_env(kafka_bootstrap, TICKCAST_MLFLOW_URI="")
    n = 12_000  # 6,000 per symbol: the planted regime changes after 3,000, data drift follows
    worker = Worker(env, home / "worker.log", cwd=home)
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        worker.wait_assigned()
        run(
            TICKCAST, *stack_producer(symbols="2", rate="3000", synthetic=str(n)), cwd=home, env=env
        )
        assert forecasts.distinct_after(n, 180) == n
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()
    store = ClickHouseStore(f"chdb://{home / 'data' / 'olap'}")
    store.setup()
    try:
        for file in sorted(GRAFANA.glob("*.json")):
            board = json.loads(file.read_text())
            start, end = default_range(board)
            for title, query in clickhouse_queries(board):
                rows = store.query(expand(query, start, end, "SYN000"))
                assert rows, f"{file.name} / {title}: no rows under {board['time']}"
    finally:
        store.close()
