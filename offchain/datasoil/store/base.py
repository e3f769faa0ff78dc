"""The storage interface every backend implements, and the checks they share.

A :class:`Store` holds IPFS blocks keyed by CID. datasoil computes every CID itself
(:mod:`datasoil.formats.unixfs`), so a backend only stores and returns bytes; every block that
comes back is hashed again and compared with its CID before anyone sees it
(:func:`verify_block`), whichever backend it came from.

:func:`open_store` picks the backend from the environment: ``DATASOIL_IPFS_API`` set
means a Kubo RPC node (:class:`~datasoil.store.kubo.KuboStore`), otherwise the embedded
:class:`~datasoil.store.local.LocalStore` under ``DATASOIL_IPFS_PATH`` or
``.datasoil/ipfs``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from multiformats import CID, multihash

from datasoil.errors import CidMismatch, InvalidCid

if TYPE_CHECKING:
    import httpx

    from datasoil.formats.unixfs import Profile

__all__ = [
    "DAG_PB",
    "RAW",
    "GetBlock",
    "HttpClientOwner",
    "Store",
    "as_cid",
    "block_links",
    "fetch_to",
    "normalize",
    "resolve_profile",
    "verify_block",
]

#: Multicodec codes of the block formats datasoil writes.
RAW = 0x55
DAG_PB = 0x70
_SHA2_256 = 0x12
_IDENTITY = 0x00


GetBlock = Callable[[CID], bytes]


@runtime_checkable
class Store(Protocol):
    """A content-addressed block store with recursive pins.

    Every method that returns content has verified it against its CID first.
    """

    def put_block(self, cid: CID, data: bytes) -> None:
        """Store ``data`` under ``cid``; raises CidMismatch if it does not hash to it."""
        ...

    def get_block(self, cid: CID) -> bytes:
        """Return the verified block; CidMismatch if tampered, NotFound if absent."""
        ...

    def has(self, cid: CID) -> bool:
        """Whether the block is held (not fetched, not verified)."""
        ...

    def add_path(
        self,
        path: Path,
        profile: Profile | str | None = None,
        *,
        pin: bool = True,
        name: str | None = None,
    ) -> CID:
        """Import a file or directory as UnixFS under ``profile``; return its root CID."""
        ...

    def add_bytes(
        self, data: bytes, profile: Profile | str | None = None, *, pin: bool = True
    ) -> CID:
        """Import ``data`` as one UnixFS file; return its root CID."""
        ...

    def cat(self, cid: CID) -> Iterator[bytes]:
        """Yield the bytes of a UnixFS file, each block verified before it is used."""
        ...

    def get(self, cid: CID, dest: Path) -> None:
        """Write a file or directory to ``dest``: verified, atomic, nothing left on error."""
        ...

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Pin ``cid`` and everything it links to."""
        ...

    def unpin(self, cid: CID) -> None:
        """Remove the recursive pin on ``cid``; raises NotFound if it is not pinned."""
        ...

    def pins(self) -> list[CID]:
        """The recursively pinned roots."""
        ...


def as_cid(value: CID | str | bytes) -> CID:
    """Parse ``value`` as a CID.

    Raises:
        InvalidCid: ``value`` is not a CID.
    """
    if isinstance(value, CID):
        return value
    try:
        return CID.decode(value)
    except (ValueError, KeyError) as exc:
        shown = value if isinstance(value, str) else value.hex()
        raise InvalidCid(f"expected a CID, found {shown!r} ({exc})") from exc


def normalize(cid: CID) -> CID:
    """The CIDv1 base32 form of ``cid`` (a CIDv0 is the same dag-pb block under v1)."""
    if cid.version == 0:
        return cid.set(version=1, base="base32")
    return cid.set(base="base32")


def verify_block(cid: CID, data: bytes) -> None:
    """Check that ``data`` hashes to the multihash in ``cid``.

    Raises:
        CidMismatch: the digest of ``data`` differs from the CID's.
    """
    code = cid.hashfun.code
    if code == _SHA2_256:
        ok = hashlib.sha256(data).digest() == cid.raw_digest
    elif code == _IDENTITY:
        ok = bytes(data) == cid.raw_digest
    else:
        ok = multihash.digest(data, cid.hashfun) == cid.digest
    if not ok:
        raise CidMismatch(
            f"block {cid} does not match its content: expected {cid.hashfun.name} "
            f"digest {cid.raw_digest.hex()}, found a {len(data)}-byte block hashing otherwise"
        )


def block_links(cid: CID, data: bytes) -> list[CID]:
    """The CIDs a block links to (none for raw blocks).

    Raises:
        StoreError: the block's codec is not one datasoil can walk (raw or dag-pb).
    """
    code = cid.codec.code
    if code == RAW:
        return []
    if code == DAG_PB:
        from datasoil.formats import unixfs

        return list(unixfs.links(data, cid))
    from datasoil.errors import StoreError

    raise StoreError(
        f"cannot follow links of {cid}: expected a raw or dag-pb block, found codec "
        f"{cid.codec.name}"
    )


def fetch_to(get_block: GetBlock, cid: CID, dest: Path) -> None:
    """Export the UnixFS DAG at ``cid`` to ``dest``, all or nothing.

    :func:`datasoil.formats.unixfs.export` writes under a temporary name beside ``dest`` from
    blocks that ``get_block`` has verified, and renames into place only once complete;
    on any error nothing is left behind.

    Raises:
        CidMismatch: a block does not hash to its CID. NotFound: a block is missing.
        StoreError: ``dest`` already exists or cannot be written.
    """
    from datasoil.formats import unixfs

    unixfs.export(get_block, cid, Path(dest))


def resolve_profile(profile: Profile | str | None) -> Profile:
    """A :class:`~datasoil.formats.unixfs.Profile` from a profile, its name, or ``None`` (default).

    Raises:
        ProfileError: an unknown profile name.
    """
    from datasoil.formats import unixfs

    if profile is None or isinstance(profile, str):
        return unixfs.profile_for(profile)
    return profile


class HttpClientOwner:
    """A backend holding an httpx client in ``_client``: ``close()`` and ``with`` support."""

    _client: httpx.Client

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
