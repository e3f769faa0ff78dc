"""Kubo-identical UnixFS content addressing, streaming.

Files and directories are imported exactly as Kubo's ``ipfs add`` imports them under
each of its import profiles (see ``docs/formats/unixfs.md``): fixed-size chunks, the
balanced DAG layout, dag-pb UnixFS nodes with Tsize and blocksizes, sha2-256,
directories sorted bytewise by name and HAMT-sharded (murmur3-x64-64, fanout 256)
when the directory would be larger than the profile's threshold.

Memory stays bounded by a few chunks plus the open tree levels, whatever the file
size: chunks are read, hashed (on a small thread pool, in order) and forgotten, and
only the links of the not-yet-closed internal nodes are kept.

>>> str(add_bytes(b"hello world\\n", profile_for(cid_version=0)).cid)
'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import mmh3
from multiformats import CID, multibase, multicodec, multihash

from datasoil._fs import read_full
from datasoil.errors import CidMismatch, DatasoilError, InvalidCid, StoreError

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "Added",
    "BlockSink",
    "InvalidBlock",
    "Profile",
    "ProfileError",
    "UnreadableInput",
    "add_bytes",
    "add_path",
    "add_path_known",
    "add_stream",
    "cat",
    "export",
    "links",
    "profile_for",
    "walk",
]


class ProfileError(DatasoilError, ValueError):
    """An unknown import profile, or a profile and a CID version that contradict each other."""


class UnreadableInput(DatasoilError, OSError):
    """A path to import is missing, unreadable, or of a kind UnixFS cannot hold."""


class InvalidBlock(DatasoilError, ValueError):
    """A block hashes to its CID but is not the UnixFS node the reader expected."""


# --------------------------------------------------------------------------- profiles

SizeEstimation = Literal["block", "links"]


@dataclass(frozen=True)
class Profile:
    """The import parameters that, with the content, decide a UnixFS CID.

    ``hamt_size_estimation`` is how a directory's size is estimated against
    ``hamt_threshold_bytes``: ``"block"`` is the exact dag-pb block size (IPIP-499),
    ``"links"`` the legacy sum of name and CID byte lengths. A directory becomes a
    HAMT when the estimate is strictly greater than the threshold.
    """

    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int
    max_links: int
    hamt_threshold_bytes: int
    hamt_size_estimation: SizeEstimation
    hamt_fanout: int = 256
    hash_function: str = "sha2-256"


KIB = 1024
MIB = 1024 * KIB

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        # IPIP-499 "unixfs-v1-2025": datasoil's default for new data.
        Profile("unixfs-v1-2025", 1, True, 1 * MIB, 1024, 256 * KIB, "block"),
        # IPIP-499 "unixfs-v0-2015": Kubo's implicit default configuration.
        Profile("unixfs-v0-2015", 0, False, 256 * KIB, 174, 256 * KIB, "links"),
        # Kubo's default configuration with `ipfs add --cid-version=1`.
        Profile("kubo-cidv1", 1, True, 256 * KIB, 174, 256 * KIB, "links"),
    )
}
DEFAULT_PROFILE = "unixfs-v1-2025"


def profile_for(name: str | None = None, cid_version: int | None = None) -> Profile:
    """Resolve the ``datasoil cid`` options to a profile.

    No option gives ``unixfs-v1-2025``; ``cid_version=0`` alone gives Kubo's default
    configuration (``unixfs-v0-2015``); ``cid_version=1`` alone gives Kubo's default
    configuration with ``--cid-version=1`` (``kubo-cidv1``). Both together must agree.

    Raises :class:`ProfileError` for an unknown name, a CID version other than 0 or 1,
    or a CID version the named profile does not produce.
    """
    if cid_version is not None and cid_version not in (0, 1):
        raise ProfileError(f"expected CID version 0 or 1, found {cid_version!r}")
    if name is None:
        if cid_version is None:
            return PROFILES[DEFAULT_PROFILE]
        return PROFILES["unixfs-v0-2015" if cid_version == 0 else "kubo-cidv1"]
    try:
        profile = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ProfileError(f"expected an import profile among {known}, found {name!r}") from None
    if cid_version is not None and cid_version != profile.cid_version:
        raise ProfileError(
            f"profile {name} produces CIDv{profile.cid_version}, "
            f"but CID version {cid_version} was asked for"
        )
    return profile


# --------------------------------------------------------------------------- encoding

BlockSink = Callable[[CID, bytes], None]

_DAG_PB = 0x70
_RAW = 0x55
_SHA2_256 = 0x12
_MURMUR3_X64_64 = 0x22

# UnixFS Data.Type values.
_T_RAW, _T_DIRECTORY, _T_FILE, _T_METADATA, _T_SYMLINK, _T_HAMT = 0, 1, 2, 3, 4, 5
_DIR_DATA = b"\x08\x01"  # UnixFS Data {Type: Directory}


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len_field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


def _encode_pbnode(node_links: list[tuple[bytes, bytes, int]], data: bytes | None) -> bytes:
    """dag-pb canonical form: every PBLink (field 2) first, then Data (field 1)."""
    parts: list[bytes] = []
    for cid_bytes, name, tsize in node_links:
        link = _len_field(0x0A, cid_bytes) + _len_field(0x12, name) + b"\x18" + _varint(tsize)
        parts.append(_len_field(0x12, link))
    if data is not None:
        parts.append(_len_field(0x0A, data))
    return b"".join(parts)


def _cid_bytes(version: int, codec: int, digest: bytes) -> bytes:
    mh = bytes((_SHA2_256, len(digest))) + digest
    if version == 0:
        return mh
    return b"\x01" + _varint(codec) + mh


_BASE32 = multibase.get("base32")
_BASE58 = multibase.get("base58btc")
_SHA2_256_FN = multihash.get("sha2-256")
_CODECS = {_DAG_PB: multicodec.get("dag-pb"), _RAW: multicodec.get("raw")}


def _make_cid(cid_bytes: bytes) -> CID:
    """A :class:`CID` from its binary form: base58btc for v0, base32 for v1 (as Kubo prints).

    The common shapes (sha2-256 over dag-pb or raw) skip multiformats' run-time type
    validation, which costs about a hundred times the rest of the work per CID.
    """
    n = len(cid_bytes)
    if n == 34 and cid_bytes[0] == _SHA2_256 and cid_bytes[1] == 32:
        return CID._new_instance(CID, _BASE58, 0, _CODECS[_DAG_PB], _SHA2_256_FN, cid_bytes)
    if n == 36 and cid_bytes[0] == 1 and cid_bytes[1] in _CODECS and cid_bytes[2:4] == b"\x12\x20":
        return CID._new_instance(
            CID, _BASE32, 1, _CODECS[cid_bytes[1]], _SHA2_256_FN, cid_bytes[2:]
        )
    c = CID.decode(cid_bytes)
    return c if c.version == 0 else c.set(base="base32")


@dataclass(frozen=True)
class Added:
    """The result of an import.

    ``size`` is the Tsize of the root (block bytes of the whole DAG, as a parent
    link would record it); ``file_size`` the content bytes read (all files, for a
    directory); ``is_dir`` whether the root is a directory (basic or HAMT).
    """

    cid: CID
    size: int
    file_size: int
    is_dir: bool = False


@dataclass(frozen=True)
class _Link:
    cid_bytes: bytes
    tsize: int
    file_size: int


class _Emitter:
    """Hashes and names dag-pb nodes and hands them to the sink."""

    def __init__(self, profile: Profile, sink: BlockSink | None) -> None:
        self.profile = profile
        self.sink = sink

    def pb_node(
        self, node_links: list[tuple[bytes, bytes, int]], data: bytes, file_size: int = 0
    ) -> _Link:
        return self.emit_pb(_encode_pbnode(node_links, data), node_links, file_size)

    def emit_pb(
        self, block: bytes, node_links: list[tuple[bytes, bytes, int]], file_size: int
    ) -> _Link:
        cid_bytes = _cid_bytes(self.profile.cid_version, _DAG_PB, hashlib.sha256(block).digest())
        if self.sink is not None:
            self.sink(_make_cid(cid_bytes), block)
        return _Link(cid_bytes, len(block) + sum(t for _, _, t in node_links), file_size)


# --------------------------------------------------------------------------- files


def _leaf_frame(n: int) -> tuple[bytes, bytes]:
    """Prefix and suffix around a chunk of ``n`` bytes in a dag-pb UnixFS file leaf."""
    if n == 0:
        inner_head, inner_tail = b"\x08\x02", b"\x18\x00"
    else:
        inner_head = b"\x08\x02\x12" + _varint(n)
        inner_tail = b"\x18" + _varint(n)
    inner_len = len(inner_head) + n + len(inner_tail)
    return b"\x0a" + _varint(inner_len) + inner_head, inner_tail


_HashedLeaf = tuple[bytes, int, int, bytes | None]  # digest, tsize, file size, block


def _hash_leaves(chunks: list[bytes], raw: bool, keep: bool) -> list[_HashedLeaf]:
    out: list[_HashedLeaf] = []
    for chunk in chunks:
        if raw:
            out.append((hashlib.sha256(chunk).digest(), len(chunk), len(chunk), chunk))
            continue
        head, tail = _leaf_frame(len(chunk))
        h = hashlib.sha256(head)
        h.update(chunk)
        h.update(tail)
        size = len(head) + len(chunk) + len(tail)
        out.append((h.digest(), size, len(chunk), head + chunk + tail if keep else None))
    return out


class _FileBuilder:
    """Kubo's balanced layout, built bottom-up as leaves stream in.

    ``levels[i]`` holds the links of the open node whose children are at height i
    (leaves are height 0). A full node is closed only when one more child arrives, so
    a file of exactly ``max_links`` chunks gets a single root over all its leaves, and
    a lone last chunk still gets its own chain of parents, as in boxo's balanced builder.
    """

    def __init__(self, emitter: _Emitter) -> None:
        self.emitter = emitter
        self.max_links = emitter.profile.max_links
        self.levels: list[list[_Link]] = []

    def add_leaf(self, link: _Link) -> None:
        self._push(0, link)

    def _push(self, level: int, link: _Link) -> None:
        if level == len(self.levels):
            self.levels.append([])
        if len(self.levels[level]) == self.max_links:
            closed = self._close(level)
            self._push(level + 1, closed)
        self.levels[level].append(link)

    def _close(self, level: int) -> _Link:
        children = self.levels[level]
        self.levels[level] = []
        file_size = sum(c.file_size for c in children)
        data = b"\x08\x02\x18" + _varint(file_size)
        data += b"".join(b"\x20" + _varint(c.file_size) for c in children)
        return self.emitter.pb_node(
            [(c.cid_bytes, b"", c.tsize) for c in children], data, file_size
        )

    def finish(self) -> _Link | None:
        if not self.levels:
            return None
        if len(self.levels) == 1 and len(self.levels[0]) == 1:
            return self.levels[0][0]
        level = 0
        while True:
            link = self._close(level)
            if level + 1 == len(self.levels):
                return link
            self._push(level + 1, link)
            level += 1


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_BATCH_BYTES = 1 * MIB
_IN_FLIGHT = 3


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="datasoil-unixfs")
        return _POOL


def _forget_pool() -> None:
    # A forked child has none of the parent's threads: the pool it inherited would take
    # work and never run it (an add in the child hung for ever). It makes its own.
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _read_full(stream: BinaryIO, size: int) -> bytes:
    try:
        return read_full(stream, size)
    except BlockingIOError:
        raise UnreadableInput(
            "expected a blocking stream, found a non-blocking one with no data"
        ) from None


def _batches(stream: BinaryIO, chunk_size: int) -> Iterator[list[bytes]]:
    per_batch = max(1, _BATCH_BYTES // chunk_size)
    while True:
        batch: list[bytes] = []
        for _ in range(per_batch):
            chunk = _read_full(stream, chunk_size)
            if chunk:
                batch.append(chunk)
            if len(chunk) < chunk_size:
                if batch:
                    yield batch
                return
        yield batch


def _add_file_stream(
    stream: BinaryIO,
    profile: Profile,
    sink: BlockSink | None,
    progress: Callable[[int], None] | None,
) -> _Link:
    if profile.cid_version == 0 and profile.raw_leaves:
        raise ProfileError(f"profile {profile.name}: CIDv0 cannot address raw leaves")
    if profile.hash_function != "sha2-256":
        raise ProfileError(f"profile {profile.name}: only sha2-256 is supported")
    emitter = _Emitter(profile, sink)
    builder = _FileBuilder(emitter)
    raw = profile.raw_leaves
    keep = sink is not None
    leaf_codec = _RAW if raw else _DAG_PB

    def take(hashed: list[_HashedLeaf]) -> None:
        for digest, tsize, file_size, block in hashed:
            cid_bytes = _cid_bytes(profile.cid_version, leaf_codec, digest)
            if sink is not None:
                assert block is not None
                sink(_make_cid(cid_bytes), block)
            builder.add_leaf(_Link(cid_bytes, tsize, file_size))
            if progress is not None:
                progress(file_size)

    batches = _batches(stream, profile.chunk_size)
    first = next(batches, None)
    second = next(batches, None) if first is not None else None
    if second is None:
        # Small input: hash inline, no thread hand-off.
        if first is not None:
            take(_hash_leaves(first, raw, keep))
    else:
        assert first is not None
        pool = _pool()
        pending: deque[Future[list[_HashedLeaf]]] = deque()
        pending.append(pool.submit(_hash_leaves, first, raw, keep))
        pending.append(pool.submit(_hash_leaves, second, raw, keep))
        del first, second
        for batch in batches:
            while len(pending) >= _IN_FLIGHT:
                take(pending.popleft().result())
            pending.append(pool.submit(_hash_leaves, batch, raw, keep))
            del batch
        while pending:
            take(pending.popleft().result())

    root = builder.finish()
    if root is None:  # empty input: a single empty leaf
        hashed = _hash_leaves([b""], raw, keep)
        take(hashed)
        root = builder.finish()
        assert root is not None
    return root


def add_stream(
    stream: BinaryIO,
    profile: Profile,
    sink: BlockSink | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Added:
    """Import the bytes of ``stream`` as a UnixFS file and return its root.

    ``sink`` receives every block (leaves first, then each internal node as it closes).
    ``progress`` is called with the number of content bytes of each leaf.

    Raises :class:`ProfileError` for a profile that cannot be built, and lets the
    stream's own ``OSError`` through.
    """
    root = _add_file_stream(stream, profile, sink, progress)
    return Added(_make_cid(root.cid_bytes), root.tsize, root.file_size)


def add_bytes(data: bytes, profile: Profile, sink: BlockSink | None = None) -> Added:
    """Import ``data`` as a UnixFS file (see :func:`add_stream`)."""
    return add_stream(io.BytesIO(data), profile, sink)


# --------------------------------------------------------------------------- directories


def _hamt_hash(name: bytes) -> int:
    # boxo: spaolacci/murmur3 New64 (the first 64-bit half of x64_128, seed 0), big-endian.
    return int.from_bytes(mmh3.mmh3_x64_128_digest(name, 0)[:8], "little")


class _DirBuilder:
    def __init__(self, emitter: _Emitter) -> None:
        self.emitter = emitter
        self.profile = emitter.profile

    def build(self, entries: list[tuple[bytes, _Link]]) -> _Link:
        """A directory over ``entries`` (name, child): basic, or a HAMT past the threshold."""
        entries = sorted(entries, key=lambda e: e[0])
        node_links = [(c.cid_bytes, n, c.tsize) for n, c in entries]
        file_size = sum(c.file_size for _, c in entries)
        threshold = self.profile.hamt_threshold_bytes
        if self.profile.hamt_size_estimation == "links":
            estimate = sum(len(n) + len(c.cid_bytes) for n, c in entries)
            if 0 < threshold < estimate:
                return self._hamt([(_hamt_hash(n), n, c) for n, c in entries], 0)
            return self.emitter.pb_node(node_links, _DIR_DATA, file_size)
        # "block": the exact size of the basic directory block, which boxo computes
        # arithmetically (linkSerializedSize + dataFieldSerializedSize) and we measure.
        block = _encode_pbnode(node_links, _DIR_DATA)
        if 0 < threshold < len(block):
            del block
            return self._hamt([(_hamt_hash(n), n, c) for n, c in entries], 0)
        return self.emitter.emit_pb(block, node_links, file_size)

    def _hamt(self, entries: list[tuple[int, bytes, _Link]], depth: int) -> _Link:
        fanout = self.profile.hamt_fanout
        bits = fanout.bit_length() - 1
        if fanout < 8 or fanout != 1 << bits or fanout % 8:
            raise ProfileError(f"expected a HAMT fanout that is a power of 2 >= 8, found {fanout}")
        if (depth + 1) * bits > 64:
            raise UnreadableInput("sharded directory too deep: two names share a 64-bit hash")
        width = len(f"{fanout - 1:X}")
        shift = 64 - (depth + 1) * bits
        buckets: dict[int, list[tuple[int, bytes, _Link]]] = {}
        for entry in entries:
            buckets.setdefault((entry[0] >> shift) & (fanout - 1), []).append(entry)
        node_links: list[tuple[bytes, bytes, int]] = []
        bitfield = 0
        file_size = 0
        for index in sorted(buckets):
            bitfield |= 1 << index
            prefix = f"{index:0{width}X}".encode()
            group = buckets[index]
            if len(group) == 1:
                _, name, child = group[0]
                node_links.append((child.cid_bytes, prefix + name, child.tsize))
                file_size += child.file_size
            else:
                shard = self._hamt(group, depth + 1)
                node_links.append((shard.cid_bytes, prefix, shard.tsize))
                file_size += shard.file_size
        bf = bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big")
        data = (
            b"\x08\x05" + _len_field(0x12, bf) + b"\x28" + _varint(_MURMUR3_X64_64)
            + b"\x30" + _varint(fanout)
        )  # fmt: skip
        return self.emitter.pb_node(node_links, data, file_size)


def _symlink_link(target: bytes, emitter: _Emitter) -> _Link:
    return emitter.pb_node([], b"\x08\x04" + _len_field(0x12, target))


def _unreadable(path: Path, exc: OSError) -> UnreadableInput:
    reason = exc.strerror or type(exc).__name__
    return UnreadableInput(f"cannot read {path}: {reason}")


def _add_tree(
    path: Path,
    profile: Profile,
    sink: BlockSink | None,
    progress: Callable[[int], None] | None,
    known: Mapping[str, Added] | None = None,
) -> _Link:
    emitter = _Emitter(profile, sink)
    dirs = _DirBuilder(emitter)

    def add_dir(dir_path: Path, rel: str) -> _Link:
        try:
            with os.scandir(dir_path) as it:
                dir_entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            raise _unreadable(dir_path, exc) from exc
        children: list[tuple[bytes, _Link]] = []
        for entry in dir_entries:
            if entry.name.startswith("."):
                continue  # hidden files are left out, as `ipfs add -r` does without --hidden
            name = os.fsencode(entry.name)
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                raise UnreadableInput(
                    f"expected UTF-8 file names, found {name!r} in {dir_path}"
                ) from None
            child_rel = entry.name if rel == "." else f"{rel}/{entry.name}"
            children.append((name, add_entry(Path(entry.path), child_rel, follow=False)))
        return dirs.build(children)

    def add_entry(entry_path: Path, rel: str, *, follow: bool) -> _Link:
        try:
            st = entry_path.stat() if follow else entry_path.lstat()
        except OSError as exc:
            raise _unreadable(entry_path, exc) from exc
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.fsencode(os.readlink(entry_path))
            except OSError as exc:
                raise _unreadable(entry_path, exc) from exc
            return _symlink_link(target, emitter)
        if stat.S_ISDIR(st.st_mode):
            return add_dir(entry_path, rel)
        if stat.S_ISREG(st.st_mode):
            done = known.get(rel) if known is not None else None
            if done is not None:
                return _Link(bytes(done.cid), done.size, done.file_size)
            try:
                with open(entry_path, "rb", buffering=0) as f:
                    return _add_file_stream(f, profile, sink, progress)
            except OSError as exc:
                raise _unreadable(entry_path, exc) from exc
        raise UnreadableInput(
            f"expected a regular file, directory or symlink, found another kind at {entry_path}"
        )

    return add_entry(path, ".", follow=True)


def add_path(
    path: Path | str,
    profile: Profile,
    sink: BlockSink | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Added:
    """Import a file, or a directory recursively, as ``ipfs add [-r]`` would.

    In directories, names starting with ``.`` are left out, empty directories are
    kept and symbolic links become UnixFS symlink nodes; ``path`` itself is followed
    if it is a link.

    Raises :class:`UnreadableInput` for a missing or unreadable path, a special file,
    or a non-UTF-8 name; :class:`ProfileError` for a profile that cannot be built.
    """
    path = Path(path)
    root = _add_tree(path, profile, sink, progress)
    is_dir = path.is_dir()
    return Added(_make_cid(root.cid_bytes), root.tsize, root.file_size, is_dir)


def add_path_known(
    path: Path | str,
    profile: Profile,
    sink: BlockSink | None = None,
    *,
    known: Mapping[str, Added],
) -> Added:
    """:func:`add_path`, with some regular files already imported by the caller.

    ``known`` maps a file's path relative to ``path`` (POSIX form, ``"."`` for ``path``
    itself) to what :func:`add_stream` returned for its bytes under the same ``profile``;
    those files are linked as they are, neither read nor handed to ``sink`` again (their
    blocks went to the caller's sink when it imported them). Everything else is read as
    :func:`add_path` reads it, and the root is the one :func:`add_path` gives when every
    ``known`` entry is that file's import.

    Raises what :func:`add_path` raises.
    """
    path = Path(path)
    root = _add_tree(path, profile, sink, None, known)
    return Added(_make_cid(root.cid_bytes), root.tsize, root.file_size, path.is_dir())


# --------------------------------------------------------------------------- reading


def _fields(buf: bytes, what: str) -> Iterator[tuple[int, int, int | bytes]]:
    """Protobuf fields of ``buf`` as (number, wire type, value); varint and bytes only."""
    i, n = 0, len(buf)

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= n or shift > 63:
                raise InvalidBlock(f"expected a well-formed {what}, found a truncated varint")
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    while i < n:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 2:
            length = varint()
            if i + length > n:
                raise InvalidBlock(f"expected a well-formed {what}, found a truncated field")
            yield number, wire, buf[i : i + length]
            i += length
        elif wire == 5:
            if i + 4 > n:
                raise InvalidBlock(f"expected a well-formed {what}, found a truncated field")
            yield number, wire, buf[i : i + 4]
            i += 4
        else:
            raise InvalidBlock(f"expected a well-formed {what}, found wire type {wire}")


@dataclass(frozen=True)
class _PBLink:
    cid: bytes
    name: bytes
    tsize: int


def _decode_pb(block: bytes) -> tuple[bytes | None, list[_PBLink]]:
    data: bytes | None = None
    out: list[_PBLink] = []
    for number, wire, value in _fields(block, "dag-pb node"):
        if number == 1 and wire == 2:
            assert isinstance(value, bytes)
            data = value
        elif number == 2 and wire == 2:
            assert isinstance(value, bytes)
            cid, name, tsize = b"", b"", 0
            for ln, lw, lv in _fields(value, "dag-pb link"):
                if ln == 1 and lw == 2:
                    assert isinstance(lv, bytes)
                    cid = lv
                elif ln == 2 and lw == 2:
                    assert isinstance(lv, bytes)
                    name = lv
                elif ln == 3 and lw == 0:
                    assert isinstance(lv, int)
                    tsize = lv
            if not cid:
                raise InvalidBlock("expected every dag-pb link to carry a CID, found one without")
            out.append(_PBLink(cid, name, tsize))
        else:
            raise InvalidBlock(f"expected dag-pb fields 1 and 2, found field {number}")
    return data, out


@dataclass(frozen=True)
class _FSNode:
    type: int
    data: bytes
    file_size: int | None
    fanout: int
    hash_type: int


def _decode_unixfs(data: bytes | None) -> _FSNode:
    if data is None:
        raise InvalidBlock("expected a UnixFS node, found a dag-pb node without Data")
    typ: int | None = None
    content, file_size, fanout, hash_type = b"", None, 0, 0
    for number, wire, value in _fields(data, "UnixFS Data"):
        if number == 1 and wire == 0:
            assert isinstance(value, int)
            typ = value
        elif number == 2 and wire == 2:
            assert isinstance(value, bytes)
            content = value
        elif number == 3 and wire == 0:
            assert isinstance(value, int)
            file_size = value
        elif number == 5 and wire == 0:
            assert isinstance(value, int)
            hash_type = value
        elif number == 6 and wire == 0:
            assert isinstance(value, int)
            fanout = value
    if typ is None:
        raise InvalidBlock("expected a UnixFS Data.Type, found none")
    return _FSNode(typ, content, file_size, fanout, hash_type)


def _fetch(get_block: Callable[[CID], bytes], cid: CID) -> bytes:
    if cid.hashfun.name == "identity":
        return bytes(cid.raw_digest)
    block = get_block(cid)
    digest = cid.digest
    if digest[:2] == b"\x12\x20":
        ok = hashlib.sha256(block).digest() == digest[2:]
    else:
        ok = multihash.digest(block, cid.hashfun) == cid.digest
    if not ok:
        found = multihash.digest(block, cid.hashfun)
        raise CidMismatch(
            f"expected a block hashing to {cid}, found one hashing to "
            f"{CID(cid.base, cid.version, cid.codec, found)}"
        )
    return block


def _child_cid(raw: bytes) -> CID:
    try:
        return _make_cid(raw)
    except Exception as exc:
        raise InvalidBlock(f"expected a CID in a dag-pb link, found {raw.hex()}") from exc


def links(block: bytes, cid: CID) -> list[CID]:
    """Child CIDs of ``block`` (stored under ``cid``), in link order; ``[]`` for raw.

    The block is not hashed here (the caller fetched it and verified it, or is about to).
    Raises :class:`InvalidCid` for a codec other than raw and dag-pb, and
    :class:`InvalidBlock` for a malformed dag-pb block.
    """
    codec = cid.codec.name
    if codec == "raw":
        return []
    if codec != "dag-pb":
        raise InvalidCid(f"expected a raw or dag-pb CID, found codec {codec} in {cid}")
    _, pb_links = _decode_pb(block)
    return [_child_cid(link.cid) for link in pb_links]


def _file_pieces(get_block: Callable[[CID], bytes], cid: CID) -> Iterator[bytes]:
    block = _fetch(get_block, cid)
    codec = cid.codec.name
    if codec == "raw":
        yield block
        return
    if codec != "dag-pb":
        raise InvalidCid(f"expected a raw or dag-pb CID, found codec {codec} in {cid}")
    data, root_links = _decode_pb(block)
    node = _decode_unixfs(data)
    if node.type not in (_T_FILE, _T_RAW):
        raise InvalidBlock(f"expected a UnixFS file at {cid}, found UnixFS type {node.type}")
    expected = node.file_size
    total = len(node.data)
    if node.data:
        yield node.data
    stack = [_child_cid(link.cid) for link in reversed(root_links)]
    while stack:
        child = stack.pop()
        child_block = _fetch(get_block, child)
        child_codec = child.codec.name
        if child_codec == "raw":
            total += len(child_block)
            yield child_block
            continue
        if child_codec != "dag-pb":
            raise InvalidCid(f"expected a raw or dag-pb CID, found codec {child_codec} in {child}")
        child_data, child_links = _decode_pb(child_block)
        child_node = _decode_unixfs(child_data)
        if child_node.type not in (_T_FILE, _T_RAW):
            raise InvalidBlock(
                f"expected a UnixFS file block at {child}, found UnixFS type {child_node.type}"
            )
        if child_node.data:
            total += len(child_node.data)
            yield child_node.data
        stack.extend(_child_cid(link.cid) for link in reversed(child_links))
    if expected is not None and expected != total:
        raise InvalidBlock(f"expected {expected} bytes in the file {cid}, found {total}")


def cat(get_block: Callable[[CID], bytes], cid: CID) -> Iterator[bytes]:
    """Stream the content of the UnixFS file ``cid``, verifying every block.

    ``get_block`` returns the bytes stored under a CID (and raises its own error,
    e.g. :class:`~datasoil.errors.NotFound`, when it has none).

    Raises :class:`~datasoil.errors.CidMismatch` when a block does not hash to its
    CID, :class:`InvalidBlock` when the DAG is not a well-formed UnixFS file, and
    :class:`~datasoil.errors.InvalidCid` for an unsupported codec.
    """
    return _file_pieces(get_block, cid)


def _check_name(name: bytes, where: CID) -> str:
    if not name or name in (b".", b"..") or b"/" in name or b"\x00" in name:
        raise InvalidBlock(f"expected a plain file name in directory {where}, found {name!r}")
    return os.fsdecode(name)


def _dir_entries(
    get_block: Callable[[CID], bytes], cid: CID, block: bytes
) -> Iterator[tuple[str, CID]]:
    """(name, child) of a basic or HAMT directory whose root block is ``block``."""
    data, pb_links = _decode_pb(block)
    node = _decode_unixfs(data)
    if node.type == _T_DIRECTORY:
        for link in pb_links:
            yield _check_name(link.name, cid), _child_cid(link.cid)
        return
    if node.type != _T_HAMT:
        raise InvalidBlock(f"expected a UnixFS directory at {cid}, found UnixFS type {node.type}")
    if node.hash_type != _MURMUR3_X64_64 or node.fanout < 2:
        raise InvalidBlock(
            f"expected a murmur3-x64-64 HAMT at {cid}, "
            f"found hash type {node.hash_type:#x} and fanout {node.fanout}"
        )
    width = len(f"{node.fanout - 1:X}")
    for link in pb_links:
        if len(link.name) < width:
            raise InvalidBlock(f"expected HAMT link names of {width}+ bytes in {cid}")
        child = _child_cid(link.cid)
        if len(link.name) == width:
            shard_block = _fetch(get_block, child)
            yield from _dir_entries(get_block, child, shard_block)
        else:
            yield _check_name(link.name[width:], cid), child


def _kind(get_block: Callable[[CID], bytes], cid: CID) -> tuple[str, bytes | None]:
    """('file' | 'dir' | 'symlink', the fetched block when it was needed)."""
    if cid.codec.name == "raw":
        return "file", None
    block = _fetch(get_block, cid)
    if cid.codec.name != "dag-pb":
        raise InvalidCid(f"expected a raw or dag-pb CID, found codec {cid.codec.name} in {cid}")
    data, _ = _decode_pb(block)
    node = _decode_unixfs(data)
    if node.type in (_T_DIRECTORY, _T_HAMT):
        return "dir", block
    if node.type == _T_SYMLINK:
        return "symlink", block
    if node.type in (_T_FILE, _T_RAW):
        return "file", block
    raise InvalidBlock(f"expected a UnixFS file, directory or symlink at {cid}, found {node.type}")


def walk(get_block: Callable[[CID], bytes], cid: CID) -> Iterator[tuple[str, CID, bool]]:
    """Every entry under the directory ``cid`` as (relative path, CID, is_dir), depth first.

    HAMT shards are looked through (their entries appear as ordinary names); every
    block read is verified. Raises as :func:`cat` does, and :class:`InvalidBlock`
    when ``cid`` is not a directory or a name is not a plain file name.
    """
    kind, block = _kind(get_block, cid)
    if kind != "dir" or block is None:
        raise InvalidBlock(f"expected a UnixFS directory at {cid}, found a {kind}")
    stack: list[tuple[str, CID, bytes]] = [("", cid, block)]
    while stack:
        prefix, dir_cid, dir_block = stack.pop()
        subdirs: list[tuple[str, CID, bytes]] = []
        for name, child in _dir_entries(get_block, dir_cid, dir_block):
            rel = f"{prefix}{name}"
            child_kind, child_block = _kind(get_block, child)
            is_dir = child_kind == "dir"
            yield rel, child, is_dir
            if is_dir and child_block is not None:
                subdirs.append((rel + "/", child, child_block))
        stack.extend(reversed(subdirs))


def _export_into(get_block: Callable[[CID], bytes], cid: CID, target: Path) -> None:
    kind, block = _kind(get_block, cid)
    if kind == "file":
        with open(target, "xb") as f:
            for piece in cat(get_block, cid):
                f.write(piece)
    elif kind == "symlink":
        assert block is not None
        data, _ = _decode_pb(block)
        os.symlink(os.fsdecode(_decode_unixfs(data).data), target)
    else:
        assert block is not None
        target.mkdir()
        for name, child in _dir_entries(get_block, cid, block):
            _export_into(get_block, child, target / name)


def export(get_block: Callable[[CID], bytes], cid: CID, dest: Path | str) -> None:
    """Write the UnixFS file or directory ``cid`` to ``dest``, all or nothing.

    Everything is written under a temporary name next to ``dest`` and renamed into
    place once every block has been fetched and verified; on any error the temporary
    tree is removed and ``dest`` is left untouched.

    Raises :class:`~datasoil.errors.StoreError` if ``dest`` exists or cannot be
    written, and otherwise raises as :func:`cat` and :func:`walk` do.
    """
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        raise StoreError(f"expected {dest} not to exist, found it there")
    parent = dest.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise StoreError(f"cannot write into {parent}: {exc.strerror or exc}") from exc
    try:
        staged = tmp_dir / "content"
        _export_into(get_block, cid, staged)
        try:
            os.rename(staged, dest)
        except OSError as exc:
            raise StoreError(f"cannot move the export into {dest}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
