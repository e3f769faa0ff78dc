"""Bounded ``eth_getLogs``: every reader of events reads through :class:`LogReader`.

Public RPC providers refuse a log query over a few thousand blocks, cut or refuse
answers with too many logs, and rate-limit. :class:`LogReader` reads a block range in
pages of at most :func:`datasoil.config.log_range` blocks (``DATASOIL_LOG_RANGE``,
default 2,000) and

* halves the page when the provider says the range or the answer is too large
  ("range too large", "query returned more than 10000 results", ``-32005`` with such
  a message), down to a single block, and grows it again after answers that fit;
* reads a page again in halves when it answers :data:`SUSPECT_RESULTS` logs or more,
  since some providers cut the answer at a cap without saying so;
* waits and retries on rate limits (HTTP 429, JSON-RPC ``-32005`` "rate limit",
  ``Retry-After`` honoured) and on a node that does not answer, with exponential
  backoff, then gives up with one sentence (:class:`~datasoil.errors.ChainError`).

Everything else an ``ape`` or web3 session sends goes through web3's HTTP provider,
which retries a request that failed in transport or with an HTTP error status (429
included) five times with exponential backoff, for the methods on its allowlist;
:func:`retry_rate_limits` adds what that list lacks and a session sends (the
connection handshake's ``web3_clientVersion`` first of all).

Pages come back in block order (:meth:`LogReader.pages`), so a caller can commit each
page and resume after a failure from the last one it kept. The transport is any
``call(method, params)``; :func:`rpc_of` makes one from a web3 provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from datasoil import config
from datasoil.errors import ChainError

__all__ = [
    "SUSPECT_RESULTS",
    "LogReader",
    "RpcCall",
    "RpcFault",
    "RpcUnreachable",
    "retry_rate_limits",
    "rpc_of",
]

#: A page answering this many logs or more is read again in halves (a silent cap).
SUSPECT_RESULTS = 1000

#: ``call(method, params)`` -> the JSON-RPC result; raises :class:`RpcFault` for an error
#: answer and :class:`RpcUnreachable` when the node cannot be reached.
RpcCall = Callable[[str, list[Any]], Any]


class RpcFault(ChainError):
    """A JSON-RPC error answer (or an HTTP error status)."""

    def __init__(self, code: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        text = self.message.lower()
        return self.code == 429 or any(w in text for w in _RATE_WORDS)

    @property
    def too_large(self) -> bool:
        if self.rate_limited:
            return False
        text = self.message.lower()
        return self.code == -32005 or any(w in text for w in _SIZE_WORDS)


class RpcUnreachable(ChainError, ConnectionError):
    """The node did not answer (connection refused, reset, timed out, HTTP 5xx)."""


_RATE_WORDS = ("rate limit", "too many requests", "rate-limit", "throughput", "capacity")
_SIZE_WORDS = (
    "range",
    "more than",
    "too many",
    "too large",
    "limit exceeded",
    "exceed",
    "response size",
    "results",
)


#: Methods an ape session sends that web3's retry allowlist lacks (web3 7.16): the
#: handshake's ``web3_clientVersion`` (ape reads a failed one as "No (supported) node
#: found"), fee history, and the tracing reads ape makes for a failed transaction.
EXTRA_RETRIED = (
    "web3_clientVersion",
    "eth_feeHistory",
    "eth_blobBaseFee",
    "eth_getBlockReceipts",
    "debug_traceTransaction",
    "debug_traceCall",
    "trace_transaction",
    "ots_getApiLevel",
)


def retry_rate_limits() -> None:
    """Let web3's HTTP provider retry :data:`EXTRA_RETRIED` as it retries reads and sends.

    web3 retries a method on failure only when the method is on
    ``web3.providers.rpc.utils.REQUEST_RETRY_ALLOWLIST``, the list every
    ``ExceptionRetryConfiguration`` defaults to; ape builds its ``HTTPProvider`` itself,
    so that shared list is the one place to add to. Idempotent.
    """
    from web3.providers.rpc import utils

    for method in EXTRA_RETRIED:
        if method not in utils.REQUEST_RETRY_ALLOWLIST:
            utils.REQUEST_RETRY_ALLOWLIST.append(method)


def rpc_of(w3: Any) -> RpcCall:
    """A :data:`RpcCall` over a web3 ``Web3``'s provider."""
    provider = w3.provider

    def call(method: str, params: list[Any]) -> Any:
        try:
            answer = provider.make_request(method, params)
        except Exception as exc:
            raise _transport_error(exc, getattr(provider, "endpoint_uri", None)) from exc
        if isinstance(answer, dict) and answer.get("error"):
            error = answer["error"]
            if isinstance(error, dict):
                raise RpcFault(int(error.get("code", 0)), str(error.get("message", error)))
            raise RpcFault(0, str(error))
        return answer.get("result") if isinstance(answer, dict) else answer

    return call


def _transport_error(exc: Exception, uri: Any) -> ChainError:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    where = f" at {uri}" if uri else ""
    if status is not None and int(status) == 429:
        retry = getattr(response, "headers", {}).get("Retry-After")
        try:
            after = float(retry) if retry is not None else None
        except ValueError:
            after = None
        return RpcFault(429, f"the node{where} is rate-limiting (HTTP 429)", retry_after=after)
    if status is not None and int(status) < 500:
        return RpcFault(int(status), f"the node{where} answered HTTP {status}")
    return RpcUnreachable(f"the node{where} did not answer ({type(exc).__name__}: {exc})")


@dataclass
class _Stats:
    requests: int = 0
    retries: int = 0
    shrinks: int = 0


class LogReader:
    """Paged, retrying ``eth_getLogs`` (and the few other calls a log reader needs).

    ``page`` is the largest number of blocks per query (default
    :func:`datasoil.config.log_range`); ``retries`` how many times a rate-limited or
    unanswered request is retried, waiting ``backoff`` seconds doubling each time
    (at most ``max_wait``). ``stats`` counts requests, retries and page shrinks.
    """

    def __init__(
        self,
        call: RpcCall,
        *,
        page: int | None = None,
        retries: int = 8,
        backoff: float = 0.1,
        max_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._call = call
        self.max_page = int(page) if page is not None else config.log_range()
        if self.max_page < 1:
            raise ChainError(f"expected a log page of at least 1 block, found {self.max_page}")
        self.page = self.max_page
        self._ceiling = self.max_page  # half the smallest span refused as too large
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self.stats = _Stats()

    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call, retried on rate limits and unanswered requests.

        Raises:
            RpcFault: an error answer that is not a rate limit (the caller decides).
            ChainError: still rate-limited or unanswered after every retry.
        """
        attempt = 0
        while True:
            self.stats.requests += 1
            try:
                return self._call(method, params)
            except RpcFault as fault:
                if not fault.rate_limited:
                    raise
                failure: ChainError = fault
                wait = fault.retry_after
            except RpcUnreachable as exc:
                failure, wait = exc, None
            if attempt >= self.retries:
                raise ChainError(
                    f"expected an answer to {method} after {attempt + 1} tries, found "
                    f"{failure}: try again later, or raise the provider's limits"
                ) from None
            delay = self.backoff * 2**attempt if wait is None else wait
            self._sleep(min(delay, self.max_wait))
            attempt += 1
            self.stats.retries += 1

    def head(self) -> int:
        """The chain's head block number."""
        return int(self.request("eth_blockNumber", []), 16)

    def block_hash(self, number: int) -> str | None:
        """The hash of block ``number``, or None when the chain has no such block."""
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        return None if not block else str(block["hash"]).lower()

    def pages(
        self,
        start: int,
        stop: int,
        *,
        address: str | Sequence[str],
        topics: Sequence[Any] | None = None,
    ) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
        """Read logs of blocks ``start..stop`` (inclusive) page by page; yield
        ``(first block, last block, logs)`` in block order, covering the range exactly.

        Raises:
            ChainError: a single block is still refused, or the node stays rate-limited
                or unreachable (pages already yielded stay valid).
        """
        addresses = [address] if isinstance(address, str) else list(address)
        first = start
        while first <= stop:
            last = min(stop, first + self.page - 1)
            query: dict[str, Any] = {
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "address": addresses,
            }
            if topics:
                query["topics"] = list(topics)
            try:
                logs = self.request("eth_getLogs", [query])
            except RpcFault as fault:
                if not fault.too_large:
                    raise ChainError(
                        f"expected the logs of blocks {first}..{last}, the node refused: "
                        f"{fault.message}"
                    ) from None
                if last == first:
                    raise ChainError(
                        f"expected the logs of block {first}, the node refuses even one "
                        f"block: {fault.message}"
                    ) from None
                self._ceiling = max(1, min(self._ceiling, (last - first + 1) // 2))
                self._shrink(last - first + 1)
                continue
            logs = list(logs or [])
            if len(logs) >= SUSPECT_RESULTS and last > first:
                self._shrink(last - first + 1)
                continue
            yield first, last, sorted(logs, key=_position)
            first = last + 1
            if self.page < self._ceiling and len(logs) < SUSPECT_RESULTS // 4:
                self.page = min(self._ceiling, self.page * 2)

    def logs(
        self,
        start: int,
        stop: int,
        *,
        address: str | Sequence[str],
        topics: Sequence[Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every log of blocks ``start..stop``, in order (see :meth:`pages`)."""
        out: list[dict[str, Any]] = []
        for _first, _last, logs in self.pages(start, stop, address=address, topics=topics):
            out.extend(logs)
        return out

    def _shrink(self, span: int) -> None:
        self.page = max(1, span // 2)
        self.stats.shrinks += 1


def _position(log: dict[str, Any]) -> tuple[int, int]:
    return _int(log.get("blockNumber")), _int(log.get("logIndex"))


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    return int(value or 0)
