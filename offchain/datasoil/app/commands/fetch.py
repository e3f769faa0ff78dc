"""``datasoil fetch CID --out PATH``: a file or directory from trustless gateways, verified.

The gateways are ``--gateway`` (repeatable, tried in order), else ``DATASOIL_GATEWAYS``.
The local store (``--store``, ``DATASOIL_IPFS_PATH`` or ``.datasoil/ipfs``; a Kubo node
with ``DATASOIL_IPFS_API``) is the cache: verified blocks are kept there as they arrive,
so a rerun after an interruption asks only for what is still missing. ``PATH`` is
written under a temporary name and renamed into place once every block checked out.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from datasoil.app.progress import CountingStore, progress_options, shown
from datasoil.engine import progress as report
from datasoil.store import open_store
from datasoil.store.base import Store, as_cid
from datasoil.store.gateway import open_gateways

__all__ = ["fetch"]


@click.command()
@click.argument("cid")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the file or directory (must not exist).",
)
@click.option(
    "--gateway",
    "gateways",
    multiple=True,
    help="Trustless gateway base URL; repeat to fall back in order (default: DATASOIL_GATEWAYS).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local store used as the cache (default: $DATASOIL_IPFS_PATH or .datasoil/ipfs).",
)
@click.option(
    "--car/--blocks", default=True, help="Ask for one CAR first (default) or blocks only."
)
@click.option("--pin", is_flag=True, help="Pin the fetched DAG in the local store.")
@progress_options
def fetch(
    cid: str,
    out: Path,
    gateways: tuple[str, ...],
    store_path: Path | None,
    car: bool,
    pin: bool,
    progress: bool | None,
    quiet: bool,
) -> None:
    """Fetch CID from trustless gateways, verify every block, and write it to --out."""
    root = as_cid(cid)
    if out.exists() or out.is_symlink():
        raise click.UsageError(f"--out {out} already exists: choose a new path")
    cache = open_store(store_path)
    with (
        shown(progress, quiet),
        open_gateways(gateways, cache=cast(Store, CountingStore(cache)), warn=_warn) as gw,
    ):
        report.begin(f"fetching {root}", None, "bytes")
        in_car = gw.fetch_car(root) if car else 0
        one_by_one = gw.prefetch(root)
        report.begin(f"writing {out.name}", None, "bytes")
        gw.get(root, out)
    if pin:
        cache.pin(root)
    click.echo(
        f"{root} -> {out}: every block verified ({in_car} from a CAR, "
        f"{one_by_one} one by one, the rest already in the local store)",
        err=True,
    )


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)
