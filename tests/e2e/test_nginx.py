"""The compose stack's entry point without Docker: Debian's nginx with infra/nginx/nginx.conf
(the upstreams pointed at local ports, the root at the application `make` built) in front of
`tickcast demo`. It serves the application and its assets itself, proxies the API's routes,
streams Server-Sent Events as they come, and the page behind it recovers after the API
restarts (nginx answers 502 meanwhile: the browser gives up and the page reopens)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port, wait_for_port
from tests.e2e.conftest import BANNER, BUILT, PRICE, Page
from tests.e2e.test_live_page import demo_serving
from tests.eventually import eventually

pytestmark = pytest.mark.e2e
CONF = REPO / "infra/nginx/nginx.conf"


@contextlib.contextmanager
def nginx(tmp_path: Path, api_port: int) -> Iterator[str]:
    """nginx on a free port with the stack's configuration; its URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is missing: apt-get install nginx (make test does)")
    if not BUILT.is_file():
        pytest.fail("the front end is not built: run `make` (it runs npm ci and npm run build)")
    port = free_port()
    text = CONF.read_text()
    for name in ("api:8000", "grafana:3000", "mlflow:5000"):
        assert f"server {name};" in text
    text = text.replace("server api:8000;", f"server 127.0.0.1:{api_port};")
    text = re.sub(r"server (grafana|mlflow):\d+;", "server 127.0.0.1:9;", text)
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    text = text.replace("root /usr/share/nginx/html;", f"root {BUILT.parent};")
    text = text.replace("pid /tmp/nginx.pid;\n", "")
    text = re.sub(r"(_temp_path) /tmp/", rf"\1 {tmp_path}/", text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    logs = f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"
    command = [binary, "-p", str(tmp_path), "-c", str(conf), "-g", f"daemon off; {logs}"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_nginx_serves_the_application_and_proxies_the_api(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "demo").mkdir()
    with demo_serving(tmp_path / "demo", port) as api, nginx(tmp_path, port) as url:
        index = httpx.get(url + "index.html")  # a file only nginx serves (no such API route)
        assert index.status_code == 200
        assert 'id="root"' in index.text
        assert index.headers["cache-control"] == "no-cache"
        script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
        assert script, index.text
        asset = httpx.get(url + script.group(1).lstrip("/"))
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        assert httpx.get(url + "history").text == index.text  # the application's own paths
        symbols = eventually(lambda: httpx.get(url + "symbols").json(), 30, "symbols via nginx")
        assert symbols == httpx.get(api + "symbols").json()
        assert httpx.get(url + "health").json() == {"status": "ok"}
        assert httpx.get(url + "nginx-health").text == "ok\n"
        assert httpx.get(url + "openapi.json").status_code == 404  # inside the stack only
        # an event comes while the stream stays open (a buffer would hold it back until the
        # read times out)
        with httpx.stream("GET", url + "stream", timeout=5) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: forecast"


def test_the_page_behind_nginx_recovers_after_the_api_restarts(
    tmp_path: Path,
    page: Page,
) -> None:
    port = free_port()
    (tmp_path / "demo").mkdir()
    with nginx(tmp_path, port) as url:
        with demo_serving(tmp_path / "demo", port):
            page.driver.get(url)
            page.wait_until(PRICE)
            assert page.value(BANNER) is None
        page.wait_until(f"{BANNER}?.startsWith('the API is down')", timeout=30)  # nginx's 502
        before = page.value(PRICE)
        with demo_serving(tmp_path / "demo", port):
            page.wait_until(f"{BANNER} === undefined", timeout=60)
            page.wait_until(f"{PRICE} !== {before!r}")
