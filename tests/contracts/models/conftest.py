"""Fixtures for the ModelRegistry tests: a market and a model registry on the shared
registry and token, datasets, delivered purchases (receipts), manifests built with an
independent RFC 9162 implementation (pymerkle) over DAG-CBOR entries (dag-cbor), and a
model registration helper.

Roles: `owner` owns the data, `trainer` buys access and registers models, `customer`
buys model licences, `other` is anyone else.

On titanoboa (tests/contracts/_boa.py): each test runs in its own anchor, time moves with
`boa.env.time_travel`, events are those of a contract's last call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import boa
import dag_cbor
import pymerkle
import pytest
from eth_utils.crypto import keccak

from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import ACTORS, deploy, event

DAG_PB = 0x70
RAW = 0x55
PRICE = 10**18
DURATION = 3600
UPSTREAM_BPS = 1000
REFUND_TIMEOUT = 600
OBJECTION_WINDOW = 300
REVEAL_WINDOW = 200
CONTENT_KEY = b"\x22" * 32
COMMITMENT = keccak(CONTENT_KEY)
KEY = b"\x11" * 32
ENVELOPE = b'{"ciphertext":"AAAA","ephemPublicKey":"BBBB","nonce":"CCCC","version":"x"}'
ROWS = 20
EMPTY_ROOT = hashlib.sha256(b"").digest()
MODEL_PRICE = 10**18
LICENCE = 86400
ZERO_CID = (0, b"\x00" * 32)


def cid(seed: int, codec: int = RAW) -> tuple[int, bytes]:
    """A CIDv1 in the registry's packed form: (version << 64 | codec, digest)."""
    return ((1 << 64) | codec, hashlib.sha256(b"models%d" % seed).digest())


def entry(dataset_id: int, row_index: int) -> bytes:
    """A manifest entry: DAG-CBOR of the array [dataset_id, row_index]."""
    return bytes(dag_cbor.encode([dataset_id, row_index]))


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    # RFC 9162 section 2.1.1, written out: the reference the tests check pymerkle with.
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    # RFC 9162 section 2.1.3.1: PATH(m, D[n]), leaf to root.
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@dataclass
class Manifest:
    """Sorted, distinct entries (dataset_id, row_index); root checked against pymerkle."""

    entries: list[tuple[int, int]]
    root: bytes = field(init=False)

    def __post_init__(self) -> None:
        assert self.entries == sorted(set(self.entries))
        self.leaves = [leaf(entry(d, i)) for d, i in self.entries]
        self.root = _mth(self.leaves)
        if self.entries:
            tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
            for d, i in self.entries:
                tree.append_entry(entry(d, i))
            assert tree.get_root() == self.root, "pymerkle disagrees with the manifest root"

    def position(self, dataset_id: int, row_index: int) -> int:
        return self.entries.index((dataset_id, row_index))

    def path(self, position: int) -> list[bytes]:
        return _path(position, self.leaves)

    def neighbour(self, position: int) -> tuple[int, int, list[bytes]]:
        if 0 <= position < len(self.entries):
            d, i = self.entries[position]
            return (d, i, self.path(position))
        return (0, 0, [])


def manifest_of(uses: dict[int, list[int]]) -> Manifest:
    return Manifest(sorted((d, i) for d, rows in uses.items() for i in set(rows)))


def terms_tuple(terms: Any) -> tuple[Any, ...]:
    """A decoded ``Purchased.terms`` as the tuple a contract call takes."""

    def get(name: str, i: int) -> Any:
        return getattr(terms, name) if hasattr(terms, name) else terms[i]

    credits = [
        [int(c.dataset_id), str(c.account), int(c.amount)]
        if hasattr(c, "account")
        else [int(c[0]), str(c[1]), int(c[2])]
        for c in get("credits", 9)
    ]
    return (
        str(get("buyer", 0)),
        int(get("dataset_id", 1)),
        str(get("seller", 2)),
        int(get("period", 3)),
        str(get("token", 4)),
        int(get("price", 5)),
        int(get("duration", 6)),
        int(get("created", 7)),
        bytes(get("key_commitment", 8)),
        credits,
    )


@pytest.fixture(scope="session")
def trainer():
    return ACTORS["spare"]


@pytest.fixture(scope="session")
def customer():
    return ACTORS["auditor"]


@pytest.fixture(scope="session")
def market(deployer, registry, token):
    market = deploy("AccessMarket", registry, REFUND_TIMEOUT, OBJECTION_WINDOW, REVEAL_WINDOW)
    market.set_token_allowed(token, True, sender=deployer)
    return market


@pytest.fixture(scope="session")
def models(market):
    return deploy("ModelRegistry", market)


@pytest.fixture
def dataset(registry, owner):
    """Register a dataset of ``rows`` rows; return its id."""

    def _dataset(sender=None, *, rows=ROWS, private=True, parents=()):
        seed = registry.dataset_count() + 1
        registry.register(
            cid(seed, DAG_PB),
            hashlib.sha256(b"root%d" % seed).digest(),
            rows,
            private,
            cid(10_000 + seed),
            "CC-BY-4.0",
            sorted(parents),
            0,
            sender=sender or owner,
        )
        return int(event(registry, "DatasetRegistered").dataset_id)

    return _dataset


@pytest.fixture
def purchase(market, token, owner, trainer):
    """List (if needed) and buy access to a dataset; deliver unless told not to.
    Returns the receipt argument (purchase id, terms)."""

    def _purchase(dataset_id, *, buyer=None, deliver=True, seller=None):
        buyer = buyer or trainer
        seller = seller or owner
        if not market.listing(dataset_id).active:
            market.list_dataset(
                dataset_id, token, PRICE, DURATION, UPSTREAM_BPS, COMMITMENT, sender=seller
            )
        token.approve(market, PRICE, sender=buyer)
        market.buy(dataset_id, token, PRICE, DURATION, KEY, sender=buyer)
        bought = event(market, "Purchased")
        pid, terms = int(bought.purchase_id), terms_tuple(bought.terms)
        if deliver:
            market.deliver_key(pid, terms, ENVELOPE, sender=seller)
        return (pid, terms)

    return _purchase


def composition(registry, uses: dict[int, int], parents=(), data_bps=3000, parents_bps=0):
    """The Composition argument: datasets (id, registry row root, rows used) in id order."""
    datasets = [(d, bytes(registry.row_root(d)), n) for d, n in sorted(uses.items())]
    return (datasets, list(parents), data_bps, parents_bps)


@dataclass
class Registered:
    model_id: int
    event: Any  # its ModelRegistered event
    manifest: Manifest
    composition: tuple[Any, ...]


@pytest.fixture
def register_model(models, registry, trainer):
    """Register a model using ``rows`` (dataset id -> row indices) with ``receipts``."""

    def _register(
        rows: dict[int, list[int]],
        receipts=(),
        *,
        sender=None,
        parents=(),
        data_bps=3000,
        parents_bps=0,
        version_of=0,
        comp=None,
        root=None,
        weights=None,
    ) -> Registered:
        manifest = manifest_of(rows)
        comp = comp or composition(
            registry,
            {d: len(set(r)) for d, r in rows.items()},
            parents,
            data_bps,
            parents_bps,
        )
        models.register_model(
            weights or cid(models.model_count() + 100),
            root or manifest.root,
            cid(models.model_count() + 200),
            cid(models.model_count() + 300),
            comp,
            list(receipts),
            "Apache-2.0",
            version_of,
            sender=sender or trainer,
        )
        registered = event(models, "ModelRegistered")
        return Registered(int(registered.model_id), registered, manifest, comp)

    return _register


@pytest.fixture
def trained(dataset, purchase, register_model):
    """A model trained on rows of a private dataset (bought) and a public one."""
    private = dataset()
    public = dataset(private=False)
    receipt = purchase(private)
    rows = {private: [0, 3, 17], public: [1, 2]}
    return register_model(rows, [receipt]), private, public, receipt


def wait(seconds: int) -> None:
    boa.env.time_travel(seconds=seconds)
