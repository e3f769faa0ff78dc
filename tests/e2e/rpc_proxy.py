"""A JSON-RPC proxy in front of anvil with a public provider's limits, for the tests.

It refuses ``eth_getLogs`` over more than ``max_range`` blocks (``-32005``, as Infura
and Alchemy answer), cuts answers at ``max_logs`` logs without saying so, and answers
HTTP 429 to every ``rate_every``-th request. ``down = True`` makes it answer 503 to
everything (the node went away). ``stats`` counts what it saw.

:func:`mine_empty_blocks` advances the chain by many blocks in one ``anvil_mine`` call,
cheaply (see its docstring for why that needs care under Prague).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from datasoil.app.gateway import Server


@dataclass
class ProxyStats:
    requests: int = 0
    rate_limited: int = 0
    refused_ranges: int = 0
    truncated: int = 0
    get_logs: int = 0
    widest_range: int = 0
    methods: dict[str, int] = field(default_factory=dict)


class LimitsProxy:
    def __init__(
        self,
        upstream: str,
        *,
        max_range: int = 1000,
        max_logs: int = 1000,
        rate_every: int = 10,
    ) -> None:
        self.upstream = upstream
        self.max_range = max_range
        self.max_logs = max_logs
        self.rate_every = rate_every
        self.down = False
        self.stats = ProxyStats()
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._server = Server(app, "127.0.0.1", 0)
        self.url = self._server.url

    def close(self) -> None:
        self._server.shutdown()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        if self.down:
            return web.Response(status=503, text="upstream unavailable")
        if self.rate_every and self.stats.requests % self.rate_every == 0:
            self.stats.rate_limited += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "0"})
        body = await request.read()
        call = json.loads(body)
        calls = call if isinstance(call, list) else [call]
        for c in calls:
            method = c.get("method", "")
            self.stats.methods[method] = self.stats.methods.get(method, 0) + 1
        if not isinstance(call, list) and call.get("method") == "eth_getLogs":
            refused = await self._check_range(call)
            if refused is not None:
                return web.json_response(refused)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.upstream, data=body, headers={"Content-Type": "application/json"}
            ) as answer,
        ):
            payload = await answer.read()
        if not isinstance(call, list) and call.get("method") == "eth_getLogs":
            data = json.loads(payload)
            result = data.get("result")
            if isinstance(result, list) and len(result) > self.max_logs:
                self.stats.truncated += 1
                data["result"] = result[: self.max_logs]
                return web.json_response(data)
        return web.Response(body=payload, content_type="application/json")

    async def _check_range(self, call: dict[str, Any]) -> dict[str, Any] | None:
        self.stats.get_logs += 1
        (query,) = call.get("params") or [{}]
        first = await self._block(query.get("fromBlock", "latest"))
        last = await self._block(query.get("toBlock", "latest"))
        span = last - first + 1
        if span > self.max_range:
            self.stats.refused_ranges += 1
            return {
                "jsonrpc": "2.0",
                "id": call.get("id"),
                "error": {
                    "code": -32005,
                    "message": f"query exceeds max block range {self.max_range}",
                },
            }
        self.stats.widest_range = max(self.stats.widest_range, span)
        return None

    async def _block(self, tag: Any) -> int:
        if isinstance(tag, str) and tag.startswith("0x"):
            return int(tag, 16)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.upstream, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}
            ) as answer,
        ):
            return int((await answer.json())["result"], 16)


#: EIP-4788 (beacon roots) and EIP-2935 (block hashes): the system contracts the node
#: calls at the start of every block since Cancun and Prague.
SYSTEM_CONTRACTS = (
    "0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02",
    "0x0000F90827F1C53a10cb7A02335B175320002935",
)


def mine_empty_blocks(uri: str, count: int) -> None:
    """Mine ``count`` empty blocks on the anvil at ``uri`` in one ``anvil_mine`` call.

    Under Prague every block writes a slot of each system contract's ring buffer (8,191
    slots each) and anvil rebuilds the state trie per block, so a block costs more the
    longer the chain: 20,000 blocks took 4 minutes of CPU on the shared test machine,
    6 s with the contracts' code set aside for the mining and put back after (a block
    with no code at those addresses skips the system call, EIPs 4788 and 2935; nothing
    datasoil reads depends on them) and anvil keeping no states on disk
    (tests/conftest.py). ``anvil_mine`` with a count makes the blocks in one call.
    """
    import httpx

    def call(method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = httpx.post(uri, json=body, timeout=900).json()
        if "error" in answer:
            raise RuntimeError(f"{method} failed: {answer['error']}")
        return answer["result"]

    saved = [(address, call("eth_getCode", address, "latest")) for address in SYSTEM_CONTRACTS]
    for address, _code in saved:
        call("anvil_setCode", address, "0x")
    try:
        call("anvil_mine", hex(count))
    finally:
        for address, code in saved:
            call("anvil_setCode", address, code)


def web3_through(url: str, *, web3_retries: bool = True) -> Any:
    """A web3 client of ``url``; ``web3_retries=False`` turns off web3's own retries of
    read calls, so datasoil's must do the work."""
    from web3 import HTTPProvider, Web3

    if web3_retries:
        return Web3(HTTPProvider(url))
    return Web3(HTTPProvider(url, exception_retry_configuration=None))
