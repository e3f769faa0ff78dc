from __future__ import annotations

import ape

from .conftest import PRICE, REFUND_TIMEOUT, terms_of


def test_refund__after_timeout_returns_payment(market, token, buyer, listed, purchase, step):
    before = token.balanceOf(buyer)
    ape.chain.pending_timestamp = terms_of(market, purchase).created + REFUND_TIMEOUT
    tx = step("refund", purchase)
    assert token.balanceOf(buyer) == before + PRICE
    assert token.balanceOf(market) == 0
    p = market.purchase(purchase)
    assert (p.status, p.since) == (5, ape.chain.blocks.head.timestamp)
    assert market.has_access(listed, buyer) is False
    (event,) = tx.decode_logs(market.Refunded)
    assert (event.purchase_id, event.buyer, event.token, event.amount) == (
        purchase,
        buyer,
        token,
        PRICE,
    )


def test_refund__before_timeout_reverts(market, purchase, step):
    ape.chain.pending_timestamp = terms_of(market, purchase).created + REFUND_TIMEOUT - 1
    with ape.reverts("market: refund timeout not reached"):
        step("refund", purchase)


def test_refund__not_buyer_reverts(other, purchase, step):
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    with ape.reverts("market: not the buyer"):
        step("refund", purchase, sender=other)


def test_refund__unknown_purchase_reverts(market, purchase, step):
    with ape.reverts("market: unknown purchase"):
        step("refund", 7, terms=terms_of(market, purchase))


def test_refund__altered_terms_revert(market, purchase, step):
    terms = terms_of(market, purchase)
    forged = type(terms)(**{**terms.__dict__, "price": 2 * terms.price})
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    with ape.reverts("market: terms mismatch"):
        step("refund", purchase, terms=forged)


def test_refund__after_delivery_reverts(purchase, deliver, step):
    deliver(purchase)
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    with ape.reverts("market: purchase not refundable"):
        step("refund", purchase)


def test_refund__twice_reverts(purchase, step):
    ape.chain.pending_timestamp += REFUND_TIMEOUT
    step("refund", purchase)
    with ape.reverts("market: purchase not refundable"):
        step("refund", purchase)


def test_withdraw__sends_credits_and_logs(market, token, owner, purchase, deliver, settle):
    deliver(purchase)
    settle(purchase)
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
