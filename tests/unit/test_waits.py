"""The tests wait one way: :func:`tests.eventually.eventually` asks until something is true;
:func:`tests.eventually.pause` keeps a staged condition and says which. A bare sleep standing in
for a wait passes on a fast machine and fails on a loaded one."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SLEEP = re.compile(r"\b(?:time\.sleep|asyncio\.sleep)\((?!0\))")  # sleep(0) only yields


def test_no_test_sleeps_except_through_the_one_helper() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in TESTS.rglob("*.py")
        if path.name != "eventually.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SLEEP.search(line)
    ]
    assert found == [], "bare sleeps (use eventually() or pause()):\n" + "\n".join(found)
