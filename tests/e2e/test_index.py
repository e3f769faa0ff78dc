"""The event index and bounded log reads on a chain past 20,000 blocks, through a
proxy with a public provider's limits (tests/e2e/rpc_proxy.py: ranges over 1,000
blocks refused, answers cut at 1,000 logs, HTTP 429 to every tenth request); a reorg;
the node going down mid-scan; the keeper resuming from the index; the gateway's /api,
`ape run datasets` and `ape run market keeper` reading the index through the proxy.

The module mines the long chain once (:func:`long_chain`): a dataset, 20,000 empty
blocks, two more datasets. ape's isolation gives every test that chain afresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner
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
from tests import script
from tests.e2e.rpc_proxy import LimitsProxy, mine_empty_blocks, web3_through

#: Empty blocks between the first dataset and the others, as the issue asks.
LONG = 20_000
#: The proxy's range limit (LimitsProxy's default); readers ask for 2,000 (the default).
PROXY_RANGE = 1000
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


@pytest.fixture(scope="module")
def long_chain(project, deployer, owner, other, buyer, chain, tmp_path_factory):
    """A deployment, dataset a, 20,000 empty blocks, then b (child of a) and c (private,
    child of a and b, registered by ``other``). It takes every session fixture the
    module uses: one first used after it would make ape rebuild it (and mine again)."""
    home = tmp_path_factory.mktemp("long-chain") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATASOIL_HOME", str(home))
        mp.delenv(config.LOG_RANGE_ENV, raising=False)
        record = dschain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
        contracts = dschain.contracts(project)
        reg = Registry(contracts.registry, record.block)
        a = register(reg, owner, "a")
        mine_empty_blocks(chain.provider.uri, LONG)
        b = register(reg, owner, "b", parents=[a])
        c = register(reg, other, "c", parents=[a, b], private=True)
        yield dict(
            record=record,
            contracts=contracts,
            abis=abis_of_project(project, list(record.contracts)),
            home=home,
            ids=(a, b, c),
        )


@pytest.fixture
def world(long_chain, chain, tmp_path):
    proxy = LimitsProxy(chain.provider.uri, max_range=PROXY_RANGE)
    contracts, record = long_chain["contracts"], long_chain["record"]
    yield dict(
        long_chain,
        reg=Registry(contracts.registry, record.block),
        proxy=proxy,
        w3=web3_through(proxy.url),
        tmp=tmp_path,
    )
    proxy.close()


def open_index(world, name="index.sqlite", **kw):
    index = EventIndex.open(world["w3"], world["abis"], path=world["tmp"] / name, **kw)
    index.reader.backoff = 0.01
    return index


def fresh_home(world, name="home"):
    """A DATASOIL_HOME with only the deployment record (so an empty index)."""
    home = world["tmp"] / name
    shutil.copytree(world["home"] / "deployments", home / "deployments")
    return home


def test_log_range__environment_variable(monkeypatch):
    monkeypatch.delenv(config.LOG_RANGE_ENV, raising=False)
    assert config.log_range() == 2000
    monkeypatch.setenv(config.LOG_RANGE_ENV, "500")
    assert config.log_range() == 500
    monkeypatch.setenv(config.LOG_RANGE_ENV, "0")
    with pytest.raises(ChainError, match="positive number of blocks"):
        config.log_range()


def test_index__long_chain_through_the_limits_proxy(world, chain):
    proxy, record = world["proxy"], world["record"]
    a, b, c = world["ids"]
    height = int(chain.blocks.height)
    assert height - record.block > LONG

    index = open_index(world)
    reached = index.sync()
    assert reached == height
    # The first 2,000-block page was refused and halved; every page read fit the limit.
    assert proxy.stats.refused_ranges >= 1 and proxy.stats.rate_limited >= 1
    assert proxy.stats.widest_range == PROXY_RANGE
    assert proxy.stats.get_logs > LONG // PROXY_RANGE
    assert [d["id"] for d in index.datasets()] == [a, b, c]
    owner = world["contracts"].registry.owner_of(a)
    assert [d["id"] for d in index.datasets(owner=str(owner).lower())] == [a, b]
    assert index.dataset(a)["children"] == [b, c]
    assert index.dataset(c)["ancestors"] == [a, b]
    tree = index.lineage(c)
    assert [p["dataset"]["id"] for p in tree["parents"]] == [a, b]
    assert index.datasets()[2]["content_cid"] == world["reg"].get(c).content_cid
    assert index.datasets()[2]["private"] is True
    assert index.datasets()[1]["block"] - index.datasets()[0]["block"] > LONG

    # A rebuild from scratch gives the same index as one filled in steps.
    fresh = open_index(world, "fresh.sqlite")
    fresh.sync()
    assert fresh.dump() == index.dump()
    stepped = open_index(world, "stepped.sqlite")
    for stop in (record.block + 3, record.block + LONG // 2, None):
        stepped.sync(stop)
    assert stepped.dump() == index.dump()


def test_event_logs__paged_reader_through_the_proxy(world):
    """The scripts' reader (event_logs) and LogReader over the limits proxy."""
    a, b, c = world["ids"]
    registry = world["contracts"].registry
    # Directly: ape's provider, in pages of DATASOIL_LOG_RANGE.
    found = event_logs(registry.DatasetRegistered, world["record"].block)
    assert [int(e.dataset_id) for e in found] == [a, b, c]
    only_b = event_logs(registry.DatasetRegistered, 0, dataset_id=b)
    assert [int(e.dataset_id) for e in only_b] == [b]
    # Through the proxy: the page shrinks to what it accepts, 429s are retried.
    bare = web3_through(world["proxy"].url, web3_retries=False)
    reader = LogReader(rpc_of(bare), backoff=0.01)
    logs = reader.logs(world["record"].block, reader.head(), address=str(registry.address))
    assert len([g for g in logs if g["topics"]]) >= 3
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
    index = open_index(world)
    index.sync()
    snapshot = chain.provider.make_request("evm_snapshot", [])
    register(reg, owner, "gone")
    index.sync()
    assert [d["content_cid"] for d in index.datasets()][-1] == _cid("gone")
    chain.provider.make_request("evm_revert", [snapshot])
    kept = register(reg, other, "kept")
    index.sync()
    found = index.datasets()
    assert [d["content_cid"] for d in found] == [_cid(n) for n in ("a", "b", "c", "kept")]
    assert [d["id"] for d in found] == [*world["ids"], kept]
    fresh = open_index(world, "fresh.sqlite")
    fresh.sync()
    assert fresh.dump() == index.dump()


def test_index__node_down_mid_scan_resumes(world, chain):
    proxy = world["proxy"]
    index = open_index(world)
    index.reader.retries = 2
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
    assert world["record"].block <= partial < int(chain.blocks.height) - LONG // 2
    proxy.down = False
    index.reader._call = real
    assert index.sync() == int(chain.blocks.height)
    assert [d["id"] for d in index.datasets()] == list(world["ids"])


CSV = "id,name\n1,ada\n2,bob\n"


def _no_log_scans(monkeypatch):
    """Make every raw log read outside the index fail the test."""

    def refused(*_a, **_k):
        raise AssertionError("a raw log scan where the index should answer")

    monkeypatch.setattr(access, "event_logs", refused)
    monkeypatch.setattr(dschain, "event_logs", refused)


def _listed_private(world, owner, tmp_path, monkeypatch, names):
    """Private datasets of ``owner``, each with its own key root, listed at PRICE."""
    market, token, reg = world["contracts"].market, world["contracts"].token, world["reg"]
    plain = tmp_path / "data.csv"
    plain.write_text(CSV)
    store = LocalStore(tmp_path / "ipfs")
    listed = []
    for name in names:
        monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "owner" / name))
        prepared = publish.prepare(plain, store=store, private=True, name=name)
        dataset_id = publish.register(prepared, reg, sender=owner)
        key = access.load_content_key(prepared.content_cid, root=tmp_path / "owner" / name).key
        market.list_dataset(
            dataset_id, token, PRICE, 3600, 0, access.key_commitment(key), sender=owner
        )
        listed.append(dataset_id)
    monkeypatch.setenv("DATASOIL_HOME", str(world["home"]))
    return listed


def test_keeper__resumes_from_the_index(
    world, owner, buyer, deployer, chain, tmp_path, monkeypatch
):
    """Down over a thousand blocks: purchases made meanwhile are delivered once; a purchase
    without its content key is logged once, with the reason; no raw log scan."""
    contracts = world["contracts"]
    market, token = contracts.market, contracts.token
    token.mint(buyer, 10**24, sender=deployer)
    listed = _listed_private(world, owner, tmp_path, monkeypatch, ["one", "two"])
    # The owner's keeper holds only the first key.
    key_root = tmp_path / "owner" / "one"
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    index = open_index(world)
    lines: list[str] = []
    step = dict(key_root=key_root, index=index, log=lines.append, start_block=world["record"].block)
    state = tmp_path / "keeper.json"
    first = access.buy(market, token, listed[0], public, sender=buyer)
    _no_log_scans(monkeypatch)
    indexed = Registry(contracts.registry, world["record"].block, index=index)
    assert access.keeper_step(market, indexed, owner, state, **step) == [first]
    # The keeper is down: a thousand blocks and two purchases later it restarts.
    mine_empty_blocks(chain.provider.uri, 1000)
    second = access.buy(market, token, listed[0], public, sender=buyer)
    missing = access.buy(market, token, listed[1], public, sender=buyer)
    restarted = open_index(world)
    step["index"] = restarted
    indexed = Registry(contracts.registry, world["record"].block, index=restarted)
    assert access.keeper_step(market, indexed, owner, state, **step) == [second]
    assert access.keeper_step(market, indexed, owner, state, **step) == []
    assert access.keeper_step(market, indexed, owner, state, **step) == []
    about = [line for line in lines if f"purchase {missing}" in line]
    assert len(about) == 1 and "no content key for dataset" in about[0]
    assert len(restarted.events("AccessMarket", "KeyDelivered")) == 2
    awaiting = restarted.purchases(awaiting=True)
    assert [int(p["args"]["purchase_id"]) for p in awaiting] == [missing]
    delivered = restarted.purchases(buyer=str(buyer.address))
    assert [p["status"] for p in delivered] == ["delivered", "delivered", "pending"]
    assert [int(e["args"]["dataset_id"]) for e in restarted.listings()] == listed


def test_index__a_change_of_owner_lapses_the_listing(world, owner, other, tmp_path, monkeypatch):
    reg = world["contracts"].registry
    kept, moved = _listed_private(world, owner, tmp_path, monkeypatch, ["kept", "moved"])
    index = open_index(world)
    index.sync()
    assert [int(e["args"]["dataset_id"]) for e in index.listings()] == [kept, moved]
    reg.propose_owner(moved, other, sender=owner)
    reg.accept_owner(moved, sender=other)
    assert not world["contracts"].market.listing(moved).active
    index.sync()
    assert [int(e["args"]["dataset_id"]) for e in index.listings()] == [kept]


def test_gateway_api__serves_the_index_through_the_proxy(world, other):
    """The gateway's /api answers from the index, read through the limits proxy."""
    import httpx

    from datasoil.app import gateway as gw

    a, b, c = world["ids"]
    app = gw.Gateway(
        world["w3"], LocalStore(world["tmp"] / "gw-ipfs"), deployments_dir=config.deployments_dir()
    )
    server = gw.serve(app, 0)
    try:
        datasets = httpx.get(f"{server.url}/api/datasets", timeout=60).json()
        assert [d["id"] for d in datasets] == [a, b, c]
        assert world["proxy"].stats.refused_ranges >= 1
        assert world["proxy"].stats.widest_range == PROXY_RANGE
        mine = httpx.get(f"{server.url}/api/datasets", params={"owner": str(other.address)})
        assert [d["id"] for d in mine.json()] == [c]
        one = httpx.get(f"{server.url}/api/datasets/{a}").json()
        assert one["children"] == [b, c]
        events = httpx.get(
            f"{server.url}/api/events",
            params={
                "contract": "DatasetRegistry",
                "name": "DatasetRegistered",
                "owner": str(other.address),
            },
        ).json()
        assert [e["args"]["dataset_id"] for e in events] == [str(c)]
        pages = [
            httpx.get(f"{server.url}/api/datasets", params={"limit": 2, "offset": o}).json()
            for o in (0, 2, 4)
        ]
        assert [[d["id"] for d in page] for page in pages] == [[a, b], [c], []]
        for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
            refused = httpx.get(f"{server.url}/api/datasets", params=bad)
            assert refused.status_code == 400, bad
            assert "expected" in refused.text and "\n" not in refused.text.strip()
        missing = httpx.get(f"{server.url}/api/datasets/99")
        assert missing.status_code == 404 and "\n" not in missing.text.strip()
        assert httpx.get(f"{server.url}/api/nothing").status_code == 404
    finally:
        server.shutdown()


def test_gateway_rpc__passes_the_nodes_rate_limit_on(world, chain, tmp_path):
    """A node's HTTP 429 reaches the page as 429 (it can wait and retry), not as 502."""
    import httpx

    from datasoil.app import gateway as gw

    limited = LimitsProxy(chain.provider.uri, rate_every=2)
    app = gw.Gateway(world["w3"], LocalStore(tmp_path / "ipfs"), node=limited.url)
    server = gw.serve(app, 0)
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        first = httpx.post(f"{server.url}/rpc", json=call, timeout=30)
        second = httpx.post(f"{server.url}/rpc", json=call, timeout=30)
        assert first.status_code == 200 and first.json()["result"] == hex(chain.chain_id)
        assert second.status_code == 429, second.text
        assert "rate-limiting" in second.text and "\n" not in second.text.strip()
        limited.down = True
        down = httpx.post(f"{server.url}/rpc", json=call, timeout=30)
        assert down.status_code == 502 and "HTTP 503" in down.text
    finally:
        server.shutdown()
        limited.close()


def _run(cli, args):
    """The command's own output: without ape's log lines, which reach it when an earlier
    test in the same process left ape's logger at INFO (seen in full runs)."""
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(("INFO:", "DEBUG:")))


def test_datasets_script__reads_the_index_through_the_proxy(world, tmp_path, monkeypatch):
    """`ape run datasets` on --network <the proxy>: every read through provider limits,
    the registrations from a fresh index, no raw log scan."""
    a, b, c = world["ids"]
    proxy = world["proxy"]
    home = fresh_home(world)
    monkeypatch.setenv("DATASOIL_HOME", str(home))
    _no_log_scans(monkeypatch)
    cli = script.load("datasets").cli
    listed = _run(cli, ["list", "--network", proxy.url]).strip().splitlines()
    assert [line.split()[0] for line in listed[-3:]] == [f"#{a}", f"#{b}", f"#{c}"]
    assert listed[-1] == f"#{c} {_cid('c')} rows=3 parents={a},{b} private"
    shown = json.loads(_run(cli, ["show", str(a), "--network", proxy.url]))
    assert (shown["children"], shown["versions"]) == ([b, c], [a])
    tree = _run(cli, ["lineage", str(c), "--network", proxy.url])
    assert f"#{a} {_cid('a')}" in tree and f"#{b} {_cid('b')}" in tree
    assert proxy.stats.get_logs > LONG // PROXY_RANGE
    assert proxy.stats.widest_range == PROXY_RANGE and proxy.stats.rate_limited >= 1
    (index_file,) = (home / "index").glob("*.sqlite")
    assert index_file.stat().st_size > 0


def test_market_keeper_script__delivers_from_the_index_through_the_proxy(
    world, owner, buyer, deployer, chain, tmp_path, monkeypatch
):
    """`ape run market keeper --once` on --network <the proxy> finds a purchase 20,000
    blocks past the deployment in its index and delivers the key."""
    contracts = world["contracts"]
    market, token = contracts.market, contracts.token
    token.mint(buyer, 10**24, sender=deployer)
    (listed,) = _listed_private(world, owner, tmp_path, monkeypatch, ["sold"])
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, listed, public, sender=buyer)
    proxy = world["proxy"]
    home = fresh_home(world)
    monkeypatch.setenv("DATASOIL_HOME", str(home))
    _no_log_scans(monkeypatch)
    cli = script.load("market").cli
    args = ["keeper", "--account", "TEST::1", "--once", "--network", proxy.url]
    args += ["--keys", str(tmp_path / "owner" / "sold"), "--state", str(tmp_path / "k.json")]
    _run(cli, args)
    assert int(market.purchase(pid).status) == access.DELIVERED
    assert proxy.stats.get_logs > LONG // PROXY_RANGE
    assert proxy.stats.widest_range == PROXY_RANGE
    # What the keeper went by: its index under the fresh home, synced before it delivered.
    (path,) = (home / "index").glob("*.sqlite")
    kept = EventIndex.open(world["w3"], world["abis"], path=path)
    assert [int(p["args"]["purchase_id"]) for p in kept.purchases(awaiting=True)] == [pid]
