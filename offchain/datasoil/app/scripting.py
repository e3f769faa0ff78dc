"""Support for the thin `ape run` scripts: one-line errors instead of tracebacks.

:func:`friendly` turns a DatasoilError raised by a command into one line; a command of
class :class:`ChainCommand` (ape's ``ConnectedProviderCommand``) also says in one line
why the network could not be connected (``--network ethereum:sepolia`` with
``SEPOLIA_RPC_URL`` unset, a node that does not answer) instead of ape's traceback.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from ape.cli import ConnectedProviderCommand

from datasoil.chain.events import retry_rate_limits
from datasoil.errors import DatasoilError

__all__ = ["ChainCommand", "friendly", "network_error"]

F = TypeVar("F", bound=Callable[..., Any])

_UNSET_VARIABLE = re.compile(r"Invalid (\w+): \$\{(\w+)\}")


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


def network_error(exc: BaseException, network: str) -> str:
    """One sentence for a failed connection to ``network``.

    >>> network_error(ValueError("Invalid uri: ${SEPOLIA_RPC_URL}"), "ethereum:sepolia")
    'expected an RPC URL for ethereum:sepolia in $SEPOLIA_RPC_URL (ape-config.yaml), found it unset: export SEPOLIA_RPC_URL=https://…'
    """  # noqa: E501
    text = str(getattr(exc, "message", None) or exc).strip()
    if found := _UNSET_VARIABLE.search(text):
        variable = found.group(2)
        return (
            f"expected an RPC URL for {network} in ${variable} (ape-config.yaml), found it "
            f"unset: export {variable}=https://…"
        )
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"expected to connect to {network}, found: {first}"


def _choice(ctx: click.Context) -> str:
    value = ctx.params.get("network")
    network = getattr(value, "network", None)
    if network is not None:
        return str(getattr(network, "choice", None) or f"{network.ecosystem.name}:{network.name}")
    return str(value or "the default network")


class ChainCommand(ConnectedProviderCommand):
    """ape's ``ConnectedProviderCommand``, saying in one line why it could not connect."""

    def invoke(self, ctx: click.Context) -> Any:
        from ape.cli.commands import parse_network

        if self.callback is None:
            return None
        retry_rate_limits()
        with contextlib.ExitStack() as stack:
            provider = None
            try:
                network_ctx = parse_network(ctx)
                if network_ctx is not None:
                    provider = stack.enter_context(network_ctx)
            except (click.exceptions.Exit, click.ClickException):
                raise
            except Exception as exc:  # ape raises ConfigError, ProviderError and others
                click.echo(f"ERROR: {network_error(exc, _choice(ctx))}", err=True)
                sys.exit(1)
            return self._invoke(ctx, provider=provider)
