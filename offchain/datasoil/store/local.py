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
present; :meth:`LocalStore.gc` removes every block no pin reaches (including the
blocks an interrupted add wrote before it could pin them).

The store heals: a block file that no longer matches its CID (bit rot, a stray
write) is replaced by the next put of that block, whether from an add or a CAR
import, and :meth:`LocalStore.verify` hashes every block, drops the bad ones and
names the pins they break, as ``ipfs repo verify`` does for Kubo.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from multiformats import CID

from datasoil._fs import fsync_dir, write_atomic
from datasoil.errors import CidMismatch, NotFound, StoreError
from datasoil.store.base import block_links, fetch_to, normalize, resolve_profile, verify_block

if TYPE_CHECKING:
    from datasoil.formats.unixfs import BlockSink, Profile

__all__ = ["BrokenPin", "GcResult", "LocalStore", "VerifyResult"]

_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class GcResult:
    """What :meth:`LocalStore.gc` removed (or, with ``dry_run``, would remove)."""

    removed: tuple[CID, ...]
    temp_files: int
    bytes_freed: int


@dataclass(frozen=True)
class BrokenPin:
    """A pinned root whose DAG lacks blocks (absent, or dropped as corrupt)."""

    root: CID
    name: str | None
    missing: tuple[CID, ...]


@dataclass(frozen=True)
class VerifyResult:
    """What :meth:`LocalStore.verify` found.

    ``corrupt``: blocks whose bytes did not hash to their CID (dropped unless
    ``drop=False``). ``missing``: blocks a pin links to that the store does not hold
    (a dropped corrupt block is missing too). ``broken_pins``: the pins whose DAG is
    not whole; importing a CAR of the data or adding it again repairs them.
    """

    checked: int
    corrupt: tuple[CID, ...]
    missing: tuple[CID, ...]
    broken_pins: tuple[BrokenPin, ...]

    @property
    def ok(self) -> bool:
        """Whether every block verified and every pin's DAG is whole."""
        return not (self.corrupt or self.missing)


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
        """Store ``data`` under ``cid`` atomically.

        A no-op if the store already holds those exact bytes; a stored copy that differs
        (so fails verification, since ``data`` was just verified) is replaced.

        Raises:
            CidMismatch: ``data`` does not hash to ``cid``.
        """
        verify_block(cid, data)
        path = self._path(cid)
        if self._holds(path, data):
            return
        path.parent.mkdir(exist_ok=True)
        self._atomic_write(path, data)

    @staticmethod
    def _holds(path: Path, data: bytes) -> bool:
        # ``data`` is verified, so comparing bytes checks the stored copy without hashing
        # it; a size that differs settles it without reading.
        try:
            if path.stat().st_size != len(data):
                return False
            return path.read_bytes() == data
        except FileNotFoundError:
            return False

    def _atomic_write(self, path: Path, data: bytes) -> None:
        write_atomic(path, data, prefix=_TMP_PREFIX, sync=self.sync)
        if self.sync:
            fsync_dir(path.parent)

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
        """Import a file or directory (see :func:`datasoil.formats.unixfs.add_path`).

        Blocks are written as they are produced; a rerun after a crash rewrites the
        missing ones and ends in the same state.

        Raises:
            OSError: ``path`` cannot be read.
        """
        from datasoil.formats import unixfs

        prof = resolve_profile(profile)
        return self.add_with(
            lambda sink: unixfs.add_path(Path(path), prof, sink=sink).cid,
            pin=pin,
            name=name if name is not None else Path(path).name,
        )

    def add_with(
        self, produce: Callable[[BlockSink], CID], *, pin: bool = True, name: str | None = None
    ) -> CID:
        """Store every block ``produce`` hands to its sink; pin the root it returns.

        For an import that datasoil encodes while it does other work on the same bytes
        (publish reads a file once for its CID, its hash, its row leaves and this store):
        ``produce`` runs under the store's shared lock, as :meth:`add_path`'s import does,
        so :meth:`gc` waits for the pin. The root is pinned without walking its DAG, so
        ``produce`` must have handed over every block of it. Nothing is pinned if
        ``produce`` raises; the blocks it stored stay until :meth:`gc`.

        Raises:
            CidMismatch: a block does not hash to its CID; and what ``produce`` raises.
        """
        with self._shared():
            root = produce(self._sink)
            if pin:
                self._add_pin(root, name)
        return root

    def add_bytes(
        self, data: bytes, profile: Profile | str | None = None, *, pin: bool = True
    ) -> CID:
        """Import ``data`` as one UnixFS file and return its root CID."""
        from datasoil.formats import unixfs

        prof = resolve_profile(profile)
        return self.add_with(lambda sink: unixfs.add_bytes(data, prof, sink=sink).cid, pin=pin)

    def _sink(self, cid: CID, data: bytes) -> None:
        # The blocks come from datasoil's own encoder; put_block still hashes them,
        # since the cost is small next to the write and it keeps one path for all.
        self.put_block(cid, data)

    def cat(self, cid: CID) -> Iterator[bytes]:
        """Yield the bytes of the UnixFS file ``cid``, every block verified.

        Raises:
            NotFound, CidMismatch: as :meth:`get_block`.
        """
        from datasoil.formats import unixfs

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

    def gc(self, *, dry_run: bool = False) -> GcResult:
        """Remove every block not reachable from a pin, and leftover temporary files.

        Holds the store lock alone, so no add runs meanwhile. Returns what was removed;
        ``dry_run`` removes nothing, takes no lock, and returns what would be removed now.
        """
        lock = (
            contextlib.nullcontext() if dry_run else self._locked(self._lock_path, exclusive=True)
        )
        with lock:
            keep = self.reachable(self.pins())
            removed: list[CID] = []
            freed = 0
            temps = 0
            leftovers = [f for f in self.root.glob(_TMP_PREFIX + "*") if f.is_file()]
            for f in self._block_files():
                if f.name.startswith(_TMP_PREFIX):
                    leftovers.append(f)
                    continue
                cid = CID.decode(f.name[: -len(".data")])
                if cid not in keep:
                    freed += f.stat().st_size
                    removed.append(cid)
                    if not dry_run:
                        f.unlink()
            for f in leftovers:
                freed += f.stat().st_size
                temps += 1
                if not dry_run:
                    f.unlink()
        return GcResult(tuple(removed), temps, freed)

    def _block_files(self) -> Iterator[Path]:
        """Every block file and temporary file under ``blocks/``, sorted."""
        for shard in sorted(self._blocks.iterdir()):
            if not shard.is_dir():
                continue
            for f in sorted(shard.iterdir()):
                if f.name.startswith(_TMP_PREFIX) or (
                    f.suffix == ".data" and not f.name.startswith(".")
                ):
                    yield f

    def verify(self, *, drop: bool = True) -> VerifyResult:
        """Hash every block, drop those that do not match their CID, and check every pin.

        Like ``ipfs repo verify``, every block held is checked, pinned or not; then each
        pin's DAG is walked to find the blocks it lacks. A dropped block is restored by
        the next add of its data or import of a CAR holding it (:meth:`put_block`
        replaces a bad copy in any case). Holds the store lock alone, as :meth:`gc` does.
        ``drop=False`` reports without deleting anything.

        Raises:
            StoreError: the pin set cannot be read.
        """
        corrupt: list[CID] = []
        checked = 0
        with self._locked(self._lock_path, exclusive=True):
            for f in self._block_files():
                if f.name.startswith(_TMP_PREFIX):
                    continue
                cid = CID.decode(f.name[: -len(".data")])
                checked += 1
                try:
                    verify_block(cid, f.read_bytes())
                except CidMismatch:
                    corrupt.append(cid)
                    if drop:
                        f.unlink()
            bad = set(corrupt)
            missing: dict[CID, None] = {}
            broken: list[BrokenPin] = []
            for root, name in self.pin_names().items():
                lacks = self._missing_under(root, bad)
                if lacks:
                    broken.append(BrokenPin(root, name, tuple(lacks)))
                    missing.update(dict.fromkeys(lacks))
        return VerifyResult(checked, tuple(corrupt), tuple(missing), tuple(broken))

    def _missing_under(self, root: CID, bad: set[CID]) -> list[CID]:
        """Blocks of the DAG at ``root`` that are absent or in ``bad`` (checked already)."""
        lacks: list[CID] = []
        seen: set[CID] = set()
        stack = [normalize(root)]
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            if cid in bad:
                lacks.append(cid)
                continue
            try:
                data = self._path(cid).read_bytes()
            except FileNotFoundError:
                lacks.append(cid)
                continue
            try:
                children = block_links(cid, data)
            except (StoreError, ValueError):
                continue
            stack.extend(normalize(c) for c in reversed(children))
        return lacks

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
