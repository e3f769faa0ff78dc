"""The ``datasoil`` console command: off-chain work that needs no chain.

On-chain flows are ``ape run`` scripts; both are thin over the library. Every
:class:`~datasoil.errors.DatasoilError` becomes a one-line message and exit status 1.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from datasoil import __version__
from datasoil.errors import DatasoilError

__all__ = ["cli", "main"]

# name -> (module under datasoil.app.commands, attribute, one-line help). Modules are
# imported only when their command runs (or its own --help is asked for), so
# `datasoil cid` and `datasoil --help` do not pay for Polars or pyarrow; the help line
# is checked against the command's own by the tests.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "cid": ("cid", "cid", "Print the CID of PATH, as `ipfs add -Q --only-hash [-r]` would."),
    "root": ("rows", "root", "Print the RFC 9162 row root of the dataset at PATH as JSON."),
    "prove": ("rows", "prove", "Print an RFC 9162 inclusion proof for row INDEX of PATH."),
    "consistency": (
        "rows",
        "consistency",
        "Print an RFC 9162 consistency proof that NEW extends OLD.",
    ),
    "car": ("car", "car", "Export and import CARv1 archives."),
    "fetch": (
        "fetch",
        "fetch",
        "Fetch CID from trustless gateways, verify every block, and write it to --out.",
    ),
    "store": ("store", "store", "Verify and garbage-collect the local block store."),
    "quality": ("quality", "quality", "Compute the quality report of the dataset file PATH."),
    "clean": ("clean", "clean", "Clean PATH with a recipe; write the data, fate file and proof."),
    "verify": ("clean", "verify", "Re-execute a cleaning proof; exit 0 only if it reproduces."),
    "model": ("model", "model", "Check model proofs: whether a row was in a model, from a bundle."),
}


class _Group(click.Group):
    """A group that imports each sub-command lazily and turns DatasoilError into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the static help lines: no command module is imported."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr, _help = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"datasoil.app.commands.{module}"), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatasoilError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="datasoil")
def cli() -> None:
    """datasoil: verifiable AI training data (off-chain tools)."""


def main() -> None:
    """Entry point of the ``datasoil`` console script."""
    cli()
