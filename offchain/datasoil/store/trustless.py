"""What a Trustless Gateway answers, as blocks: path resolution, byte ranges, CAR scopes.

The IPFS Trustless Gateway specification
(https://specs.ipfs.tech/http-gateways/trustless-gateway/) lets a client that trusts
nobody fetch ``/ipfs/{cid}[/{path}]`` as one raw block or as a CAR of the blocks it
needs to verify what it asked for. This module decides *which* blocks those are, over
any :data:`~datasoil.store.base.GetBlock`; the HTTP server is :mod:`datasoil.app.gateway`.

Every block is verified against its CID (:func:`~datasoil.store.base.verify_block`)
before anything derived from it is returned, so a caller that streams what these
functions yield never sends an unverified byte.

- :func:`resolve` walks ``{cid}/{name}/...`` through UnixFS directories (HAMT shards
  included) and returns the terminal CID with the blocks the walk needed;
- :func:`file_size` and :func:`file_range` read a UnixFS file's length from its root
  block and stream any byte range of it, visiting only the blocks that cover the range
  (``Data.blocksizes`` tells which);
- :func:`car_blocks` lists the blocks of a CAR answer for ``dag-scope`` ``block``,
  ``entity`` or ``all`` and an ``entity-bytes`` range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from multiformats import CID

from datasoil.errors import DatasoilError, InvalidCid
from datasoil.formats import unixfs
from datasoil.store.base import GetBlock, as_cid, verify_block
from datasoil.store.car import iter_dag

__all__ = [
    "DagScope",
    "EntityBytes",
    "PathError",
    "Resolved",
    "car_blocks",
    "file_range",
    "file_size",
    "kind",
    "parse_entity_bytes",
    "resolve",
    "split_path",
]

DagScope = Literal["block", "entity", "all"]

# UnixFS Data field numbers and types (docs/formats/unixfs.md; the same as unixfs.py's).
_F_TYPE, _F_DATA, _F_FILESIZE, _F_BLOCKSIZES = 1, 2, 3, 4
_T_RAW, _T_DIRECTORY, _T_FILE, _T_SYMLINK, _T_HAMT = 0, 1, 2, 4, 5


class PathError(DatasoilError, LookupError):
    """A content path names nothing: no such entry, or a file used as a directory."""


@dataclass(frozen=True)
class Resolved:
    """The CID a content path ends at, the CIDs of its segments and the blocks walked."""

    cid: CID
    name: str
    roots: tuple[CID, ...]
    blocks: tuple[tuple[CID, bytes], ...]


@dataclass(frozen=True)
class EntityBytes:
    """An ``entity-bytes=from:to`` range as the request wrote it (``to`` None is ``*``)."""

    start: int
    stop: int | None

    def bounds(self, size: int) -> tuple[int, int]:
        """The half-open ``[first, end)`` it covers in an entity of ``size`` bytes.

        Negative values count from the end; the result is clamped to the entity and is
        empty (``first >= end``) when the range lies wholly outside it.
        """
        first = self.start + size if self.start < 0 else self.start
        last = size - 1 if self.stop is None else self.stop + size if self.stop < 0 else self.stop
        return max(first, 0), min(last + 1, size)


def parse_entity_bytes(value: str) -> EntityBytes:
    """Parse ``from:to`` (integers, negative from the end, ``to`` may be ``*``).

    Raises:
        ValueError: not of that form, or ``from`` after ``to`` when both are positive.

    >>> parse_entity_bytes("0:*"), parse_entity_bytes("-1024:*").bounds(4096)
    (EntityBytes(start=0, stop=None), (3072, 4096))
    """
    head, sep, tail = value.partition(":")
    try:
        start = int(head)
        stop = None if tail == "*" else int(tail)
    except ValueError:
        raise ValueError(f"expected entity-bytes=from:to, found {value!r}") from None
    if not sep or (stop is not None and start >= 0 and 0 <= stop < start):
        raise ValueError(f"expected entity-bytes=from:to with from <= to, found {value!r}")
    return EntityBytes(start, stop)


def split_path(path: str) -> tuple[CID, list[str]]:
    """``{cid}[/{name}...]`` (already URL-decoded) as the root CID and the names.

    Raises:
        InvalidCid: the first segment is not a CID.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise InvalidCid("expected /ipfs/{cid}[/{path}], found no CID")
    return as_cid(parts[0]), parts[1:]


def _verified(get_block: GetBlock) -> GetBlock:
    def get(cid: CID) -> bytes:
        if cid.hashfun.name == "identity":
            return bytes(cid.raw_digest)
        data = get_block(cid)
        verify_block(cid, data)
        return data

    return get


class _Recorder:
    """A verifying GetBlock that remembers, in order and once, every block it returned."""

    def __init__(self, get_block: GetBlock) -> None:
        self._get = _verified(get_block)
        self.blocks: dict[str, tuple[CID, bytes]] = {}

    def __call__(self, cid: CID) -> bytes:
        key = str(unixfs_key(cid))
        held = self.blocks.get(key)
        if held is not None:
            return held[1]
        data = self._get(cid)
        self.blocks[key] = (cid, data)
        return data


def unixfs_key(cid: CID) -> CID:
    """One key per block whatever the CID version or base (v0 and v1 dag-pb alike)."""
    return cid.set(version=1, base="base32") if cid.version == 0 else cid.set(base="base32")


def kind(get_block: GetBlock, cid: CID) -> str:
    """``file``, ``dir`` or ``symlink`` for a UnixFS CID; ``block`` for any other codec."""
    if cid.codec.name not in ("raw", "dag-pb"):
        return "block"
    found, _ = unixfs._kind(_verified(get_block), cid)
    return found


def resolve(get_block: GetBlock, root: CID, names: list[str]) -> Resolved:
    """Walk ``names`` from ``root`` through UnixFS directories, verifying every block.

    Raises:
        NotFound: a block is missing. CidMismatch: a block does not match its CID.
        PathError: a name is absent, or a segment before the last is not a directory.
    """
    rec = _Recorder(get_block)
    cid, roots = root, [root]
    for depth, name in enumerate(names):
        if cid.codec.name != "dag-pb" or unixfs._kind(rec, cid)[0] != "dir":
            walked = "/".join([str(root), *names[:depth]])
            raise PathError(f"expected a directory at /ipfs/{walked}, found a file")
        for entry, child in unixfs._dir_entries(rec, cid, rec(cid)):
            if entry == name:
                cid = child
                break
        else:
            walked = "/".join([str(root), *names[:depth]])
            raise PathError(f"the directory /ipfs/{walked} has no entry {name!r}")
        roots.append(cid)
    return Resolved(
        cid, names[-1] if names else str(root), tuple(roots), tuple(rec.blocks.values())
    )


@dataclass(frozen=True)
class _FileNode:
    data: bytes
    children: tuple[tuple[CID, int], ...]
    size: int


def _file_node(cid: CID, block: bytes) -> _FileNode:
    """A UnixFS file block's own bytes and its children with their sizes."""
    if cid.codec.name == "raw":
        return _FileNode(block, (), len(block))
    if cid.codec.name != "dag-pb":
        raise InvalidCid(f"expected a raw or dag-pb CID, found codec {cid.codec.name} in {cid}")
    pb_data, pb_links = unixfs._decode_pb(block)
    if pb_data is None:
        raise unixfs.InvalidBlock(f"expected a UnixFS node at {cid}, found no Data")
    typ, data, filesize, sizes = None, b"", None, []
    for number, _wire, value in unixfs._fields(pb_data, "UnixFS Data"):
        if number == _F_TYPE and isinstance(value, int):
            typ = value
        elif number == _F_DATA and isinstance(value, bytes):
            data = value
        elif number == _F_FILESIZE and isinstance(value, int):
            filesize = value
        elif number == _F_BLOCKSIZES and isinstance(value, int):
            sizes.append(value)
        elif number == _F_BLOCKSIZES and isinstance(value, bytes):  # packed
            sizes.extend(v for _n, _w, v in unixfs._fields(_packed(value), "blocksizes"))  # type: ignore[misc]
    if typ not in (_T_FILE, _T_RAW):
        raise unixfs.InvalidBlock(f"expected a UnixFS file at {cid}, found UnixFS type {typ}")
    if len(sizes) != len(pb_links):
        raise unixfs.InvalidBlock(
            f"expected a blocksize per link in {cid}, found {len(sizes)} for {len(pb_links)}"
        )
    total = len(data) + sum(sizes)
    if filesize is not None and filesize != total:
        raise unixfs.InvalidBlock(
            f"expected the file {cid} to hold its filesize {filesize}, its parts add to {total}"
        )
    children = tuple(
        (unixfs._child_cid(link.cid), size) for link, size in zip(pb_links, sizes, strict=True)
    )
    return _FileNode(data, children, total)


def _packed(value: bytes) -> bytes:
    """Re-key a packed repeated varint as unpacked fields, so one reader parses both."""
    out = bytearray()
    i = 0
    while i < len(value):
        out.append(0x08)  # field 1, varint
        while value[i] & 0x80:
            out.append(value[i])
            i += 1
        out.append(value[i])
        i += 1
    return bytes(out)


def file_size(get_block: GetBlock, cid: CID) -> int:
    """The length of the UnixFS file ``cid``, from its (verified) root block.

    Raises:
        NotFound, CidMismatch, InvalidBlock (not a UnixFS file), InvalidCid (codec).
    """
    return _file_node(cid, _verified(get_block)(cid)).size


def _walk_range(
    get_block: GetBlock, cid: CID, first: int, end: int
) -> Iterator[tuple[CID, bytes, bytes]]:
    """(cid, block, its bytes inside ``[first, end)``) for every block covering the range.

    Depth first, parents before children, the order bytes appear in the file. Each
    block's size is checked against what its parent declared.
    """
    get = _verified(get_block)
    stack: list[tuple[CID, int, int | None]] = [(cid, 0, None)]
    while stack:
        node_cid, offset, declared = stack.pop()
        block = get(node_cid)
        node = _file_node(node_cid, block)
        if declared is not None and node.size != declared:
            raise unixfs.InvalidBlock(
                f"expected {declared} bytes under {node_cid} (its parent's blocksize), "
                f"found {node.size}"
            )
        lo, hi = max(first - offset, 0), min(end - offset, len(node.data))
        yield node_cid, block, node.data[lo:hi] if lo < hi else b""
        child_at = offset + len(node.data)
        below: list[tuple[CID, int, int | None]] = []
        for child, size in node.children:
            if child_at < end and child_at + size > first:
                below.append((child, child_at, size))
            child_at += size
        stack.extend(reversed(below))


def file_range(get_block: GetBlock, cid: CID, first: int, end: int) -> Iterator[bytes]:
    """Stream bytes ``[first, end)`` of the UnixFS file ``cid``, each block verified
    before its bytes are yielded; only the blocks covering the range are read.

    Raises (while iterating) as :func:`file_size` does, and InvalidBlock when a block's
    size differs from what its parent declared.
    """
    for _cid, _block, piece in _walk_range(get_block, cid, first, end):
        if piece:
            yield piece


def car_blocks(
    get_block: GetBlock,
    resolved: Resolved,
    scope: DagScope = "all",
    entity_bytes: EntityBytes | None = None,
) -> Iterator[tuple[CID, bytes]]:
    """The blocks of a CAR answer: the path's blocks, then those ``scope`` selects.

    ``block``: the terminal block. ``entity``: a file's blocks (only those covering
    ``entity_bytes`` when given; a range wholly outside the file gives the root block
    alone), a directory's blocks with its HAMT shards but not its entries, any other
    block alone. ``all``: the whole DAG under the terminal CID. Each block once,
    depth first, parents first; every block verified.

    Raises (while iterating): NotFound, CidMismatch, InvalidBlock.
    """
    seen = {str(unixfs_key(c)) for c, _ in resolved.blocks}
    yield from resolved.blocks

    def once(blocks: Iterator[tuple[CID, bytes]]) -> Iterator[tuple[CID, bytes]]:
        for cid, data in blocks:
            key = str(unixfs_key(cid))
            if key not in seen:
                seen.add(key)
                yield cid, data

    cid, get = resolved.cid, _verified(get_block)
    if scope == "block":
        yield from once(iter([(cid, get(cid))]))
    elif scope == "all":
        yield from once(iter_dag(get, [cid]))
    else:
        what = kind(get_block, cid)
        if what == "file":
            first, end = 0, file_size(get_block, cid)
            if entity_bytes is not None:
                first, end = entity_bytes.bounds(end)
            if first >= end:
                yield from once(iter([(cid, get(cid))]))
            else:
                yield from once((c, b) for c, b, _ in _walk_range(get_block, cid, first, end))
        elif what == "dir":
            rec = _Recorder(get_block)
            for _entry in unixfs._dir_entries(rec, cid, rec(cid)):
                pass
            yield from once(iter(rec.blocks.values()))
        else:
            yield from once(iter([(cid, get(cid))]))
