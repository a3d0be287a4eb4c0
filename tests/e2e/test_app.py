"""The React application (frontend/, built by `make`) in Debian's headless Chromium against
`tickcast demo`: the live chart draws and moves, the picker switches symbols, the models page
lists every model and the registry's versions, the drift page lists what the API has, the
history page sets forecasts against outcomes, and the page recovers after the API restarts.
Screenshots of each page go to the test artifacts (app_*.png)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import BANNER, PRICE, Page
from tests.e2e.test_live_page import demo_serving
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


def wait_for_versions(url: str, timeout: float = 120) -> dict:
    """The registry's answer once it has a version of the symbol."""
    response = eventually(
        lambda: (answer := httpx.get(url, timeout=60)).status_code == 200 and answer,
        timeout,
        "a registered version",
    )
    found: dict = response.json()
    return found


def test_every_page_shows_what_the_api_serves(tmp_path: Path, page: Page) -> None:
    with demo_serving(tmp_path, registry=True) as url:
        assert 'id="root"' in httpx.get(url).text  # the application, not the static page
        page.driver.get(url)
        page.wait_until(PRICE)
        page.wait_until("document.querySelectorAll('.chart canvas').length > 0")
        first = page.value(PRICE)
        page.wait_until(f"{PRICE} !== {first!r}")  # the live chart moves
        assert page.value(BANNER) is None  # the stream is open
        page.screenshot("live")
        page.driver.execute_script(
            "[...document.querySelectorAll('[role=group] button')][1].click()"
        )
        page.wait_until(
            "document.querySelector('[role=group] [aria-pressed=true]')?.textContent === 'candles'"
        )
        page.screenshot("live_candles")

        options = page.texts("select option")
        assert len(options) == 10
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        symbol = options[-1]
        Select(page.driver.find_element(By.TAG_NAME, "select")).select_by_value(symbol)
        page.wait_until(f"document.querySelector('select').value === {symbol!r}")
        page.wait_until(f"{PRICE} !== null")

        page.open("Models")
        page.wait_until("document.querySelectorAll('tbody tr').length >= 6")
        names = {n.removesuffix(" (served)") for n in page.texts("tbody tr td:first-child")}
        assert {"random_walk", "mean", "linear", "huber", "direction", "served"} <= names
        assert page.value("document.querySelector('tr.served')") is not None
        assert "since" in page.value("document.querySelector('[data-testid=served]').textContent")
        # The registry's child writes checkpoints behind the stream: wait for the API to have
        # one, then for the page to show it (its refresh comes every 5 s).
        registered = wait_for_versions(f"{url}symbols/{symbol}/versions")
        aliases = page.wait_until(
            "document.querySelector('[data-testid=aliases]')?.textContent", timeout=30
        )
        assert page.texts("section table:last-of-type tbody tr td:first-child")
        assert aliases.startswith(f"champion: {registered['champion'] or 'none'}")
        page.screenshot("models")

        page.open("Drift")
        drifted = [s for s in options if httpx.get(f"{url}symbols/{s}/drift").json()]
        if drifted:  # show a symbol with events when one has them
            symbol = drifted[0]
            Select(page.driver.find_element(By.TAG_NAME, "select")).select_by_value(symbol)
        events = httpx.get(f"{url}symbols/{symbol}/drift").json()
        if events:
            page.wait_until("document.querySelectorAll('tbody tr').length > 0")
            assert len(page.texts("tbody tr")) >= len(events)  # the page's refresh may add
            page.wait_until("document.querySelectorAll('.chart canvas').length > 0")
        else:
            page.wait_until("document.querySelector('[data-testid=no-drift]')")
        page.screenshot("drift")

        page.open("History")
        summary = page.wait_until("document.querySelector('[data-testid=summary]')?.textContent")
        assert int(summary.split()[0]) > 0, summary
        page.wait_until("document.querySelectorAll('.chart canvas').length > 0")
        page.screenshot("history")


def test_the_page_recovers_after_the_api_restarts(tmp_path: Path, page: Page) -> None:
    port = free_port()
    with demo_serving(tmp_path, port) as url:
        page.driver.get(url)
        page.wait_until(PRICE)
        assert page.value(BANNER) is None
    # The API is gone: the page says so and the browser keeps trying.
    page.wait_until(f"{BANNER}?.includes('reconnecting')", timeout=30)
    page.screenshot("api_down")
    before = page.value(PRICE)
    with demo_serving(tmp_path, port):
        page.wait_until(f"{BANNER} === undefined", timeout=60)  # the stream is open again
        page.wait_until(f"{PRICE} !== {before!r}")  # and forecasts flow again
