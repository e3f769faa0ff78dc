from __future__ import annotations

import boa
import pytest
from eth_account import Account

from .conftest import (
    COMMITMENT,
    DURATION,
    KEY,
    PRICE,
    UPSTREAM_BPS,
    deploy,
    event,
    purchase_id_of,
    terms_of,
    timestamp,
)

ZERO_KEY = b"\x00" * 32


def test_buy__escrows_payment_pins_terms_and_logs(market, token, owner, buyer, listed, buy):
    before = token.balanceOf(buyer)
    returned = buy(listed)
    purchased = event(market, "Purchased")
    pid = purchase_id_of(market, returned)
    assert pid == 1 and market.purchase_count() == 1
    assert token.balanceOf(buyer) == before - PRICE
    assert token.balanceOf(market) == PRICE
    assert token.allowance(buyer, market) == 0
    now = timestamp()
    p = market.purchase(pid)
    assert (p.status, p.since) == (1, now)
    assert (purchased.dataset_id, purchased.buyer, purchased.encryption_key) == (
        listed,
        buyer,
        KEY,
    )
    terms = terms_of(market, pid)
    assert (terms.buyer, terms.dataset_id, terms.seller, terms.period) == (buyer, listed, owner, 0)
    assert (terms.token, terms.price, terms.duration, terms.created) == (
        token.address,
        PRICE,
        DURATION,
        now,
    )
    assert terms.key_commitment == COMMITMENT
    assert terms.credits == ((listed, owner, PRICE),)  # no parents: all to the seller
    # The contract keeps the top 216 bits of keccak256(abi.encode(id, terms)).
    assert p.terms_hash == terms.hash(pid) >> 40
    # A pending purchase grants nothing.
    assert market.has_access(listed, buyer) is False
    assert market.access_expiry(listed, buyer) == 0


def test_buy__pays_listed_price_not_max(market, token, buyer, listed):
    token.approve(market, 5 * PRICE, sender=buyer)
    returned = market.buy(listed, token, 5 * PRICE, 1, KEY, sender=buyer)
    assert terms_of(market, purchase_id_of(market, returned)).price == PRICE
    assert token.allowance(buyer, market) == 4 * PRICE


def test_buy__zero_encryption_key_reverts(listed, buy):
    with boa.reverts("market: zero encryption key"):
        buy(listed, key=ZERO_KEY)


def test_buy__not_listed_reverts(dataset, buy):
    with boa.reverts("market: not listed"):
        buy(dataset)


def test_buy__delisted_reverts(market, owner, listed, buy):
    market.delist(listed, sender=owner)
    with boa.reverts("market: not listed"):
        buy(listed)


def test_buy__reowned_dataset_reverts(registry, owner, other, listed, buy):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    with boa.reverts("market: listing lapsed"):
        buy(listed)


def test_buy__own_dataset_reverts(market, token, owner, listed, buy):
    with boa.reverts("market: buyer is the owner"):
        buy(listed, sender=owner)


def test_buy__token_changed_reverts(market, token, deployer, owner, buyer, listed):
    other_token = deploy("DemoToken", "other", "OTH")
    market.set_token_allowed(other_token, True, sender=deployer)
    market.list_dataset(
        listed, other_token, PRICE, DURATION, UPSTREAM_BPS, COMMITMENT, sender=owner
    )
    token.approve(market, PRICE, sender=buyer)
    with boa.reverts("market: token changed"):
        market.buy(listed, token, PRICE, DURATION, KEY, sender=buyer)


def test_buy__token_disallowed_after_listing_reverts(market, token, deployer, listed, buy):
    market.set_token_allowed(token, False, sender=deployer)
    with boa.reverts("market: token not allowed"):
        buy(listed)


def test_buy__price_above_max_reverts(market, token, owner, listed, buy):
    market.list_dataset(listed, token, PRICE + 1, DURATION, UPSTREAM_BPS, COMMITMENT, sender=owner)
    with boa.reverts("market: price above max"):
        buy(listed)


def test_buy__duration_below_min_reverts(market, token, owner, listed, buy):
    market.list_dataset(listed, token, PRICE, DURATION - 1, UPSTREAM_BPS, COMMITMENT, sender=owner)
    with boa.reverts("market: duration below min"):
        buy(listed)


def test_buy__insufficient_allowance_reverts(market, token, buyer, listed):
    token.approve(market, PRICE - 1, sender=buyer)
    with boa.reverts("market: insufficient allowance"):
        market.buy(listed, token, PRICE, DURATION, KEY, sender=buyer)


def test_buy__fee_on_transfer_token_reverts(market, deployer, owner, buyer, dataset):
    fee_token = deploy("test/FeeTokenMock")
    fee_token.mint(buyer, 10 * PRICE, sender=deployer)
    market.set_token_allowed(fee_token, True, sender=deployer)
    market.list_dataset(dataset, fee_token, PRICE, DURATION, 0, COMMITMENT, sender=owner)
    fee_token.approve(market, PRICE, sender=buyer)
    with boa.reverts("market: token took a fee"):
        market.buy(dataset, fee_token, PRICE, DURATION, KEY, sender=buyer)
    assert market.purchase_count() == 0


# --- buy_with_permit -------------------------------------------------------------


def _permit(token, chain_id, holder, spender, value, deadline, signer=None):
    """Sign an EIP-2612 permit with an independent EIP-712 implementation (eth-account)."""
    nonce = token.nonces(holder)
    data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "datasoil demo",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": str(token.address),
        },
        "message": {
            "owner": str(holder),
            "spender": str(spender.address),
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signed = Account.sign_typed_data((signer or holder).private_key, full_message=data)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.fixture
def deadline():
    return timestamp() + 3600


def test_buy_with_permit__approves_and_buys(market, token, chain_id, buyer, listed, deadline):
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline)
    returned = market.buy_with_permit(
        listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer
    )
    assert terms_of(market, purchase_id_of(market, returned)).buyer == buyer
    assert token.balanceOf(market) == PRICE
    assert token.nonces(buyer) == 1


def test_buy_with_permit__front_run_permit_still_buys(
    market, token, chain_id, buyer, other, listed, deadline
):
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline)
    # Someone copies the permit from the mempool and submits it first.
    token.permit(buyer, market, PRICE, deadline, v, r, s, sender=other)
    returned = market.buy_with_permit(
        listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer
    )
    assert market.purchase(purchase_id_of(market, returned)).status == 1
    assert token.balanceOf(market) == PRICE


def test_buy_with_permit__expired_permit_reverts(market, token, chain_id, buyer, listed):
    deadline = timestamp() - 1
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline)
    with boa.reverts("market: permit rejected and allowance too low"):
        market.buy_with_permit(listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer)


def test_buy_with_permit__wrong_signer_reverts(
    market, token, chain_id, buyer, other, listed, deadline
):
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline, signer=other)
    with boa.reverts("market: permit rejected and allowance too low"):
        market.buy_with_permit(listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer)


def test_buy_with_permit__permit_below_price_reverts(
    market, token, chain_id, buyer, owner, listed, deadline
):
    # The permit is for the buyer's max price; the seller raised the price meanwhile.
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline)
    market.list_dataset(listed, token, 2 * PRICE, DURATION, UPSTREAM_BPS, COMMITMENT, sender=owner)
    with boa.reverts("market: price above max"):
        market.buy_with_permit(listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer)


def test_buy_with_permit__permit_reused_after_allowance_spent_reverts(
    market, token, chain_id, buyer, other, listed, deadline
):
    # The permit was front-run and its allowance already spent by a plain buy.
    v, r, s = _permit(token, chain_id, buyer, market, PRICE, deadline)
    token.permit(buyer, market, PRICE, deadline, v, r, s, sender=other)
    market.buy(listed, token, PRICE, DURATION, KEY, sender=buyer)
    with boa.reverts("market: permit rejected and allowance too low"):
        market.buy_with_permit(listed, token, PRICE, DURATION, KEY, deadline, v, r, s, sender=buyer)
