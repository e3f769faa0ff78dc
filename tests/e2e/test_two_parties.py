"""Two parties on one chain: seller and buyer in separate processes, separate homes.

The seller (this process: its own DATASOIL_HOME and store) publishes a public parent
and a private child, lists the child, serves its store through datasoil's gateway and
runs its keeper. The buyer (tests/e2e/parties/buyer.py, its own DATASOIL_HOME, store
and keys) shares only the chain URL and the gateway URLs; the first gateway flips one
byte of every block it passes on, so each block is refused there and taken from the
seller's. A third party (tests/e2e/parties/reader.py) with no account and no ape, in an
empty directory, loads the public parent with web3.py and the gateways alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datasoil.app import gateway
from datasoil.chain.registry import Registry
from datasoil.flows import access, publish
from datasoil.store.local import LocalStore
from tests.offchain.store.lying_gateway import LyingGateway

PARTIES = Path(__file__).parent / "parties"
ROOT = Path(__file__).resolve().parents[2]
PARENT = "id,name,score\n1,ada,0.5\n2,grace,0.75\n3,linus,1.0\n"
CHILD = "id,name,score\n1,ada,0.5\n3,linus,1.0\n"


@pytest.fixture
def seller(project, deployer, registry, token, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "seller"))
    store = LocalStore(tmp_path / "seller" / "ipfs", sync=False)
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    reg = Registry(registry)
    (tmp_path / "parent.csv").write_text(PARENT)
    (tmp_path / "child.csv").write_text(CHILD)
    parent = publish.prepare(tmp_path / "parent.csv", store=store)
    # allow_duplicate: the fixture must not depend on what earlier tests left registered
    parent_id = publish.register(parent, reg, sender=owner, allow_duplicate=True)
    child = publish.prepare(tmp_path / "child.csv", store=store, private=True)
    child_id = publish.register(child, reg, parents=[parent_id], sender=owner, allow_duplicate=True)
    commitment = access.key_commitment(access.load_content_key(child.content_cid).key)
    market.list_dataset(child_id, token, 10**18, 3600, 0, commitment, sender=owner)
    server = gateway.serve(gateway.Gateway(None, store, dist=tmp_path / "dist"), 0)
    liar = LyingGateway(server.url, "flip")
    yield dict(
        market=market,
        reg=reg,
        parent_id=parent_id,
        child_id=child_id,
        url=server.url,
        liar=liar.url,
        store=store,
    )
    liar.shutdown()
    server.shutdown()


def _env(tmp_path: Path, home: str, gateways: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATASOIL_")}
    env.update(
        DATASOIL_HOME=str(tmp_path / home),
        DATASOIL_GATEWAYS=",".join(gateways),
        PYTHONPATH=f"{ROOT / 'offchain'}{os.pathsep}{ROOT}",
    )
    return env


def test_buyer_and_reader__fetch_through_the_sellers_gateway(
    seller, registry, token, owner, tmp_path
):
    gateways = [seller["liar"], seller["url"]]
    buyer = subprocess.Popen(
        [
            sys.executable,
            str(PARTIES / "buyer.py"),
            registry.address,
            seller["market"].address,
            token.address,
            str(seller["child_id"]),
        ],
        cwd=ROOT,
        env=_env(tmp_path, "buyer", gateways),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    keeper = tmp_path / "seller" / "keeper.json"
    delivered: list = []
    deadline = time.monotonic() + 120
    while buyer.poll() is None and time.monotonic() < deadline:
        delivered += access.keeper_step(seller["market"], seller["reg"], owner, keeper)
        time.sleep(0.5)
    out, err = buyer.communicate(timeout=60)
    assert buyer.returncode == 0, err[-3000:]
    assert len(delivered) == 1
    result = json.loads(out.splitlines()[-1])
    assert result["rows"] == [
        {"id": 1, "name": "ada", "score": 0.5},
        {"id": 3, "name": "linus", "score": 1.0},
    ]
    assert result["home"] == str((tmp_path / "buyer").resolve())
    assert any("does not hash to" in w and "next gateway" in w for w in result["warnings"])
    # the buyer's own store now holds the ciphertext; the seller's keys stayed home
    assert (tmp_path / "buyer" / "ipfs" / "blocks").is_dir()
    assert not (tmp_path / "buyer" / "keys").exists()
    assert list((tmp_path / "buyer").glob("**/.tmp-*")) == []

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    reader = subprocess.run(
        [
            sys.executable,
            str(PARTIES / "reader.py"),
            _rpc_url(),
            registry.address,
            str(seller["parent_id"]),
        ],
        cwd=empty,
        env=_env(tmp_path, "reader", gateways),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode == 0, reader.stderr[-3000:]
    got = json.loads(reader.stdout.splitlines()[-1])
    assert got["ape"] is False
    assert [r["name"] for r in got["rows"]] == ["ada", "grace", "linus"]


def test_reader__only_a_lying_gateway_fails_in_one_sentence_and_writes_nothing(
    seller, registry, tmp_path
):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    reader = subprocess.run(
        [
            sys.executable,
            str(PARTIES / "reader.py"),
            _rpc_url(),
            registry.address,
            str(seller["parent_id"]),
        ],
        cwd=empty,
        env=_env(tmp_path, "reader", [seller["liar"]]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode != 0
    assert "CidMismatch: no gateway served block" in reader.stderr
    assert list(empty.iterdir()) == []


def _rpc_url() -> str:
    return os.environ["APE_FOUNDRY_HOST"]


def test_shipped_abi__is_the_compiled_registrys(project):
    shipped = json.loads((ROOT / "offchain/datasoil/DatasetRegistry.abi.json").read_text())
    compiled = {
        e.name: e.model_dump(mode="json", by_alias=True, exclude_none=True)
        for e in project.DatasetRegistry.contract_type.abi
        if getattr(e, "name", None)
    }
    for entry in shipped:
        got = compiled[entry["name"]]
        assert [i["type"] for i in got.get("inputs", [])] == [
            i["type"] for i in entry.get("inputs", [])
        ]
        assert [i["name"] for i in got.get("inputs", [])] == [
            i["name"] for i in entry.get("inputs", [])
        ]
