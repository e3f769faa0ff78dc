"""datasoil.access on a real anvil (run with `ape test`): keeper, buyer, fetch."""

from __future__ import annotations

import json
import os
import stat

import ape
import pytest

from datasoil import access, crypto, publish
from datasoil.chain import event_logs
from datasoil.errors import CidMismatch, CryptoError, NotFound
from datasoil.registry import Registry
from datasoil.store.local import LocalStore

PRICE = 10**18
DURATION = 3600
CSV = "id,name,score\n1,ada,0.5\n2,bob,1.25\n3,cy,\n"


@pytest.fixture
def world(project, deployer, registry, token, owner, tmp_path):
    """A private dataset published by `owner` (datasoil.publish), listed on a fresh market."""
    market = deployer.deploy(project.AccessMarket, registry, 600)
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
    market.list_dataset(dataset_id, token, PRICE, DURATION, 0, sender=owner)
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
    assert json.loads(world["state"].read_text())["last_block"] == chain.blocks.head.number

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
    from datasoil import rows

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
    market.list_dataset(forged, token, PRICE, DURATION, 0, sender=owner)
    secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(market, token, forged, public, sender=buyer)
    access.keeper_step(market, reg, owner, world["state"], key_root=world["keys"])
    envelope = access.wait_for_key(market, pid, timeout=5)
    out = tmp / "out"
    with pytest.raises(CidMismatch, match="expected plaintext CID"):
        access.fetch(reg.get(forged), envelope, secret, out, store=world["store"])
    assert list(out.iterdir()) == []


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
    market.refund(pid, sender=buyer)
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
    assert json.loads(world["state"].read_text())["retry"] == [pid]
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
