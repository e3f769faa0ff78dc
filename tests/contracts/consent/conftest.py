"""Fixtures for the Consent tests on titanoboa: the whole world a withdrawal touches
(registry, cleaning proofs, consent, a market and a model registry bound to it), datasets
of real `datasoil-rows-v1` rows with a subject column (encoded by datasoil.formats.rows,
rooted by datasoil.formats.merkle), subjects' EIP-712 signatures made with eth-account
(datasoil.protocol.consent), and cleanings that drop rows: their fate records are
`datasoil.formats.fate.FateRecord`s, their claims finalised on CleaningProofs.

Roles: `owner` owns the data, `cleaner` owns a descendant, `buyer` buys, `other` is
anyone; subjects are ACTORS with keys (`subject`, `attester`, `auditor`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from datasoil.formats import merkle, rows
from datasoil.formats.fate import FateRecord
from datasoil.protocol import consent as protocol
from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import ACTORS, deploy, event, mine

DAG_PB = 0x70
BOND = 100 * 10**18
DEPOSIT = 5 * 10**18
CHALLENGE = 5
REVEAL = 20
RESPONSE = 20
PRICE = 10**18
DURATION = 3600
KEY = b"\x11" * 32
COMMITMENT_KEY = b"\x22" * 32
FAR = 2**64
ZERO = "0x" + "00" * 20
NO_PROOF = (b"", [], 0, 0, b"\x00" * 32, b"\x00" * 32, b"\x00" * 32)

# A public table about people: `subject` (column 3) names each row's subject.
SCHEMA = rows.Schema(
    (
        rows.Column("id", "int64", False),
        rows.Column("score", "float64"),
        rows.Column("note", "string"),
        rows.Column("subject", "string"),
        rows.Column("ok", "bool"),
    )
)
SUBJECT_COLUMN = 3
# Rows by commitment: `holder` (column 1) is keccak256(secret), 32 raw bytes.
COMMITMENT_SCHEMA = rows.Schema((rows.Column("id", "int64", False), rows.Column("holder", "bytes")))


def secret_of(i: int) -> bytes:
    return hashlib.sha256(b"consent secret %d" % i).digest()


def _cid(seed: int) -> tuple[int, bytes]:
    return ((1 << 64) | DAG_PB, hashlib.sha256(b"consent%d" % seed).digest())


@dataclass
class Data:
    """A registered dataset: its id, its encoded rows and their leaf hashes."""

    dataset_id: int
    rows: list[bytes]
    leaves: list[bytes]

    @property
    def root(self) -> bytes:
        return merkle.root(self.leaves)

    def path(self, i: int) -> list[bytes]:
        return list(merkle.inclusion_proof(self.leaves, i).path)


@dataclass
class Cleaning:
    """A finalised (or pending) cleaning claim parent -> child and its fate records."""

    claim_id: int
    child: Data
    fates: list[bytes]

    def opening(self, i: int) -> tuple[int, bytes, list[bytes]]:
        leaves = [merkle.leaf_hash(f) for f in self.fates]
        return (i, self.fates[i], list(merkle.inclusion_proof(leaves, i).path))


@pytest.fixture(scope="session")
def subjects() -> list[Any]:
    """Four people with keys; row i of `people` is about subjects[i % 4]."""
    return [ACTORS["attester"], ACTORS["auditor"], ACTORS["spare"], ACTORS["buyer"]]


@pytest.fixture(scope="session")
def subject(subjects):
    return subjects[1]


@pytest.fixture(scope="session")
def attestations(registry):
    return deploy("Attestations", registry)


@pytest.fixture(scope="session")
def proofs(registry, token, attestations):
    return deploy(
        "CleaningProofs", registry, attestations, token, BOND, DEPOSIT, CHALLENGE, REVEAL, RESPONSE
    )


@pytest.fixture(scope="session")
def consent(registry, proofs):
    return deploy("Consent", registry, proofs)


@pytest.fixture(scope="session")
def market(registry, token, consent, deployer):
    market = deploy("AccessMarket", registry, 600, 300, 200)
    market.set_token_allowed(token, True, sender=deployer)
    market.set_consent(consent, sender=deployer)
    return market


@pytest.fixture(scope="session")
def models(market):
    return deploy("ModelRegistry", market)


def people_rows(subjects: list[Any], n: int = 10) -> list[tuple[Any, ...]]:
    """Row values: the subject column holds a checksummed address, a lowercase one, or
    null (row 5), with values of every kind before it."""
    values: list[tuple[Any, ...]] = []
    for i in range(n):
        who = str(subjects[i % len(subjects)])
        shown = who.lower() if i % 2 else who
        values.append((i * 1000, i / 3, "n" * (i * 30), None if i == 5 else shown, i % 3 == 0))
    return values


@pytest.fixture
def publish(registry, owner):
    """Register a dataset of encoded rows; returns its Data."""

    def _publish(values, schema=SCHEMA, *, sender=None, private=False, parents=()):
        encoded = [rows.encode_row(v, schema) for v in values]
        leaves = [merkle.leaf_hash(r) for r in encoded]
        seed = registry.dataset_count() + 1
        registry.register(
            _cid(seed),
            merkle.root(leaves),
            len(encoded),
            private,
            _cid(10_000 + seed),
            "CC-BY-4.0",
            sorted(parents),
            0,
            sender=sender or owner,
        )
        return Data(int(event(registry, "DatasetRegistered").dataset_id), encoded, leaves)

    return _publish


@pytest.fixture
def people(publish, consent, owner, subjects):
    """A public dataset of 10 rows whose subject column (3) is declared as addresses."""
    data = publish(people_rows(subjects))
    consent.declare_subjects(
        data.dataset_id, SUBJECT_COLUMN, protocol.ADDRESS_SUBJECT, sender=owner
    )
    return data


@pytest.fixture
def holders(publish, consent, owner):
    """A public dataset whose column 1 holds commitments keccak256(secret_of(i))."""
    values = [(i, protocol.commitment(secret_of(i))) for i in range(6)]
    data = publish(values, COMMITMENT_SCHEMA)
    consent.declare_subjects(data.dataset_id, 1, protocol.COMMITMENT_SUBJECT, sender=owner)
    return data


@pytest.fixture
def signed(consent, chain_id):
    """A subject's SubjectProof for row i of `data`, signed with the subject's key."""

    def _signed(data: Data, i: int, signer, *, deadline=FAR, row=None, path=None, index=None):
        typed = protocol.typed_data(
            data.dataset_id, i if index is None else index, deadline, chain_id, consent.address
        )
        v, r, s = protocol.split_signature(protocol.sign(typed, signer.private_key))
        return (
            data.rows[i] if row is None else row,
            data.path(i) if path is None else path,
            deadline,
            v,
            r,
            s,
            b"\x00" * 32,
        )

    return _signed


def bare(data: Data, i: int, *, secret: bytes = b"\x00" * 32) -> tuple[Any, ...]:
    """A SubjectProof with the row and its path, no signature (the subject sends it)."""
    return (data.rows[i], data.path(i), 0, 0, b"\x00" * 32, b"\x00" * 32, secret)


def fates_for(n: int, dropped: set[int], step: int = 0) -> list[bytes]:
    """The fate records of a cleaning of n rows that drops ``dropped`` at ``step``."""
    out, kept = [], 0
    for i in range(n):
        if i in dropped:
            out.append(FateRecord(i, False, None, kept, step, None).encode())
        else:
            out.append(FateRecord(i, True, kept, kept, None, None).encode())
            kept += 1
    return out


@pytest.fixture
def clean(registry, proofs, token, owner):
    """Register a new version of ``data`` without the ``dropped`` rows and claim the
    cleaning (fate records of ``fates``, by default those that drop them); finalise it
    unless told not to."""

    def _clean(
        data: Data,
        dropped: set[int],
        *,
        sender=None,
        fates=None,
        finalise=True,
        private=False,
        extra_parents=(),
    ):
        sender = sender or owner
        kept = [r for i, r in enumerate(data.rows) if i not in dropped]
        leaves = [merkle.leaf_hash(r) for r in kept]
        seed = registry.dataset_count() + 1
        # A new version when the cleaner owns the data, a derived dataset otherwise.
        version_of = data.dataset_id if sender == registry.owner_of(data.dataset_id) else 0
        registry.register(
            _cid(seed),
            merkle.root(leaves),
            len(kept),
            private,
            _cid(10_000 + seed),
            "CC-BY-4.0",
            sorted({data.dataset_id, *extra_parents}),
            version_of,
            sender=sender,
        )
        child = Data(int(event(registry, "DatasetRegistered").dataset_id), kept, leaves)
        fates = fates if fates is not None else fates_for(len(data.rows), dropped)
        fate_leaves = [merkle.leaf_hash(f) for f in fates]
        token.approve(proofs, BOND, sender=sender)
        proofs.submit_claim(
            data.dataset_id,
            child.dataset_id,
            _cid(seed + 500),
            _cid(seed + 600),
            merkle.root(fate_leaves),
            sender=sender,
        )
        claim_id = int(event(proofs, "ClaimSubmitted").claim_id)
        if finalise:
            mine(CHALLENGE + 1)
            proofs.finalize(claim_id, sender=sender)
        return Cleaning(claim_id, child, fates)

    return _clean


@pytest.fixture
def listed(market, token):
    """List a private dataset at PRICE."""

    def _listed(dataset_id: int, seller):
        market.list_dataset(dataset_id, token, PRICE, DURATION, 0, b"\x33" * 32, sender=seller)
        return dataset_id

    return _listed


@pytest.fixture
def buy(market, token, buyer):
    """Approve and buy a listed dataset; returns the purchase id."""

    def _buy(dataset_id: int, sender=None):
        sender = sender or buyer
        token.approve(market, PRICE, sender=sender)
        return market.buy(dataset_id, token, PRICE, DURATION, KEY, sender=sender)

    return _buy
