"""The web page end to end in headless Chromium, with a wallet backed by an anvil account.

The test deploys datasoil, publishes a raw dataset, advances the chain 20,000 blocks,
publishes its cleaned child (private, listed for sale), serves the page with
:mod:`datasoil.app.gateway`, and drives Debian's ``chromium`` with ``playwright-core``
(``drive.mjs``): an injected EIP-1193 provider forwards every request to anvil, which
signs for its unlocked dev accounts. The page connects, lists the datasets, shows the
child's metadata and lineage with the royalty path, shows a stale-price revert as a
sentence, buys access with a permit signature, and waits for the keeper (run here,
between polls, from its own event index) to deliver the key. The chain must agree with
what the page shows; the encryption key the page derived must be the one
``datasoil.flows.access.encryption_keypair`` derives in Python.

Everything the gateway reads goes through provider-limits proxies
(tests/e2e/rpc_proxy.py: ranges over 1,000 blocks refused, HTTP 429 to every tenth
request): one for its event index (``/api``), one behind its ``/rpc``, so a log scan
by the page from the deployment block would be refused; the page makes none. When the
gateway stops, the page says so in one sentence.

The screenshots in docs/ come from test_dapp.py (``DATASOIL_WEB_SCREENSHOTS=1``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from datasoil import chain
from datasoil.app import gateway
from datasoil.chain import event_logs
from datasoil.chain.index import EventIndex, abis_of_project
from datasoil.chain.registry import Registry
from datasoil.engine import clean
from datasoil.flows import access, publish
from datasoil.formats import rows
from datasoil.formats.recipe import load_recipe
from datasoil.store import open_store
from tests.e2e.rpc_proxy import LimitsProxy, mine_empty_blocks, web3_through

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PRICE = 25 * 10**18
DURATION = 30 * 86400
#: Empty blocks between the raw dataset and its child (issue 12: past 20,000).
LONG = 20_000


@pytest.fixture
def world(project, deployer, owner, buyer, tmp_path, monkeypatch):
    """A fresh deployment recorded under tmp_path, a raw dataset and its private child."""
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "home" / "ipfs"))
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    record = chain.deploy_all(
        project, deployer, local=True, mint_to=[owner, buyer], log=lambda _m: None
    )
    found = chain.contracts(project)
    registry = Registry(found.registry, start_block=record.block)
    store = open_store()
    raw_path = ROOT / "examples" / "messy" / "people.csv"
    raw = publish.register(publish.prepare(raw_path, store=store), registry, sender=owner)
    mine_empty_blocks(os.environ["APE_FOUNDRY_HOST"], LONG)
    result = clean.clean(
        raw_path, load_recipe(ROOT / "examples" / "recipes" / "clean.yaml"), tmp_path / "clean"
    )
    child_prep = publish.prepare(
        result.data_path,
        store=store,
        private=True,
        name="people-clean",
        schema=rows.Schema.from_json(result.proof["schema_out"]),
        derived_from=[registry.get(raw).content_cid],
    )
    child = publish.register(child_prep, registry, sender=owner, parents=[raw])
    commitment = access.key_commitment(access.load_content_key(child_prep.content_cid).key)
    found.market.list_dataset(child, found.token, PRICE, DURATION, 1000, commitment, sender=owner)
    abis = abis_of_project(project, list(record.contracts))
    return {
        "record": record,
        "c": found,
        "registry": registry,
        "raw": raw,
        "child": child,
        "abis": abis,
    }


def test_page__browse_buy_with_permit_and_see_the_key_delivered(
    world, built_page, chromium, owner, buyer, tmp_path
):
    from web3 import Web3

    node = os.environ["APE_FOUNDRY_HOST"]
    c, record = world["c"], world["record"]
    market, token = c.market, c.token
    index_proxy, page_proxy = LimitsProxy(node), LimitsProxy(node)
    server = gateway.serve(
        gateway.Gateway(
            Web3(Web3.HTTPProvider(index_proxy.url)),
            open_store(),
            node=page_proxy.url,
            dist=built_page,
            deployments_dir=tmp_path / "home" / "deployments",
        ),
        0,
    )
    keeper_index = EventIndex.open(
        web3_through(index_proxy.url), world["abis"], path=tmp_path / "keeper.sqlite"
    )
    keeper_registry = Registry(c.registry, record.block, index=keeper_index)
    shots = tmp_path / "shots"
    shots.mkdir()
    config = {
        "chromium": str(chromium),
        "url": f"http://127.0.0.1:{server.server_address[1]}/",
        "node": node,
        "account": str(buyer.address),
        "child": world["child"],
        "method": "permit",
        "timeout_ms": 90000,
        "shots": str(shots),
        "work": str(tmp_path),
    }
    (tmp_path / "drive.json").write_text(json.dumps(config))
    driver = subprocess.Popen(
        ["node", str(HERE / "drive.mjs"), str(tmp_path / "drive.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    keeper_state = tmp_path / "keeper.json"
    deadline = time.monotonic() + 300
    repriced = stopped = False
    try:
        while driver.poll() is None and time.monotonic() < deadline:
            if not stopped and (tmp_path / "done").exists():
                server.shutdown()
                (tmp_path / "gateway-down").write_text("1")
                stopped = True
            if not repriced and (tmp_path / "loaded").exists():
                # The owner raises the price under the buyer's open page.
                commitment = market.listing(world["child"]).key_commitment
                market.list_dataset(
                    world["child"], token, PRICE * 2, DURATION, 1000, commitment, sender=owner
                )
                (tmp_path / "repriced").write_text("1")
                repriced = True
            access.keeper_step(
                market,
                keeper_registry,
                owner,
                keeper_state,
                start_block=record.block,
                index=keeper_index,
                log=lambda _m: None,
            )
            time.sleep(0.5)
        stdout, stderr = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
        server.shutdown()
        index_proxy.close()
        page_proxy.close()
    assert driver.returncode == 0, stderr
    shown = json.loads(stdout.strip().splitlines()[-1])
    assert "failure" not in shown, shown["failure"] + "\n" + "\n".join(shown["log"])

    raw, child = world["raw"], world["child"]
    assert shown["network"] == "chain 31337"
    assert shown["listed"] == [str(raw), str(child)]
    assert shown["title"] == "people-clean"
    assert shown["lineage"] == [str(raw), str(child)]
    assert any(line.startswith(f"#{raw} ") for line in shown["royalties"])
    assert shown["before"] == {"expiry": "0", "access": "none"}
    assert shown["stale_error"] == (
        "The price went up since you loaded the page; reload and try again."
    )
    assert shown["price"] == "50"

    # The chain agrees with the page.
    pid = int(market.purchase_count())
    purchase = market.purchase(pid)
    terms, _key = access.purchase_terms(market, pid, record.block)
    assert (terms.buyer, terms.dataset_id) == (str(buyer.address), child)
    assert int(purchase.status) == access.DELIVERED
    assert "Key delivered" in shown["delivery"] and f"purchase #{pid}" in shown["delivery"]
    assert "the envelope opens with your key" in shown["delivery"]
    expiry = int(market.access_expiry(child, buyer))
    assert market.has_access(child, buyer)
    assert shown["after"]["access"] == "active"
    assert int(shown["after"]["expiry"]) == expiry
    assert expiry > time.time() + DURATION - 3600
    assert shown["error"] is None

    # Every event the page showed came from the gateway's index: its /rpc forwarded
    # reads (through 429s) but not one eth_getLogs, and neither did the wallet. The
    # index read 20,000 blocks in pages the proxy accepts.
    assert page_proxy.stats.requests > 0 and page_proxy.stats.rate_limited >= 1
    assert "eth_getLogs" not in page_proxy.stats.methods, page_proxy.stats.methods
    assert "eth_getLogs" not in shown["walletMethods"], shown["walletMethods"]
    assert index_proxy.stats.refused_ranges >= 1
    assert index_proxy.stats.widest_range == index_proxy.max_range
    assert index_proxy.stats.get_logs > LONG // index_proxy.max_range
    url = config["url"].rstrip("/")
    assert shown["down_error"] == (
        f"The gateway's event index at {url} did not answer: start it with `make web` "
        "(or `python -m datasoil.app.gateway`) and reload."
    )

    # The key the page derived is the one Python derives (docs/formats/encryption.md §4),
    # and the delivered envelope opens to the content key the owner holds.
    (bought,) = [e for e in event_logs(market.Purchased, record.block) if e.purchase_id == pid]
    secret, public = access.encryption_keypair(buyer, 31337)
    assert bytes(bought.encryption_key) == public
    envelope = access.wait_for_key(market, pid, timeout=1, from_block=record.block)
    from datasoil.formats import crypto

    content = access.load_content_key(world["registry"].get(child).content_cid)
    assert crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret) == content.key

    for name in ("datasets", "dataset", "bought"):
        assert (shots / f"web-{name}.png").stat().st_size > 10_000
