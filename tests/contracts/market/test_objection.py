"""object_key, reveal_key and settle: the buyer's recourse after a delivery."""

from __future__ import annotations

import boa

from .conftest import (
    CONTENT_KEY,
    DURATION,
    OBJECTION_WINDOW,
    PRICE,
    REVEAL_WINDOW,
    credits_of,
    event,
    timestamp,
    warp_to,
)


def _delivered_at(market, purchase_id):
    return int(market.purchase(purchase_id).since)


def test_settle__after_window_credits_pinned_split(
    market, token, owner, other, listed, purchase, deliver, step
):
    deliver(purchase)
    warp_to(_delivered_at(market, purchase) + OBJECTION_WINDOW)
    step("settle", purchase, sender=other)  # anyone may settle
    credits, credited = credits_of(market), event(market, "Credited")
    assert credits == [(listed, owner, PRICE)]
    assert market.credit(token, owner) == PRICE
    assert market.purchase(purchase).status == 4
    assert (credited.token, credited.purchase_id) == (token.address, purchase)


def test_settle__inside_window_reverts(market, purchase, deliver, step):
    deliver(purchase)
    warp_to(_delivered_at(market, purchase) + OBJECTION_WINDOW - 1)
    with boa.reverts("market: objection window open"):
        step("settle", purchase)


def test_settle__pending_reverts(purchase, step):
    with boa.reverts("market: purchase not delivered"):
        step("settle", purchase)


def test_settle__twice_reverts(purchase, deliver, settle):
    deliver(purchase)
    settle(purchase)
    with boa.reverts("market: purchase not delivered"):
        settle(purchase)


def test_settle__objected_reverts(market, purchase, deliver, step):
    deliver(purchase)
    step("object_key", purchase)
    boa.env.time_travel(seconds=OBJECTION_WINDOW)
    with boa.reverts("market: purchase not delivered"):
        step("settle", purchase)


def test_object_key__holds_escrow_and_logs(market, token, buyer, listed, purchase, deliver, step):
    deliver(purchase)
    step("object_key", purchase)
    objected = event(market, "Objected")
    now = timestamp()
    p = market.purchase(purchase)
    assert (p.status, p.since) == (3, now)
    assert token.balanceOf(market) == PRICE
    assert (objected.purchase_id, objected.dataset_id, objected.buyer) == (
        purchase,
        listed,
        buyer,
    )
    assert objected.reveal_deadline == now + REVEAL_WINDOW


def test_object_key__last_second_of_window_accepted(market, purchase, deliver, step):
    deliver(purchase)
    warp_to(_delivered_at(market, purchase) + OBJECTION_WINDOW - 1)
    step("object_key", purchase)
    assert market.purchase(purchase).status == 3


def test_object_key__after_window_reverts(market, purchase, deliver, step):
    deliver(purchase)
    warp_to(_delivered_at(market, purchase) + OBJECTION_WINDOW)
    with boa.reverts("market: objection window over"):
        step("object_key", purchase)


def test_object_key__not_buyer_reverts(other, purchase, deliver, step):
    deliver(purchase)
    with boa.reverts("market: not the buyer"):
        step("object_key", purchase, sender=other)


def test_object_key__pending_reverts(purchase, step):
    with boa.reverts("market: purchase not delivered"):
        step("object_key", purchase)


def test_object_key__twice_reverts(purchase, deliver, step):
    deliver(purchase)
    step("object_key", purchase)
    with boa.reverts("market: purchase not delivered"):
        step("object_key", purchase)


def test_reveal_key__correct_key_pays_seller_and_publishes_it(
    market, token, owner, cleaner, buyer, listed, purchase, deliver, step
):
    deliver(purchase)
    step("object_key", purchase)
    step("reveal_key", purchase, CONTENT_KEY, sender=cleaner)  # anyone holding it
    credits, revealed = credits_of(market), event(market, "KeyRevealed")
    assert credits == [(listed, owner, PRICE)]
    assert market.credit(token, owner) == PRICE
    assert market.purchase(purchase).status == 4
    assert market.has_access(listed, buyer) is True
    assert (revealed.purchase_id, revealed.dataset_id, revealed.revealer) == (
        purchase,
        listed,
        cleaner,
    )
    assert revealed.content_key == CONTENT_KEY
    with boa.reverts("market: purchase not refundable"):
        step("refund", purchase)


def test_reveal_key__wrong_key_reverts(purchase, deliver, step, owner):
    deliver(purchase)
    step("object_key", purchase)
    with boa.reverts("market: key does not match commitment"):
        step("reveal_key", purchase, b"\x33" * 32, sender=owner)


def test_reveal_key__after_window_reverts(market, owner, purchase, deliver, step):
    deliver(purchase)
    step("object_key", purchase)
    warp_to(int(market.purchase(purchase).since) + REVEAL_WINDOW)
    with boa.reverts("market: reveal window over"):
        step("reveal_key", purchase, CONTENT_KEY, sender=owner)


def test_reveal_key__not_objected_reverts(owner, purchase, deliver, step):
    deliver(purchase)
    with boa.reverts("market: purchase not objected"):
        step("reveal_key", purchase, CONTENT_KEY, sender=owner)


def test_refund__objected_unanswered_returns_payment_and_access(
    market, token, buyer, listed, purchase, deliver, step
):
    deliver(purchase)
    expiry = market.access_expiry(listed, buyer)
    step("object_key", purchase)
    before = token.balanceOf(buyer)
    warp_to(int(market.purchase(purchase).since) + REVEAL_WINDOW)
    step("refund", purchase)
    refunded = event(market, "Refunded")
    assert token.balanceOf(buyer) == before + PRICE
    assert market.access_expiry(listed, buyer) == expiry - DURATION
    assert market.has_access(listed, buyer) is False
    assert market.purchase(purchase).status == 5
    assert refunded.amount == PRICE


def test_refund__objected_inside_reveal_window_reverts(market, purchase, deliver, step):
    deliver(purchase)
    step("object_key", purchase)
    warp_to(int(market.purchase(purchase).since) + REVEAL_WINDOW - 1)
    with boa.reverts("market: reveal window open"):
        step("refund", purchase)
