"""``datasoil cid``: print the Kubo-identical UnixFS CID of a file or directory."""

from __future__ import annotations

from pathlib import Path

import click

from datasoil.formats.unixfs import PROFILES, add_path, profile_for

__all__ = ["cid"]


@click.command("cid")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=None,
    help="Import profile (default unixfs-v1-2025).",
)
@click.option(
    "--cid-version",
    type=click.IntRange(0, 1),
    default=None,
    help="0: Kubo's default config; 1: Kubo's default config with --cid-version=1.",
)
def cid(path: Path, profile: str | None, cid_version: int | None) -> None:
    """Print the CID of PATH, as `ipfs add -Q --only-hash [-r]` would.

    Directories are added recursively; hidden files are left out.
    """
    click.echo(str(add_path(path, profile_for(profile, cid_version)).cid))
