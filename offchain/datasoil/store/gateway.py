"""A read-only store over IPFS Trustless Gateways (``DATASOIL_GATEWAYS``).

Spec: https://specs.ipfs.tech/http-gateways/trustless-gateway/. :class:`GatewayStore` asks
one or more gateways for blocks (``GET /ipfs/{cid}?format=raw``) or a whole DAG as a CAR
(``?format=car&dag-scope=all``), and trusts none of them: every block is hashed and
compared with its CID before it is used or kept. A gateway that answers 404, an error,
a block that does not hash to its CID, or a CAR cut off mid-stream is passed over for
the next one, and the reason is reported through ``warn``.

With a ``cache`` (a :class:`~datasoil.store.local.LocalStore`, normally the user's own),
verified blocks are written there as they arrive and read from there first, so the
local store is the cache and an interrupted fetch resumes: the rerun walks the DAG
again and asks the gateways only for the blocks the cache lacks. :meth:`GatewayStore.
prefetch` walks a DAG with a bounded number of block requests in flight (memory bounded
by ``parallel`` blocks); :meth:`GatewayStore.get` prefetches, then writes the file or
directory atomically from the cache (nothing is left at the destination on error).

It cannot add or pin remotely: ``put_block`` and ``add_*`` raise :class:`ReadOnlyStore`;
``pin`` fetches the DAG into the cache and pins it there.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from multiformats import CID

from datasoil import config
from datasoil.errors import BackendUnavailable, CidMismatch, NotFound, StoreError
from datasoil.store.base import (
    HttpClientOwner,
    Store,
    block_links,
    fetch_to,
    normalize,
    verify_block,
)

if TYPE_CHECKING:
    from datasoil.formats.unixfs import Profile

__all__ = ["GatewayStore", "ReadOnlyStore", "open_gateways"]

_RAW = "application/vnd.ipld.raw"
_CAR = "application/vnd.ipld.car"
_MAX_BLOCK = 2 * 1024 * 1024 + 1024  # the largest block a gateway may answer with


class ReadOnlyStore(StoreError, PermissionError):
    """A write was asked of a store that only reads (a gateway)."""


class _Refused(Exception):
    """One gateway could not give one block; ``kind`` is missing, bad or down."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class GatewayStore(HttpClientOwner):
    """Blocks from trustless gateways, each verified, falling back gateway by gateway."""

    def __init__(
        self,
        gateways: Sequence[str],
        *,
        cache: Store | None = None,
        parallel: int = 8,
        timeout: float = 30.0,
        warn: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Read from ``gateways`` (base URLs, tried in order), keeping blocks in ``cache``.

        Raises:
            StoreError: no gateway given.
        """
        self.gateways = [g.rstrip("/") for g in gateways if g.strip()]
        if not self.gateways:
            raise StoreError(
                f"expected at least one gateway URL ({config.GATEWAYS_ENV} or --gateway), "
                "found none"
            )
        self.cache = cache
        self.parallel = max(1, parallel)
        self._warn = warn or (lambda message: None)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=self.parallel * len(self.gateways)),
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"GatewayStore({self.gateways!r}, cache={self.cache!r})"

    # -- blocks ---------------------------------------------------------------------

    def _from_gateway(self, gateway: str, cid: CID) -> bytes:
        url = f"{gateway}/ipfs/{normalize(cid)}"
        try:
            with self._client.stream(
                "GET", url, params={"format": "raw"}, headers={"Accept": _RAW}
            ) as response:
                if response.status_code in (404, 410):
                    raise _Refused("missing", f"{gateway} has no block {cid} (404)")
                if response.status_code != 200:
                    raise _Refused(
                        "down", f"{gateway} answered HTTP {response.status_code} for block {cid}"
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > _MAX_BLOCK:
                        raise _Refused("bad", f"{gateway} sent more than a block's bytes for {cid}")
        except httpx.HTTPError as exc:
            raise _Refused(
                "down", f"{gateway} failed for block {cid} ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            verify_block(cid, bytes(body))
        except CidMismatch:
            raise _Refused("bad", f"{gateway} served a block that does not hash to {cid}") from None
        return bytes(body)

    def _cached(self, cid: CID) -> bytes | None:
        if self.cache is None or not self.cache.has(cid):
            return None
        try:
            return self.cache.get_block(cid)
        except (CidMismatch, NotFound):
            return None  # damaged or gone: fetch again, and the put heals the cache

    def get_block(self, cid: CID) -> bytes:
        """The verified block, from the cache or the first gateway that has it right.

        Raises:
            CidMismatch: every gateway that answered served bytes not hashing to ``cid``.
            NotFound: no gateway holds it. BackendUnavailable: no gateway answered.
        """
        if cid.hashfun.name == "identity":
            return bytes(cid.raw_digest)
        held = self._cached(cid)
        if held is not None:
            return held
        refusals: list[_Refused] = []
        for gateway in self.gateways:
            try:
                data = self._from_gateway(gateway, cid)
            except _Refused as refused:
                refusals.append(refused)
                if gateway != self.gateways[-1]:
                    self._warn(f"{refused}; trying the next gateway")
                continue
            if self.cache is not None:
                self.cache.put_block(cid, data)
            return data
        raise _failure(cid, refusals)

    def has(self, cid: CID) -> bool:
        """Whether the cache holds ``cid`` or a gateway answers for it (``HEAD``)."""
        if self.cache is not None and self.cache.has(cid):
            return True
        for gateway in self.gateways:
            try:
                response = self._client.head(
                    f"{gateway}/ipfs/{normalize(cid)}",
                    params={"format": "raw"},
                    headers={"Accept": _RAW},
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                return True
        return False

    # -- DAGs -----------------------------------------------------------------------

    def fetch_car(self, root: CID) -> int:
        """Stream ``?format=car`` for ``root`` into the cache from the first gateway that works.

        Each block is verified as it arrives and kept; a gateway whose CAR breaks off,
        or carries a bad block, leaves the blocks verified so far in the cache and the
        next gateway is asked. Returns the number of blocks received. The DAG may still
        be incomplete (a gateway may omit blocks): :meth:`prefetch` completes it.

        Raises:
            StoreError: no cache to keep the blocks in.
        """
        if self.cache is None:
            raise StoreError("expected a cache store to keep a CAR's blocks in, found none")
        from datasoil.store.car import read_car

        received = 0
        for gateway in self.gateways:
            url = f"{gateway}/ipfs/{normalize(root)}"
            try:
                with self._client.stream(
                    "GET",
                    url,
                    params={"format": "car", "dag-scope": "all"},
                    headers={"Accept": _CAR},
                ) as response:
                    if response.status_code != 200:
                        self._warn(f"{gateway} answered HTTP {response.status_code} for {root}")
                        continue
                    stream = io.BufferedReader(_StreamReader(response.iter_bytes()), 1 << 16)  # type: ignore[type-var]
                    _header, frames = read_car(stream)
                    for cid, data in frames:
                        self.cache.put_block(cid, data)
                        received += 1
                return received
            except (httpx.HTTPError, StoreError, CidMismatch) as exc:
                self._warn(f"{gateway}: the CAR of {root} broke off ({exc}); trying block by block")
                return received
        return received

    def prefetch(self, root: CID, *, car: bool = False) -> int:
        """Fetch the whole DAG under ``root`` into the cache; returns the blocks fetched.

        At most ``parallel`` block requests are in flight; a block already in the cache
        is read, not fetched, so a rerun after an interruption resumes. With ``car`` a
        CAR is streamed first and the walk fills in whatever it lacked.

        Raises:
            CidMismatch, NotFound, BackendUnavailable: as :meth:`get_block`.
            StoreError: no cache.
        """
        if self.cache is None:
            raise StoreError("expected a cache store to prefetch into, found none")
        if car:
            self.fetch_car(root)
        fetched = 0
        frontier: list[CID] = [root]
        seen = {normalize(root)}
        inflight: dict[Future[tuple[bytes, bool]], CID] = {}

        def one(cid: CID) -> tuple[bytes, bool]:
            held = self._cached(cid)
            return (held, False) if held is not None else (self.get_block(cid), True)

        with ThreadPoolExecutor(self.parallel, thread_name_prefix="datasoil-gw") as pool:
            try:
                while frontier or inflight:
                    while frontier and len(inflight) < self.parallel:
                        cid = frontier.pop()
                        inflight[pool.submit(one, cid)] = cid
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for future in done:
                        cid = inflight.pop(future)
                        data, new = future.result()
                        fetched += new
                        for link in reversed(block_links(cid, data)):
                            key = normalize(link)
                            if key not in seen and link.hashfun.name != "identity":
                                seen.add(key)
                                frontier.append(link)
            finally:
                for future in inflight:
                    future.cancel()
        return fetched

    def cat(self, cid: CID) -> Iterator[bytes]:
        """The bytes of a UnixFS file, block by block, each verified."""
        from datasoil.formats import unixfs

        if self.cache is not None:
            self.prefetch(cid)
        yield from unixfs.cat(self.get_block, cid)

    def get(self, cid: CID, dest: Path) -> None:
        """Fetch the file or directory ``cid`` and write it to ``dest``, verified and atomic.

        Raises:
            CidMismatch, NotFound, BackendUnavailable: as :meth:`get_block`; nothing is
                left at ``dest`` (the verified blocks stay in the cache for a rerun).
            StoreError: ``dest`` exists.
        """
        if self.cache is not None:
            self.prefetch(cid)
        fetch_to(self.get_block, cid, Path(dest))

    # -- writes -----------------------------------------------------------------------

    def _read_only(self, what: str) -> ReadOnlyStore:
        return ReadOnlyStore(
            f"expected a writable store to {what}, found {self!r}: gateways are read-only "
            "(publish to a local store or a Kubo node, then pin remotely)"
        )

    def put_block(self, cid: CID, data: bytes) -> None:
        """Refused: raises :class:`ReadOnlyStore`."""
        raise self._read_only(f"put block {cid}")

    def add_path(
        self,
        path: Path,
        profile: Profile | str | None = None,
        *,
        pin: bool = True,
        name: str | None = None,
    ) -> CID:
        """Refused: raises :class:`ReadOnlyStore`."""
        raise self._read_only(f"add {path}")

    def add_bytes(
        self, data: bytes, profile: Profile | str | None = None, *, pin: bool = True
    ) -> CID:
        """Refused: raises :class:`ReadOnlyStore`."""
        raise self._read_only("add bytes")

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Fetch the DAG under ``cid`` into the cache and pin it there.

        Raises:
            ReadOnlyStore: no cache.
        """
        if self.cache is None:
            raise self._read_only(f"pin {cid}")
        self.prefetch(cid)
        self.cache.pin(cid, name)

    def unpin(self, cid: CID) -> None:
        """Unpin ``cid`` in the cache (raises :class:`ReadOnlyStore` without one)."""
        if self.cache is None:
            raise self._read_only(f"unpin {cid}")
        self.cache.unpin(cid)

    def pins(self) -> list[CID]:
        """The cache's pins (none without a cache)."""
        return self.cache.pins() if self.cache is not None else []


def _failure(cid: CID, refusals: list[_Refused]) -> StoreError | CidMismatch | NotFound:
    reasons = "; ".join(str(r) for r in refusals)
    kinds = {r.kind for r in refusals}
    if "bad" in kinds:
        return CidMismatch(f"no gateway served block {cid} intact: {reasons}")
    if kinds == {"down"}:
        return BackendUnavailable(f"no gateway answered for block {cid}: {reasons}")
    return NotFound(f"no gateway holds block {cid}: {reasons}")


class _StreamReader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (an HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def open_gateways(
    gateways: Sequence[str] | None = None,
    *,
    cache: Store | None = None,
    warn: Callable[[str], None] | None = None,
) -> GatewayStore:
    """A :class:`GatewayStore` over ``gateways`` (default ``DATASOIL_GATEWAYS``).

    Raises:
        StoreError: no gateway given or configured.
    """
    return GatewayStore(list(gateways or config.gateways()), cache=cache, warn=warn)
