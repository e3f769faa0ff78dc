"""Progress of long runs, told to whoever shows it.

The engine (and the commands over it) say what they are doing and how far they got:
:func:`begin` a task with its total (rows, passes, shards or bytes; ``None`` when not
known before the end), :func:`advance` it as work is done. Nothing is shown unless a
:class:`Reporter` is installed with :func:`reporting` — the ``datasoil`` command and the
``ape run`` scripts install a progress bar on standard error (``datasoil.app.progress``);
library callers see nothing and pay one global read per batch. Reporting never changes
what is computed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Reporter", "advance", "begin", "reporting"]


class Reporter(Protocol):
    """Whoever shows progress: one task at a time, each begun with its total."""

    def begin(self, what: str, total: int | None, unit: str) -> None:
        """A new task: ``what`` in a few words, ``total`` units to do (None: unknown)."""

    def advance(self, done: int) -> None:
        """``done`` more units of the current task are done (from any thread)."""


_current: Reporter | None = None


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Install ``reporter`` (None: none) for the duration of the block."""
    global _current
    previous, _current = _current, reporter
    try:
        yield
    finally:
        _current = previous


def begin(what: str, total: int | None = None, unit: str = "rows") -> None:
    """Begin a task of ``total`` ``unit`` (rows, passes, shards, bytes)."""
    if _current is not None:
        _current.begin(what, total, unit)


def advance(done: int) -> None:
    """``done`` more units of the current task are done."""
    if _current is not None:
        _current.advance(done)
