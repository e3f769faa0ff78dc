"""Storage backends behind one interface (:class:`~datasoil.store.base.Store`).

- :class:`~datasoil.store.local.LocalStore`: the embedded default, a directory of blocks
  (``.datasoil/ipfs``) with pins, garbage collection and CAR export/import.
- :class:`~datasoil.store.kubo.KuboStore`: a Kubo RPC node (``DATASOIL_IPFS_API``).
- :class:`~datasoil.store.pinning.PinningService`: a Pinning Service API endpoint.

:func:`open_store` returns the one the environment asks for. Every block read from any
backend is verified against its CID before use.
"""

from __future__ import annotations

from datasoil.store.base import Store, open_store, resolve_profile, verify_block
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
