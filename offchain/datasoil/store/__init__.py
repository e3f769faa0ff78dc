"""Storage backends behind one interface (:class:`~datasoil.store.base.Store`).

- :class:`~datasoil.store.local.LocalStore`: the embedded default, a directory of blocks
  (``.datasoil/ipfs``) with pins, garbage collection and CAR export/import.
- :class:`~datasoil.store.kubo.KuboStore`: a Kubo RPC node (``DATASOIL_IPFS_API``).
- :class:`~datasoil.store.pinning.PinningService`: a Pinning Service API endpoint.

:func:`open_store` returns the one the environment asks for. Every block read from any
backend is verified against its CID before use.
"""

from __future__ import annotations

from pathlib import Path

from datasoil import config
from datasoil.store.base import Store, resolve_profile, verify_block
from datasoil.store.car import export_car, import_car, read_car, write_car
from datasoil.store.kubo import KuboStore
from datasoil.store.local import BrokenPin, GcResult, LocalStore, VerifyResult
from datasoil.store.pinning import PinningService, PinStatus

__all__ = [
    "BrokenPin",
    "GcResult",
    "KuboStore",
    "LocalStore",
    "PinStatus",
    "PinningService",
    "Store",
    "VerifyResult",
    "export_car",
    "import_car",
    "open_store",
    "read_car",
    "resolve_profile",
    "verify_block",
    "write_car",
]


def open_store(root: Path | None = None) -> Store:
    """The store the environment asks for (:mod:`datasoil.config`).

    ``DATASOIL_IPFS_API`` set: a :class:`~datasoil.store.kubo.KuboStore` at that URL.
    Otherwise a :class:`~datasoil.store.local.LocalStore` at ``root``, else at
    :func:`datasoil.config.ipfs_path` (``DATASOIL_IPFS_PATH``, else ``$DATASOIL_HOME/ipfs``).
    """
    api = config.ipfs_api()
    if api:
        return KuboStore(api)
    return LocalStore(root if root is not None else config.ipfs_path())
