"""Shared fixtures: role-named accounts and freshly deployed contracts.

Tests run on their own anvil (the Makefile points APE_FOUNDRY_HOST at a free port),
never on the user's `make node` chain. ape isolates each test in a chain snapshot.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest

# Never let a test touch the user's persistent node (`make node`, port 8545): ape
# snapshots and reverts the chain between tests. Unless the caller chose a node,
# ape-foundry starts a fresh anvil on a free port (and stops it at the end).
if "APE_FOUNDRY_HOST" not in os.environ:
    with socket.socket() as _sock:
        _sock.bind(("127.0.0.1", 0))
        os.environ["APE_FOUNDRY_HOST"] = f"http://127.0.0.1:{_sock.getsockname()[1]}"
# anvil is linked into the venv's bin (make install); find it even without activation.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


def _anvil_keeps_no_states_on_disk() -> None:
    """The test anvil gets ``--max-persisted-states 0``.

    anvil keeps the state of each of the last 500 blocks in memory and writes older
    ones to disk; those writes made mining 20,000 empty blocks (tests/e2e/rpc_proxy.py)
    cost 62 s of CPU instead of 6 on the shared test machine. No test reads state that
    old (an ``eth_call`` at a block more than 500 blocks back would fail).
    """
    from ape_foundry.provider import FoundryProvider

    build = FoundryProvider.build_command

    def build_command(self: FoundryProvider) -> list[str]:
        return [*build(self), "--max-persisted-states", "0"]

    FoundryProvider.build_command = build_command  # type: ignore[method-assign]


_anvil_keeps_no_states_on_disk()


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def other(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def cleaner(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def attester(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def auditor(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def registry(project, deployer):
    return deployer.deploy(project.DatasetRegistry)


@pytest.fixture(scope="session")
def token(project, deployer, accounts):
    token = deployer.deploy(project.DemoToken, "datasoil demo", "SOIL")
    for account in accounts[:8]:
        token.mint(account, 10**24, sender=deployer)
    return token


@pytest.fixture(scope="module")
def gas_log(request):
    """Record ``receipt.gas_used`` under an operation name for bench/gas.md.

    Writes bench/gas/<test module>.json only when DATASOIL_GAS_OUT names a directory
    (``make bench`` sets it); otherwise the operations run and nothing is written.
    """
    import json
    import os
    from pathlib import Path

    results: dict[str, int] = {}

    def log(operation: str, receipt) -> int:
        results[operation] = int(receipt.gas_used)
        return results[operation]

    yield log
    out = os.environ.get("DATASOIL_GAS_OUT")
    if out and results:
        path = Path(out) / f"{Path(request.module.__file__).stem}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(path.read_text()) if path.exists() else {}
        previous.update(results)
        path.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
