"""The browser on the React application, for the tests that drive it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.test_live_page import ARTIFACTS, browser
from tests.eventually import eventually

BUILT = REPO / "tickcast/api/app/index.html"
PRICE = "document.querySelector('[data-testid=price]')?.textContent"
BANNER = "document.querySelector('[role=status]')?.textContent"


class Page:
    """The browser on the application, asked in JavaScript."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def value(self, expression: str) -> Any:
        return self.driver.execute_script(f"return {expression};")

    def wait_until(self, expression: str, timeout: float = 60) -> Any:
        return eventually(
            lambda: self.value(expression),
            timeout,
            lambda: (
                f"{expression}; the page shows:\n"
                + self.value("document.querySelector('main').innerText")
            ),
        )

    def open(self, name: str) -> None:
        self.driver.execute_script(
            f"[...document.querySelectorAll('nav button')].find(b => b.textContent === {name!r})"
            ".click()"
        )
        self.wait_until(
            f"document.querySelector('nav [aria-pressed=true]')?.textContent === {name!r}"
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"app_{name}.png"
        assert self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 10_000  # drawn, not blank
        return path

    def texts(self, selector: str) -> list[str]:
        return self.value(f"[...document.querySelectorAll({selector!r})].map(e => e.textContent)")


@pytest.fixture
def page() -> Iterator[Page]:
    if not BUILT.is_file():
        pytest.fail("the front end is not built: run `make` (it runs npm ci and npm run build)")
    driver: Any = browser()
    try:
        yield Page(driver)
    finally:
        driver.quit()
