"""The front end's types are the API's: frontend/src/api-types.ts is what openapi-typescript
generates from the API's OpenAPI snapshot (tests/unit/openapi.json, which test_openapi.py holds
to the app), formatted as `npm run lint` checks it. After the API changes: renew the snapshot
(``python -m tests.unit.test_openapi``), then ``cd frontend && npm run types``."""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FRONTEND = ROOT / "frontend"
GENERATOR = FRONTEND / "scripts" / "api-types.mjs"
COMMITTED = FRONTEND / "src" / "api-types.ts"
REGENERATE = "cd frontend && npm run types"


def test_the_front_ends_api_types_are_generated_from_the_openapi_snapshot(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run `make frontend` (it installs Node.js and npm)")
    if not (FRONTEND / "node_modules" / "openapi-typescript").is_dir():
        pytest.fail(
            "frontend/node_modules lacks openapi-typescript (and prettier) to generate the types "
            "with: run `make frontend` (npm ci)"
        )
    generated = tmp_path / "api-types.ts"
    run = subprocess.run(
        [node, str(GENERATOR), str(generated)],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{GENERATOR.relative_to(ROOT)} failed:\n{run.stdout}{run.stderr}"
    want, have = generated.read_text(), COMMITTED.read_text()
    if have != want:
        diff = difflib.unified_diff(
            have.splitlines(keepends=True),
            want.splitlines(keepends=True),
            "frontend/src/api-types.ts (committed)",
            "generated from tests/unit/openapi.json",
        )
        pytest.fail(
            "frontend/src/api-types.ts is not what tests/unit/openapi.json generates: "
            f"regenerate it with `{REGENERATE}` and commit it\n" + "".join(list(diff)[:60]),
            pytrace=False,
        )
