"""``datasoil store``: look after the embedded block store.

``datasoil store verify`` hashes every block (pinned or not), drops those that do not
match their CID and names the pins they leave incomplete, as ``ipfs repo verify`` does
for Kubo; the next ``datasoil car import`` of a CAR holding the blocks (or a publish of
the same data) puts them back. ``datasoil store gc`` removes every block no pin reaches,
such as those an interrupted publish wrote before it could pin them. Both work on the
local store (``--store``, ``DATASOIL_IPFS_PATH`` or ``.datasoil/ipfs``); a Kubo node
(``DATASOIL_IPFS_API``) has its own ``ipfs repo verify`` and ``ipfs repo gc``.
"""

from __future__ import annotations

from pathlib import Path

import click

from datasoil import config
from datasoil.app.commands.car import _store_option
from datasoil.errors import StoreError
from datasoil.store.local import LocalStore

__all__ = ["store"]


def _local(store_path: Path | None, command: str) -> LocalStore:
    api = config.ipfs_api()
    if api:
        raise StoreError(
            f"expected the embedded store for `datasoil store {command}`, found "
            f"DATASOIL_IPFS_API={api}: run `ipfs repo {command}` on that node, or unset it"
        )
    if store_path is None:
        store_path = config.ipfs_path()
    if not (store_path / "blocks").is_dir():
        raise StoreError(f"expected a block store at {store_path}, found none")
    return LocalStore(store_path)


def _size(n: int) -> str:
    """Bytes in SI units, as ``ipfs repo stat --human`` shows them."""
    if n < 1000:
        return f"{n} B"
    exponent = min(3, (len(str(n)) - 1) // 3)
    return f"{n / 1000**exponent:.1f} {('kB', 'MB', 'GB')[exponent - 1]}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@click.group()
def store() -> None:
    """Verify and garbage-collect the local block store."""


@store.command("verify")
@click.option("--keep", is_flag=True, help="Report bad blocks without dropping them.")
@_store_option
def verify_cmd(keep: bool, store_path: Path | None) -> None:
    """Hash every block, drop the bad ones, and report the pins they break.

    Prints one line per bad block and per incomplete pin; exits 1 if there were any.
    """
    local = _local(store_path, "verify")
    result = local.verify(drop=not keep)
    fate = "kept" if keep else "dropped"
    for cid in result.corrupt:
        click.echo(f"corrupt {cid} ({fate})")
    for broken in result.broken_pins:
        label = f" ({broken.name})" if broken.name else ""
        click.echo(
            f"incomplete pin {broken.root}{label}: {_plural(len(broken.missing), 'block')} missing"
        )
    if result.ok:
        click.echo(
            f"verified {_plural(result.checked, 'block')}: every block matches its CID and "
            f"every pin is whole",
            err=True,
        )
        return
    raise StoreError(
        f"expected every block to match its CID and every pin to be whole, found "
        f"{len(result.corrupt)} of {_plural(result.checked, 'block')} corrupt ({fate}) and "
        f"{_plural(len(result.broken_pins), 'incomplete pin')}: `datasoil car import` a CAR "
        "holding the data, or add it again, to repair them"
    )


@store.command("gc")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@_store_option
def gc_cmd(dry_run: bool, store_path: Path | None) -> None:
    """Remove every block no pin reaches (printed one a line) and leftover temporary files."""
    result = _local(store_path, "gc").gc(dry_run=dry_run)
    for cid in result.removed:
        click.echo(str(cid))
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"{verb} {_plural(len(result.removed), 'unpinned block')} and "
        f"{_plural(result.temp_files, 'temporary file')} ({_size(result.bytes_freed)})",
        err=True,
    )
