"""Files written whole or not at all, and reads that loop over short reads.

One home for what publish, the store, CAR export, decryption, key files and deployment
records all need: a crash, a Ctrl-C or a failed check never leaves a half-written file
under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["Reader", "atomic_writer", "fsync_dir", "read_full", "write_atomic"]


class Reader(Protocol):
    """Anything with a binary ``read(n)`` (files, sockets' makefile, BytesIO)."""

    def read(self, n: int = -1, /) -> bytes | None: ...


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: Path | str, *, mode: int | None = None, prefix: str | None = None, sync: bool = True
) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the ``with`` block completes.

    The data goes to a temporary file beside ``path`` (``prefix`` names it, default
    ``.<name>.``; ``.part`` suffix), which is fsynced (unless ``sync`` is false) and renamed
    over ``path``; on any exception the temporary file is removed and ``path`` is left as it
    was. ``mode`` sets the file's permissions before anything is written (e.g. 0o600).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=prefix if prefix is not None else f".{path.name}.",
        suffix=".part",
        dir=path.parent if str(path.parent) else ".",
    )
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(
    path: Path | str,
    data: bytes | Iterable[bytes],
    *,
    mode: int | None = None,
    prefix: str | None = None,
    sync: bool = True,
) -> None:
    """Write ``data`` (bytes, or chunks) to ``path`` whole or not at all (:func:`atomic_writer`)."""
    with atomic_writer(path, mode=mode, prefix=prefix, sync=sync) as out:
        if isinstance(data, bytes | bytearray | memoryview):
            out.write(data)
        else:
            for chunk in data:
                out.write(chunk)


def read_full(reader: Reader, n: int) -> bytes:
    """Read ``n`` bytes, looping over short reads; fewer only at the end of the stream.

    Raises BlockingIOError for a non-blocking stream that has no data (``read`` gave None).

    >>> import io
    >>> read_full(io.BytesIO(b"abcdef"), 4), read_full(io.BytesIO(b"ab"), 4)
    (b'abcd', b'ab')
    """
    parts: list[bytes] = []
    got = 0
    while got < n:
        more = reader.read(n - got)
        if more is None:
            raise BlockingIOError(
                "expected a blocking stream, found a non-blocking one with no data"
            )
        if not more:
            break
        parts.append(bytes(more))
        got += len(more)
    return b"".join(parts)
