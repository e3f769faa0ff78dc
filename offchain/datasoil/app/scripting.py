"""Support for the thin `ape run` scripts: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from datasoil.errors import DatasoilError

__all__ = ["friendly"]

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn a DatasoilError raised by ``func`` into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DatasoilError as exc:
            click.echo(f"ERROR: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
