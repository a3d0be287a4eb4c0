"""The static live page (/static/index.html: what / serves when the front end is not built) in a
real headless Chromium (Debian's), against `tickcast demo`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port
from tests.e2e.test_cli import TICKCAST
from tests.eventually import eventually

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(os.environ.get("TICKCAST_TEST_ARTIFACTS", REPO / "test-artifacts"))


def browser() -> object:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail(
            "no headless browser: apt-get install chromium chromium-driver (`make test` does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


@contextlib.contextmanager
def demo_serving(tmp_path: Path, port: int | None = None, registry: bool = False) -> Iterator[str]:
    """`tickcast demo` replaying the sample over about a minute on a port (a free one by
    default), with its local registry or none: its URL once it answers; at the end,
    interrupted, it must exit cleanly."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKCAST_")}
    if registry:  # checkpoints while it runs (by default a symbol's first comes at its end)
        env["TICKCAST_CHECKPOINT_EVERY_LABELS"] = "300"
    else:
        env["TICKCAST_MLFLOW_URI"] = ""
    demo = subprocess.Popen(
        [TICKCAST, "demo", "--port", str(port), "--speed", "2000000"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"

        def answers() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        eventually(answers, 60, "the demo's page")
        yield url
    finally:
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=60)
    assert demo.returncode == 0, stderr[-3000:]


def test_the_live_page_fills_and_its_chart_updates_in_headless_chromium(tmp_path: Path) -> None:
    driver = None
    with demo_serving(tmp_path) as url:
        try:
            driver = browser()
            driver.get(url + "static/index.html")  # type: ignore[attr-defined]

            def page(expression: str) -> object:
                return driver.execute_script(f"return {expression};")  # type: ignore[attr-defined]

            def wait_until(expression: str, timeout: float = 60) -> None:
                eventually(lambda: page(expression), timeout, expression)

            wait_until("document.querySelectorAll('#latest tbody tr').length === 10")
            wait_until("window.tickcast.updates >= 20")
            first = page("window.tickcast.updates")
            drawn = page("window.tickcast.symbols[window.tickcast.selected].points.length")
            wait_until(f"window.tickcast.updates > {first}")  # the chart keeps moving
            assert page("document.getElementById('status').textContent") == "live"
            wait_until("document.getElementById('selected').textContent !== '\u2013'")  # polled
            assert float(str(page("document.getElementById('mae-ratio').textContent"))) > 0
            assert isinstance(drawn, int)
            assert drawn >= 2
            canvas_ink = page(
                "(() => { const c = document.getElementById('chart');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()"
            )
            assert isinstance(canvas_ink, int)
            assert canvas_ink > 1000  # lines and the band are drawn
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "live_page.png"
            assert driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
            assert shot.stat().st_size > 10_000
        finally:
            if driver is not None:
                driver.quit()  # type: ignore[attr-defined]
