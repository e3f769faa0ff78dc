"""Every path and environment variable datasoil reads, in one place.

``DATASOIL_HOME`` (default ``.datasoil`` in the working directory) holds all of a user's
state, so pointing it elsewhere moves everything at once — deployments, content keys,
keeper state, background services and the embedded IPFS store:

- deployment records: ``$DATASOIL_HOME/deployments/``;
- content keys (owners): ``$DATASOIL_HOME/keys/``;
- keeper state: ``$DATASOIL_HOME/keepers/``;
- background services: ``$DATASOIL_HOME/run/``;
- the embedded IPFS blockstore: ``$DATASOIL_HOME/ipfs/``, or ``DATASOIL_IPFS_PATH``;
- the event index, one SQLite file per chain: ``$DATASOIL_HOME/index/``;

and the remote services, by environment only: ``DATASOIL_IPFS_API`` (a Kubo RPC URL: use
that node instead of the embedded store), ``DATASOIL_PINNING_ENDPOINT`` and
``DATASOIL_PINNING_TOKEN`` (a Pinning Service API), ``DATASOIL_PINNING_SERVICES``
(named Pinning Service API endpoints, ``NAME=URL,...``, each with its token in
``DATASOIL_PINNING_TOKEN_<NAME>``) and ``DATASOIL_GATEWAYS`` (trustless gateways to fetch
from, comma-separated, tried in order), ``DATASOIL_HTTP_GATEWAY`` (the gateway that
published Croissant ``contentUrl``s point at; default ``https://ipfs.io``). Every function
reads the environment when called, so a test or a notebook can change it between calls.
"""

from __future__ import annotations

import os
from pathlib import Path

from datasoil.errors import ChainError

__all__ = [
    "DEFAULT_HTTP_GATEWAY",
    "GATEWAYS_ENV",
    "HOME_ENV",
    "HTTP_GATEWAY_ENV",
    "IPFS_API_ENV",
    "IPFS_PATH_ENV",
    "LOG_RANGE_ENV",
    "PINNING_ENDPOINT_ENV",
    "PINNING_SERVICES_ENV",
    "PINNING_TOKEN_ENV",
    "deployments_dir",
    "gateways",
    "home",
    "http_gateway",
    "index_dir",
    "index_path",
    "ipfs_api",
    "ipfs_path",
    "keepers_dir",
    "keys_dir",
    "log_range",
    "pinning_service",
    "run_dir",
]

HOME_ENV = "DATASOIL_HOME"
IPFS_PATH_ENV = "DATASOIL_IPFS_PATH"
IPFS_API_ENV = "DATASOIL_IPFS_API"
PINNING_ENDPOINT_ENV = "DATASOIL_PINNING_ENDPOINT"
PINNING_TOKEN_ENV = "DATASOIL_PINNING_TOKEN"
LOG_RANGE_ENV = "DATASOIL_LOG_RANGE"

#: Blocks per ``eth_getLogs`` when ``DATASOIL_LOG_RANGE`` is not set.
DEFAULT_LOG_RANGE = 2000
PINNING_SERVICES_ENV = "DATASOIL_PINNING_SERVICES"
GATEWAYS_ENV = "DATASOIL_GATEWAYS"
HTTP_GATEWAY_ENV = "DATASOIL_HTTP_GATEWAY"

#: Where published ``contentUrl``s point when ``DATASOIL_HTTP_GATEWAY`` is unset.
DEFAULT_HTTP_GATEWAY = "https://ipfs.io"

#: The state directory when ``DATASOIL_HOME`` is not set (relative to the working directory).
DEFAULT_HOME = Path(".datasoil")


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def home() -> Path:
    """The state directory: ``$DATASOIL_HOME``, else ``.datasoil``."""
    return Path(_env(HOME_ENV) or DEFAULT_HOME)


def deployments_dir() -> Path:
    """Deployment records, one per chain (docs/decisions.md)."""
    return home() / "deployments"


def keys_dir() -> Path:
    """Content keys of the private datasets this machine's owner published."""
    return home() / "keys"


def keepers_dir() -> Path:
    """Keeper state, one file per chain, market and account."""
    return home() / "keepers"


def run_dir() -> Path:
    """Pid files of the background services `make demo` / `make web` start."""
    return home() / "run"


def ipfs_path() -> Path:
    """The embedded blockstore: ``$DATASOIL_IPFS_PATH``, else ``$DATASOIL_HOME/ipfs``."""
    return Path(_env(IPFS_PATH_ENV)) if _env(IPFS_PATH_ENV) else home() / "ipfs"


def ipfs_api() -> str | None:
    """The Kubo RPC URL to use instead of the embedded store, if ``DATASOIL_IPFS_API`` is set."""
    return _env(IPFS_API_ENV) or None


def gateways() -> list[str]:
    """Trustless gateway base URLs to fetch from, in order (``DATASOIL_GATEWAYS``)."""
    return [g.strip() for g in _env(GATEWAYS_ENV).split(",") if g.strip()]


def http_gateway() -> str:
    """The HTTP gateway published ``contentUrl``s name: ``$DATASOIL_HTTP_GATEWAY``, else ipfs.io.

    It is part of the metadata, so the same data published under another gateway gets
    another metadata CID (the content CID and row root do not change).
    """
    return (_env(HTTP_GATEWAY_ENV) or DEFAULT_HTTP_GATEWAY).rstrip("/")


def pinning_service(name: str) -> tuple[str, str] | None:
    """The endpoint and token of the Pinning Service API called ``name``, if configured.

    ``DATASOIL_PINNING_SERVICES`` lists ``NAME=URL`` pairs, comma-separated; the token is
    ``DATASOIL_PINNING_TOKEN_<NAME>`` (upper case, other characters as ``_``), else
    ``DATASOIL_PINNING_TOKEN``. The name ``default`` also means ``DATASOIL_PINNING_ENDPOINT``.
    Returns None when ``name`` is not configured; the token may be empty (unset).
    """
    endpoints: dict[str, str] = {}
    if _env(PINNING_ENDPOINT_ENV):
        endpoints["default"] = _env(PINNING_ENDPOINT_ENV)
    for item in _env(PINNING_SERVICES_ENV).split(","):
        key, sep, url = item.partition("=")
        if sep and key.strip() and url.strip():
            endpoints[key.strip()] = url.strip()
    if name not in endpoints:
        return None
    suffix = "".join(c if c.isalnum() else "_" for c in name.upper())
    token = _env(f"{PINNING_TOKEN_ENV}_{suffix}") or _env(PINNING_TOKEN_ENV)
    return endpoints[name], token


def index_dir() -> Path:
    """The event index: one SQLite file per chain (docs/networks.md)."""
    return home() / "index"


def index_path(chain_id: int, genesis: str) -> Path:
    """The event index of the chain ``chain_id`` with genesis hash ``genesis``."""
    return index_dir() / f"{int(chain_id)}-{genesis.lower().removeprefix('0x')[:16]}.sqlite"


def log_range() -> int:
    """The most blocks one ``eth_getLogs`` asks for: ``$DATASOIL_LOG_RANGE``, else 2,000.

    Raises ChainError for a value that is not a positive whole number.
    """
    raw = _env(LOG_RANGE_ENV)
    if not raw:
        return DEFAULT_LOG_RANGE
    try:
        value = int(raw.replace(",", "").replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ChainError(
            f"expected {LOG_RANGE_ENV} to be a positive number of blocks, found {raw!r}"
        )
    return value
