from __future__ import annotations

import boa

from .conftest import (
    OBJECTION_WINDOW,
    REFUND_TIMEOUT,
    REVEAL_WINDOW,
    ZERO,
    deploy,
    event,
)


def test_init__sets_registry_windows_and_owner(market, registry, deployer):
    assert market.registry() == registry.address
    assert market.refund_timeout() == REFUND_TIMEOUT
    assert market.objection_window() == OBJECTION_WINDOW
    assert market.reveal_window() == REVEAL_WINDOW
    assert market.owner() == deployer
    assert market.MAX_ANCESTORS() == 8
    assert market.DEFAULT_UPSTREAM_BPS() == 5000


def test_init__zero_registry_reverts():
    with boa.reverts("market: zero registry"):
        deploy("AccessMarket", ZERO, REFUND_TIMEOUT, 1, 1)


def test_init__zero_timeout_reverts(registry):
    with boa.reverts("market: zero refund timeout"):
        deploy("AccessMarket", registry, 0, 1, 1)


def test_init__zero_objection_window_reverts(registry):
    with boa.reverts("market: zero objection window"):
        deploy("AccessMarket", registry, 1, 0, 1)


def test_init__zero_reveal_window_reverts(registry):
    with boa.reverts("market: zero reveal window"):
        deploy("AccessMarket", registry, 1, 1, 0)


def test_set_token_allowed__toggles_and_logs(market, token, deployer):
    market.set_token_allowed(token, False, sender=deployer)
    allowed = event(market, "TokenAllowed")
    assert market.token_allowed(token) is False
    assert allowed.token == token.address and not allowed.allowed
    market.set_token_allowed(token, True, sender=deployer)
    assert market.token_allowed(token) is True


def test_set_token_allowed__not_owner_reverts(market, token, other):
    with boa.reverts("ownable: caller is not the owner"):
        market.set_token_allowed(token, False, sender=other)


def test_set_token_allowed__zero_token_reverts(market, deployer):
    with boa.reverts("market: zero token"):
        market.set_token_allowed(ZERO, True, sender=deployer)


def test_set_keeper__records_for_current_owner(market, dataset, owner, other):
    market.set_keeper(dataset, other, sender=owner)
    keeper_set = event(market, "KeeperSet")
    assert market.keeper(dataset) == other
    assert (keeper_set.dataset_id, keeper_set.owner, keeper_set.keeper) == (dataset, owner, other)


def test_set_keeper__lapses_when_owner_changes(market, registry, dataset, owner, other, cleaner):
    market.set_keeper(dataset, cleaner, sender=owner)
    registry.propose_owner(dataset, other, sender=owner)
    registry.accept_owner(dataset, sender=other)
    assert market.keeper(dataset) == ZERO


def test_set_keeper__not_owner_reverts(market, dataset, other):
    with boa.reverts("market: not the dataset owner"):
        market.set_keeper(dataset, other, sender=other)


def test_set_keeper__does_not_revive_when_dataset_returns(
    market, registry, dataset, owner, other, cleaner
):
    market.set_keeper(dataset, cleaner, sender=owner)
    registry.propose_owner(dataset, other, sender=owner)
    registry.accept_owner(dataset, sender=other)
    registry.propose_owner(dataset, owner, sender=other)
    registry.accept_owner(dataset, sender=owner)
    assert registry.ownership(dataset)[1] == 2
    assert market.keeper(dataset) == ZERO
