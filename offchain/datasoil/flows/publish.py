"""Publish: content-address, commit, describe, pin and register a dataset.

:func:`prepare` does everything off chain — schema inference, the RFC 9162 row root,
the Kubo-identical CID, the Croissant document — and pins the data and metadata in
a store; :func:`register` records the prepared dataset on chain. Nothing is
registered unless everything before it succeeded.

Private datasets are packed into a deterministic tar (the data files plus a
``datasoil-manifest.json`` with the plaintext CID, file hashes and schema),
encrypted with a fresh content key (datasoil-enc-v1), and committed with keyed row
leaves (HMAC under :func:`datasoil.formats.crypto.row_hmac_key`). Only the ciphertext and a
Croissant document without file names, sizes or hashes are public; the content key
is saved for the owner's keeper (:func:`datasoil.flows.access.save_content_key`).
"""

from __future__ import annotations

import contextlib
import hashlib
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
from typing import Any

from datasoil import config
from datasoil.errors import DatasoilError, SchemaError
from datasoil.flows import access
from datasoil.formats import crypto, merkle, rows, unixfs
from datasoil.formats.croissant import FileEntry, build, canonical_bytes
from datasoil.store.base import Store, as_cid, normalize

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


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entries(path: Path, profile: unixfs.Profile) -> list[FileEntry]:
    base = path if path.is_dir() else path.parent
    entries = []
    for file in rows.dataset_files(path):
        rel = file.relative_to(base).as_posix()
        added = unixfs.add_path(file, profile)
        entries.append(
            FileEntry(
                path=rel,
                cid=str(added.cid),
                size=file.stat().st_size,
                sha256=_sha256_file(file),
                format=file.suffix.lstrip(".").lower().replace("ndjson", "jsonl"),
            )
        )
    return entries


def _deterministic_tar(files: Sequence[tuple[str, Path]], manifest: bytes, out: Path) -> None:
    """A tar whose bytes depend only on names and contents (ustar, mtime 0, uid 0)."""
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size, info.mtime, info.mode = len(manifest), 0, 0o644
        tar.addfile(info, io.BytesIO(manifest))
        for name, file in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = file.stat().st_size, 0, 0o644
            with file.open("rb") as handle:
                tar.addfile(info, handle)


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
) -> Prepared:
    """Compute and pin everything a registration needs (see the module docstring).

    ``http_gateway`` is the base of the Croissant ``contentUrl``s (default
    :func:`datasoil.config.http_gateway`).

    ``content_key`` (private only) encrypts with a key chosen by the caller, e.g. the
    one a cleaning already keyed its output root with; by default a fresh one.
    ``pinned``, if given, gets each CID as soon as it is pinned (so a caller knows what
    an interrupted prepare left pinned).

    Raises SchemaError for an empty dataset unless ``allow_empty``, and whatever the
    readers raise for unreadable, ragged, non-UTF-8 or ill-typed input; nothing is
    pinned for a dataset that fails before its data was added.
    """
    path = Path(path)
    if not path.exists():
        raise DatasoilError(f"expected a dataset file or directory, found nothing at {path}")
    say = progress or (lambda _msg: None)
    chosen = unixfs.profile_for(profile)
    schema = schema or rows.infer_schema(path)
    say(f"schema: {', '.join(f'{c.name}:{c.type}' for c in schema.columns)}")
    files = _file_entries(path, chosen)
    if content_key is not None and not private:
        raise DatasoilError("expected private=True with a content key, found a public dataset")
    if private and content_key is None:
        content_key = crypto.new_content_key()
    row_key = crypto.row_hmac_key(content_key) if content_key else None
    builder = merkle.RootBuilder()
    for hashes in rows.dataset_leaf_hashes(path, schema, row_key):
        builder.extend(hashes)
        say(f"rows: {builder.size}")
    row_root, row_count = builder.root(), builder.size
    if row_count == 0 and not allow_empty:
        raise SchemaError(
            f"expected at least one row in {path}, found none (pass --allow-empty to publish "
            "an empty dataset)"
        )
    plaintext_cid: str | None = None
    if private:
        assert content_key is not None
        plaintext_cid = str(unixfs.add_path(path, chosen).cid)
        manifest = {
            "plaintext_cid": plaintext_cid,
            "profile": chosen.name,
            "files": [e.__dict__ for e in files],
            "schema": schema.to_json(),
            "row_encoding": rows.ENCODING_VERSION,
        }
        with tempfile.TemporaryDirectory(prefix="datasoil-private-") as tmp:
            tar_path, enc_path = Path(tmp) / "data.tar", Path(tmp) / "data.enc"
            base = path if path.is_dir() else path.parent
            members = [(f.relative_to(base).as_posix(), f) for f in rows.dataset_files(path)]
            _deterministic_tar(members, json.dumps(manifest, sort_keys=True).encode(), tar_path)
            crypto.encrypt_file(tar_path, enc_path, content_key)
            content_cid = str(store.add_path(enc_path, chosen, pin=True))
        if pinned is not None:
            pinned.append(content_cid)
        access.save_content_key(content_cid, content_key, manifest)
    else:
        content_cid = str(store.add_path(path, chosen, pin=True))
        if pinned is not None:
            pinned.append(content_cid)
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
        files=[] if private else files,
        schema=schema,
        row_root=row_root,
        row_count=row_count,
        cid_profile=chosen.name,
        encoding_version=rows.ENCODING_VERSION,
        derived_from=derived_from,
        private=private,
        http_gateway=http_gateway or config.http_gateway(),
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
        files=tuple(files),
        plaintext_cid=plaintext_cid,
    )


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

    ``options`` go to :func:`prepare` (profile, name, description, license, creator,
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
