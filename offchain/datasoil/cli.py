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

__all__ = ["main", "cli"]

# (module under datasoil.commands, attribute) of each sub-command; a module that is
# not there yet is skipped, so the command works while later stages land.
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("cid", "cid"),
    ("rows", "root"),
    ("rows", "prove"),
    ("car", "car"),
    ("quality", "quality"),
    ("clean", "clean"),
    ("clean", "verify"),
)


class _Group(click.Group):
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


for _module, _attr in _COMMANDS:
    try:
        _mod = importlib.import_module(f"datasoil.commands.{_module}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"datasoil.commands.{_module}":
            raise
        continue
    cli.add_command(getattr(_mod, _attr))


def main() -> None:
    """Entry point of the ``datasoil`` console script."""
    cli()
