"""The stack's entry point, Debian's nginx with infra/nginx/nginx.conf: MLflow only with
credentials, the operators' routes not at all, security headers on every answer, no version,
and limits on requests, connections, streams and bodies."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.test_nginx import nginx

pytestmark = pytest.mark.e2e
HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "permissions-policy")


@pytest.fixture
def entry(tmp_path: Path) -> Iterator[str]:
    """nginx in front of an upstream that takes connections and never answers (so a stream
    stays open as long as the client holds it)."""
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with nginx(tmp_path, port) as url:
            yield url
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_mlflow_is_refused_without_credentials_and_challenged(entry: str) -> None:
    refused = httpx.get(entry + "mlflow/api/2.0/mlflow/registered-models/search")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="mlflow"'
    tried = httpx.get(entry + "mlflow/", auth=("operator", "secret"))
    assert tried.status_code == 502  # passed on to MLflow (down here), whose basic-auth checks
    assert "www-authenticate" not in tried.headers


@pytest.mark.parametrize("path", ["metrics", "ready", "docs", "redoc", "openapi.json"])
def test_the_operators_routes_are_not_on_the_entry_point(entry: str, path: str) -> None:
    assert httpx.get(entry + path).status_code == 404


@pytest.mark.parametrize("path", ["", "index.html", "nginx-health", "metrics", "mlflow/"])
def test_every_answer_carries_the_security_headers_and_no_version(entry: str, path: str) -> None:
    answer = httpx.get(entry + path)
    assert all(name in answer.headers for name in HEADERS), (path, answer.headers)
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["server"] == "nginx"  # server_tokens off: no version
    # the application's content policy; Grafana's and MLflow's pages bring their own
    policy = answer.headers.get("content-security-policy", "")
    assert ("frame-ancestors 'none'" in policy) == (not path.startswith("mlflow"))


def test_a_burst_of_requests_from_one_address_is_limited(entry: str) -> None:
    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda _: client.get(entry + "index.html").status_code, range(200))
        )
    assert statuses.count(429) > 0
    assert statuses.count(200) >= 40  # the burst goes through


def test_streams_per_address_are_limited(entry: str) -> None:
    """Six streams opened at once from one address: four held open, two refused."""
    port = int(entry.rstrip("/").rsplit(":", 1)[1])
    streams = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        for stream in streams:
            stream.sendall(b"GET /stream HTTP/1.1\r\nHost: tickcast\r\n\r\n")
        answers = []
        for stream in streams:
            stream.settimeout(1.0)
            try:
                answers.append(stream.recv(100).split(b"\r\n")[0].decode())
            except TimeoutError:  # no answer yet: held open by the upstream
                answers.append("open")
        assert answers.count("open") == 4, answers
        assert answers.count("HTTP/1.1 429 Too Many Requests") == 2, answers
    finally:
        for stream in streams:
            stream.close()


def test_a_large_body_is_refused(entry: str) -> None:
    assert httpx.post(entry + "forecasts/AAPL", content=b"x" * 100_000).status_code == 413
