"""Publish: content-address, commit, describe, pin and register a dataset.

:func:`prepare` does everything off chain — schema inference, the RFC 9162 row root,
the Kubo-identical CID, the Croissant document — and pins the data and metadata in
a store, reading the data at most twice (inference, then one pass for the rest);
:func:`register` records the prepared dataset on chain. Nothing is registered unless
everything before it succeeded.

Private datasets are packed into a deterministic tar (the data files plus a
``datasoil-manifest.json`` with the plaintext CID, file hashes and schema),
encrypted with a fresh content key (datasoil-enc-v1), and committed with keyed row
leaves (HMAC under :func:`datasoil.formats.crypto.row_hmac_key`). Only the ciphertext and a
Croissant document without file names, sizes or hashes are public; the content key
is saved for the owner's keeper (:func:`datasoil.flows.access.save_content_key`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, cast

from multiformats import CID

from datasoil import config
from datasoil._fs import read_full, write_atomic
from datasoil.errors import DatasoilError, SchemaError
from datasoil.flows import _streams, access
from datasoil.flows._streams import IterReader, Parser, Tee
from datasoil.formats import crypto, merkle, rows, unixfs
from datasoil.formats.croissant import FileEntry, build, canonical_bytes
from datasoil.store.base import Store, as_cid, normalize
from datasoil.store.local import LocalStore

__all__ = [
    "MANIFEST_NAME",
    "Prepared",
    "PublishInterrupted",
    "Published",
    "extract_private",
    "find_duplicate",
    "prepare",
    "publish",
    "register",
]

MANIFEST_NAME = "datasoil-manifest.json"
Progress = Callable[[str], None]
_BLOCK = 1 << 20  # bytes per read of a tar member


@dataclass(frozen=True)
class Prepared:
    """A dataset ready to register: everything computed and pinned."""

    path: Path
    schema: rows.Schema
    row_root: bytes
    row_count: int
    content_cid: str
    metadata_cid: str
    metadata: dict[str, Any]
    license: str
    profile: str
    private: bool
    files: tuple[FileEntry, ...] = field(default=())
    plaintext_cid: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "content_cid": self.content_cid,
            "metadata_cid": self.metadata_cid,
            "row_root": "0x" + self.row_root.hex(),
            "rows": self.row_count,
            "private": self.private,
            "profile": self.profile,
            "license": self.license,
            "schema": self.schema.to_json(),
        }


def _refuse_empty(path: Path, row_count: int, allow_empty: bool) -> None:
    if row_count == 0 and not allow_empty:
        raise SchemaError(
            f"expected at least one row in {path}, found none (pass --allow-empty to publish "
            "an empty dataset)"
        )


class _RowRoot:
    """The RFC 9162 root of a dataset's rows, built on the parser thread."""

    def __init__(self, schema: rows.Schema, key: bytes | None, say: Progress) -> None:
        self.schema = schema
        self.key = key
        self.builder = merkle.RootBuilder()
        self.count = 0  # rows committed so far, read by the reading thread for progress
        self._say = say
        self._said = 0

    def consume(self, files: Iterator[tuple[Path, BinaryIO | None]]) -> None:
        for file, stream in files:
            if stream is None:
                batches = rows.read_batches(file, self.schema)
            else:
                batches = rows.read_stream(file, stream, self.schema)
            for batch in batches:
                self.builder.extend_digests(rows.batch_leaf_digests(batch, self.schema, self.key))
                self.count = self.builder.size

    def tick(self) -> None:
        """Say ``rows: N`` if N has grown since it was last said (in the reading thread)."""
        if self.count != self._said:
            self._said = self.count
            self._say(f"rows: {self._said}")


class _Inference:
    """Schema inference on the parser thread (private datasets infer during their facts pass)."""

    schema: rows.Schema | None = None

    def consume(self, files: Iterator[tuple[Path, BinaryIO | None]]) -> None:
        self.schema = rows.infer_schema_from(files)


@contextlib.contextmanager
def _parsing(files: Sequence[Path], consume: _streams.Consume | None) -> Iterator[Parser | None]:
    """A :class:`Parser` running ``consume`` over ``files`` for the ``with`` block (none
    for ``None``); a block that completes waits for it and raises what it raised."""
    if consume is None:
        yield None
        return
    with Parser(files, consume, rows.reads_as_stream) as parser:
        yield parser
        parser.finish()


@contextlib.contextmanager
def _teed(
    file: Path, index: int, parser: Parser | None, after: Callable[[], None] | None
) -> Iterator[Tee]:
    """``file`` open for reading through a :class:`Tee` that also feeds ``parser`` (as file
    ``index``); the parser is told the file ended when the ``with`` block completes."""
    try:
        handle: BinaryIO = open(file, "rb", buffering=0)  # noqa: SIM115 (closed just below)
    except OSError as exc:
        raise unixfs.UnreadableInput(f"cannot read {file}: {exc.strerror or exc}") from exc
    with handle:
        yield Tee(handle, functools.partial(parser.feed, index) if parser else None, after)
    if parser is not None:
        parser.end(index)


def _format(file: Path) -> str:
    return file.suffix.lstrip(".").lower().replace("ndjson", "jsonl")


def _read_files(
    files: Sequence[Path],
    base: Path,
    profile: unixfs.Profile,
    parser: Parser | None,
    sink: unixfs.BlockSink | None,
    after: Callable[[], None] | None,
) -> tuple[list[FileEntry], dict[Path, unixfs.Added]]:
    """Read each data file once: its UnixFS import (blocks to ``sink``), SHA-256 and size,
    with every block also handed to ``parser``. Returns the file entries and imports."""
    entries: list[FileEntry] = []
    imported: dict[Path, unixfs.Added] = {}
    for i, file in enumerate(files):
        with _teed(file, i, parser, after) as tee:
            added = unixfs.add_stream(cast(BinaryIO, tee), profile, sink)
        imported[file] = added
        rel = file.relative_to(base).as_posix()
        entries.append(FileEntry(rel, str(added.cid), tee.size, tee.hexdigest(), _format(file)))
    return entries, imported


def _dataset_root(
    path: Path,
    imported: dict[Path, unixfs.Added],
    profile: unixfs.Profile,
    sink: unixfs.BlockSink | None,
) -> CID:
    """The UnixFS root of ``path`` (what ``unixfs.add_path`` gives) from its data files'
    imports; in a directory, the other files are read and imported here."""
    if not path.is_dir():
        return imported[path].cid
    known = {file.relative_to(path).as_posix(): added for file, added in imported.items()}
    return unixfs.add_path_known(path, profile, sink, known=known).cid


def _deterministic_tar(files: Sequence[tuple[str, Path]], manifest: bytes, out: Path) -> None:
    """A tar whose bytes depend only on names and contents (ustar, mtime 0, uid 0).

    The reference for :func:`_tar_stream`, which gives the same bytes as it reads the files.
    """
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size, info.mtime, info.mode = len(manifest), 0, 0o644
        tar.addfile(info, io.BytesIO(manifest))
        for name, file in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = file.stat().st_size, 0, 0o644
            with file.open("rb") as handle:
                tar.addfile(info, handle)


def _tar_stream(
    members: Sequence[tuple[FileEntry, Path]],
    manifest: bytes,
    parser: Parser | None,
    after: Callable[[], None] | None,
) -> Iterator[bytes]:
    """The bytes :func:`_deterministic_tar` writes for ``members``, as they are produced.

    Each member is read once (its blocks also go to ``parser``) and must still have the
    size and SHA-256 of its entry.

    Raises:
        DatasoilError: a file changed since its entry was made.
    """
    offset = 0

    def header(name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, 0, 0o644
        return info.tobuf(tarfile.USTAR_FORMAT, tarfile.ENCODING, "surrogateescape")

    def padding(size: int) -> bytes:
        return tarfile.NUL * (-size % tarfile.BLOCKSIZE)

    for piece in (header(MANIFEST_NAME, len(manifest)), manifest, padding(len(manifest))):
        offset += len(piece)
        yield piece
    for i, (entry, file) in enumerate(members):
        piece = header(entry.path, entry.size)
        offset += len(piece)
        yield piece
        with _teed(file, i, parser, after) as tee:
            while tee.size < entry.size:
                block = read_full(tee, min(entry.size - tee.size, _BLOCK))
                if not block:
                    break
                yield block
        if tee.size != entry.size or tee.hexdigest() != entry.sha256:
            raise DatasoilError(
                f"expected {file} to stay as it was read ({entry.size} bytes, sha256 "
                f"{entry.sha256}), found it changed while it was being published"
            )
        piece = padding(entry.size)
        offset = offset + entry.size + len(piece)
        yield piece
    end = 2 * tarfile.BLOCKSIZE
    yield tarfile.NUL * (end + -(offset + end) % tarfile.RECORDSIZE)


def prepare(
    path: Path,
    *,
    store: Store,
    profile: str | None = None,
    name: str | None = None,
    description: str = "",
    license: str = "CC-BY-4.0",
    creator: str = "",
    derived_from: Sequence[str] = (),
    private: bool = False,
    allow_empty: bool = False,
    schema: rows.Schema | None = None,
    content_key: bytes | None = None,
    progress: Progress | None = None,
    pinned: list[str] | None = None,
    http_gateway: str | None = None,
    subject: tuple[str, str] | None = None,
) -> Prepared:
    """Compute and pin everything a registration needs (see the module docstring).

    ``http_gateway`` is the base of the Croissant ``contentUrl``s (default
    :func:`datasoil.config.http_gateway`). ``subject`` is ``(column, kind)``, the column
    naming each row's subject (docs/consent.md), recorded in the Croissant record set.

    ``content_key`` (private only) encrypts with a key chosen by the caller, e.g. the
    one a cleaning already keyed its output root with; by default a fresh one.
    ``pinned``, if given, gets each CID as soon as it is pinned (so a caller knows what
    an interrupted prepare left pinned).

    The data is read at most twice: schema inference (when ``schema`` is not given and a
    file is CSV or JSONL) reads it once, then one pass feeds the UnixFS chunker, the store,
    each file's SHA-256 and the row leaves together (a private dataset: the chunker and
    hashes with inference, or with the rows when ``schema`` is given, then the encrypted
    tar with the rows). Memory stays bounded whatever the size.

    Raises SchemaError for an empty dataset unless ``allow_empty``, and whatever the
    readers raise for unreadable, ragged, non-UTF-8 or ill-typed input. Nothing is pinned
    for a dataset that fails before its content is pinned; blocks the data pass already
    stored stay unpinned until ``datasoil store gc``.
    """
    path = Path(path)
    if not path.exists():
        raise DatasoilError(f"expected a dataset file or directory, found nothing at {path}")
    say = progress or (lambda _msg: None)
    chosen = unixfs.profile_for(profile)
    if content_key is not None and not private:
        raise DatasoilError("expected private=True with a content key, found a public dataset")
    files = rows.dataset_files(path)
    if schema is None and not any(rows.reads_as_stream(f) for f in files):
        schema = rows.infer_schema(path)  # Parquet alone: footers, not a pass over the data
    if private:
        content_key = content_key or crypto.new_content_key()
        content = _private_content(
            path, files, store, chosen, schema, content_key, allow_empty=allow_empty, say=say
        )
    else:
        content = _public_content(
            path, files, store, chosen, schema, allow_empty=allow_empty, say=say
        )
    schema, files_found, content_cid = content.roots.schema, content.entries, content.cid
    row_root, row_count = content.roots.builder.root(), content.roots.count
    if pinned is not None:
        pinned.append(content_cid)
    if content.manifest is not None:
        assert content_key is not None
        access.save_content_key(content_cid, content_key, content.manifest)
    say(f"content: {content_cid}")
    if private:
        # File names would let a reader confirm a guessed file: none by default.
        default_name, default_description = "private dataset", "encrypted with datasoil-enc-v1"
    else:
        default_name, default_description = path.stem, f"{path.name}, published with datasoil"
    document = build(
        name=name or default_name,
        description=description or default_description,
        license=license,
        creator=creator or "unknown",
        content_cid=content_cid,
        files=[] if private else files_found,
        schema=schema,
        row_root=row_root,
        row_count=row_count,
        cid_profile=chosen.name,
        encoding_version=rows.ENCODING_VERSION,
        derived_from=derived_from,
        private=private,
        http_gateway=http_gateway or config.http_gateway(),
        subject=subject,
    )
    metadata_cid = str(store.add_bytes(canonical_bytes(document), chosen, pin=True))
    if pinned is not None:
        pinned.append(metadata_cid)
    return Prepared(
        path=path,
        schema=schema,
        row_root=row_root,
        row_count=row_count,
        content_cid=content_cid,
        metadata_cid=metadata_cid,
        metadata=document,
        license=license,
        profile=chosen.name,
        private=private,
        files=tuple(files_found),
        plaintext_cid=content.plaintext_cid,
    )


def _say_schema(say: Progress, schema: rows.Schema) -> None:
    say(f"schema: {', '.join(f'{c.name}:{c.type}' for c in schema.columns)}")


@dataclass(frozen=True)
class _Content:
    """What pinning a dataset's content found: its rows, files and CIDs (and, private,
    the manifest the encrypted tar opens with)."""

    roots: _RowRoot
    entries: list[FileEntry]
    cid: str
    plaintext_cid: str | None = None
    manifest: dict[str, Any] | None = None


def _public_content(
    path: Path,
    files: Sequence[Path],
    store: Store,
    profile: unixfs.Profile,
    schema: rows.Schema | None,
    *,
    allow_empty: bool,
    say: Progress,
) -> _Content:
    """Pin the dataset as it is: inference (unless ``schema``), then one pass for the row
    leaves, the file hashes, the CIDs and the store's blocks."""
    if schema is None:
        schema = rows.infer_schema(path)
    _say_schema(say, schema)
    roots = _RowRoot(schema, None, say)
    base = path if path.is_dir() else path.parent
    entries: list[FileEntry] = []

    def produce(sink: unixfs.BlockSink | None) -> CID:
        with _parsing(files, roots.consume) as parser:
            found, imported = _read_files(files, base, profile, parser, sink, roots.tick)
        roots.tick()
        _refuse_empty(path, roots.count, allow_empty)
        entries.extend(found)
        return _dataset_root(path, imported, profile, sink)

    if isinstance(store, LocalStore):
        cid = store.add_with(produce, name=path.name)
    else:  # a store that imports whole files (Kubo's) reads the data once more
        produce(None)
        cid = store.add_path(path, profile, pin=True)
    return _Content(roots, entries, str(cid))


def _private_content(
    path: Path,
    files: Sequence[Path],
    store: Store,
    profile: unixfs.Profile,
    schema: rows.Schema | None,
    content_key: bytes,
    *,
    allow_empty: bool,
    say: Progress,
) -> _Content:
    """Pin the encrypted tar of the dataset: a pass for the file facts the manifest holds
    (with inference, or with the keyed row leaves when ``schema`` is given), then one
    that tars, encrypts and stores (with the row leaves if they are still to do)."""
    row_key = crypto.row_hmac_key(content_key)
    base = path if path.is_dir() else path.parent
    inference = _Inference()
    early = None if schema is None else _RowRoot(schema, row_key, say)
    if schema is not None:
        _say_schema(say, schema)
    first = inference.consume if early is None else early.consume
    with _parsing(files, first) as parser:
        tick = early.tick if early is not None else None
        entries, imported = _read_files(files, base, profile, parser, None, tick)
    if early is None:
        assert inference.schema is not None
        roots = _RowRoot(inference.schema, row_key, say)
        _say_schema(say, roots.schema)
    else:
        roots = early
        roots.tick()
        _refuse_empty(path, roots.count, allow_empty)
    plaintext_cid = str(_dataset_root(path, imported, profile, None))
    manifest = {
        "plaintext_cid": plaintext_cid,
        "profile": profile.name,
        "files": [e.__dict__ for e in entries],
        "schema": roots.schema.to_json(),
        "row_encoding": rows.ENCODING_VERSION,
    }
    members = list(zip(entries, files, strict=True))
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()

    @contextlib.contextmanager
    def ciphertext() -> Iterator[Iterator[bytes]]:
        with _parsing(files, None if early is not None else roots.consume) as parser:
            tar = IterReader(_tar_stream(members, manifest_bytes, parser, roots.tick))
            yield crypto.encrypt_stream(tar, content_key)
        roots.tick()
        _refuse_empty(path, roots.count, allow_empty)

    if isinstance(store, LocalStore):

        def produce(sink: unixfs.BlockSink) -> CID:
            with ciphertext() as pieces:
                return unixfs.add_stream(cast(BinaryIO, IterReader(pieces)), profile, sink).cid

        cid = store.add_with(produce, name="data.enc")
    else:  # a store that imports whole files (Kubo's) takes the ciphertext from a file
        with tempfile.TemporaryDirectory(prefix="datasoil-private-") as tmp:
            enc_path = Path(tmp) / "data.enc"
            with ciphertext() as pieces:
                write_atomic(enc_path, pieces)
            cid = store.add_path(enc_path, profile, pin=True)
    return _Content(roots, entries, str(cid), plaintext_cid, manifest)


def find_duplicate(registry: Any, prepared: Prepared) -> int | None:
    """The id of a dataset already registered with the same content CID and row root
    (read from the registry's events: one query, not a call per dataset)."""
    found: int | None = registry.find(prepared.content_cid, prepared.row_root)
    return found


def register(
    prepared: Prepared,
    registry: Any,
    *,
    sender: Any,
    parents: Sequence[int] = (),
    version_of: int = 0,
    allow_duplicate: bool = False,
) -> int:
    """Register a prepared dataset and return its id.

    Raises DatasoilError when the same content and root are already registered
    (unless ``allow_duplicate``), and what :meth:`Registry.register` raises.
    """
    if not allow_duplicate:
        existing = find_duplicate(registry, prepared)
        if existing is not None:
            raise DatasoilError(
                f"expected new data, found the same content and row root already registered "
                f"as dataset #{existing} (pass --allow-duplicate to register it again)"
            )
    dataset_id: int = registry.register(
        content_cid=prepared.content_cid,
        row_root=prepared.row_root,
        row_count=prepared.row_count,
        metadata_cid=prepared.metadata_cid,
        license=prepared.license,
        parents=list(parents),
        version_of=version_of,
        private=prepared.private,
        sender=sender,
    )
    return dataset_id


class PublishInterrupted(DatasoilError, KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped :func:`publish`; the message is the one line saying what
    state it left, and ``dataset_id`` is the registered id if the registration
    transaction had already been sent (else ``None``).

    It is a :class:`KeyboardInterrupt`, so code that stops on Ctrl-C still stops.
    """

    def __init__(self, message: str, *, dataset_id: int | None = None) -> None:
        super().__init__(message)
        self.dataset_id = dataset_id


@dataclass(frozen=True)
class Published:
    """A dataset :func:`publish` registered: its id and what was prepared for it."""

    dataset_id: int
    prepared: Prepared


@dataclass
class _Sending:
    """Whether the registration transaction is on its way, and whether Ctrl-C came since."""

    started: bool = False
    interrupted: bool = False
    dataset_id: int | None = None


def publish(
    path: Path,
    *,
    store: Store,
    registry: Any,
    sender: Any,
    parents: Sequence[int] = (),
    version_of: int = 0,
    allow_duplicate: bool = False,
    progress: Progress | None = None,
    **options: Any,
) -> Published:
    """Prepare, pin and register the dataset at ``path`` (what ``ape run publish`` does).

    ``options`` go to :func:`prepare` (profile, name, description, license, creator, subject,
    private, allow_empty, schema); ``derived_from`` defaults to the parents' content CIDs.

    Ctrl-C is honoured until the registration transaction is sent, and never makes
    it go out afterwards: :class:`PublishInterrupted` says ``interrupted: nothing
    registered`` and what stays pinned (kept for a rerun, which reuses every block) or
    stored unpinned (``datasoil store gc`` removes it). Once the transaction is being
    sent, Ctrl-C is held until it is mined, and the error says ``registered as #N``.

    A refused registration (a duplicate, an unknown parent, a revert) or any other
    error after pinning unpins what this publish pinned that was not pinned before, and
    the error says so; its blocks go at the next gc.

    Raises:
        PublishInterrupted: on Ctrl-C, as above.
        DatasoilError: what :func:`prepare` and :func:`register` raise.
    """
    say = progress or (lambda _msg: None)
    before: set[str] = set()
    pinned: list[str] = []
    sending = _Sending()
    with _interrupts_until_sent(sending):
        try:
            before = {str(normalize(c)) for c in store.pins()}
            if "derived_from" not in options:
                options["derived_from"] = [registry.get(p).content_cid for p in parents]
            prepared = prepare(path, store=store, progress=progress, pinned=pinned, **options)
            say("registering")
            with _watch_send(registry, sending, say):
                sending.dataset_id = register(
                    prepared,
                    registry,
                    sender=sender,
                    parents=parents,
                    version_of=version_of,
                    allow_duplicate=allow_duplicate,
                )
        except KeyboardInterrupt as exc:
            if isinstance(exc, PublishInterrupted):
                raise
            if sending.started:
                raise _interrupted_after_send(sending.dataset_id) from None
            with _ignoring_interrupts():
                message = f"interrupted: nothing registered; {_left_behind(store, pinned)}"
            raise PublishInterrupted(message) from None
        except DatasoilError as exc:
            with _ignoring_interrupts():
                released = _release(store, pinned, before)
            if not released:
                raise
            raise _with_note(exc, f"; {released}") from exc
    assert sending.dataset_id is not None
    if sending.interrupted:
        raise _interrupted_after_send(sending.dataset_id)
    return Published(sending.dataset_id, prepared)


def _interrupted_after_send(dataset_id: int | None) -> PublishInterrupted:
    if dataset_id is None:
        return PublishInterrupted(
            "interrupted after the registration transaction was sent: it may be registered "
            "(check with `ape run datasets list`)"
        )
    return PublishInterrupted(
        f"interrupted after the registration transaction was sent: registered as #{dataset_id}",
        dataset_id=dataset_id,
    )


def _blocks_under(store: Store, cids: Sequence[str]) -> int:
    """How many distinct blocks the DAGs at ``cids`` hold in ``store``."""
    from datasoil.store.local import LocalStore

    roots = [as_cid(c) for c in cids]
    if isinstance(store, LocalStore):
        return len(store.reachable(roots))
    from datasoil.store.car import iter_dag

    return sum(1 for _ in iter_dag(store.get_block, roots))


def _left_behind(store: Store, pinned: Sequence[str]) -> str:
    """What an interrupted publish left in ``store``, as the end of one sentence."""
    from datasoil.store.local import LocalStore

    try:
        loose = len(store.gc(dry_run=True).removed) if isinstance(store, LocalStore) else 0
        kept = _blocks_under(store, pinned) if pinned else 0
    except (DatasoilError, OSError) as exc:
        return f"the store could not be read to say what it keeps ({exc})"
    if pinned:
        text = f"{kept} {'block' if kept == 1 else 'blocks'} kept pinned for a rerun"
    else:
        text = "nothing pinned by this run"
    if loose:
        noun = "block" if loose == 1 else "blocks"
        text += f" ({loose} unpinned {noun} stay until `datasoil store gc`)"
    return text


def _release(store: Store, pinned: Sequence[str], before: set[str]) -> str:
    """Unpin what this publish pinned anew; say what was released (empty if nothing)."""
    fresh = list(dict.fromkeys(c for c in pinned if str(normalize(as_cid(c))) not in before))
    if not fresh:
        return ""
    blocks = _blocks_under(store, fresh)
    for cid in fresh:
        store.unpin(as_cid(cid))
    pins = "pin" if len(fresh) == 1 else "pins"
    return (
        f"unpinned the {len(fresh)} {pins} this publish made ({blocks} blocks; "
        "`datasoil store gc` frees them)"
    )


def _with_note(exc: DatasoilError, note: str) -> DatasoilError:
    """``exc`` with ``note`` appended to its message, as the same type where possible."""
    try:
        return type(exc)(f"{exc}{note}")
    except TypeError:
        return DatasoilError(f"{exc}{note}")


@contextlib.contextmanager
def _interrupts_until_sent(sending: _Sending) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt until ``sending.started``; then it is only noted.

    This replaces whatever SIGINT handler the host installed for the duration (ape's,
    set when ``ape`` is imported, exits 130 at once and silently). Signal handlers
    belong to the main thread; elsewhere nothing changes (Python never delivers
    KeyboardInterrupt to other threads).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not sending.started:
            raise KeyboardInterrupt
        sending.interrupted = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """Hold a second Ctrl-C while the state left behind is worked out and settled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _watch_send(registry: Any, sending: _Sending, say: Progress) -> Iterator[None]:
    """Mark ``sending.started`` the moment the registry's ``register`` transaction is sent.

    :meth:`datasoil.chain.registry.Registry.register` checks its inputs (and reads the chain)
    before it sends; Ctrl-C during those checks must still stop the publish, so the mark
    is set on the contract call itself. A registry without a ``contract`` attribute is
    taken to send at once.
    """
    contract = getattr(registry, "contract", None)
    if contract is None:
        sending.started = True
        yield
        return
    registry.contract = _SendWatcher(contract, sending, say)
    try:
        yield
    finally:
        registry.contract = contract


class _SendWatcher:
    """A contract handle whose ``register`` marks the send before making it."""

    def __init__(self, contract: Any, sending: _Sending, say: Progress) -> None:
        self._contract = contract
        self._sending = sending
        self._say = say

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._contract, name)
        if name != "register":
            return attr

        def send(*args: Any, **kwargs: Any) -> Any:
            self._sending.started = True
            self._say("registering: sending the transaction")
            return attr(*args, **kwargs)

        return send


def extract_private(tar_path: Path, dest: Path) -> dict[str, Any]:
    """Unpack a decrypted private dataset tar into ``dest``; return its manifest."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r") as tar:
        tar.extractall(dest, filter="data")
    manifest_path = dest / MANIFEST_NAME
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    manifest_path.unlink()
    for path in dest.rglob("*"):
        os.utime(path)  # the tar's mtime is 0 by design; the files are new here
    return manifest


def pin_remote(
    name: str,
    cids: Sequence[str],
    *,
    label: str | None = None,
    origins: Sequence[str] = (),
    timeout: float = 600.0,
    interval: float = 2.0,
) -> list[str]:
    """Pin ``cids`` on the Pinning Service API configured as ``name`` and wait for ``pinned``.

    The endpoint comes from :func:`datasoil.config.pinning_service` (``DATASOIL_PINNING_SERVICES``
    or ``DATASOIL_PINNING_ENDPOINT`` for ``default``), the token from the environment.
    Returns one line per CID saying it is pinned there.

    Raises:
        PinningError: ``name`` is not configured, has no token, the service refuses the
            token (PinningAuthError) or the pin, or reports it failed; PinTimeout: not
            pinned within ``timeout``; BackendUnavailable: the service cannot be reached.
    """
    from datasoil.store.pinning import PinningError, PinningService

    found = config.pinning_service(name)
    if found is None:
        raise PinningError(
            f"expected a pinning service named {name!r} in {config.PINNING_SERVICES_ENV} "
            f"(NAME=URL,...) or {config.PINNING_ENDPOINT_ENV} (for 'default'), found none"
        )
    endpoint, token = found
    if not token:
        raise PinningError(
            f"expected a token for pinning service {name!r} in {config.PINNING_TOKEN_ENV}_"
            f"{name.upper()} or {config.PINNING_TOKEN_ENV}, found neither set"
        )
    lines = []
    with PinningService(endpoint, token) as service:
        for cid in cids:
            st = service.pin(as_cid(cid), label, origins, timeout=timeout, interval=interval)
            lines.append(f"{cid} pinned on {name} ({endpoint}, request {st.requestid})")
    return lines
