"""The event index and bounded log reads on a chain past 20,000 blocks, through a
proxy with a public provider's limits (tests/e2e/rpc_proxy.py); a reorg; the node
going down mid-scan; the keeper resuming from the index."""

from __future__ import annotations

import hashlib
import os

import pytest
from multiformats import CID, multihash

from datasoil import chain as dschain
from datasoil import config
from datasoil.chain import event_logs
from datasoil.chain.events import LogReader, rpc_of
from datasoil.chain.index import EventIndex, abis_of_project
from datasoil.chain.registry import Registry
from datasoil.errors import ChainError
from datasoil.flows import access, publish
from datasoil.store.local import LocalStore
from tests.e2e.rpc_proxy import LimitsProxy, web3_through

# anvil_mine costs ~25 ms a block on the shared CI machine (20,500 blocks: 9 minutes),
# so the limits are scaled down 20-fold: a chain 500 blocks past the deployment, a proxy
# refusing ranges over 50 blocks, readers asking for 100 (DATASOIL_LOG_RANGE).
EMPTY_BLOCKS = 500
PROXY_RANGE = 50
PAGE = 100
PRICE = 10**18


def _cid(text: str) -> str:
    digest = multihash.digest(hashlib.sha256(text.encode()).digest(), "sha2-256")
    return str(CID("base32", 1, "raw", digest))


def register(reg, sender, name, parents=(), private=False):
    return reg.register(
        content_cid=_cid(name),
        row_root=hashlib.sha256(name.encode()).digest(),
        row_count=3,
        metadata_cid=_cid(name + "-meta"),
        license="CC-BY-4.0",
        parents=list(parents),
        private=private,
        sender=sender,
    )


@pytest.fixture
def world(project, deployer, owner, tmp_path, monkeypatch, chain):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    record = dschain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
    contracts = dschain.contracts(project)
    monkeypatch.setenv(config.LOG_RANGE_ENV, str(PAGE))
    proxy = LimitsProxy(chain.provider.uri, max_range=PROXY_RANGE)
    yield dict(
        record=record,
        contracts=contracts,
        reg=Registry(contracts.registry, record.block),
        abis=abis_of_project(project, list(record.contracts)),
        proxy=proxy,
        w3=web3_through(proxy.url),
        tmp=tmp_path,
    )
    proxy.close()


def open_index(world, name="index.sqlite", **kw):
    return EventIndex.open(world["w3"], world["abis"], path=world["tmp"] / name, **kw)


def test_log_range__environment_variable(monkeypatch):
    monkeypatch.delenv(config.LOG_RANGE_ENV, raising=False)
    assert config.log_range() == 2000
    monkeypatch.setenv(config.LOG_RANGE_ENV, "500")
    assert config.log_range() == 500
    monkeypatch.setenv(config.LOG_RANGE_ENV, "0")
    with pytest.raises(ChainError, match="positive number of blocks"):
        config.log_range()


def test_index__long_chain_through_the_limits_proxy(world, owner, other, chain):
    reg, proxy = world["reg"], world["proxy"]
    a = register(reg, owner, "a")
    chain.provider.make_request("anvil_mine", [hex(EMPTY_BLOCKS)])
    b = register(reg, owner, "b", parents=[a])
    c = register(reg, other, "c", parents=[a, b], private=True)
    assert int(chain.blocks.height) > EMPTY_BLOCKS

    index = open_index(world)
    index.reader.backoff = 0.01
    reached = index.sync()
    assert reached == int(chain.blocks.height)
    assert proxy.stats.refused_ranges >= 1 and proxy.stats.rate_limited >= 1
    assert proxy.stats.widest_range <= PROXY_RANGE
    assert [d["id"] for d in index.datasets()] == [a, b, c]
    assert [d["id"] for d in index.datasets(owner=str(owner.address).lower())] == [a, b]
    assert index.dataset(a)["children"] == [b, c]
    assert index.dataset(c)["ancestors"] == [a, b]
    tree = index.lineage(c)
    assert [p["dataset"]["id"] for p in tree["parents"]] == [a, b]
    assert index.datasets()[2]["content_cid"] == reg.get(c).content_cid
    assert index.datasets()[2]["private"] is True

    # A rebuild from scratch gives the same index as one filled in steps.
    fresh = open_index(world, "fresh.sqlite")
    fresh.reader.backoff = 0.01
    fresh.sync()
    assert fresh.dump() == index.dump()
    stepped = open_index(world, "stepped.sqlite")
    stepped.reader.backoff = 0.01
    for stop in (world["record"].block + 3, world["record"].block + 300, None):
        stepped.sync(stop)
    assert stepped.dump() == index.dump()


def test_event_logs__paged_reader_through_the_proxy(world, owner, chain):
    """The scripts' reader (event_logs) and LogReader over the limits proxy."""
    reg = world["reg"]
    a = register(reg, owner, "a")
    chain.provider.make_request("anvil_mine", [hex(EMPTY_BLOCKS)])
    b = register(reg, owner, "b")
    registry = world["contracts"].registry
    # Directly: ape's provider, in pages of DATASOIL_LOG_RANGE.
    found = event_logs(registry.DatasetRegistered, world["record"].block)
    assert [int(e.dataset_id) for e in found] == [a, b]
    only_b = event_logs(registry.DatasetRegistered, 0, dataset_id=b)
    assert [int(e.dataset_id) for e in only_b] == [b]
    # Through the proxy: the page shrinks to what it accepts, 429s are retried.
    bare = web3_through(world["proxy"].url, web3_retries=False)
    reader = LogReader(rpc_of(bare), backoff=0.01)
    logs = reader.logs(0, reader.head(), address=str(registry.address))
    assert len([g for g in logs if g["topics"]]) >= 2
    assert reader.page <= PROXY_RANGE and reader.stats.shrinks >= 1 and reader.stats.retries >= 1


def test_log_reader__silent_result_cap_is_read_again_in_halves():
    """A provider that cuts answers at 1,000 logs without saying so loses nothing."""
    logs = [
        {"blockNumber": hex(b), "logIndex": hex(i), "topics": ["0x01"], "data": "0x"}
        for b in range(100)
        for i in range(30)
    ]

    def call(method, params):
        if method == "eth_blockNumber":
            return hex(99)
        query = params[0]
        first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        return [g for g in logs if first <= int(g["blockNumber"], 16) <= last][:1000]

    reader = LogReader(call, page=2000)
    got = reader.logs(0, 99, address="0x0")
    assert got == logs and reader.stats.shrinks >= 2


def test_index__reorg_rewinds_to_what_the_chain_holds(world, owner, other, chain):
    reg = world["reg"]
    a = register(reg, owner, "a")
    index = open_index(world)
    index.reader.backoff = 0.01
    index.sync()
    snapshot = chain.provider.make_request("evm_snapshot", [])
    register(reg, owner, "gone")
    index.sync()
    assert [d["content_cid"] for d in index.datasets()][-1] == _cid("gone")
    chain.provider.make_request("evm_revert", [snapshot])
    kept = register(reg, other, "kept")
    index.sync()
    found = index.datasets()
    assert [d["content_cid"] for d in found] == [_cid("a"), _cid("kept")]
    assert [d["id"] for d in found] == [a, kept]
    fresh = open_index(world, "fresh.sqlite")
    fresh.sync()
    assert fresh.dump() == index.dump()


def test_index__node_down_mid_scan_resumes(world, owner, chain):
    reg, proxy = world["reg"], world["proxy"]
    a = register(reg, owner, "a")
    chain.provider.make_request("anvil_mine", [hex(EMPTY_BLOCKS)])
    b = register(reg, owner, "b")
    index = open_index(world)
    index.reader.backoff, index.reader.retries = 0.01, 2
    stop = proxy.stats.get_logs + 5

    real = index.reader._call

    def failing(method, params):
        if proxy.stats.get_logs >= stop:
            proxy.down = True
        return real(method, params)

    index.reader._call = failing
    with pytest.raises(ChainError, match="did not answer") as failure:
        index.sync()
    assert "\n" not in str(failure.value)
    partial = index.synced
    assert world["record"].block <= partial < int(chain.blocks.height)
    proxy.down = False
    index.reader._call = real
    assert index.sync() == int(chain.blocks.height)
    assert [d["id"] for d in index.datasets()] == [a, b]


CSV = "id,name\n1,ada\n2,bob\n"


def test_keeper__resumes_from_the_index(world, project, owner, buyer, deployer, chain, tmp_path):
    """Down over hundreds of blocks: purchases made meanwhile are delivered once; a purchase
    without its content key is logged once, with the reason."""
    contracts = world["contracts"]
    market, token, reg = contracts.market, contracts.token, world["reg"]
    token.mint(buyer, 10**24, sender=deployer)
    plain = tmp_path / "data.csv"
    plain.write_text(CSV)
    keys = tmp_path / "owner"
    store = LocalStore(tmp_path / "ipfs")
    listed = []
    for name in ("one", "two"):
        os.environ["DATASOIL_HOME"] = str(keys / name)
        prepared = publish.prepare(plain, store=store, private=True)
        dataset_id = publish.register(prepared, reg, sender=owner)
        key = access.load_content_key(prepared.content_cid, root=keys / name).key
        market.list_dataset(
            dataset_id, token, PRICE, 3600, 0, access.key_commitment(key), sender=owner
        )
        listed.append(dataset_id)
    os.environ["DATASOIL_HOME"] = str(tmp_path / "home")
    # The owner's keeper holds only the first key.
    key_root = keys / "one"
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    index = open_index(world)
    index.reader.backoff = 0.01
    lines: list[str] = []
    step = dict(key_root=key_root, index=index, log=lines.append, start_block=world["record"].block)
    state = tmp_path / "keeper.json"
    first = access.buy(market, token, listed[0], public, sender=buyer)
    assert access.keeper_step(market, reg, owner, state, **step) == [first]
    # The keeper is down: EMPTY_BLOCKS blocks and two purchases later it restarts.
    chain.provider.make_request("anvil_mine", [hex(EMPTY_BLOCKS)])
    second = access.buy(market, token, listed[0], public, sender=buyer)
    missing = access.buy(market, token, listed[1], public, sender=buyer)
    restarted = open_index(world)
    restarted.reader.backoff = 0.01
    step["index"] = restarted
    assert access.keeper_step(market, reg, owner, state, **step) == [second]
    assert access.keeper_step(market, reg, owner, state, **step) == []
    assert access.keeper_step(market, reg, owner, state, **step) == []
    about = [line for line in lines if f"purchase {missing}" in line]
    assert len(about) == 1 and "no content key for dataset" in about[0]
    assert len(event_logs(market.KeyDelivered, world["record"].block)) == 2
    awaiting = restarted.purchases(awaiting=True)
    assert [int(p["args"]["purchase_id"]) for p in awaiting] == [missing]
    delivered = restarted.purchases(buyer=str(buyer.address))
    assert [p["status"] for p in delivered] == ["delivered", "delivered", "pending"]
    assert [int(e["args"]["dataset_id"]) for e in restarted.listings()] == listed


def test_gateway_api__serves_the_index_through_the_proxy(world, owner, other, project):
    """The gateway's /api answers from the index, read through the limits proxy."""
    import httpx

    from datasoil.app import gateway as gw
    from datasoil.store.local import LocalStore as Store

    reg = world["reg"]
    a = register(reg, owner, "a")
    b = register(reg, other, "b", parents=[a])
    app = gw.Gateway(
        world["w3"],
        Store(world["tmp"] / "gw-ipfs"),
        deployments_dir=config.deployments_dir(),
    )
    server = gw.serve(app, 0)
    try:
        datasets = httpx.get(f"{server.url}/api/datasets").json()
        assert [d["id"] for d in datasets] == [a, b]
        mine = httpx.get(f"{server.url}/api/datasets", params={"owner": str(other.address)})
        assert [d["id"] for d in mine.json()] == [b]
        one = httpx.get(f"{server.url}/api/datasets/{a}").json()
        assert one["children"] == [b]
        events = httpx.get(
            f"{server.url}/api/events",
            params={
                "contract": "DatasetRegistry",
                "name": "DatasetRegistered",
                "owner": str(other.address),
            },
        ).json()
        assert [e["args"]["dataset_id"] for e in events] == [str(b)]
        missing = httpx.get(f"{server.url}/api/datasets/99")
        assert missing.status_code == 404 and "\n" not in missing.text.strip()
        assert httpx.get(f"{server.url}/api/nothing").status_code == 404
    finally:
        server.shutdown()
