"""datasoil.flows.access on a real anvil (run with `ape test`): keeper, buyer, fetch."""

from __future__ import annotations

import json
import os
import stat

import ape
import pytest

from datasoil.chain import event_logs
from datasoil.chain.registry import Registry
from datasoil.errors import CidMismatch, CryptoError, NotFound
from datasoil.flows import access, publish
from datasoil.formats import crypto
from datasoil.store.local import LocalStore

PRICE = 10**18
DURATION = 3600
WINDOW = 120
CSV = "id,name,score\n1,ada,0.5\n2,bob,1.25\n3,cy,\n"


@pytest.fixture
def world(project, deployer, registry, token, owner, tmp_path):
    """A private dataset published by `owner` (datasoil.flows.publish), listed on a fresh market."""
    market = deployer.deploy(project.AccessMarket, registry, 600, WINDOW, WINDOW)
    market.set_token_allowed(token, True, sender=deployer)
    plain = tmp_path / "data.csv"
    plain.write_text(CSV)
    keys = tmp_path / "owner-state"
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    os.environ["DATASOIL_HOME"] = str(keys)
    try:
        prepared = publish.prepare(plain, store=store, private=True)
    finally:
        del os.environ["DATASOIL_HOME"]
    dataset_id = publish.register(prepared, reg, sender=owner)
    path = keys / "keys" / f"{prepared.content_cid}.json"
    key = access.load_content_key(prepared.content_cid, root=keys).key
    market.list_dataset(
        dataset_id, token, PRICE, DURATION, 0, access.key_commitment(key), sender=owner
    )
    return dict(
        market=market,
        reg=reg,
        id=dataset_id,
        key=key,
        keys=keys,
        key_path=path,
        manifest=access.load_content_key(prepared.content_cid, root=keys).manifest,
        store=store,
        state=tmp_path / "keeper.json",
        tmp=tmp_path,
        prepared=prepared,
    )


def test_save_content_key__private_file_round_trips(world):
    assert stat.S_IMODE(world["key_path"].stat().st_mode) == 0o600
    cid = world["key_path"].stem
    loaded = access.load_content_key(cid, root=world["keys"])
    assert loaded.key == world["key"] and loaded.manifest == world["manifest"]
    with pytest.raises(NotFound, match="expected a content key"):
        access.load_content_key("bafynothere", root=world["keys"])


def test_keeper__delivers_once_and_buyer_fetches(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, world["id"], public, sender=buyer)
    assert market.has_access(world["id"], buyer) is False

    step = dict(key_root=world["keys"], log=lambda _m: None)
    assert access.keeper_step(market, reg, owner, world["state"], **step) == [pid]
    assert market.has_access(world["id"], buyer) is True
    # A restart (state reloaded) and a lost state file both find nothing to deliver.
    assert access.keeper_step(market, reg, owner, world["state"], **step) == []
    world["state"].unlink()
    assert access.keeper_step(market, reg, owner, world["state"], **step) == []
    assert len(event_logs(market.KeyDelivered, 0)) == 1
    (section,) = json.loads(world["state"].read_text())["keepers"].values()
    assert section == {"last_block": chain.blocks.head.number, "watch": [pid]}

    envelope = access.wait_for_key(market, pid, timeout=5)
    assert crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret) == world["key"]
    out = world["tmp"] / "out"
    path = access.fetch(reg.get(world["id"]), envelope, secret, out, store=world["store"])
    assert path == out / "data.csv" and path.read_text() == CSV
    assert sorted(p.name for p in out.iterdir()) == ["data.csv"]


def test_fetch__tampered_envelope_writes_nothing(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, world["id"], public, sender=buyer)
    access.keeper_step(market, reg, owner, world["state"], key_root=world["keys"])
    envelope = json.loads(access.wait_for_key(market, pid, timeout=5))
    sealed = bytearray(crypto._unb64(envelope["ciphertext"], "ciphertext"))
    sealed[0] ^= 1
    envelope["ciphertext"] = crypto._b64(bytes(sealed))
    out = world["tmp"] / "out"
    with pytest.raises(CryptoError, match="does not open"):
        access.fetch(
            reg.get(world["id"]),
            json.dumps(envelope).encode(),
            secret,
            out,
            store=world["store"],
        )
    assert not out.exists() or list(out.iterdir()) == []


def test_fetch__plaintext_cid_mismatch_writes_nothing(world, token, owner, buyer, chain):
    """A ciphertext whose encrypted manifest names another plaintext CID is refused."""
    from datasoil.formats import rows

    market, reg, tmp = world["market"], world["reg"], world["tmp"]
    plain = tmp / "data.csv"
    key = crypto.new_content_key()
    manifest = dict(world["manifest"], plaintext_cid=world["prepared"].content_cid)
    archive, cipher = tmp / "forged.tar", tmp / "forged.enc"
    publish._deterministic_tar([("data.csv", plain)], json.dumps(manifest).encode(), archive)
    crypto.encrypt_file(archive, cipher, key)
    cipher_cid = str(world["store"].add_path(cipher))
    schema = rows.Schema.from_json(manifest["schema"])
    root, count = rows.dataset_root(plain, schema, key=crypto.row_hmac_key(key))
    forged = reg.register(
        content_cid=cipher_cid,
        row_root=root,
        row_count=count,
        metadata_cid=world["prepared"].metadata_cid,
        license="MIT",
        private=True,
        sender=owner,
    )
    access.save_content_key(cipher_cid, key, manifest, root=world["keys"])
    market.list_dataset(forged, token, PRICE, DURATION, 0, access.key_commitment(key), sender=owner)
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, forged, public, sender=buyer)
    access.keeper_step(market, reg, owner, world["state"], key_root=world["keys"])
    envelope = access.wait_for_key(market, pid, timeout=5)
    out = tmp / "out"
    with pytest.raises(CidMismatch, match="expected plaintext CID"):
        access.fetch(reg.get(forged), envelope, secret, out, store=world["store"])
    assert not out.exists()  # not even the folder the fetch made (issue 18 item 11)


def test_keeper__skips_invalid_key_and_buyer_refunds(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    token.approve(market, PRICE, sender=buyer)
    low_order = b"\x01" + b"\x00" * 31  # u = 1, a low-order X25519 point
    tx = market.buy(world["id"], token, PRICE, DURATION, low_order, sender=buyer)
    pid = int(tx.decode_logs(market.Purchased)[0].purchase_id)
    logged = []
    assert (
        access.keeper_step(
            market, reg, owner, world["state"], key_root=world["keys"], log=logged.append
        )
        == []
    )
    assert logged == [f"purchase {pid}: invalid key"]
    with pytest.raises(access.KeyTimeout, match=f"ape run market refund {pid}"):
        access.wait_for_key(market, pid, timeout=0.2, poll=0.1)
    chain.pending_timestamp += 600
    assert access.refund(market, pid, sender=buyer) == PRICE
    with pytest.raises(access.PurchaseInvalid, match="refunded"):
        access.wait_for_key(market, pid, timeout=1)


def test_keeper__missing_content_key_is_retried(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, world["id"], public, sender=buyer)
    moved = world["key_path"].with_suffix(".bak")
    world["key_path"].rename(moved)
    assert (
        access.keeper_step(
            market, reg, owner, world["state"], key_root=world["keys"], log=lambda _m: None
        )
        == []
    )
    (section,) = json.loads(world["state"].read_text())["keepers"].values()
    assert section["watch"] == [pid]
    moved.rename(world["key_path"])
    assert access.keeper_step(
        market, reg, owner, world["state"], key_root=world["keys"], log=lambda _m: None
    ) == [pid]


@pytest.mark.parametrize("key", [b"\x00" * 32, b"\x01" + b"\x00" * 31, b"\x05" * 31])
def test_check_encryption_key__rejects_unusable_keys(key):
    with pytest.raises(access.PurchaseInvalid, match="expected"):
        access.check_encryption_key(key)


def test_check_encryption_key__accepts_wallet_key(buyer, chain):
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    access.check_encryption_key(public)


def test_buy__not_listed_is_one_line_error(world, token, owner, buyer, chain):
    world["market"].delist(world["id"], sender=owner)
    with pytest.raises(access.PurchaseInvalid, match="listed for sale"):
        access.buy(world["market"], token, world["id"], b"\x09" * 32, sender=buyer)


def test_buy__price_raised_reverts_with_reason(world, token, owner, buyer):
    # The buyer pinned the old price; the revert string comes through as ChainError.
    from datasoil.errors import ChainError

    with pytest.raises(ChainError, match="market: price above max"):
        access.buy(
            world["market"], token, world["id"], b"\x09" * 32, sender=buyer, max_price=PRICE - 1
        )
    assert ape  # ape is the test runner here


def _deliver(world, owner, buyer, chain, token):
    market, reg = world["market"], world["reg"]
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, world["id"], public, sender=buyer)
    step = dict(key_root=world["keys"], log=lambda _m: None)
    assert access.keeper_step(market, reg, owner, world["state"], **step) == [pid]
    return pid, secret, step


def test_keeper__settles_after_objection_window(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    pid, _secret, step = _deliver(world, owner, buyer, chain, token)
    access.keeper_step(market, reg, owner, world["state"], **step)
    assert int(market.purchase(pid).status) == access.DELIVERED  # window still open
    chain.mine(timestamp=chain.blocks.head.timestamp + WINDOW)
    access.keeper_step(market, reg, owner, world["state"], **step)
    assert int(market.purchase(pid).status) == access.RELEASED
    assert int(market.credit(token, owner)) == PRICE
    (section,) = json.loads(world["state"].read_text())["keepers"].values()
    assert section["watch"] == []


def test_keeper__reveals_when_buyer_objects(world, token, owner, buyer, chain):
    market, reg = world["market"], world["reg"]
    pid, _secret, step = _deliver(world, owner, buyer, chain, token)
    deadline = access.object_delivery(market, pid, sender=buyer)
    assert deadline == chain.blocks.head.timestamp + WINDOW
    access.keeper_step(market, reg, owner, world["state"], **step)
    assert int(market.purchase(pid).status) == access.RELEASED
    (revealed,) = event_logs(market.KeyRevealed, 0)
    assert bytes(revealed.content_key) == world["key"]


def test_check_delivery__matching_key_passes_wrong_key_raises(world, token, owner, buyer, chain):
    market = world["market"]
    pid, secret, _step = _deliver(world, owner, buyer, chain, token)
    terms, _key = access.purchase_terms(market, pid)
    envelope = access.wait_for_key(market, pid, timeout=5)
    assert access.check_delivery(terms, envelope, secret) == world["key"]
    _other_secret, public = access.encryption_keypair(owner, chain.chain_id)
    wrong = crypto.envelope_to_bytes(crypto.seal_key(public, crypto.new_content_key()))
    with pytest.raises(access.KeyMismatch, match="opens with your key"):
        access.check_delivery(terms, wrong, secret)
    _s, mine = access.encryption_keypair(buyer, chain.chain_id)
    garbage = crypto.envelope_to_bytes(crypto.seal_key(mine, b"\x33" * 32))
    with pytest.raises(access.KeyMismatch, match="expected a content key with commitment"):
        access.check_delivery(terms, garbage, secret)


def test_garbage_key__buyer_objects_no_reveal_refunds(world, token, owner, buyer, chain):
    """A seller delivering a key other than the committed one, and not revealing."""
    market = world["market"]
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, world["id"], public, sender=buyer)
    terms, _key = access.purchase_terms(market, pid)
    garbage = crypto.envelope_to_bytes(crypto.seal_key(public, b"\x33" * 32))
    market.deliver_key(pid, terms.as_arg(), garbage, sender=owner)
    with pytest.raises(access.KeyMismatch):
        access.check_delivery(terms, access.wait_for_key(market, pid, timeout=5), secret)
    access.object_delivery(market, pid, sender=buyer)
    before = int(token.balanceOf(buyer))
    chain.mine(timestamp=chain.blocks.head.timestamp + WINDOW)
    assert access.refund(market, pid, sender=buyer) == PRICE
    assert int(token.balanceOf(buyer)) == before + PRICE


def test_keeper__two_accounts_share_a_state_file_without_skipping(
    world, project, registry, token, owner, other, buyer, chain, tmp_path
):
    """Issue 18.3: a second seller's keeper on the same state file still delivers."""
    market, reg = world["market"], world["reg"]
    # `other` publishes and lists a second private dataset.
    plain = tmp_path / "other.csv"
    plain.write_text("id,v\n1,2\n")
    os.environ["DATASOIL_HOME"] = str(world["keys"])
    try:
        prepared = publish.prepare(plain, store=world["store"], private=True)
    finally:
        del os.environ["DATASOIL_HOME"]
    second = publish.register(prepared, reg, sender=other)
    key = access.load_content_key(prepared.content_cid, root=world["keys"]).key
    market.list_dataset(second, token, PRICE, DURATION, 0, access.key_commitment(key), sender=other)
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    first_pid = access.buy(market, token, world["id"], public, sender=buyer)
    second_pid = access.buy(market, token, second, public, sender=buyer)
    step = dict(key_root=world["keys"], log=lambda _m: None)
    assert access.keeper_step(market, reg, owner, world["state"], **step) == [first_pid]
    assert access.keeper_step(market, reg, other, world["state"], **step) == [second_pid]
    assert len(json.loads(world["state"].read_text())["keepers"]) == 2


def test_keeper_state_path__keyed_by_chain_market_and_account(world, owner, other, chain):
    market = str(world["market"].address)
    a = access.keeper_state_path(chain.chain_id, market, str(owner.address), root=world["tmp"])
    b = access.keeper_state_path(chain.chain_id, market, str(other.address), root=world["tmp"])
    c = access.keeper_state_path(1, market, str(owner.address), root=world["tmp"])
    assert len({a, b, c}) == 3
    assert a.name == f"{chain.chain_id}-{market.lower()}-{str(owner.address).lower()}.json"


def test_buy__own_dataset_is_one_line_error(world, token, owner):
    with pytest.raises(access.PurchaseInvalid, match="other than the owner"):
        access.buy(world["market"], token, world["id"], b"\x09" * 32, sender=owner)


def test_key_commitment__is_keccak_of_the_key():
    from eth_utils.crypto import keccak

    key = crypto.new_content_key()
    assert access.key_commitment(key) == keccak(key)
    with pytest.raises(CryptoError, match="32-byte"):
        access.key_commitment(b"short")
