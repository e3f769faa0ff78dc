from __future__ import annotations

import boa

from .conftest import (
    DURATION,
    ENVELOPE,
    OBJECTION_WINDOW,
    PRICE,
    REFUND_TIMEOUT,
    event,
    events,
    purchase_id_of,
    terms_of,
    timestamp,
    warp_to,
)


def test_deliver_key__grants_access_holds_escrow_and_logs(
    market, token, owner, buyer, listed, purchase, deliver
):
    deliver(purchase)
    credited, delivered = events(market, "Credited"), event(market, "KeyDelivered")
    now = timestamp()
    p = market.purchase(purchase)
    assert (p.status, p.since) == (2, now)
    # Nothing is credited yet: escrow is held through the objection window.
    assert market.credit(token, owner) == 0
    assert token.balanceOf(market) == PRICE
    assert market.access_expiry(listed, buyer) == now + DURATION
    assert market.has_access(listed, buyer) is True
    assert credited == []
    assert (delivered.purchase_id, delivered.dataset_id, delivered.buyer) == (
        purchase,
        listed,
        buyer,
    )
    assert delivered.envelope == ENVELOPE and delivered.access_expiry == now + DURATION
    assert delivered.objection_deadline == now + OBJECTION_WINDOW


def test_deliver_key__access_is_for_buyer_only(market, other, listed, purchase, deliver):
    deliver(purchase)
    assert market.has_access(listed, other) is False


def test_deliver_key__keeper_delivers_seller_is_paid(
    market, token, owner, cleaner, listed, purchase, deliver, settle
):
    market.set_keeper(listed, cleaner, sender=owner)
    deliver(purchase, sender=cleaner)
    settle(purchase)
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
    boa.env.time_travel(seconds=DURATION + 10)
    assert market.has_access(listed, buyer) is False
    second = purchase_id_of(market, buy(listed))
    deliver(second)
    assert market.access_expiry(listed, buyer) == timestamp() + DURATION


def test_deliver_key__after_delist_still_delivers(market, owner, buyer, listed, purchase, deliver):
    market.delist(listed, sender=owner)
    deliver(purchase)
    assert market.has_access(listed, buyer) is True


def test_deliver_key__seller_delivers_after_transfer_and_is_paid(
    market, registry, token, owner, other, listed, purchase, deliver, settle
):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    # The sale was the previous owner's: the new owner neither delivers nor is paid.
    with boa.reverts("market: not the seller or keeper"):
        deliver(purchase, sender=other)
    deliver(purchase, sender=owner)
    settle(purchase)
    assert market.credit(token, owner) == PRICE
    assert market.credit(token, other) == 0


def test_deliver_key__last_second_before_timeout_delivers(market, purchase, deliver):
    warp_to(terms_of(market, purchase).created + REFUND_TIMEOUT - 1)
    deliver(purchase)
    assert market.purchase(purchase).status == 2


def test_deliver_key__at_refund_timeout_reverts(market, purchase, deliver):
    warp_to(terms_of(market, purchase).created + REFUND_TIMEOUT)
    with boa.reverts("market: delivery window over"):
        deliver(purchase)


def test_deliver_key__unknown_purchase_reverts(market, purchase, deliver):
    with boa.reverts("market: unknown purchase"):
        deliver(99, terms=terms_of(market, purchase))


def test_deliver_key__altered_terms_revert(market, purchase, deliver):
    terms = terms_of(market, purchase)
    forged = type(terms)(**{**terms.__dict__, "price": terms.price + 1})
    with boa.reverts("market: terms mismatch"):
        deliver(purchase, terms=forged)


def test_deliver_key__twice_reverts(purchase, deliver):
    deliver(purchase)
    with boa.reverts("market: purchase not pending"):
        deliver(purchase)


def test_deliver_key__after_refund_reverts(market, buyer, purchase, deliver, step):
    boa.env.time_travel(seconds=REFUND_TIMEOUT)
    step("refund", purchase, sender=buyer)
    with boa.reverts("market: purchase not pending"):
        deliver(purchase)


def test_deliver_key__empty_envelope_reverts(purchase, deliver):
    with boa.reverts("market: empty envelope"):
        deliver(purchase, envelope=b"")


def test_deliver_key__stranger_reverts(other, purchase, deliver):
    with boa.reverts("market: not the seller or keeper"):
        deliver(purchase, sender=other)


def test_deliver_key__keeper_of_previous_owner_reverts(
    market, registry, owner, other, cleaner, listed, purchase, deliver
):
    market.set_keeper(listed, cleaner, sender=owner)
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    market.set_keeper(listed, cleaner, sender=other)  # the same keeper, a new period
    with boa.reverts("market: not the seller or keeper"):
        deliver(purchase, sender=cleaner)
