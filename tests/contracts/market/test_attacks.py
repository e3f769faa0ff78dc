"""Issue 10, items 1-4: each attack as it was run against the old market, now failing.

Every test here passed (the attack worked) against the market before the fix; the
assertions are what a victim is owed."""

from __future__ import annotations

import boa

from .conftest import (
    COMMITMENT,
    DURATION,
    ENVELOPE,
    OBJECTION_WINDOW,
    REFUND_TIMEOUT,
    REVEAL_WINDOW,
    credits_of,
    purchase_id_of,
    terms_of,
    warp_to,
)

PRICE = 10**18


def _lineage(register, market, token, ancestor_owner, seller):
    root = register(ancestor_owner)
    child = register(seller, [root])
    market.list_dataset(child, token, PRICE, DURATION, 5000, COMMITMENT, sender=seller)
    return root, child


def test_attack__relist_at_zero_before_delivery_still_pays_ancestors(
    market, token, register, accounts, buyer, buy, deliver, settle
):
    ancestor_owner, seller = accounts[1], accounts[2]
    root, child = _lineage(register, market, token, ancestor_owner, seller)
    pid = purchase_id_of(market, buy(child, max_price=PRICE))
    market.list_dataset(child, token, PRICE, DURATION, 0, COMMITMENT, sender=seller)
    deliver(pid, sender=seller)
    settle(pid)
    credits = credits_of(market)
    assert credits == [(root, ancestor_owner, PRICE // 2), (child, seller, PRICE // 2)]


def test_attack__delist_before_delivery_pays_pinned_share(
    market, token, register, accounts, buy, deliver, settle
):
    ancestor_owner, seller = accounts[1], accounts[2]
    root = register(ancestor_owner)
    child = register(seller, [root])
    market.list_dataset(child, token, PRICE, DURATION, 1000, COMMITMENT, sender=seller)
    pid = purchase_id_of(market, buy(child, max_price=PRICE))
    market.delist(child, sender=seller)  # the old market fell back to the 50% default
    deliver(pid, sender=seller)
    settle(pid)
    assert credits_of(market) == [
        (root, ancestor_owner, PRICE // 10),
        (child, seller, PRICE - PRICE // 10),
    ]


def test_attack__ancestor_transfer_before_delivery_pays_owner_at_purchase(
    market, registry, token, register, accounts, buy, deliver, settle
):
    ancestor_owner, seller, newcomer = accounts[1], accounts[2], accounts[3]
    root, child = _lineage(register, market, token, ancestor_owner, seller)
    pid = purchase_id_of(market, buy(child, max_price=PRICE))
    registry.propose_owner(root, newcomer, sender=ancestor_owner)
    registry.accept_owner(root, sender=newcomer)
    deliver(pid, sender=seller)
    settle(pid)
    assert credits_of(market)[0] == (root, ancestor_owner, PRICE // 2)


def test_attack__forged_credits_rejected(market, register, token, accounts, buy, deliver, step):
    ancestor_owner, seller = accounts[1], accounts[2]
    _root, child = _lineage(register, market, token, ancestor_owner, seller)
    pid = purchase_id_of(market, buy(child, max_price=PRICE))
    deliver(pid, sender=seller)
    boa.env.time_travel(seconds=OBJECTION_WINDOW)
    terms = terms_of(market, pid)
    forged = type(terms)(**{**terms.__dict__, "credits": ((child, str(seller), PRICE),)})
    with boa.reverts("market: terms mismatch"):
        step("settle", pid, terms=forged)


def test_attack__deliver_after_timeout_cannot_front_run_refund(
    market, token, buyer, purchase, deliver, step
):
    before = token.balanceOf(buyer)
    warp_to(terms_of(market, purchase).created + REFUND_TIMEOUT)
    with boa.reverts("market: delivery window over"):
        deliver(purchase)
    step("refund", purchase)
    assert token.balanceOf(buyer) == before + PRICE


def test_attack__garbage_key_objected_unrevealed_is_refunded(
    market, token, owner, buyer, listed, purchase, deliver, step
):
    before = token.balanceOf(buyer)
    deliver(purchase, envelope=b"garbage, not an envelope")
    step("object_key", purchase)
    warp_to(int(market.purchase(purchase).since) + REVEAL_WINDOW)
    step("refund", purchase)
    assert token.balanceOf(buyer) == before + PRICE
    assert market.credit(token, owner) == 0
    assert market.has_access(listed, buyer) is False


def test_attack__garbage_key_then_wrong_reveal_is_refunded(
    market, token, owner, buyer, purchase, deliver, step
):
    deliver(purchase, envelope=ENVELOPE)
    step("object_key", purchase)
    with boa.reverts("market: key does not match commitment"):
        step("reveal_key", purchase, b"\x44" * 32, sender=owner)
    warp_to(int(market.purchase(purchase).since) + REVEAL_WINDOW)
    step("refund", purchase)
    assert market.credit(token, owner) == 0


def test_attack__keeper_from_earlier_ownership_does_not_revive(
    market, registry, owner, other, cleaner, listed, buy, deliver
):
    market.set_keeper(listed, cleaner, sender=owner)
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    registry.propose_owner(listed, owner, sender=other)
    registry.accept_owner(listed, sender=owner)
    market.list_dataset(
        listed, market.listing(listed).token, PRICE, DURATION, 0, COMMITMENT, sender=owner
    )
    pid = purchase_id_of(market, buy(listed))
    with boa.reverts("market: not the seller or keeper"):
        deliver(pid, sender=cleaner)
    deliver(pid, sender=owner)


def test_attack__listing_from_earlier_ownership_does_not_revive(
    market, registry, owner, other, listed, buy
):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    registry.propose_owner(listed, owner, sender=other)
    registry.accept_owner(listed, sender=owner)
    assert market.listing(listed).active is False
    with boa.reverts("market: listing lapsed"):
        buy(listed)
