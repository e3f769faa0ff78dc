"""The persistent local chain and the demo's background services.

``python -m datasoil.app.node start`` starts anvil in the background on a fixed loopback
port with its state on disk (``--state``, dumped every second), idempotently: if a
node already answers on the port, nothing is started. ``stop`` stops it and every
background service recorded under ``.datasoil/run/`` (the keeper, the web server).
``free-port`` prints a free loopback port (tests start their own anvil there).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from datasoil import config
from datasoil.errors import BackendUnavailable, DatasoilError

__all__ = [
    "DEFAULT_MNEMONIC",
    "free_port",
    "register_service",
    "rpc",
    "start_node",
    "stop_service",
    "stop_services",
]

# The mnemonic ape's test accounts and anvil both default to; the demo's accounts.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
HARDFORK = "prague"


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 5) -> object:
    """Call one JSON-RPC method; raise BackendUnavailable when the node does not answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise BackendUnavailable(f"expected a JSON-RPC node at {url}, found none ({exc})") from exc
    if "error" in reply:
        raise BackendUnavailable(f"node at {url} answered {method} with {reply['error']}")
    return reply.get("result")


def _run_dir(state_dir: Path) -> Path:
    path = state_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def register_service(state_dir: Path, name: str, pid: int) -> None:
    """Record a background service's pid so ``stop`` can end it."""
    (_run_dir(state_dir) / f"{name}.pid").write_text(f"{pid}\n")


def start_node(port: int, state_dir: Path, timeout: float = 30) -> str:
    """Start anvil on ``127.0.0.1:port`` with state in ``state_dir`` unless one runs.

    Returns the node URL. Raises DatasoilError when the port is taken by something
    that is not an Ethereum node, or anvil does not come up in time.
    """
    url = f"http://127.0.0.1:{port}"
    try:
        version = rpc(url, "web3_clientVersion", timeout=2)
    except BackendUnavailable:
        version = None
    if version is not None:
        print(f"node: already running at {url} ({version})")
        return url
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise DatasoilError(
                f"expected port {port} to be free or serve anvil, found another service there"
            )
    anvil = shutil.which("anvil")
    if anvil is None:
        raise DatasoilError(
            "expected the anvil binary on PATH (make install links it into .venv/bin)"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "anvil.log").open("ab")
    cmd = [
        anvil,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--mnemonic", DEFAULT_MNEMONIC,
        "--accounts", "10",
        "--hardfork", HARDFORK,
        "--state", str(state_dir / "anvil-state.json"),
        "--state-interval", "1",
        "--block-base-fee-per-gas", "0",
        "--gas-price", "0",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    register_service(state_dir, "anvil", proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DatasoilError(
                f"expected anvil to start on {url}, it exited with {proc.returncode}"
                f" (see {state_dir / 'anvil.log'})"
            )
        try:
            rpc(url, "eth_chainId", timeout=1)
        except BackendUnavailable:
            time.sleep(0.2)
            continue
        print(f"node: started anvil at {url} (state in {state_dir / 'anvil-state.json'})")
        return url
    proc.terminate()
    raise DatasoilError(f"expected anvil to answer on {url} within {timeout:.0f} s, it did not")


def stop_service(state_dir: Path, name: str) -> bool:
    """Stop one recorded background service; True if it was running."""
    pidfile = state_dir / "run" / f"{name}.pid"
    if not pidfile.is_file():
        return False
    try:
        running = _terminate(int(pidfile.read_text().strip()))
    except ValueError:
        running = False
    pidfile.unlink(missing_ok=True)
    return running


def stop_services(state_dir: Path) -> list[str]:
    """Stop every recorded background service (SIGTERM, then SIGKILL); return their names."""
    stopped: list[str] = []
    run = state_dir / "run"
    if not run.is_dir():
        return stopped
    for pidfile in sorted(run.glob("*.pid")):
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            pidfile.unlink()
            continue
        if _terminate(pid):
            stopped.append(pidfile.stem)
        pidfile.unlink(missing_ok=True)
    return stopped


def _terminate(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


_state_dir = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="State directory (default: $DATASOIL_HOME, else .datasoil).",
)


class _Group(click.Group):
    """Every DatasoilError becomes one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DatasoilError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
def cli() -> None:
    """The persistent local chain and the background services `make demo` starts."""


@cli.command("start")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@_state_dir
def start_cmd(port: int, state_dir: Path | None) -> None:
    """Start anvil on PORT with its state on disk (idempotent)."""
    start_node(port, state_dir or config.home())


@cli.command("stop")
@_state_dir
def stop_cmd(state_dir: Path | None) -> None:
    """Stop the chain and every background service."""
    names = stop_services(state_dir or config.home())
    click.echo("stopped: " + (", ".join(names) if names else "nothing was running"))


@cli.command("stop-service")
@_state_dir
@click.option("--name", required=True, help="The service (e.g. keeper).")
def stop_service_cmd(state_dir: Path | None, name: str) -> None:
    """Stop one background service."""
    click.echo("stopped" if stop_service(state_dir or config.home(), name) else "not running")


@cli.command("free-port")
def free_port_cmd() -> None:
    """Print a free loopback TCP port."""
    click.echo(free_port())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit status."""
    try:
        cli.main(args=argv, prog_name="python -m datasoil.app.node", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
