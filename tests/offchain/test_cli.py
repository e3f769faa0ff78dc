"""The `datasoil` command's own surface: `--help` lists every command without importing
one (no Polars, no pyarrow: it starts fast), and the listed help lines stay those of
the commands they name."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from datasoil.app import cli as cli_module


def test_help__lists_every_command_without_importing_them():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from datasoil.app.cli import cli\n"
        "out = CliRunner().invoke(cli, ['--help']).output\n"
        "heavy = sorted(m for m in ('polars', 'pyarrow', 'ape', 'web3') if m in sys.modules)\n"
        "print(heavy)\n"
        "print(out)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, _, listing = run.stdout.partition("\n")
    assert heavy == "[]"
    for name in cli_module._COMMANDS:
        assert f"  {name} " in listing


@pytest.mark.parametrize("name", sorted(cli_module._COMMANDS))
def test_help__static_line_matches_the_command(name):
    command = cli_module.cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None and command.name in (name, f"{name}_cmd", name)
    static = cli_module._COMMANDS[name][2]
    own = (command.help or "").split()
    assert static.split()[:3] == own[:3], (static, command.help)


def test_unknown_command__usage_error():
    result = CliRunner().invoke(cli_module.cli, ["nope"])
    assert result.exit_code == 2 and "No such command 'nope'" in result.output
