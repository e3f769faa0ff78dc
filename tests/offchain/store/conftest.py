"""Fixtures for the storage tests only: a real js-ipfs daemon on loopback.

js-ipfs 0.66.1 (npm ``ipfs@0.66.1``) speaks Kubo's RPC and installs from npm, where
Kubo's own npm package would download its binary from outside at install time. The
session fixture installs it into tests/jsipfs/node_modules from the committed
package.json + package-lock.json (``npm ci``) when missing, initialises a repo in a
temporary ``IPFS_PATH`` with ``--profile test``, puts the API, gateway and gRPC
endpoints on free 127.0.0.1 ports and the swarm on none, starts ``daemon --offline``,
waits until the API answers, and kills the daemon at teardown.
If npm cannot install, the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

JSIPFS_DIR = Path(__file__).resolve().parents[2] / "jsipfs"
JSIPFS_BIN = JSIPFS_DIR / "node_modules" / ".bin" / "jsipfs"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def jsipfs_modules() -> Path:
    """tests/jsipfs/node_modules, installed with ``npm ci`` if missing."""
    if JSIPFS_BIN.exists():
        return JSIPFS_DIR / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("js-ipfs tests need npm (Node.js 20), which is not on PATH")
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=JSIPFS_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0 or not JSIPFS_BIN.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        pytest.skip(f"npm ci in {JSIPFS_DIR} failed, so js-ipfs is not available: {tail}")
    return JSIPFS_DIR / "node_modules"


def _jsipfs(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(JSIPFS_BIN), *args], env=env, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def jsipfs_api(jsipfs_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The RPC URL of a js-ipfs daemon running offline on 127.0.0.1."""
    repo = tmp_path_factory.mktemp("jsipfs-repo")
    env = {**os.environ, "IPFS_PATH": str(repo)}
    env.pop("IPFS_API", None)
    _jsipfs(env, "init", "--profile", "test")
    api, gateway, grpc = _free_port(), _free_port(), _free_port()
    _jsipfs(env, "config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}")
    _jsipfs(env, "config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gateway}")
    _jsipfs(env, "config", "Addresses.RPC", f"/ip4/127.0.0.1/tcp/{grpc}")
    _jsipfs(env, "config", "--json", "Addresses.Swarm", "[]")
    _jsipfs(env, "config", "--json", "Bootstrap", "[]")
    log = (repo / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [str(JSIPFS_BIN), "daemon", "--offline"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{api}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"js-ipfs daemon exited with {proc.returncode}: "
                    f"{(repo / 'daemon.log').read_text()[-2000:]}"
                )
            try:
                if httpx.post(f"{url}/api/v0/version", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"js-ipfs daemon at {url} not ready within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="session")
def car_reader(jsipfs_modules: Path) -> Path:
    """tests/jsipfs/carinfo.mjs: an independent CAR parser (@ipld/car) run with node."""
    if shutil.which("node") is None:
        pytest.skip("the independent CAR reader needs node, which is not on PATH")
    return JSIPFS_DIR / "carinfo.mjs"
