"""The exceptions datasoil raises.

Every error datasoil raises derives from :class:`DatasoilError`; each subclass also
inherits the builtin it refines, so ``except ValueError`` keeps working for callers
that do not know datasoil. Messages say what was expected and what was found.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "BomError",
    "ChainError",
    "CidMismatch",
    "ConsentError",
    "CryptoError",
    "DatasoilError",
    "DeploymentError",
    "EncodingError",
    "InvalidCid",
    "ManifestError",
    "NotFound",
    "ProofError",
    "RecipeError",
    "SchemaError",
    "StoreError",
]


class DatasoilError(Exception):
    """Root of every error datasoil raises on purpose."""


class InvalidCid(DatasoilError, ValueError):
    """A string or byte sequence is not a CID datasoil accepts."""


class CidMismatch(DatasoilError, ValueError):
    """Content does not hash to the CID it was fetched or registered under."""


class NotFound(DatasoilError, LookupError):
    """A block, pin, dataset or deployment does not exist."""


class SchemaError(DatasoilError, ValueError):
    """Input does not fit (or cannot be given) an explicit schema."""


class EncodingError(DatasoilError, ValueError):
    """A value cannot be encoded under datasoil's row-encoding rules."""


class ProofError(DatasoilError, ValueError):
    """A Merkle proof or cleaning proof does not verify."""


class ManifestError(DatasoilError, ValueError):
    """A training manifest is malformed, or does not match its entries or its datasets."""


class BomError(DatasoilError, ValueError):
    """A bill of materials could not be built or did not validate."""


class ConsentError(DatasoilError, ValueError):
    """A withdrawal request, its proof or its answer is malformed or does not hold."""


class StoreError(DatasoilError, OSError):
    """A storage backend failed to store or return content."""


class BackendUnavailable(StoreError, ConnectionError):
    """A remote backend (Kubo RPC, pinning service, chain node) cannot be reached."""


class DeploymentError(DatasoilError, LookupError):
    """No usable deployment for the connected chain (none recorded, or the chain was reset)."""


class ChainError(DatasoilError, RuntimeError):
    """A transaction or call against the chain failed."""


class RecipeError(DatasoilError, ValueError):
    """A cleaning recipe is invalid; the message names the step and field."""


class CryptoError(DatasoilError, ValueError):
    """Decryption, authentication or key derivation failed."""
