"""``datasoil car``: move DAGs in and out of the store as CARv1 files.

``datasoil car export CID OUT.car`` writes the DAG under CID (every block verified) so
that any IPFS node (``ipfs dag import``) or pinning service takes it unchanged;
``datasoil car import FILE.car`` verifies every block, stores them and pins the roots.
The store is the one :func:`datasoil.store.open_store` picks (``DATASOIL_IPFS_API``,
else ``--store``, ``DATASOIL_IPFS_PATH`` or ``.datasoil/ipfs``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO, cast

import click

from datasoil.app.progress import CountingStore, progress_options, shown
from datasoil.engine import progress as report
from datasoil.store import open_store
from datasoil.store.base import Store, as_cid
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
@progress_options
def export_cmd(
    cid: str, out: Path, store_path: Path | None, progress: bool | None, quiet: bool
) -> None:
    """Write the DAG under CID, every block verified, to the CARv1 file OUT."""
    root = as_cid(cid)
    with shown(progress, quiet):
        report.begin(f"exporting {out.name}", None, "bytes")
        n = export_car(cast(Store, CountingStore(open_store(store_path))), [root], out)
    click.echo(f"{root} -> {out} ({n} bytes)", err=True)


@car.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-pin", is_flag=True, help="Store the blocks without pinning the roots.")
@_store_option
@progress_options
def import_cmd(
    file: Path, no_pin: bool, store_path: Path | None, progress: bool | None, quiet: bool
) -> None:
    """Verify and store every block of FILE, then pin its roots (printed one a line)."""
    with shown(progress, quiet), open(file, "rb", buffering=0) as src:
        report.begin(f"importing {file.name}", file.stat().st_size, "bytes")
        roots = import_car(
            open_store(store_path), io.BufferedReader(_Counted(src), 1 << 20), pin=not no_pin
        )
    for root in roots:
        click.echo(str(root))


class _Counted(io.RawIOBase):
    """A file whose reads are counted as progress (the CAR's bytes)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        report.advance(len(data))
        return len(data)
