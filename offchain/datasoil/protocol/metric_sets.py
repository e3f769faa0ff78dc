"""The metric-set ids attestations are filed under (docs/attestations.md), one home.

- quality: ``keccak256("datasoil.quality.v1")`` — the version string of docs/quality.md,
  which the engine's quality report defines;
- reproduction of cleaning claim ``c``: ``keccak256("datasoil.reproduction.v1" ‖ c)``, ``c``
  a uint256, 32 bytes big-endian — a full re-execution that recomputed every root;
- partial reproduction: the same with ``"datasoil.reproduction.partial.v1"`` — a sample, or
  a private child checked without its key.

The contracts compute the full reproduction id too (``reproduction_metric_set`` in
Attestations and CleaningProofs); the tests check both agree with this module.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from datasoil.errors import DatasoilError

__all__ = [
    "PARTIAL_REPRODUCTION_PREFIX",
    "REPRODUCTION_PREFIX",
    "quality_metric_set",
    "reproduction_metric_set",
]

REPRODUCTION_PREFIX = b"datasoil.reproduction.v1"
PARTIAL_REPRODUCTION_PREFIX = b"datasoil.reproduction.partial.v1"
_U256 = (1 << 256) - 1


class MetricSetError(DatasoilError, ValueError):
    """A claim id that is not a uint256."""


def quality_metric_set() -> bytes:
    """``keccak256("datasoil.quality.v1")``: the version string of the quality report's
    metric definitions (:data:`datasoil.engine.quality.METRIC_SET`).

    >>> quality_metric_set().hex()[:8]
    '9ef9b070'
    """
    from datasoil.engine.quality import METRIC_SET

    return keccak(text=METRIC_SET)


def reproduction_metric_set(claim_id: int, *, partial: bool = False) -> bytes:
    """The metric set of (full, or with ``partial`` partial) reproductions of claim ``claim_id``.

    >>> reproduction_metric_set(1).hex()[:16]
    '1dc67af0f9035e7d'

    Raises MetricSetError if ``claim_id`` is not a uint256.
    """
    if not 0 <= claim_id <= _U256:
        raise MetricSetError(f"expected a claim id in 0..2^256-1, found {claim_id}")
    prefix = PARTIAL_REPRODUCTION_PREFIX if partial else REPRODUCTION_PREFIX
    return keccak(prefix + int(claim_id).to_bytes(32, "big"))
