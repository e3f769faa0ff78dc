"""datasoil: verifiable AI training data on Ethereum.

The off-chain toolchain, in layers (docs/architecture.md), each importing only from
the ones below it:

- :mod:`datasoil.formats`: CIDs and UnixFS, rows, RFC 9162 trees, fate records, recipes,
  Croissant, encryption (pure);
- :mod:`datasoil.store`: the embedded blockstore, Kubo, pinning services, CAR files;
- :mod:`datasoil.engine`: deterministic cleaning and quality reports;
- :mod:`datasoil.protocol`: metric sets, EIP-712 attestations, audit sampling and
  openings (pure);
- :mod:`datasoil.chain`: deployments, contracts, the registry client (through ape);
- :mod:`datasoil.flows`: publish, claims, access, load, attest, audit;
- :mod:`datasoil.app`: the `datasoil` command, the gateway, the node, the demo.

``datasoil.load(dataset_id)`` returns a registered dataset's verified rows as a
pyarrow Table (see :mod:`datasoil.flows.loader`). The modules people use are also
reachable by their short names (``datasoil.publish``, ``datasoil.rows``, …), imported
on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from datasoil.errors import DatasoilError

__all__ = ["DatasoilError", "__version__", "load"]

__version__ = "0.1.0"

# short name -> module, for `import datasoil; datasoil.publish.prepare(...)`
_MODULES = {
    "cid": "datasoil.formats.cid",
    "unixfs": "datasoil.formats.unixfs",
    "rows": "datasoil.formats.rows",
    "merkle": "datasoil.formats.merkle",
    "fate": "datasoil.formats.fate",
    "recipe": "datasoil.formats.recipe",
    "croissant": "datasoil.formats.croissant",
    "crypto": "datasoil.formats.crypto",
    "clean": "datasoil.engine.clean",
    "quality": "datasoil.engine.quality",
    "deployments": "datasoil.chain.deployments",
    "registry": "datasoil.chain.registry",
    "publish": "datasoil.flows.publish",
    "access": "datasoil.flows.access",
    "loader": "datasoil.flows.loader",
    "claims": "datasoil.flows.claims",
    "attest": "datasoil.flows.attest",
    "audit": "datasoil.flows.audit",
    "models": "datasoil.flows.models",
    "train": "datasoil.flows.train",
    "manifest": "datasoil.formats.manifest",
}


def __getattr__(name: str) -> Any:
    if name == "load":
        from datasoil.flows.loader import load

        return load
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    raise AttributeError(f"module 'datasoil' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_MODULES])
