from __future__ import annotations

import boa

from .conftest import PRICE, REFUND_TIMEOUT, event, terms_of, timestamp, warp_to


def test_refund__after_timeout_returns_payment(market, token, buyer, listed, purchase, step):
    before = token.balanceOf(buyer)
    warp_to(terms_of(market, purchase).created + REFUND_TIMEOUT)
    step("refund", purchase)
    refunded = event(market, "Refunded")
    assert token.balanceOf(buyer) == before + PRICE
    assert token.balanceOf(market) == 0
    p = market.purchase(purchase)
    assert (p.status, p.since) == (5, timestamp())
    assert market.has_access(listed, buyer) is False
    assert (refunded.purchase_id, refunded.buyer, refunded.token, refunded.amount) == (
        purchase,
        buyer,
        token.address,
        PRICE,
    )


def test_refund__before_timeout_reverts(market, purchase, step):
    warp_to(terms_of(market, purchase).created + REFUND_TIMEOUT - 1)
    with boa.reverts("market: refund timeout not reached"):
        step("refund", purchase)


def test_refund__not_buyer_reverts(other, purchase, step):
    boa.env.time_travel(seconds=REFUND_TIMEOUT)
    with boa.reverts("market: not the buyer"):
        step("refund", purchase, sender=other)


def test_refund__unknown_purchase_reverts(market, purchase, step):
    with boa.reverts("market: unknown purchase"):
        step("refund", 7, terms=terms_of(market, purchase))


def test_refund__altered_terms_revert(market, purchase, step):
    terms = terms_of(market, purchase)
    forged = type(terms)(**{**terms.__dict__, "price": 2 * terms.price})
    boa.env.time_travel(seconds=REFUND_TIMEOUT)
    with boa.reverts("market: terms mismatch"):
        step("refund", purchase, terms=forged)


def test_refund__after_delivery_reverts(purchase, deliver, step):
    deliver(purchase)
    boa.env.time_travel(seconds=REFUND_TIMEOUT)
    with boa.reverts("market: purchase not refundable"):
        step("refund", purchase)


def test_refund__twice_reverts(purchase, step):
    boa.env.time_travel(seconds=REFUND_TIMEOUT)
    step("refund", purchase)
    with boa.reverts("market: purchase not refundable"):
        step("refund", purchase)


def test_withdraw__sends_credits_and_logs(market, token, owner, purchase, deliver, settle):
    deliver(purchase)
    settle(purchase)
    before = token.balanceOf(owner)
    returned = market.withdraw(token, sender=owner)
    withdrawn = event(market, "Withdrawn")
    assert returned == PRICE
    assert token.balanceOf(owner) == before + PRICE
    assert market.credit(token, owner) == 0
    assert token.balanceOf(market) == 0
    assert (withdrawn.token, withdrawn.account, withdrawn.amount) == (token.address, owner, PRICE)


def test_withdraw__nothing_reverts(market, token, other):
    with boa.reverts("market: nothing to withdraw"):
        market.withdraw(token, sender=other)
