"""GatewayStore: blocks and CARs from trustless gateways, every block verified.

The honest gateway is datasoil's own (aiohttp, over a LocalStore, on loopback); the
liars are httpx MockTransport handlers in front of it: one flips a byte of a block, one
answers with another block, one cuts a CAR off mid-stream, one is down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from multiformats import CID

from datasoil.app import gateway
from datasoil.errors import BackendUnavailable, CidMismatch, NotFound
from datasoil.store.gateway import GatewayStore, ReadOnlyStore
from datasoil.store.local import LocalStore

SIZE = 3 * 1024 * 1024 + 12_345  # four leaves under one root


@pytest.fixture(scope="module")
def seller(tmp_path_factory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("seller")
    store = LocalStore(base / "ipfs", sync=False)
    data = os.urandom(SIZE)
    tree = base / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "big.bin").write_bytes(data)
    (tree / "sub" / "a.csv").write_text("a,b\n1,2\n")
    root = store.add_path(tree)
    big = store.add_bytes(data)
    server = gateway.serve(gateway.Gateway(None, store, dist=base / "dist"), 0)
    yield {"url": server.url, "store": store, "root": root, "big": big, "data": data, "tree": tree}
    server.shutdown()


def _liar(seller: dict[str, Any], how: str) -> httpx.MockTransport:
    """A transport answering for http://{how}/ by asking the honest gateway, then lying."""
    honest = httpx.Client(base_url=seller["url"])
    other = seller["store"].get_block(seller["root"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down":
            raise httpx.ConnectError("connection refused", request=request)
        real = honest.get(request.url.path, params=request.url.params, headers=request.headers)
        if request.url.host == "honest" or real.status_code != 200:
            return httpx.Response(real.status_code, content=real.content)
        if request.url.host == "flip":
            body = bytearray(real.content)
            body[len(body) // 2] ^= 0x01
            return httpx.Response(200, content=bytes(body))
        if request.url.host == "wrong":
            return httpx.Response(200, content=other)
        if request.url.host == "truncate":

            def cut() -> Iterator[bytes]:
                yield real.content[: len(real.content) // 2]
                raise httpx.RemoteProtocolError("peer closed connection mid-body")

            return httpx.Response(200, stream=_Stream(cut()))
        raise AssertionError(request.url)

    return httpx.MockTransport(handler)


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def _store(seller, hosts: list[str], cache: LocalStore | None, warnings: list[str]) -> GatewayStore:
    return GatewayStore(
        [f"http://{h}" for h in hosts],
        cache=cache,
        warn=warnings.append,
        transport=_liar(seller, "any"),
    )


def test_get__directory_byte_identical_through_a_real_gateway(seller, tmp_path):
    cache = LocalStore(tmp_path / "cache", sync=False)
    with GatewayStore([seller["url"]], cache=cache) as gw:
        gw.get(seller["root"], tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == seller["data"]
    assert (tmp_path / "out" / "sub" / "a.csv").read_text() == "a,b\n1,2\n"
    assert cache.has(seller["root"])


def test_get__flipped_byte_detected_and_the_next_gateway_used(seller, tmp_path):
    warnings: list[str] = []
    cache = LocalStore(tmp_path / "cache", sync=False)
    gw = _store(seller, ["flip", "honest"], cache, warnings)
    gw.get(seller["big"], tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == seller["data"]
    assert any("flip served a block that does not hash to" in w for w in warnings)


def test_get__only_liars_raises_and_leaves_nothing(seller, tmp_path):
    warnings: list[str] = []
    gw = _store(seller, ["flip", "wrong"], LocalStore(tmp_path / "cache"), warnings)
    with pytest.raises(CidMismatch, match=r"no gateway served block .* intact"):
        gw.get(seller["big"], tmp_path / "big.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_get_block__wrong_block_then_missing_then_down(seller, tmp_path):
    gw = _store(seller, ["wrong", "honest"], None, [])
    assert gw.get_block(seller["big"]) == seller["store"].get_block(seller["big"])
    absent = CID.decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    with pytest.raises(NotFound, match="no gateway holds block"):
        _store(seller, ["honest"], None, []).get_block(absent)
    with pytest.raises(BackendUnavailable, match="no gateway answered"):
        _store(seller, ["down"], None, []).get_block(seller["big"])
    assert _store(seller, ["down", "honest"], None, []).get_block(seller["big"])


def test_fetch_car__truncated_mid_stream_then_resumed_block_by_block(seller, tmp_path):
    warnings: list[str] = []
    cache = LocalStore(tmp_path / "cache", sync=False)
    gw = _store(seller, ["truncate", "honest"], cache, warnings)
    received = gw.fetch_car(seller["big"])
    assert 0 < received < 5 and any("broke off" in w for w in warnings)
    fetched = gw.prefetch(seller["big"])
    assert received + fetched == 5  # the root and four leaves, none asked twice
    gw.get(seller["big"], tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == seller["data"]


def test_prefetch__interrupted_fetch_resumes_from_the_cache(seller, tmp_path):
    cache = LocalStore(tmp_path / "cache", sync=False)
    gw = _store(seller, ["honest"], cache, [])
    first = gw.prefetch(seller["root"], car=True)
    assert first == 0  # the CAR carried every block
    for cid in list(cache.iter_blocks())[:3]:
        cache.delete_block(cid)  # as if the fetch had been cut short
    assert gw.prefetch(seller["root"]) == 3


def test_writes__refused_in_one_sentence(seller, tmp_path):
    gw = GatewayStore([seller["url"]])
    with pytest.raises(ReadOnlyStore, match="gateways are read-only"):
        gw.add_bytes(b"x")
    with pytest.raises(ReadOnlyStore):
        gw.pin(seller["big"])
    cache = LocalStore(tmp_path / "c", sync=False)
    GatewayStore([seller["url"]], cache=cache).pin(seller["big"], "big")
    assert [str(c) for c in cache.pins()] == [str(seller["big"])]


def test_has__head_on_the_gateway(seller):
    gw = GatewayStore([seller["url"]])
    assert gw.has(seller["big"])
    assert not gw.has(CID.decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"))


def test_open_gateways__from_the_environment(monkeypatch):
    from datasoil.errors import StoreError
    from datasoil.store.gateway import open_gateways

    monkeypatch.setenv("DATASOIL_GATEWAYS", "http://a:1/, http://b:2")
    assert open_gateways().gateways == ["http://a:1", "http://b:2"]
    monkeypatch.setenv("DATASOIL_GATEWAYS", "")
    with pytest.raises(StoreError, match="expected at least one gateway URL"):
        open_gateways()
