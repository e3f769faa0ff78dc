"""What the browser tests of this folder share: Debian's chromium, and the page built
fresh with playwright-core installed beside it (no browser download)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
WEB = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")


def _npm_install(where: Path) -> None:
    # `npm ci` rejects locks without other platforms' optional packages; install follows
    # the lock all the same.
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=where,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing and we are root."""
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip("needs /usr/bin/chromium: run `apt-get install -y chromium` as root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], check=True, capture_output=True, env=env
        )
    if shutil.which("npm") is None:
        pytest.skip("needs node and npm (Node 20) for playwright-core and the page's build")
    return CHROMIUM


@pytest.fixture(scope="module")
def built_page(chromium) -> Path:
    """``web/dist`` freshly built, and playwright-core installed for the drivers."""
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        _npm_install(HERE)
    if not (WEB / "node_modules" / "@observablehq" / "plot").is_dir():
        _npm_install(WEB)
    subprocess.run(["node", "build.mjs"], cwd=WEB, check=True, capture_output=True)
    return WEB / "dist"
