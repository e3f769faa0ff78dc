"""The embedded block store: a directory of blocks keyed by CID, with pins and GC.

Layout under the store's root (default ``.datasoil/ipfs``)::

    blocks/<shard>/<cid>.data   one file per block; <cid> is the CIDv1 in base32
                                (a CIDv0 is stored under its CIDv1 form) and <shard>
                                is the two characters before its last one, as Kubo's
                                flatfs ``next-to-last/2`` shards its keys
    pins.json                   {"version": 1, "pins": [{"cid": ..., "name": ...}]}
    lock                        flock: adds share it, gc holds it alone

Every write is atomic: a block goes to a temporary file in its shard, is fsynced and
renamed into place, so a crash leaves either the whole verified block or a temporary
file that :meth:`LocalStore.gc` removes, and rerunning an add completes it. The pin
set is replaced the same way. Pins are recursive: pinning checks that the whole DAG is
present; :meth:`LocalStore.gc` removes every block no pin reaches.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from multiformats import CID

from datasoil.errors import NotFound, StoreError
from datasoil.store.base import block_links, fetch_to, normalize, resolve_profile, verify_block

if TYPE_CHECKING:
    from datasoil.unixfs import Profile

__all__ = ["GcResult", "LocalStore"]

_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class GcResult:
    """What :meth:`LocalStore.gc` removed."""

    removed: tuple[CID, ...]
    temp_files: int
    bytes_freed: int


class LocalStore:
    """A :class:`~datasoil.store.base.Store` in a local directory; no daemon needed."""

    def __init__(self, root: Path | str, *, sync: bool = True) -> None:
        """Open (creating if needed) the store at ``root``.

        ``sync=False`` skips fsync: faster, but a power cut may lose recent blocks
        (never corrupt them: a block that fails verification is reported, not used).
        """
        self.root = Path(root)
        self.sync = sync
        self._blocks = self.root / "blocks"
        self._pins_file = self.root / "pins.json"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.root / "lock"

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- blocks ---------------------------------------------------------------------

    def _path(self, cid: CID) -> Path:
        key = str(normalize(cid))
        return self._blocks / key[-3:-1] / f"{key}.data"

    def put_block(self, cid: CID, data: bytes) -> None:
        """Store ``data`` under ``cid`` atomically (no-op if already held).

        Raises:
            CidMismatch: ``data`` does not hash to ``cid``.
        """
        verify_block(cid, data)
        path = self._path(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        self._atomic_write(path, data)

    def _atomic_write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.sync:
            _fsync_dir(path.parent)

    def get_block(self, cid: CID) -> bytes:
        """Return the block for ``cid``, verified.

        Raises:
            NotFound: the store does not hold it.
            CidMismatch: the file on disk does not hash to ``cid`` (tampering or rot).
        """
        path = self._path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"block {cid} is not in the local store at {self.root}") from None
        verify_block(cid, data)
        return data

    def has(self, cid: CID) -> bool:
        """Whether a block file for ``cid`` exists (its content is checked on read)."""
        return self._path(cid).exists()

    def delete_block(self, cid: CID) -> None:
        """Remove one block (pins are not consulted; use :meth:`gc` normally)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(cid).unlink()

    def iter_blocks(self) -> Iterator[CID]:
        """Every block CID held (CIDv1 form), in no particular order."""
        for shard in sorted(self._blocks.iterdir()):
            if not shard.is_dir():
                continue
            for f in shard.iterdir():
                if f.suffix == ".data" and not f.name.startswith("."):
                    yield CID.decode(f.name[: -len(".data")])

    # -- UnixFS ---------------------------------------------------------------------

    def add_path(
        self,
        path: Path,
        profile: Profile | str | None = None,
        *,
        pin: bool = True,
        name: str | None = None,
    ) -> CID:
        """Import a file or directory (see :func:`datasoil.unixfs.add_path`).

        Blocks are written as they are produced; a rerun after a crash rewrites the
        missing ones and ends in the same state.

        Raises:
            OSError: ``path`` cannot be read.
        """
        from datasoil import unixfs

        with self._shared():
            added = unixfs.add_path(Path(path), resolve_profile(profile), sink=self._sink)
            if pin:
                self._add_pin(added.cid, name if name is not None else Path(path).name)
        return added.cid

    def add_bytes(
        self, data: bytes, profile: Profile | str | None = None, *, pin: bool = True
    ) -> CID:
        """Import ``data`` as one UnixFS file and return its root CID."""
        from datasoil import unixfs

        with self._shared():
            added = unixfs.add_bytes(data, resolve_profile(profile), sink=self._sink)
            if pin:
                self._add_pin(added.cid, None)
        return added.cid

    def _sink(self, cid: CID, data: bytes) -> None:
        # The blocks come from datasoil's own encoder; put_block still hashes them,
        # since the cost is small next to the write and it keeps one path for all.
        self.put_block(cid, data)

    def cat(self, cid: CID) -> Iterator[bytes]:
        """Yield the bytes of the UnixFS file ``cid``, every block verified.

        Raises:
            NotFound, CidMismatch: as :meth:`get_block`.
        """
        from datasoil import unixfs

        return unixfs.cat(self.get_block, cid)

    def get(self, cid: CID, dest: Path) -> None:
        """Write the file or directory ``cid`` to ``dest``, atomically and verified.

        Raises:
            NotFound, CidMismatch: as :meth:`get_block`; nothing is left at ``dest``.
            FileExistsError: ``dest`` exists.
        """
        fetch_to(self.get_block, cid, Path(dest))

    # -- pins -----------------------------------------------------------------------

    def _read_pins(self) -> dict[str, str | None]:
        try:
            raw = json.loads(self._pins_file.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise StoreError(f"pin set {self._pins_file} is not valid JSON ({exc})") from exc
        if not isinstance(raw, dict) or raw.get("version") != 1:
            raise StoreError(f"pin set {self._pins_file}: expected version 1, found {raw!r}")
        return {p["cid"]: p.get("name") for p in raw["pins"]}

    def _write_pins(self, pins: dict[str, str | None]) -> None:
        doc = {
            "version": 1,
            "pins": [{"cid": c, "name": pins[c]} for c in sorted(pins)],
        }
        self._atomic_write(self._pins_file, (json.dumps(doc, indent=1) + "\n").encode())

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Pin ``cid`` recursively, after checking its whole DAG is present and intact.

        Raises:
            NotFound: a block of the DAG is missing. CidMismatch: one is corrupt.
        """
        with self._shared():
            for _ in self.walk(cid):
                pass
            self._add_pin(cid, name)

    def _add_pin(self, cid: CID, name: str | None) -> None:
        with self._locked(self.root / "pins.lock", exclusive=True):
            pins = self._read_pins()
            key = str(normalize(cid))
            if key in pins and (name is None or pins[key] == name):
                return
            pins[key] = name if name is not None else pins.get(key)
            self._write_pins(pins)

    def unpin(self, cid: CID) -> None:
        """Remove the pin on ``cid`` (its blocks go at the next :meth:`gc`).

        Raises:
            NotFound: ``cid`` is not pinned.
        """
        with self._locked(self.root / "pins.lock", exclusive=True):
            pins = self._read_pins()
            key = str(normalize(cid))
            if key not in pins:
                raise NotFound(f"{cid} is not pinned in the local store at {self.root}")
            del pins[key]
            self._write_pins(pins)

    def pins(self) -> list[CID]:
        """The pinned roots, as CIDv1."""
        return [CID.decode(c) for c in sorted(self._read_pins())]

    def pin_names(self) -> dict[CID, str | None]:
        """The pinned roots with the names given when pinning."""
        return {CID.decode(c): n for c, n in sorted(self._read_pins().items())}

    # -- DAG walks, GC, CAR ---------------------------------------------------------

    def walk(self, cid: CID) -> Iterator[tuple[CID, bytes]]:
        """Every block under ``cid`` once, depth-first, verified."""
        from datasoil.store.car import iter_dag

        return iter_dag(self.get_block, [cid])

    def reachable(self, roots: Iterable[CID]) -> set[CID]:
        """CIDv1 of every block reachable from ``roots`` that the store holds.

        Links to missing blocks are skipped (a partial DAG keeps what it has); links
        are read from the blocks without re-hashing them.
        """
        keep: set[CID] = set()
        stack = [normalize(r) for r in roots]
        while stack:
            cid = stack.pop()
            if cid in keep:
                continue
            try:
                data = self._path(cid).read_bytes()
            except FileNotFoundError:
                continue
            keep.add(cid)
            try:
                children = block_links(cid, data)
            except (StoreError, ValueError):
                continue  # corrupt or unwalkable block: keep it, follow nothing
            stack.extend(normalize(c) for c in children)
        return keep

    def gc(self) -> GcResult:
        """Remove every block not reachable from a pin, and leftover temporary files.

        Holds the store lock alone, so no add runs meanwhile. Returns what was removed.
        """
        with self._locked(self._lock_path, exclusive=True):
            keep = self.reachable(self.pins())
            removed: list[CID] = []
            freed = 0
            temps = 0
            for shard in sorted(self._blocks.iterdir()):
                if not shard.is_dir():
                    continue
                for f in sorted(shard.iterdir()):
                    if f.name.startswith(_TMP_PREFIX):
                        freed += f.stat().st_size
                        f.unlink()
                        temps += 1
                        continue
                    if f.suffix != ".data":
                        continue
                    cid = CID.decode(f.name[: -len(".data")])
                    if cid not in keep:
                        freed += f.stat().st_size
                        f.unlink()
                        removed.append(cid)
            for f in self.root.glob(_TMP_PREFIX + "*"):
                f.unlink()
                temps += 1
        return GcResult(tuple(removed), temps, freed)

    def export_car(self, roots: Iterable[CID], dest: Path) -> int:
        """Write the DAGs under ``roots`` as a CARv1 at ``dest``; see store.car.export_car."""
        from datasoil.store.car import export_car

        return export_car(self, roots, dest)

    def import_car(self, src: Path, *, pin: bool = True) -> tuple[CID, ...]:
        """Import a CAR (every block verified), then pin its roots; returns the roots."""
        from datasoil.store.car import import_car

        with self._shared():
            return import_car(self, src, pin=pin)

    # -- locking --------------------------------------------------------------------

    @contextlib.contextmanager
    def _shared(self) -> Iterator[None]:
        with self._locked(self._lock_path, exclusive=False):
            yield

    @contextlib.contextmanager
    def _locked(self, path: Path, *, exclusive: bool) -> Iterator[None]:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
