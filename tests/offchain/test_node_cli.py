"""`python -m datasoil.app.node` on click: each command, its exit status and one line."""

from __future__ import annotations

import socket
import subprocess
import sys

from datasoil.app import node


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datasoil.app.node", *args], capture_output=True, text=True
    )


def test_free_port__prints_a_bindable_port():
    run = _run("free-port")
    assert run.returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", int(run.stdout)))


def test_stop__nothing_running_in_a_fresh_state_dir(tmp_path):
    assert node.main(["stop", "--state-dir", str(tmp_path)]) == 0
    assert node.main(["stop-service", "--state-dir", str(tmp_path), "--name", "keeper"]) == 0


def test_start__port_held_by_another_service_is_one_sentence(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        run = _run("start", "--port", str(port), "--state-dir", str(tmp_path))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"error: expected port {port} to be free or serve anvil, found another service there"
    ]


def test_usage_errors__exit_2():
    assert _run("start", "--port", "0").returncode == 2
    assert _run("bogus").returncode == 2
