"""Progress bars on standard error for the long commands (rich, as ``ape run publish``).

:func:`progress_options` gives a command ``--progress/--no-progress`` and ``--quiet``;
:func:`shown` installs a bar as the engine's reporter (:mod:`datasoil.engine.progress`)
for the duration of the command. A bar is drawn only when standard error is a terminal,
or with ``--progress``; ``--no-progress`` and ``--quiet`` turn it off. Standard output,
which scripts and tests parse, is never written to. :class:`CountingStore` counts the
bytes of the blocks a store hands over or takes, for the commands that move blocks
(``car``, ``fetch``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from datasoil.engine import progress

__all__ = ["Bar", "CountingStore", "progress_options", "shown"]


def progress_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--progress/--no-progress`` (``progress``: True, False or None for "only on a
    terminal") and ``--quiet`` (``quiet``) to a command."""

    quiet = click.option("--quiet", "quiet", is_flag=True, help="No bar (as --no-progress).")
    fn = quiet(fn)
    return click.option(
        "--progress/--no-progress",
        "progress",
        default=None,
        help="Draw a progress bar on stderr (default: only when stderr is a terminal).",
    )(fn)


def wanted(flag: bool | None, quiet: bool = False) -> bool:
    """Whether to draw: ``--quiet`` and ``--no-progress`` win, then ``--progress``, then
    whether standard error is a terminal."""
    if quiet or flag is False:
        return False
    return bool(flag) or sys.stderr.isatty()


class Bar:
    """A :class:`datasoil.engine.progress.Reporter` drawing one rich bar per task:
    done of total, rate and time left (elapsed time when the total is unknown)."""

    def __init__(self, *, force: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True, force_terminal=True if force else None)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            TextColumn("{task.fields[done]}"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            refresh_per_second=4,
        )
        self._task: Any = None
        self._unit = "rows"
        self._done = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def begin(self, what: str, total: int | None, unit: str) -> None:
        with self._lock:
            if self._task is not None:  # the last task is over: show it whole
                end = max(self._done, 1)
                self._progress.update(self._task, total=end, completed=end)
            self._task = self._progress.add_task(what, total=total, done="")
            self._unit, self._done = unit, 0

    def advance(self, done: int) -> None:
        with self._lock:
            if self._task is None:
                return
            self._done += done
            task = self._progress.tasks[-1]
            elapsed = task.elapsed or 0.0
            rate = self._done / elapsed if elapsed > 0 else 0.0
            u = self._unit
            of = "" if task.total is None else f" of {_amount(int(task.total), u)}"
            unit = "" if u == "bytes" else f" {u}"
            text = f"{_amount(self._done, u)}{of}{unit}, {_amount(int(rate), u)}{unit}/s"
            self._progress.update(self._task, advance=done, done=text)


def _amount(n: int, unit: str) -> str:
    """``n`` for a bar: bytes in binary units, counts with thousands separators."""
    if unit != "bytes":
        return f"{n:,}"
    size, suffix = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size, suffix = size / 1024, bigger
    return f"{n} B" if suffix == "B" else f"{size:.1f} {suffix}"


@contextmanager
def shown(flag: bool | None, quiet: bool = False) -> Iterator[None]:
    """A bar on standard error for the block when :func:`wanted`, else nothing."""
    if not wanted(flag, quiet):
        yield
        return
    with Bar(force=bool(flag)) as bar, progress.reporting(bar):
        yield


class CountingStore:
    """A store that tells :mod:`datasoil.engine.progress` the bytes of every block it
    hands over (``get_block``) or takes (``put_block``); everything else is the store's."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def get_block(self, cid: Any) -> bytes:
        data: bytes = self._store.get_block(cid)
        progress.advance(len(data))
        return data

    def put_block(self, cid: Any, data: bytes) -> None:
        self._store.put_block(cid, data)
        progress.advance(len(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
