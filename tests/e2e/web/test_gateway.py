"""datasoil.app.gateway over HTTP: the deployment document, verified /ipfs/ paths, /rpc."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from datasoil import chain
from datasoil.app import gateway
from datasoil.store.local import LocalStore


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def served(project, deployer, tmp_path, monkeypatch):
    import os

    from web3 import Web3

    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    record = chain.deploy_all(project, deployer, local=True, log=lambda _m: None)
    store = LocalStore(tmp_path / "ipfs")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.json").write_text('{"hello": "world"}')
    node = os.environ["APE_FOUNDRY_HOST"]
    gw = gateway.Gateway(
        Web3(Web3.HTTPProvider(node)),
        store,
        node=node,
        dist=tmp_path / "dist",
        deployments_dir=tmp_path / "home" / "deployments",
    )
    server = gateway.serve(gw, 0)
    yield f"http://127.0.0.1:{server.server_address[1]}", record, store, tmp_path
    server.shutdown()


def test_deployment_json__addresses_from_the_record_abis_from_the_build(served, project):
    url, record, _, _ = served
    status, body = _get(url + "/deployment.json")
    doc = json.loads(body)
    assert status == 200 and doc["chainId"] == record.chain_id
    assert {n: c["address"] for n, c in doc["contracts"].items()} == record.contracts
    market_abi = project.AccessMarket.contract_type.model_dump(mode="json")["abi"]
    assert doc["contracts"]["AccessMarket"]["abi"] == market_abi


def test_ipfs__serves_verified_files_and_paths_404_with_a_sentence(served):
    url, _, store, tmp_path = served
    root = store.add_path(tmp_path / "dir")
    status, body = _get(f"{url}/ipfs/{root}/a.json")
    assert (status, json.loads(body)) == (200, {"hello": "world"})
    status, body = _get(f"{url}/ipfs/{root}/missing.json")
    assert status == 404 and b"has no entry 'missing.json'" in body
    absent = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    status, body = _get(f"{url}/ipfs/{absent}")
    assert status == 404 and body.startswith(b"the store does not hold")
    status, body = _get(f"{url}/ipfs/not-a-cid")
    assert status == 400 and b"expected a CID" in body


def test_ipfs__tampered_block_is_refused(served):
    url, _, store, tmp_path = served
    cid = store.add_bytes(b"x" * 100)
    blocks = [p for p in (tmp_path / "ipfs").rglob("*") if p.is_file() and p.stat().st_size == 100]
    assert blocks, "expected the raw block on disk"
    blocks[0].write_bytes(b"y" * 100)
    status, body = _get(f"{url}/ipfs/{cid}")
    assert status == 502 and b"failed verification" in body


def test_rpc__forwards_reads_and_refuses_writes(served):
    url, record, _, _ = served
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    status, body = _get(url + "/rpc", json.dumps(call).encode())
    assert status == 200 and int(json.loads(body)["result"], 16) == record.chain_id
    call["method"] = "eth_sendTransaction"
    status, body = _get(url + "/rpc", json.dumps(call).encode())
    assert status == 403 and b"read-only" in body


def test_static__missing_build_is_a_sentence(served):
    url, *_ = served
    status, body = _get(url + "/")
    assert status == 404 and b"npm run build" in body
