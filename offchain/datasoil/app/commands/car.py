"""``datasoil car``: move DAGs in and out of the store as CARv1 files.

``datasoil car export CID OUT.car`` writes the DAG under CID (every block verified) so
that any IPFS node (``ipfs dag import``) or pinning service takes it unchanged;
``datasoil car import FILE.car`` verifies every block, stores them and pins the roots.
The store is the one :func:`datasoil.store.open_store` picks (``DATASOIL_IPFS_API``,
else ``--store``, ``DATASOIL_IPFS_PATH`` or ``.datasoil/ipfs``).
"""

from __future__ import annotations

from pathlib import Path

import click

from datasoil.store import open_store
from datasoil.store.base import as_cid
from datasoil.store.car import export_car, import_car

__all__ = ["car"]

_store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local store directory (default: $DATASOIL_IPFS_PATH or .datasoil/ipfs).",
)


@click.group()
def car() -> None:
    """Export and import CARv1 archives."""


@car.command("export")
@click.argument("cid")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@_store_option
def export_cmd(cid: str, out: Path, store_path: Path | None) -> None:
    """Write the DAG under CID, every block verified, to the CARv1 file OUT."""
    root = as_cid(cid)
    n = export_car(open_store(store_path), [root], out)
    click.echo(f"{root} -> {out} ({n} bytes)", err=True)


@car.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-pin", is_flag=True, help="Store the blocks without pinning the roots.")
@_store_option
def import_cmd(file: Path, no_pin: bool, store_path: Path | None) -> None:
    """Verify and store every block of FILE, then pin its roots (printed one a line)."""
    for root in import_car(open_store(store_path), file, pin=not no_pin):
        click.echo(str(root))
