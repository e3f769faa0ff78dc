"""Fixtures for the AccessMarket tests: a market on the shared registry and token,
a dataset helper, a listing, a purchase helper and a helper for every later step
(which takes the purchase's pinned terms back, as the `Purchased` event gave them).

On titanoboa (tests/contracts/_boa.py): each test runs in its own anchor, time moves with
`warp_to` / `boa.env.time_travel`, events are those of a contract's last call. boa keeps
no log history to query, so `purchase_id_of` records each purchase's pinned terms from
its `Purchased` event as the purchase is made, and `terms_of` reads them back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from eth_utils.crypto import keccak

from datasoil.flows import access
from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import deploy, event, events, timestamp, warp_to

DAG_PB = 0x70
PRICE = 10**18
DURATION = 3600
UPSTREAM_BPS = 1000
REFUND_TIMEOUT = 600
OBJECTION_WINDOW = 300
REVEAL_WINDOW = 200
CONTENT_KEY = b"\x22" * 32
COMMITMENT = keccak(CONTENT_KEY)
KEY = b"\x11" * 32  # a buyer's X25519 public key (any non-zero 32 bytes on chain)
ENVELOPE = b'{"ciphertext":"AAAA","ephemPublicKey":"BBBB","nonce":"CCCC","version":"x"}'
ZERO = "0x" + "00" * 20

# (market address, purchase id) -> the terms its `Purchased` event pinned; per test
_TERMS: dict[tuple[str, int], access.Terms] = {}


@pytest.fixture(autouse=True)
def _forget_terms() -> Iterator[None]:
    """Each test's anchor forgets its purchases; so does the terms record."""
    _TERMS.clear()
    yield
    _TERMS.clear()


def _cid(seed: int) -> tuple[int, bytes]:
    """A packed CID argument (the registry's `PackedCid`: version << 64 | codec, digest)."""
    return ((1 << 64) | DAG_PB, hashlib.sha256(b"market%d" % seed).digest())


@pytest.fixture
def register(registry, owner):
    """Register a dataset (parents optional) and return its id."""

    def _register(sender=None, parents=(), seed=None, private=True):
        count = registry.dataset_count()
        seed = count + 1 if seed is None else seed
        returned = registry.register(
            _cid(seed),
            hashlib.sha256(b"root%d" % seed).digest(),
            10,
            private,
            _cid(10_000 + seed),
            "CC-BY-4.0",
            sorted(parents),
            0,
            sender=sender or owner,
        )
        dataset_id = int(event(registry, "DatasetRegistered").dataset_id)
        assert returned == dataset_id
        return dataset_id

    return _register


@pytest.fixture
def market(deployer, registry, token):
    market = deploy("AccessMarket", registry, REFUND_TIMEOUT, OBJECTION_WINDOW, REVEAL_WINDOW)
    market.set_token_allowed(token, True, sender=deployer)
    return market


@pytest.fixture
def dataset(register):
    return register()


@pytest.fixture
def listed(market, token, owner, dataset):
    market.list_dataset(dataset, token, PRICE, DURATION, UPSTREAM_BPS, COMMITMENT, sender=owner)
    return dataset


@pytest.fixture
def buy(market, token, buyer):
    """Approve and buy at the listing's terms; return the purchase id `buy` returned."""

    def _buy(dataset_id, sender=None, key=KEY, max_price=PRICE, min_duration=DURATION):
        sender = sender or buyer
        token.approve(market, max_price, sender=sender)
        return market.buy(dataset_id, token, max_price, min_duration, key, sender=sender)

    return _buy


def purchase_id_of(market, returned: int) -> int:
    """The purchase `market`'s last call made (read it right after the buy): its id as
    `Purchased` logged it, the one the call ``returned``; its pinned terms are recorded."""
    purchased = event(market, "Purchased")
    purchase_id = int(purchased.purchase_id)
    assert returned == purchase_id
    _TERMS[(str(market.address), purchase_id)] = access.Terms.from_event(purchased.terms)
    return purchase_id


def terms_of(market, purchase_id) -> access.Terms:
    """The pinned terms of a purchase, from its `Purchased` event."""
    return _TERMS[(str(market.address), int(purchase_id))]


def credits_of(market) -> list[tuple[int, str, int]]:
    """The `Credited` events of `market`'s last call, as (dataset id, account, amount)."""
    return [(int(e.dataset_id), str(e.account), int(e.amount)) for e in events(market, "Credited")]


@pytest.fixture
def step(market, buyer):
    """Call `deliver_key`/`object_key`/`reveal_key`/`settle`/`refund` with the pinned terms."""

    def _step(fn, purchase_id, *extra, sender=None, terms=None):
        terms = terms or terms_of(market, purchase_id)
        return getattr(market, fn)(purchase_id, terms.as_arg(), *extra, sender=sender or buyer)

    return _step


@pytest.fixture
def deliver(step, owner):
    def _deliver(purchase_id, sender=None, envelope=ENVELOPE, terms=None):
        return step("deliver_key", purchase_id, envelope, sender=sender or owner, terms=terms)

    return _deliver


@pytest.fixture
def settle(step, market, other):
    """Deliver (unless already), wait out the objection window and settle."""

    def _settle(purchase_id, sender=None):
        since = int(market.purchase(purchase_id).since)
        warp_to(max(timestamp(), since + OBJECTION_WINDOW))
        return step("settle", purchase_id, sender=sender or other)

    return _settle


@pytest.fixture
def purchase(listed, buy, market):
    """A pending purchase of the listed dataset by the buyer."""
    return purchase_id_of(market, buy(listed))
