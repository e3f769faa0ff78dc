from __future__ import annotations

import ape

from .conftest import DURATION, ENVELOPE, PRICE, REFUND_TIMEOUT, purchase_id_of


def test_deliver_key__releases_grants_and_logs(
    market, token, owner, buyer, listed, purchase, deliver
):
    tx = deliver(purchase)
    now = ape.chain.blocks.head.timestamp
    p = market.purchase(purchase)
    assert p.status == 2 and p.price == 0 and p.buyer == buyer
    assert market.credit(token, owner) == PRICE  # no parents: everything to the owner
    assert token.balanceOf(market) == PRICE
    assert market.access_expiry(listed, buyer) == now + DURATION
    assert market.has_access(listed, buyer) is True
    (delivered,) = tx.decode_logs(market.KeyDelivered)
    assert (delivered.purchase_id, delivered.dataset_id, delivered.buyer) == (
        purchase,
        listed,
        buyer,
    )
    assert delivered.envelope == ENVELOPE and delivered.access_expiry == now + DURATION
    (credited,) = tx.decode_logs(market.Credited)
    assert (credited.token, credited.account, credited.dataset_id) == (token, owner, listed)
    assert (credited.purchase_id, credited.amount) == (purchase, PRICE)


def test_deliver_key__access_is_for_buyer_only(market, other, listed, purchase, deliver):
    deliver(purchase)
    assert market.has_access(listed, other) is False


def test_deliver_key__keeper_delivers_owner_is_paid(
    market, token, owner, cleaner, purchase, deliver
):
    market.set_keeper(market.purchase(purchase).dataset_id, cleaner, sender=owner)
    deliver(purchase, sender=cleaner)
    assert market.credit(token, owner) == PRICE
    assert market.credit(token, cleaner) == 0


def test_deliver_key__renewal_extends_expiry(market, buyer, listed, purchase, buy, deliver):
    deliver(purchase)
    first = market.access_expiry(listed, buyer)
    second = purchase_id_of(market, buy(listed))
    deliver(second)
    assert market.access_expiry(listed, buyer) == first + DURATION


def test_deliver_key__renewal_after_expiry_starts_now(
    market, buyer, listed, purchase, buy, deliver
):
    deliver(purchase)
    ape.chain.mine(timestamp=ape.chain.blocks.head.timestamp + DURATION + 10)
    assert market.has_access(listed, buyer) is False
    second = purchase_id_of(market, buy(listed))
    deliver(second)
    assert market.access_expiry(listed, buyer) == ape.chain.blocks.head.timestamp + DURATION


def test_deliver_key__after_delist_still_delivers(market, owner, buyer, listed, purchase, deliver):
    market.delist(listed, sender=owner)
    deliver(purchase)
    assert market.has_access(listed, buyer) is True


def test_deliver_key__new_owner_delivers_and_is_paid(
    market, registry, token, owner, other, listed, purchase, deliver
):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    with ape.reverts("market: not the owner or keeper"):
        deliver(purchase, sender=owner)
    deliver(purchase, sender=other)
    assert market.credit(token, other) == PRICE


def test_deliver_key__unknown_purchase_reverts(deliver, listed):
    with ape.reverts("market: unknown purchase"):
        deliver(99)


def test_deliver_key__twice_reverts(purchase, deliver):
    deliver(purchase)
    with ape.reverts("market: purchase not pending"):
        deliver(purchase)


def test_deliver_key__after_refund_reverts(market, buyer, purchase, deliver):
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    market.refund(purchase, sender=buyer)
    with ape.reverts("market: purchase not pending"):
        deliver(purchase)


def test_deliver_key__empty_envelope_reverts(purchase, deliver):
    with ape.reverts("market: empty envelope"):
        deliver(purchase, envelope=b"")


def test_deliver_key__stranger_reverts(other, purchase, deliver):
    with ape.reverts("market: not the owner or keeper"):
        deliver(purchase, sender=other)


def test_deliver_key__keeper_of_previous_owner_reverts(
    market, registry, owner, other, cleaner, listed, purchase, deliver
):
    market.set_keeper(listed, cleaner, sender=owner)
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    with ape.reverts("market: not the owner or keeper"):
        deliver(purchase, sender=cleaner)
