"""Reading files once for several consumers: publish's data pass.

The thread that reads a file (the caller's, the main thread in a script) hands each
block to the consumers that run inline — a SHA-256, the UnixFS chunker and a store's
sink, all in that thread, so Ctrl-C or a failing store stops everything at once and no
block is written after it — and, through a bounded in-memory :class:`Pipe`, to one
:class:`Parser` thread running the consumer that pulls from a stream (the row reader or
schema inference). Only the reading thread makes read system calls: each byte of a file
is read from disk once however many consumers it feeds.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["IterReader", "Parser", "Pipe", "Tee"]

_PIPE_BYTES = 8 << 20  # what a pipe holds before the reading thread waits for the parser
_STREAM_BUFFER = 1 << 20


class _Shut(Exception):
    """The other end of a pipe stopped (the reader failed or was interrupted)."""


class Pipe(io.RawIOBase):
    """A byte stream one thread writes block by block and another reads, bounded in memory.

    The writer's :meth:`put` waits while the pipe holds ``capacity`` bytes or more; the
    reader's reads wait for data. :meth:`end` marks the end of the stream (reads then
    drain what is left and return ``b""``), :meth:`shut` stops both sides (a read raises,
    a put returns ``False``).
    """

    def __init__(self, capacity: int = _PIPE_BYTES) -> None:
        super().__init__()
        self._capacity = capacity
        self._blocks: deque[memoryview] = deque()
        self._held = 0
        self._ended = False
        self._shut = False
        self._cond = threading.Condition()

    def readable(self) -> bool:
        return True

    def put(self, block: bytes) -> bool:
        """Append ``block``; ``False`` (and nothing kept) once the pipe is shut."""
        with self._cond:
            while self._held >= self._capacity and not self._shut:
                self._cond.wait()
            if self._shut:
                return False
            self._blocks.append(memoryview(block))
            self._held += len(block)
            self._cond.notify_all()
            return True

    def end(self) -> None:
        """No more blocks: the reader sees the end of the stream after the last one."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def shut(self) -> None:
        """Stop both ends: blocked and later reads raise, puts return ``False``."""
        with self._cond:
            self._shut = True
            self._blocks.clear()
            self._held = 0
            self._cond.notify_all()

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        out = memoryview(buffer).cast("B")
        with self._cond:
            while not self._blocks and not self._ended and not self._shut:
                self._cond.wait()
            if self._shut:
                raise _Shut("the pipe was shut")
            filled = 0
            while self._blocks and filled < len(out):
                head = self._blocks[0]
                n = min(len(head), len(out) - filled)
                out[filled : filled + n] = head[:n]
                filled += n
                if n == len(head):
                    self._blocks.popleft()
                else:
                    self._blocks[0] = head[n:]
            self._held -= filled
            self._cond.notify_all()
            return filled


Consume = Callable[[Iterator[tuple[Path, BinaryIO | None]]], None]


class Parser:
    """Runs ``consume`` on a thread over ``files`` as (path, stream or ``None``), in order.

    A file for which ``streamable`` is true comes as a stream fed by the reading thread
    (:meth:`feed`, then :meth:`end`); any other comes as ``None`` and ``consume`` reads it
    from its path. Use it as a context manager: leaving the block on an exception shuts
    every pipe and waits for the thread, so nothing runs on after it. :meth:`finish`
    waits for ``consume`` to return and raises what it raised.
    """

    def __init__(
        self, files: Sequence[Path], consume: Consume, streamable: Callable[[Path], bool]
    ) -> None:
        self._files = list(files)
        self._consume = consume
        self._pipes = {i: Pipe() for i, f in enumerate(self._files) if streamable(f)}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="datasoil-parser", daemon=True)

    def __enter__(self) -> Parser:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread.is_alive():  # left early: an error or Ctrl-C in the reading thread
            for pipe in self._pipes.values():
                pipe.shut()
            self._thread.join(timeout=60)

    def _streams(self) -> Iterator[tuple[Path, BinaryIO | None]]:
        for i, f in enumerate(self._files):
            pipe = self._pipes.get(i)
            if pipe is None:
                yield f, None
                continue
            yield f, io.BufferedReader(pipe, _STREAM_BUFFER)
            pipe.shut()  # what consume left unread of this file is not wanted

    def _run(self) -> None:
        try:
            self._consume(self._streams())
        except BaseException as exc:  # handed to the reading thread
            self._error = exc
        finally:
            for pipe in self._pipes.values():
                pipe.shut()

    def check(self) -> None:
        """Raise what ``consume`` raised, if it has failed already."""
        if self._error is not None:
            raise self._error

    def feed(self, index: int, block: bytes) -> None:
        """Hand the next ``block`` of file ``index`` to ``consume`` (if it streams that file).

        Raises what ``consume`` raised, once it has failed.
        """
        pipe = self._pipes.get(index)
        if pipe is not None and not pipe.put(block):
            self.check()

    def end(self, index: int) -> None:
        """File ``index`` has been read to its end."""
        pipe = self._pipes.get(index)
        if pipe is not None:
            pipe.end()

    def finish(self) -> None:
        """Wait for ``consume`` to return; raise what it raised."""
        for pipe in self._pipes.values():
            pipe.end()
        self._thread.join()
        self.check()


class Tee:
    """A reader over ``handle`` that also hashes what it reads and hands it to ``feed``.

    ``after`` is called after each read (publish reports the parser's progress there).
    ``size`` and :meth:`hexdigest` are the bytes read so far and their SHA-256.
    """

    def __init__(
        self,
        handle: BinaryIO,
        feed: Callable[[bytes], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self._handle = handle
        self._feed = feed
        self._after = after
        self._sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._handle.read(n)
        if data:
            self._sha.update(data)
            self.size += len(data)
            if self._feed is not None:
                self._feed(data)
        if self._after is not None:
            self._after()
        return data

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class IterReader:
    """``read(n)`` over an iterator of byte strings (e.g. a generator of ciphertext)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._current = memoryview(b"")
        self._pos = 0

    def read(self, n: int = -1, /) -> bytes:
        parts: list[memoryview] = []
        want = n
        while want != 0:
            if self._pos == len(self._current):
                piece = next(self._pieces, None)
                if piece is None:
                    break
                self._current, self._pos = memoryview(piece), 0
                continue
            take = len(self._current) - self._pos
            if want > 0:
                take = min(take, want)
                want -= take
            parts.append(self._current[self._pos : self._pos + take])
            self._pos += take
        return b"".join(parts)
