from __future__ import annotations

import ape

from .conftest import PRICE, REFUND_TIMEOUT


def test_refund__after_timeout_returns_payment(market, token, buyer, listed, purchase):
    before = token.balanceOf(buyer)
    ape.chain.pending_timestamp = market.purchase(purchase).created + REFUND_TIMEOUT
    tx = market.refund(purchase, sender=buyer)
    assert token.balanceOf(buyer) == before + PRICE
    assert token.balanceOf(market) == 0
    p = market.purchase(purchase)
    assert p.status == 3 and p.price == 0
    assert market.has_access(listed, buyer) is False
    (event,) = tx.decode_logs(market.Refunded)
    assert (event.purchase_id, event.buyer, event.token, event.amount) == (
        purchase,
        buyer,
        token,
        PRICE,
    )


def test_refund__before_timeout_reverts(market, buyer, purchase):
    ape.chain.pending_timestamp = market.purchase(purchase).created + REFUND_TIMEOUT - 1
    with ape.reverts("market: refund timeout not reached"):
        market.refund(purchase, sender=buyer)


def test_refund__not_buyer_reverts(market, other, purchase):
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    with ape.reverts("market: not the buyer"):
        market.refund(purchase, sender=other)


def test_refund__unknown_purchase_reverts(market, buyer):
    with ape.reverts("market: unknown purchase"):
        market.refund(1, sender=buyer)


def test_refund__after_delivery_reverts(market, buyer, purchase, deliver):
    deliver(purchase)
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    with ape.reverts("market: purchase not pending"):
        market.refund(purchase, sender=buyer)


def test_refund__twice_reverts(market, buyer, purchase):
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    market.refund(purchase, sender=buyer)
    with ape.reverts("market: purchase not pending"):
        market.refund(purchase, sender=buyer)


def test_withdraw__sends_credits_and_logs(market, token, owner, purchase, deliver):
    deliver(purchase)
    before = token.balanceOf(owner)
    tx = market.withdraw(token, sender=owner)
    assert token.balanceOf(owner) == before + PRICE
    assert market.credit(token, owner) == 0
    assert token.balanceOf(market) == 0
    (event,) = tx.decode_logs(market.Withdrawn)
    assert (event.token, event.account, event.amount) == (token, owner, PRICE)


def test_withdraw__nothing_reverts(market, token, other):
    with ape.reverts("market: nothing to withdraw"):
        market.withdraw(token, sender=other)
