"""Every `ape run` script connects through ChainCommand: a network it cannot reach is one
line and exit 1, not ape's traceback (checked here with --network ethereum:sepolia and
SEPOLIA_RPC_URL unset, one command of each script)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests import script

UNSET = (
    "ERROR: expected an RPC URL for ethereum:sepolia in $SEPOLIA_RPC_URL (ape-config.yaml), "
    "found it unset: export SEPOLIA_RPC_URL=https://…"
)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("attest", ["show", "1"]),
        ("audit", ["status", "1"]),
        ("clean", ["1", "--recipe", "recipe.yaml", "--account", "TEST::1"]),
        ("consent", ["status", "1"]),
        ("datasets", ["list"]),
        ("demo", []),
        ("model", ["list"]),
        ("node", ["status"]),
        ("publish", ["data.csv", "--account", "TEST::1"]),
        ("verify", ["1", "--account", "TEST::1"]),
    ],
)
def test_network__rpc_variable_unset_is_one_line(name, args, monkeypatch):
    monkeypatch.delenv("SEPOLIA_RPC_URL", raising=False)
    result = CliRunner().invoke(
        script.load(name).cli, [*args, "--network", "ethereum:sepolia"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert [line for line in result.output.splitlines() if line.startswith("ERROR")] == [UNSET]
    assert "Traceback" not in result.output
