"""CARv1 files: the content-addressed archives every IPFS node imports as is.

A CARv1 is ``varint(len(header)) || header`` followed by one frame per block,
``varint(len(cid) + len(data)) || cid || data``, where the header is the DAG-CBOR map
``{"roots": [CID, ...], "version": 1}`` (https://ipld.io/specs/transport/car/carv1/).

The framing is written here with :mod:`multiformats.varint` and the header encoded and
decoded with libipld's DAG-CBOR codec. No maintained Python library writes CARs:
``libipld.decode_car`` only parses a whole CAR held in memory (the tests use it as the
independent reader), and the ``ipld-car`` package on PyPI is a single 0.0.1 release.
Reading streams frame by frame, so a CAR of any size is imported in bounded memory;
a CARv2 is read through its CARv1 payload.

Export walks each root depth-first, parents before children and each block once, the
order ``ipfs dag export`` writes.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import libipld
from multiformats import CID, varint

from datasoil._fs import atomic_writer, read_full
from datasoil.errors import StoreError
from datasoil.store.base import GetBlock, Store, block_links, verify_block

__all__ = [
    "CarError",
    "CarHeader",
    "encode_header",
    "export_car",
    "import_car",
    "iter_dag",
    "read_car",
    "write_car",
]

_CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")
_MAX_FRAME = 1 << 26  # 64 MiB: far above any IPFS block (Kubo refuses blocks over 2 MiB)


class CarError(StoreError, ValueError):
    """A CAR file is malformed: the message says where and what was expected."""


@dataclass(frozen=True)
class CarHeader:
    """The roots a CAR names and its format version."""

    roots: tuple[CID, ...]
    version: int = 1


def encode_header(roots: Iterable[CID]) -> bytes:
    """The length-prefixed CARv1 header naming ``roots``."""
    root_list = list(roots)
    header = libipld.encode_dag_cbor({"roots": [bytes(r) for r in root_list], "version": 1})
    # libipld encodes bytes that parse as a CID with tag 42 (the CID link); check that
    # every root came out as a link, not as a byte string.
    for root in root_list:
        if b"\xd8\x2a" + _cbor_bytes_head(len(bytes(root)) + 1) + b"\x00" + bytes(root) not in (
            header
        ):
            raise CarError(f"expected root {root} to encode as a DAG-CBOR link, it did not")
    return bytes(varint.encode(len(header))) + header


def _cbor_bytes_head(n: int) -> bytes:
    if n < 24:
        return bytes([0x40 | n])
    if n < 256:
        return bytes([0x58, n])
    return bytes([0x59]) + struct.pack(">H", n)


def _frame(cid: CID, data: bytes) -> bytes:
    raw = bytes(cid)
    return bytes(varint.encode(len(raw) + len(data))) + raw


def iter_dag(get_block: GetBlock, roots: Iterable[CID]) -> Iterator[tuple[CID, bytes]]:
    """Yield every block reachable from ``roots`` once, depth-first, parents first.

    Raises:
        NotFound: a block is missing. CidMismatch: a block does not match its CID.
    """
    seen: set[bytes] = set()
    for root in roots:
        stack = [root]
        while stack:
            cid = stack.pop()
            key = cid.digest + bytes(varint.encode(cid.codec.code))
            if key in seen:
                continue
            seen.add(key)
            data = get_block(cid)
            yield cid, data
            stack.extend(reversed(block_links(cid, data)))


def write_car(roots: Iterable[CID], blocks: Iterable[tuple[CID, bytes]], out: BinaryIO) -> int:
    """Write a CARv1 with ``roots`` and ``blocks`` (in the order given) to ``out``.

    Returns the number of bytes written.
    """
    written = out.write(encode_header(roots))
    for cid, data in blocks:
        written += out.write(_frame(cid, data))
        written += out.write(data)
    return written


def export_car(store: Store, roots: Iterable[CID], dest: Path | BinaryIO) -> int:
    """Write the DAGs under ``roots`` from ``store`` as a CARv1 to ``dest``.

    A path is written atomically (temporary file, fsync, rename): on error nothing is
    left. Returns the number of bytes written.

    Raises:
        NotFound: a block is missing. CidMismatch: a stored block was tampered with.
    """
    root_list = list(roots)
    blocks = iter_dag(store.get_block, root_list)
    if not isinstance(dest, str | os.PathLike):
        return write_car(root_list, blocks, dest)
    with atomic_writer(Path(dest)) as fh:
        return write_car(root_list, blocks, fh)


def _read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    buf = read_full(src, n)
    if len(buf) != n:
        raise CarError(f"truncated CAR: expected {n} bytes of {what}, found {len(buf)}")
    return buf


def _read_varint(src: BinaryIO, what: str) -> int | None:
    """Read an unsigned varint; ``None`` at a clean end of input."""
    value = 0
    for i in range(9):
        b = src.read(1)
        if not b:
            if i == 0:
                return None
            raise CarError(f"truncated CAR: the varint length of {what} ends mid-way")
        value |= (b[0] & 0x7F) << (7 * i)
        if not b[0] & 0x80:
            return value
    raise CarError(f"malformed CAR: the varint length of {what} is longer than 9 bytes")


def _read_header(src: BinaryIO) -> CarHeader:
    n = _read_varint(src, "the header")
    if n is None:
        raise CarError("empty input: expected a CAR header, found nothing")
    raw = _read_exact(src, n, "the header")
    try:
        header = libipld.decode_dag_cbor(raw)
    except ValueError as exc:
        raise CarError(f"malformed CAR header: expected DAG-CBOR, found {exc}") from exc
    if not isinstance(header, dict) or "version" not in header:
        raise CarError(f"malformed CAR header: expected a map with a version, found {header!r}")
    version = header["version"]
    if version not in (1, 2):
        raise CarError(f"unsupported CAR: expected version 1 or 2, found {version!r}")
    roots = header.get("roots", [])
    if version == 1 and (not isinstance(roots, list) or not roots):
        raise CarError("malformed CARv1 header: expected a non-empty list of roots")
    try:
        return CarHeader(tuple(_b32(CID.decode(bytes(r))) for r in roots), version)
    except (ValueError, KeyError, TypeError) as exc:
        raise CarError(f"malformed CAR header: a root is not a CID ({exc})") from exc


def read_car(
    src: BinaryIO, *, verify: bool = True
) -> tuple[CarHeader, Iterator[tuple[CID, bytes]]]:
    """Parse a CARv1 (or the CARv1 payload of a CARv2) from ``src``, streaming.

    Returns the header and an iterator of ``(cid, data)`` frames. With ``verify`` (the
    default) each block is checked against its CID as it is read.

    Raises:
        CarError: the input is not a well-formed CAR.
        CidMismatch: a block does not hash to the CID framed with it.
    """
    header = _read_header(src)
    if header.version == 2:
        # CARv2: 11-byte pragma (just read), then characteristics (16 bytes), data offset,
        # data size and index offset (little-endian u64 each), then the CARv1 payload.
        fixed = _read_exact(src, 40, "the CARv2 header")
        offset, size = struct.unpack("<QQ", fixed[16:32])
        skip = offset - len(_CARV2_PRAGMA) - 40
        if skip < 0:
            raise CarError(f"malformed CARv2: data offset {offset} points into its header")
        _read_exact(src, skip, "CARv2 padding")
        src = io.BufferedReader(_Limited(src, size))  # type: ignore[type-var]
        header = _read_header(src)
        if header.version != 1:
            raise CarError(f"malformed CARv2: expected a CARv1 payload, found v{header.version}")
    return header, _frames(src, verify)


class _Limited(io.RawIOBase):
    def __init__(self, src: BinaryIO, size: int) -> None:
        self._src = src
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._src.read(n)
        b[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _frames(src: BinaryIO, verify: bool) -> Iterator[tuple[CID, bytes]]:
    index = 0
    while True:
        n = _read_varint(src, f"block {index}")
        if n is None:
            return
        if n > _MAX_FRAME:
            raise CarError(f"malformed CAR: block {index} claims {n} bytes, above {_MAX_FRAME}")
        frame = _read_exact(src, n, f"block {index}")
        try:
            cid, rest = _split_cid(frame)
        except (ValueError, KeyError) as exc:
            raise CarError(
                f"malformed CAR: block {index} does not start with a CID ({exc})"
            ) from exc
        if verify:
            verify_block(cid, rest)
        yield cid, rest
        index += 1


def _b32(cid: CID) -> CID:
    """CIDv1 decoded from bytes default to base58btc; show them in base32 as Kubo does."""
    return cid.set(base="base32") if cid.version == 1 else cid


def _split_cid(frame: bytes) -> tuple[CID, bytes]:
    if frame[:2] == b"\x12\x20":  # CIDv0: a bare sha2-256 multihash
        return CID.decode(frame[:34]), frame[34:]
    buf = io.BytesIO(frame)
    for _ in range(2):  # version, codec
        varint.decode(buf)
    varint.decode(buf)  # multihash code
    length = varint.decode(buf)
    end = buf.tell() + length
    return _b32(CID.decode(frame[:end])), frame[end:]


def import_car(store: Store, src: Path | BinaryIO, *, pin: bool = True) -> tuple[CID, ...]:
    """Import every block of a CAR into ``store`` and pin its roots.

    Each block is verified against its CID before it is stored; the roots are pinned
    (recursively, so a root whose DAG is incomplete is refused) only after all blocks
    are in. Returns the roots.

    Raises:
        CarError: malformed CAR. CidMismatch: a block does not match its CID.
        NotFound: a root's DAG is not complete in the store after the import.
    """
    if isinstance(src, str | os.PathLike):
        with open(src, "rb") as fh:
            return import_car(store, fh, pin=pin)
    header, frames = read_car(src)
    bulk = getattr(store, "import_blocks", None)
    if bulk is not None:
        bulk(header.roots, frames, pin=pin)
        return header.roots
    for cid, data in frames:
        store.put_block(cid, data)
    if pin:
        for root in header.roots:
            store.pin(root)
    return header.roots
