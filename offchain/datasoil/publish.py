"""Publish: content-address, commit, describe, pin and register a dataset.

:func:`prepare` does everything off chain — schema inference, the RFC 9162 row root,
the Kubo-identical CID, the Croissant document — and pins the data and metadata in
a store; :func:`register` records the prepared dataset on chain. Nothing is
registered unless everything before it succeeded.

Private datasets are packed into a deterministic tar (the data files plus a
``datasoil-manifest.json`` with the plaintext CID, file hashes and schema),
encrypted with a fresh content key (datasoil-enc-v1), and committed with keyed row
leaves (HMAC under :func:`datasoil.crypto.row_hmac_key`). Only the ciphertext and a
Croissant document without file names, sizes or hashes are public; the content key
is saved for the owner's keeper (:func:`datasoil.access.save_content_key`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil import access, crypto, merkle, rows, unixfs
from datasoil.croissant import FileEntry, build, canonical_bytes
from datasoil.errors import DatasoilError, SchemaError
from datasoil.store.base import Store

__all__ = [
    "MANIFEST_NAME",
    "Prepared",
    "extract_private",
    "find_duplicate",
    "prepare",
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
) -> Prepared:
    """Compute and pin everything a registration needs (see the module docstring).

    ``content_key`` (private only) encrypts with a key chosen by the caller, e.g. the
    one a cleaning already keyed its output root with; by default a fresh one.

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
        access.save_content_key(content_cid, content_key, manifest)
    else:
        content_cid = str(store.add_path(path, chosen, pin=True))
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
    )
    metadata_cid = str(store.add_bytes(canonical_bytes(document), chosen, pin=True))
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
