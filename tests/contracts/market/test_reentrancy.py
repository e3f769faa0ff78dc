"""A token that calls back into the market on every transfer finds it locked."""

from __future__ import annotations

import boa
import pytest

from .conftest import (
    COMMITMENT,
    DURATION,
    KEY,
    OBJECTION_WINDOW,
    PRICE,
    deploy,
    purchase_id_of,
    terms_of,
)


@pytest.fixture
def hook_token(deployer, market, accounts):
    token = deploy("test/ReentrantTokenMock")
    for account in accounts[:8]:
        token.mint(account, 10 * PRICE, sender=deployer)
    market.set_token_allowed(token, True, sender=deployer)
    return token


def _calldata(market, name, *args):
    method = getattr(market, name)
    return method.prepare_calldata(*args)


def test_reentrancy__callbacks_during_buy_and_withdraw_are_refused(
    market, hook_token, owner, buyer, other, dataset
):
    market.list_dataset(dataset, hook_token, PRICE, DURATION, 0, COMMITMENT, sender=owner)
    # During the buy's transferFrom the token tries a view and a second buy.
    hook_token.arm(market, _calldata(market, "purchase_count"), sender=other)
    hook_token.approve(market, PRICE, sender=buyer)
    pid = purchase_id_of(
        market, market.buy(dataset, hook_token, PRICE, DURATION, KEY, sender=buyer)
    )
    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    terms = terms_of(market, pid)
    market.deliver_key(pid, terms.as_arg(), b"envelope", sender=owner)
    boa.env.time_travel(seconds=OBJECTION_WINDOW)
    market.settle(pid, terms.as_arg(), sender=other)
    # During the withdrawal's transfer the token tries to withdraw again.
    hook_token.arm(market, _calldata(market, "withdraw", hook_token), sender=other)
    market.withdraw(hook_token, sender=owner)
    assert (hook_token.attempts(), hook_token.successes()) == (2, 0)
    assert hook_token.balanceOf(market) == 0
    assert market.credit(hook_token, owner) == 0


def test_reentrancy__settle_during_refund_transfer_is_refused(
    market, hook_token, owner, buyer, other, dataset, register
):
    market.list_dataset(dataset, hook_token, PRICE, DURATION, 0, COMMITMENT, sender=owner)
    hook_token.approve(market, 2 * PRICE, sender=buyer)
    first = purchase_id_of(
        market, market.buy(dataset, hook_token, PRICE, DURATION, KEY, sender=buyer)
    )
    second = purchase_id_of(
        market, market.buy(dataset, hook_token, PRICE, DURATION, KEY, sender=buyer)
    )
    t1, t2 = terms_of(market, first), terms_of(market, second)
    market.deliver_key(first, t1.as_arg(), b"envelope", sender=owner)
    boa.env.time_travel(seconds=600)
    # The refund of the second sends tokens; the callback tries to settle the first.
    hook_token.arm(market, _calldata(market, "settle", first, t1.as_arg()), sender=other)
    market.refund(second, t2.as_arg(), sender=buyer)
    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    assert market.purchase(first).status == 2  # still delivered, unsettled
    hook_token.arm(market, b"", sender=other)
    market.settle(first, t1.as_arg(), sender=other)
    assert market.credit(hook_token, owner) == PRICE
    assert hook_token.balanceOf(market) == PRICE
