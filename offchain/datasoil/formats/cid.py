"""CIDs as the contracts store them: a prefix word (version, codec) and a SHA-256 digest.

Parsing and encoding go through the ``multiformats`` library; this module only maps a
CID to the three fields the registry keeps and back, so a CIDv0 comes back as CIDv0
(base58btc) and a CIDv1 as base32, the forms Kubo prints.

>>> t = cid_to_tuple("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
>>> (t.version, t.codec)
(0, 112)
>>> str(t.to_cid())
'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from multiformats import CID, multihash

from datasoil.errors import InvalidCid

__all__ = [
    "DAG_CBOR",
    "DAG_PB",
    "RAW",
    "SHA2_256",
    "CidTuple",
    "cid_to_tuple",
    "parse_cid",
    "tuple_to_cid",
]

SHA2_256 = 0x12
DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71


@dataclass(frozen=True)
class CidTuple:
    """A CID as (version, codec, digest): the registry's `Cid` struct."""

    version: int
    codec: int
    digest: bytes

    def to_cid(self) -> CID:
        """Rebuild the CID (base58btc for v0, base32 for v1)."""
        mh = multihash.wrap(self.digest, "sha2-256")
        base = "base58btc" if self.version == 0 else "base32"
        try:
            return CID(base, self.version, self.codec, mh)
        except (KeyError, ValueError) as exc:
            raise InvalidCid(f"expected a valid CID from {self}, found {exc}") from exc

    @property
    def prefix(self) -> int:
        """The registry's prefix word: version in bits 64-71, codec in bits 0-63."""
        return (self.version << 64) | self.codec

    def as_abi(self) -> tuple[int, bytes]:
        """``IDatasetRegistry.PackedCid`` (prefix, digest), as the registry and CleaningProofs
        take and emit it."""
        return (self.prefix, self.digest)

    def as_struct(self) -> tuple[int, int, bytes]:
        """(version, codec, digest): ``IAttestations.SignedCid``, the readable EIP-712
        ``Cid`` type that signed attestations carry (only the Attestations contract)."""
        return (self.version, self.codec, self.digest)

    @classmethod
    def from_abi(cls, value: tuple[int, bytes] | list[Any] | tuple[Any, ...]) -> CidTuple:
        """Inverse of :meth:`as_abi` for a struct read from the chain."""
        prefix, digest = int(value[0]), bytes(value[1])
        return cls(prefix >> 64, prefix & ((1 << 64) - 1), digest)

    def __str__(self) -> str:
        return str(self.to_cid())


def parse_cid(value: str | CID) -> CID:
    """Parse a CID string; raise InvalidCid with a one-line reason if it is not one."""
    if isinstance(value, CID):
        return value
    try:
        return CID.decode(value.strip())
    except Exception as exc:  # multiformats raises several unrelated types
        raise InvalidCid(f"expected a CID (Qm… or b…), found {value!r}: {exc}") from exc


def cid_to_tuple(value: str | CID) -> CidTuple:
    """Split a CID into the registry's fields; only sha2-256 digests fit on chain."""
    cid = parse_cid(value)
    if cid.hashfun.code != SHA2_256 or len(cid.raw_digest) != 32:
        raise InvalidCid(
            f"expected a sha2-256 CID, found hash function {cid.hashfun.name} in {cid}"
        )
    return CidTuple(cid.version, cid.codec.code, bytes(cid.raw_digest))


def tuple_to_cid(version: int, codec: int, digest: bytes) -> CID:
    """Inverse of :func:`cid_to_tuple` for values read from the chain."""
    return CidTuple(int(version), int(codec), bytes(digest)).to_cid()
