"""`python -m datasoil.app.gateway` on click: serving, interrupting, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from datasoil import chain

_BUILD = Path(__file__).resolve().parents[3] / ".build" / "__local__.json"


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "datasoil.app.gateway", *args]


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATASOIL_HOME": str(home)}
    return subprocess.run(_command(*args), capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def deployed(project, deployer, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    record = chain.deploy_all(project, deployer, local=True, log=lambda _m: None)
    return record, tmp_path / "home"


def test_serves_the_deployment_until_interrupted(deployed, tmp_path):
    record, home = deployed
    node = os.environ["APE_FOUNDRY_HOST"]
    args = ("--port", "0", "--node", node, "--dist", str(tmp_path / "dist"), "--build", str(_BUILD))
    env = {**os.environ, "DATASOIL_HOME": str(home)}
    with subprocess.Popen(
        _command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as served:
        assert served.stdout is not None
        first = served.stdout.readline()
        assert first.startswith("datasoil web page on http://127.0.0.1:"), first
        assert first.rstrip().endswith(f"(chain {record.chain_id}, node {node})")
        url = first.split()[4]
        warning = served.stdout.readline()
        assert warning.startswith(f"warning: no built page in {tmp_path / 'dist'}")
        with urllib.request.urlopen(url + "deployment.json", timeout=10) as answer:
            doc = json.loads(answer.read())
        assert {n: c["address"] for n, c in doc["contracts"].items()} == record.contracts
        # The catalogue's quality scores import Polars, after which an untimed wait slept
        # through SIGINT: Ctrl-C must still stop the gateway.
        with urllib.request.urlopen(url + "api/catalog", timeout=30) as answer:
            assert json.loads(answer.read())["total"] == 0
        served.send_signal(signal.SIGINT)
        try:
            _, err = served.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            served.kill()
            raise
    assert served.returncode == 0, err
    assert err == ""


def test_port_in_use__one_sentence_exit_1(deployed):
    _, home = deployed
    node = os.environ["APE_FOUNDRY_HOST"]
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        run = _run("--port", str(port), "--node", node, "--build", str(_BUILD), home=home)
    assert run.returncode == 1
    assert run.stdout == ""
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"error: expected port {port} on 127.0.0.1 to be free, found it ")


def test_no_deployment_on_this_chain__one_sentence_exit_1(tmp_path):
    node = os.environ["APE_FOUNDRY_HOST"]
    run = _run("--port", "0", "--node", node, home=tmp_path / "empty")
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: expected a datasoil deployment on chain "), line


def test_node_down__one_sentence_exit_1(tmp_path):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    run = _run("--port", "0", "--node", f"http://127.0.0.1:{port}", home=tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"error: expected a node at http://127.0.0.1:{port}, found none (connection refused)"
    ]


def test_usage_errors__exit_2(tmp_path):
    assert _run("--port", "x", home=tmp_path).returncode == 2
    assert _run("--port", "70000", home=tmp_path).returncode == 2
    assert _run("--bogus", home=tmp_path).returncode == 2
