"""Fixtures for the AccessMarket tests: a market on the shared registry and token,
a dataset helper, a listing, a purchase helper and a helper for every later step
(which takes the purchase's pinned terms back, as the `Purchased` event gave them)."""

from __future__ import annotations

import hashlib

import ape
import pytest
from eth_utils.crypto import keccak

from datasoil.flows import access

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


def _cid(registry, seed: int):
    """A CID argument in whichever layout the registry's `Cid` struct has."""
    digest = hashlib.sha256(b"market%d" % seed).digest()
    (abi,) = [a for a in registry.contract_type.abi if getattr(a, "name", "") == "register"]
    fields = len(abi.inputs[0].components)
    return (1, DAG_PB, digest) if fields == 3 else ((1 << 64) | DAG_PB, digest)


@pytest.fixture
def register(registry, owner):
    """Register a dataset (parents optional) and return its id."""

    def _register(sender=None, parents=(), seed=None, private=True):
        count = registry.dataset_count()
        seed = count + 1 if seed is None else seed
        tx = registry.register(
            _cid(registry, seed),
            hashlib.sha256(b"root%d" % seed).digest(),
            10,
            private,
            _cid(registry, 10_000 + seed),
            "CC-BY-4.0",
            sorted(parents),
            0,
            sender=sender or owner,
        )
        (event,) = tx.decode_logs(registry.DatasetRegistered)
        return int(event.dataset_id)

    return _register


@pytest.fixture
def market(project, deployer, registry, token):
    market = deployer.deploy(
        project.AccessMarket, registry, REFUND_TIMEOUT, OBJECTION_WINDOW, REVEAL_WINDOW
    )
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
    """Approve and buy at the listing's terms; return the receipt."""

    def _buy(dataset_id, sender=None, key=KEY, max_price=PRICE, min_duration=DURATION):
        sender = sender or buyer
        token.approve(market, max_price, sender=sender)
        return market.buy(dataset_id, token, max_price, min_duration, key, sender=sender)

    return _buy


def purchase_id_of(market, receipt) -> int:
    (event,) = receipt.decode_logs(market.Purchased)
    return int(event.purchase_id)


def terms_of(market, purchase_id) -> access.Terms:
    """The pinned terms of a purchase, from its `Purchased` event."""
    return access.purchase_terms(market, purchase_id)[0]


def credits_of(receipt, market):
    return [
        (int(e.dataset_id), str(e.account), int(e.amount))
        for e in receipt.decode_logs(market.Credited)
    ]


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
        ape.chain.pending_timestamp = max(ape.chain.pending_timestamp, since + OBJECTION_WINDOW)
        return step("settle", purchase_id, sender=sender or other)

    return _settle


@pytest.fixture
def purchase(listed, buy, market):
    """A pending purchase of the listed dataset by the buyer."""
    return purchase_id_of(market, buy(listed))
