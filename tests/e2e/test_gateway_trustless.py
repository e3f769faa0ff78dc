"""datasoil.app.gateway against the Trustless Gateway spec, over HTTP with httpx.

Raw blocks and CARs (read back block by block, each verified; @helia/verified-fetch is
the independent client, tests/e2e/test_gateway_helia.py), dag-scope and
entity-bytes, files with Content-Length, HEAD and Range, the spec's headers, and the
faults: a block damaged mid-file cuts the connection so the client sees an error.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from datasoil.app import gateway
from datasoil.store.car import iter_dag, read_car
from datasoil.store.local import LocalStore

SIZE = 5_200_000  # five 1 MiB leaves and a short one under one root


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("trustless")
    store = LocalStore(base / "ipfs")
    data = os.urandom(SIZE)
    tree = base / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "big.bin").write_bytes(data)
    (tree / "sub" / "rows.json").write_text('[{"a": 1}]')
    root = store.add_path(tree)
    big = store.add_bytes(data)
    server = gateway.serve(gateway.Gateway(None, store, dist=base / "dist"), 0)
    yield {"url": server.url, "store": store, "root": root, "big": big, "data": data, "base": base}
    server.shutdown()


def _car(body: bytes) -> tuple[list[str], dict[str, bytes]]:
    header, frames = read_car(io.BytesIO(body))  # every block verified against its CID
    return [str(r) for r in header.roots], {str(c): b for c, b in frames}


def test_file__content_length_and_the_spec_headers(site):
    r = httpx.get(f"{site['url']}/ipfs/{site['big']}")
    assert r.status_code == 200 and r.content == site["data"]
    assert r.headers["content-length"] == str(SIZE)
    assert r.headers["etag"] == f'"{site["big"]}"'
    assert r.headers["cache-control"] == "public, max-age=29030400, immutable"
    assert r.headers["x-ipfs-roots"] == str(site["big"])
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["accept-ranges"] == "bytes"
    head = httpx.head(f"{site['url']}/ipfs/{site['big']}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(SIZE)
    r = httpx.get(f"{site['url']}/ipfs/{site['root']}/sub/rows.json")
    assert r.json() == [{"a": 1}] and r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "header, first, end",
    [
        ("bytes=0-0", 0, 1),
        ("bytes=1048570-1048590", 1048570, 1048591),
        ("bytes=-10", SIZE - 10, SIZE),
        ("bytes=5000000-", 5_000_000, SIZE),
        ("bytes=100-99999999", 100, SIZE),
    ],
)
def test_file__range_is_206_with_content_range(site, header, first, end):
    r = httpx.get(f"{site['url']}/ipfs/{site['big']}", headers={"Range": header})
    assert r.status_code == 206 and r.content == site["data"][first:end]
    assert r.headers["content-range"] == f"bytes {first}-{end - 1}/{SIZE}"
    assert r.headers["content-length"] == str(end - first)


def test_file__range_past_the_end_is_416(site):
    r = httpx.get(f"{site['url']}/ipfs/{site['big']}", headers={"Range": f"bytes={SIZE}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.text.count("\n") == 1


def test_raw__one_block_by_format_or_accept(site):
    root = site["big"]
    for kw in ({"params": {"format": "raw"}}, {"headers": {"Accept": "application/vnd.ipld.raw"}}):
        r = httpx.get(f"{site['url']}/ipfs/{root}", **kw)
        assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.ipld.raw"
        assert hashlib.sha256(r.content).digest() == root.raw_digest
        assert r.headers["etag"] == f'"{root}.raw"'
        assert r.headers["content-disposition"] == f'attachment; filename="{root}.bin"'
    r = httpx.get(f"{site['url']}/ipfs/{site['root']}/big.bin?format=raw")
    assert r.status_code == 400 and "format=car" in r.text


def test_car__dag_scopes_and_entity_bytes(site):
    store, root, url = site["store"], site["root"], site["url"]
    file_cid = store.add_bytes(site["data"], pin=False)
    everything = {str(c) for c, _ in iter_dag(store.get_block, [root])}
    r = httpx.get(f"{url}/ipfs/{root}?format=car")
    assert r.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    roots, blocks = _car(r.content)
    assert roots == [str(root)] and set(blocks) == everything
    assert r.headers["etag"].startswith(f'W/"{root}.car.')

    # a path: the directory's block, then the file under it
    r = httpx.get(f"{url}/ipfs/{root}/big.bin", headers={"Accept": "application/vnd.ipld.car"})
    _, blocks = _car(r.content)
    assert r.headers["x-ipfs-roots"] == f"{root},{file_cid}"
    assert set(blocks) == {str(root)} | {str(c) for c, _ in iter_dag(store.get_block, [file_cid])}

    r = httpx.get(f"{url}/ipfs/{root}/big.bin?format=car&dag-scope=block")
    assert set(_car(r.content)[1]) == {str(root), str(file_cid)}
    r = httpx.get(f"{url}/ipfs/{root}?format=car&dag-scope=entity")
    assert set(_car(r.content)[1]) == {str(root)}  # the directory, not its entries

    # entity-bytes: the root and only the leaves the range touches (1 MiB leaves)
    leaves = [str(c) for c, _ in iter_dag(store.get_block, [file_cid])][1:]
    for spec, touched in [
        ("0:0", [0]),
        ("1048575:1048576", [0, 1]),
        ("-1:*", [4]),
        ("2097152:*", [2, 3, 4]),
    ]:
        r = httpx.get(f"{url}/ipfs/{file_cid}?format=car&entity-bytes={spec}")
        assert set(_car(r.content)[1]) == {str(file_cid), *(leaves[i] for i in touched)}, spec
    r = httpx.get(f"{url}/ipfs/{file_cid}?format=car&entity-bytes=9:3")
    assert r.status_code == 400
    r = httpx.get(f"{url}/ipfs/{file_cid}?format=car&dag-scope=most")
    assert r.status_code == 400


def test_errors__one_sentence_statuses(site):
    url = site["url"]
    absent = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    for path, status in [
        (f"/ipfs/{absent}", 404),
        (f"/ipfs/{absent}?format=raw", 404),
        (f"/ipfs/{absent}?format=car", 404),
        ("/ipfs/not-a-cid", 400),
        (f"/ipfs/{site['root']}/nope", 404),
        (f"/ipfs/{site['root']}?format=zip", 400),
    ]:
        r = httpx.get(url + path)
        assert r.status_code == status, path
        assert r.text.endswith("\n") and r.text.count("\n") == 1, r.text
    assert httpx.head(f"{url}/ipfs/{absent}").status_code == 404


def test_damaged_block_mid_file__the_client_sees_an_error_never_a_short_body(tmp_path):
    store = LocalStore(tmp_path / "ipfs")
    data = os.urandom(SIZE)
    cid = store.add_bytes(data)
    fourth = list(iter_dag(store.get_block, [cid]))[4][0]
    path: Path = store._path(fourth)
    damaged = bytearray(path.read_bytes())
    damaged[7] ^= 0x01
    path.write_bytes(bytes(damaged))
    server = gateway.serve(gateway.Gateway(None, store, dist=tmp_path / "dist"), 0)
    try:
        for query in ("", "?format=car"):
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.get(f"{server.url}/ipfs/{cid}{query}")
        r = httpx.get(f"{server.url}/ipfs/{fourth}?format=raw")
        assert r.status_code == 502 and "failed verification" in r.text
        # a range that avoids the damaged block is served whole
        r = httpx.get(f"{server.url}/ipfs/{cid}", headers={"Range": "bytes=0-1048575"})
        assert r.status_code == 206 and r.content == data[:1048576]
    finally:
        server.shutdown()
