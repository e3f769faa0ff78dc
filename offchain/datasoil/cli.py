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

# name -> (module under datasoil.commands, attribute). Modules are imported only when
# their command runs, so `datasoil cid` does not pay for Polars or pyarrow.
_COMMANDS: dict[str, tuple[str, str]] = {
    "cid": ("cid", "cid"),
    "root": ("rows", "root"),
    "prove": ("rows", "prove"),
    "car": ("car", "car"),
    "store": ("store", "store"),
    "quality": ("quality", "quality"),
    "clean": ("clean", "clean"),
    "verify": ("clean", "verify"),
}


class _Group(click.Group):
    """A group that imports each sub-command lazily and turns DatasoilError into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"datasoil.commands.{module}"), attr)
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
