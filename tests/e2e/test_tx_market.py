"""`ape run market …` checks before it sends (issue 18 item 5): each refusal is the
command's exit code 1 and one line, and nothing was mined — the sender's nonce and the
chain's head are as they were. Also: re-fetching into a folder that holds the data
(--force), a failed fetch leaving nothing (item 11), two purchases in a row with a
transaction still pending, and --network with its RPC variable unset."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.chain.session import Session
from datasoil.flows import access, publish
from datasoil.store import open_store
from tests import script

PRICE = 10**18
CSV = "id,name,score\n1,ada,0.5\n2,bob,1.25\n3,cy,\n"
BUYER = "TEST::5"  # the `buyer` fixture
BROKE = "TEST::7"  # holds no tokens


@pytest.fixture
def env(project, deployer, owner, buyer, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    chain.deploy_all(project, deployer, mint_to=[owner, buyer], log=lambda _m: None)
    session = Session.connect(project, owner)
    ids = []
    for n in range(2):
        data = tmp_path / f"data{n}.csv"
        data.write_text(CSV + f"{4 + n},dee,2.0\n")
        prepared = publish.prepare(data, store=open_store(), private=True)
        dataset_id = publish.register(prepared, session.registry, sender=owner)
        key = access.load_content_key(prepared.content_cid).key
        session.market.list_dataset(
            dataset_id, session.token.address, PRICE, 3600, 0, access.key_commitment(key)
        )
        ids.append(dataset_id)
    return dict(session=session, ids=ids, tmp=tmp_path)


def _market(*args):
    return CliRunner().invoke(script.load("market").cli, [*args], catch_exceptions=False)


def _state(address):
    w3 = chain.web3()
    return w3.eth.get_transaction_count(address), w3.eth.block_number


def _one_line_error(result, expected):
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("ERROR")]
    assert lines == [f"ERROR: {expected}"], result.output
    assert "Traceback" not in result.output


def test_buy__unlisted_dataset_is_one_line_and_sends_nothing(env, owner, buyer):
    env["session"].market.contract.delist(env["ids"][0], sender=owner)
    before = _state(buyer.address)
    result = _market("buy", str(env["ids"][0]), "--account", BUYER)
    _one_line_error(result, f"expected dataset {env['ids'][0]} to be listed for sale, it is not")
    assert _state(buyer.address) == before


def test_buy__unknown_dataset_is_one_line_and_sends_nothing(env, buyer):
    before = _state(buyer.address)
    result = _market("buy", "99", "--account", BUYER)
    _one_line_error(
        result,
        "expected dataset 99 to be listed for sale, the AccessMarket refused: "
        "registry: unknown dataset",
    )
    assert _state(buyer.address) == before


def test_buy__short_balance_sends_no_approval(env, accounts):
    broke = accounts[7]
    before = _state(broke.address)
    result = _market("buy", str(env["ids"][0]), "--account", BROKE)
    _one_line_error(
        result,
        f"expected dataset {env['ids'][0]} to be bought, the DemoToken refused: "
        f"{broke.address} holds 0 SOIL, 1 SOIL are needed",
    )
    assert _state(broke.address) == before
    assert env["session"].token.allowance(broke.address, env["session"].market.address) == 0


def test_refund__too_early_is_refused_before_it_is_mined(env, buyer):
    result = _market("buy", str(env["ids"][0]), "--account", BUYER)
    assert result.exit_code == 0, result.output
    pid = int(result.output.strip().splitlines()[-1])
    before = _state(buyer.address)
    result = _market("refund", str(pid), "--account", BUYER)
    _one_line_error(
        result,
        f"expected a refund of purchase {pid}, the AccessMarket refused: "
        "market: refund timeout not reached",
    )
    assert _state(buyer.address) == before


def test_buy__two_in_a_row_with_one_still_pending(env, buyer):
    """A transaction of the buyer's still in the pool (blocks every second, no automine):
    the next ones take the following nonces instead of replacing it."""
    w3 = chain.web3()
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        pending = w3.eth.send_transaction({"from": buyer.address, "to": buyer.address})
        w3.provider.make_request("evm_setIntervalMining", [1])
        first = _market("buy", str(env["ids"][0]), "--account", BUYER)
        second = _market("buy", str(env["ids"][1]), "--account", BUYER)
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert w3.eth.get_transaction_receipt(pending)["status"] == 1
    market = env["session"].market.contract
    assert [int(market.purchase(p).status) for p in (1, 2)] == [access.PENDING] * 2


def _bought_and_delivered(env, owner, dataset_id):
    result = _market("buy", str(dataset_id), "--account", BUYER)
    assert result.exit_code == 0, result.output
    session = env["session"]
    state = env["tmp"] / "keeper.json"
    access.keeper_step(session.market.contract, session.registry, owner, state, log=print)


def test_fetch__again_needs_force_and_replaces(env, owner):
    _bought_and_delivered(env, owner, env["ids"][0])
    out = env["tmp"] / "out"
    args = ["fetch", str(env["ids"][0]), "--out", str(out), "--account", BUYER, "--timeout", "5"]
    assert _market(*args).exit_code == 0
    (path,) = out.iterdir()
    path.write_text("edited by hand\n")
    _one_line_error(
        _market(*args), f"expected {path} not to exist, found it: pass --force to replace it"
    )
    assert path.read_text() == "edited by hand\n"
    assert _market(*args, "--force").exit_code == 0
    assert sorted(out.iterdir()) == [path] and path.read_text().startswith(CSV)


def test_fetch__failed_leaves_no_folder(env, owner, tmp_path, monkeypatch):
    _bought_and_delivered(env, owner, env["ids"][0])
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "empty-ipfs"))  # no ciphertext
    out = tmp_path / "new" / "out"
    result = _market(
        "fetch", str(env["ids"][0]), "--out", str(out), "--account", BUYER, "--timeout", "5"
    )
    assert result.exit_code == 1 and "ERROR: " in result.output
    assert not (tmp_path / "new").exists()


def test_network__rpc_variable_unset_is_one_line(monkeypatch):
    monkeypatch.delenv("SEPOLIA_RPC_URL", raising=False)
    result = _market("listing", "1", "--network", "ethereum:sepolia")
    _one_line_error(
        result,
        "expected an RPC URL for ethereum:sepolia in $SEPOLIA_RPC_URL (ape-config.yaml), "
        "found it unset: export SEPOLIA_RPC_URL=https://…",
    )
