"""Every path and environment variable datasoil reads, in one place.

``DATASOIL_HOME`` (default ``.datasoil`` in the working directory) holds all of a user's
state, so pointing it elsewhere moves everything at once — deployments, content keys,
keeper state, background services and the embedded IPFS store:

- deployment records: ``$DATASOIL_HOME/deployments/``;
- content keys (owners): ``$DATASOIL_HOME/keys/``;
- keeper state: ``$DATASOIL_HOME/keepers/``;
- background services: ``$DATASOIL_HOME/run/``;
- the embedded IPFS blockstore: ``$DATASOIL_HOME/ipfs/``, or ``DATASOIL_IPFS_PATH``;

and the remote services, by environment only: ``DATASOIL_IPFS_API`` (a Kubo RPC URL: use
that node instead of the embedded store), ``DATASOIL_PINNING_ENDPOINT`` and
``DATASOIL_PINNING_TOKEN`` (a Pinning Service API). Every function reads the environment
when called, so a test or a notebook can change it between calls.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "HOME_ENV",
    "IPFS_API_ENV",
    "IPFS_PATH_ENV",
    "PINNING_ENDPOINT_ENV",
    "PINNING_TOKEN_ENV",
    "deployments_dir",
    "home",
    "ipfs_api",
    "ipfs_path",
    "keepers_dir",
    "keys_dir",
    "run_dir",
]

HOME_ENV = "DATASOIL_HOME"
IPFS_PATH_ENV = "DATASOIL_IPFS_PATH"
IPFS_API_ENV = "DATASOIL_IPFS_API"
PINNING_ENDPOINT_ENV = "DATASOIL_PINNING_ENDPOINT"
PINNING_TOKEN_ENV = "DATASOIL_PINNING_TOKEN"

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
