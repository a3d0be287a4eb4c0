"""tickcast's build backend: maturin (the Rust core), after building the React application
into tickcast/api/app so that a wheel built from a clean export carries it.

The development install (editable) builds the core with its `testing` feature.
The application is built when frontend/ is there and its build is missing or older than a
source; without frontend/ (the Docker image copies the package alone) the wheel goes without it
and the API serves its static page. Editable installs leave it to `make`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import maturin
from maturin import (  # noqa: F401 (the rest of the PEP 517 hooks, as they are)
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

FRONTEND = Path("frontend")
BUILT = Path("tickcast/api/app/index.html")
# what the build reads, beside src/ (the Makefile's FRONTEND_SOURCES)
SOURCES = ("package-lock.json", "index.html", "vite.config.ts", "tsconfig.json")


def stale() -> bool:
    """Whether the application needs building: it is missing or a source is newer."""
    if not (FRONTEND / "package.json").is_file():
        return False
    if not BUILT.is_file():
        return True
    sources = [FRONTEND / name for name in SOURCES] + list((FRONTEND / "src").rglob("*"))
    return max(p.stat().st_mtime for p in sources if p.is_file()) > BUILT.stat().st_mtime


def build_frontend() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "building tickcast's wheel needs Node.js 18 or newer and npm for its front end "
            "(frontend/): install them (Debian: apt-get install nodejs npm) or build without "
            "frontend/"
        )
    for command in (["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]):
        subprocess.run([npm, *command], cwd=FRONTEND, check=True)


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    if stale():
        build_frontend()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """The development install: the core with its `testing` feature (the functions the oracle
    tests call), which wheels and the Docker image leave out."""
    args = os.environ.get("MATURIN_PEP517_ARGS", "")
    if "testing" not in args:
        os.environ["MATURIN_PEP517_ARGS"] = f"{args} --features testing".strip()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
