"""The React application (frontend/, built by `make`) in Debian's headless Chromium against
`tickcast demo`: the live chart draws and moves, the picker switches symbols, the models page
lists every model. Screenshots of each page go to the test artifacts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.test_live_page import ARTIFACTS, browser, demo_serving

pytestmark = pytest.mark.e2e
BUILT = REPO / "tickcast/api/app/index.html"


def test_the_app_draws_moves_switches_symbols_and_lists_every_model(tmp_path: Path) -> None:
    if not BUILT.is_file():
        pytest.fail("the front end is not built: run `make` (it runs npm ci and npm run build)")
    driver: Any = None
    with demo_serving(tmp_path) as url:
        try:
            assert 'id="root"' in httpx.get(url).text  # the application, not the static page
            driver = browser()
            driver.get(url)

            def page(expression: str) -> Any:
                return driver.execute_script(f"return {expression};")

            def wait_until(expression: str, timeout: float = 60) -> None:
                end = time.monotonic() + timeout
                while not page(expression):
                    assert time.monotonic() < end, f"never true: {expression}"
                    time.sleep(0.2)

            price = "document.querySelector('[data-testid=price]')?.textContent"
            wait_until(f"{price}")
            wait_until("document.querySelectorAll('.chart canvas').length > 0")
            first = page(price)
            wait_until(f"{price} !== {first!r}")  # the live chart moves
            assert page("document.querySelector('[role=status]')") is None  # the stream is open
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            assert driver.save_screenshot(str(ARTIFACTS / "app_live.png"))
            options = page("[...document.querySelectorAll('select option')].map(o => o.value)")
            assert len(options) == 10
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import Select

            Select(driver.find_element(By.TAG_NAME, "select")).select_by_value(options[-1])
            wait_until(f"document.querySelector('select').value === {options[-1]!r}")
            wait_until(f"{price} !== null")
            driver.execute_script("[...document.querySelectorAll('nav button')][1].click()")
            wait_until("document.querySelectorAll('tbody tr').length >= 6")
            names = page(
                "[...document.querySelectorAll('tbody tr td:first-child')].map(t => t.textContent)"
            )
            assert {"random_walk", "mean", "linear", "huber", "direction", "served"} <= {
                n.removesuffix(" (served)") for n in names
            }
            assert any(n.endswith("(served)") for n in names)
            assert driver.save_screenshot(str(ARTIFACTS / "app_models.png"))
            assert (ARTIFACTS / "app_models.png").stat().st_size > 10_000
        finally:
            if driver is not None:
                driver.quit()
