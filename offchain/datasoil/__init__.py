"""datasoil: verifiable AI training data on Ethereum.

The off-chain toolchain: content addressing (Kubo-identical CIDs), row encoding and
RFC 9162 row roots, storage backends, deterministic cleaning, attestations and
access delivery. See docs/ for the formats.

``datasoil.load(dataset_id)`` returns a registered dataset's verified rows as a
pyarrow Table (see :mod:`datasoil.loader`); it is imported on first use.
"""

from __future__ import annotations

from typing import Any

from datasoil.errors import DatasoilError

__all__ = ["DatasoilError", "__version__", "load"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "load":
        from datasoil.loader import load

        return load
    raise AttributeError(f"module 'datasoil' has no attribute {name!r}")
