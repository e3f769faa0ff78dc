"""datasoil: verifiable AI training data on Ethereum.

The off-chain toolchain: content addressing (Kubo-identical CIDs), row encoding and
RFC 9162 row roots, storage backends, deterministic cleaning, attestations and
access delivery. See docs/ for the formats.
"""

from __future__ import annotations

from datasoil.errors import DatasoilError

__all__ = ["DatasoilError", "__version__"]

__version__ = "0.1.0"
