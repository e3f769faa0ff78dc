from __future__ import annotations

import boa
import pytest

from .conftest import COMMITMENT, DURATION, PRICE, UPSTREAM_BPS, ZERO, event


def test_list_dataset__stores_listing_and_logs(market, token, owner, dataset):
    market.list_dataset(dataset, token, PRICE, DURATION, UPSTREAM_BPS, COMMITMENT, sender=owner)
    listed = event(market, "Listed")
    listing = market.listing(dataset)
    assert listing.lister == owner
    assert listing.token == token.address
    assert listing.price == PRICE
    assert listing.duration == DURATION
    assert listing.upstream_bps == UPSTREAM_BPS
    assert listing.key_commitment == COMMITMENT
    assert listing.active is True
    assert listed.dataset_id == dataset and listed.lister == owner
    assert listed.token == token.address
    assert (listed.price, listed.duration, listed.upstream_bps) == (PRICE, DURATION, UPSTREAM_BPS)
    assert listed.key_commitment == COMMITMENT


def test_list_dataset__update_replaces_terms(market, token, owner, listed):
    market.list_dataset(listed, token, 2 * PRICE, 60, 0, COMMITMENT, sender=owner)
    listing = market.listing(listed)
    assert (listing.price, listing.duration, listing.upstream_bps) == (2 * PRICE, 60, 0)


def test_list_dataset__bounds_accepted(market, token, owner, dataset):
    market.list_dataset(dataset, token, 2**96 - 1, 2**30 - 1, 10000, COMMITMENT, sender=owner)
    listing = market.listing(dataset)
    assert (listing.price, listing.duration, listing.upstream_bps) == (2**96 - 1, 2**30 - 1, 10000)


@pytest.mark.parametrize(
    "price,duration,bps,message",
    [
        (0, DURATION, 0, "market: zero price"),
        (2**96, DURATION, 0, "market: price too large"),
        (PRICE, 0, 0, "market: zero duration"),
        (PRICE, 2**30, 0, "market: duration too long"),
        (PRICE, DURATION, 10001, "market: upstream share above 100%"),
    ],
)
def test_list_dataset__bad_terms_revert(
    market, token, owner, dataset, price, duration, bps, message
):
    with boa.reverts(message):
        market.list_dataset(dataset, token, price, duration, bps, COMMITMENT, sender=owner)


def test_list_dataset__zero_key_commitment_reverts(market, token, owner, dataset):
    with boa.reverts("market: zero key commitment"):
        market.list_dataset(dataset, token, PRICE, DURATION, 0, b"\x00" * 32, sender=owner)


def test_list_dataset__public_dataset_reverts(market, token, owner, register):
    public = register(private=False)
    with boa.reverts("market: dataset is public"):
        market.list_dataset(public, token, PRICE, DURATION, 0, COMMITMENT, sender=owner)


def test_list_dataset__not_owner_reverts(market, token, other, dataset):
    with boa.reverts("market: not the dataset owner"):
        market.list_dataset(dataset, token, PRICE, DURATION, 0, COMMITMENT, sender=other)


def test_list_dataset__unknown_dataset_reverts(market, token, owner):
    with boa.reverts("registry: unknown dataset"):
        market.list_dataset(99, token, PRICE, DURATION, 0, COMMITMENT, sender=owner)


def test_list_dataset__token_not_allowed_reverts(market, registry, owner, dataset):
    # Any contract that is not on the allow-list, here the registry itself.
    with boa.reverts("market: token not allowed"):
        market.list_dataset(dataset, registry, PRICE, DURATION, 0, COMMITMENT, sender=owner)


def test_listing__lapses_when_owner_changes(market, registry, owner, other, listed):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    listing = market.listing(listed)
    assert listing.lister == owner
    assert listing.active is False


def test_listing__inactive_when_token_disallowed(market, token, deployer, listed):
    market.set_token_allowed(token, False, sender=deployer)
    assert market.listing(listed).active is False


def test_delist__clears_and_logs(market, owner, listed):
    market.delist(listed, sender=owner)
    delisted = event(market, "Delisted")
    listing = market.listing(listed)
    assert (listing.lister, listing.token, listing.price, listing.active) == (ZERO, ZERO, 0, False)
    assert listing.key_commitment == b"\x00" * 32
    assert (delisted.dataset_id, delisted.lister) == (listed, owner)


def test_delist__not_owner_reverts(market, other, listed):
    with boa.reverts("market: not the dataset owner"):
        market.delist(listed, sender=other)


def test_delist__not_listed_reverts(market, owner, dataset):
    with boa.reverts("market: not listed"):
        market.delist(dataset, sender=owner)


def test_listing__does_not_revive_when_dataset_returns(market, registry, owner, other, listed, buy):
    registry.propose_owner(listed, other, sender=owner)
    registry.accept_owner(listed, sender=other)
    registry.propose_owner(listed, owner, sender=other)
    registry.accept_owner(listed, sender=owner)
    listing = market.listing(listed)
    assert listing.lister == owner and listing.active is False
    with boa.reverts("market: listing lapsed"):
        buy(listed)
