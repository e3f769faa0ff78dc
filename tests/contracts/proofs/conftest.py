"""Fixtures for CleaningProofs: a deployed contract and claims over synthetic cleanings.

A synthetic cleaning of ``n`` rows drops every row whose index is 2 mod 5 (step 0) and
marks every row whose index is 4 mod 7 a duplicate of the row before it (step 1); fate
records are :class:`datasoil.engine.clean.FateRecord` bytes, so the layout is the engine's own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from datasoil.engine.clean import FateRecord
from datasoil.flows import audit

BOND = 100 * 10**18
DEPOSIT = 5 * 10**18
CHALLENGE = 30
REVEAL = 5
RESPONSE = 12
DAG_PB = 0x70


def cid(seed: int) -> tuple[int, bytes]:
    """A registry Cid (prefix word, digest): CIDv1 dag-pb with a digest from ``seed``."""
    return ((1 << 64) | DAG_PB, hashlib.sha256(b"cid%d" % seed).digest())


def fates_for(n: int) -> tuple[list[FateRecord], list[int]]:
    """Fate records of the synthetic cleaning and the kept input indices."""
    records, kept = [], []
    for i in range(n):
        before = len(kept)
        if i % 5 == 2:
            records.append(FateRecord(i, False, None, before, 0, None))
        elif i % 7 == 4:
            records.append(FateRecord(i, False, None, before, 1, i - 1))
        else:
            records.append(FateRecord(i, True, before, before, None, None))
            kept.append(i)
    return records, kept


def cleaning(n: int, *, key: bytes | None = None) -> audit.ClaimData:
    """ClaimData of the synthetic cleaning of ``n`` rows (private with ``key``)."""
    rows_in = [b"\x82\x01row %d" % i for i in range(n)]
    records, kept = fates_for(n)
    rows_out = [b"clean " + rows_in[i] for i in kept]
    fates = b"".join(r.encode() for r in records)
    return audit.ClaimData.from_rows(rows_in, rows_out, fates, input_key=key, output_key=key)


@dataclass
class Claim:
    claim_id: int
    parent_id: int
    child_id: int
    data: audit.ClaimData
    receipt: object


@pytest.fixture(scope="session")
def attestations_address(accounts):
    """The Attestations address is only stored: any address does."""
    return accounts[9].address


@pytest.fixture
def proofs(project, deployer, registry, token, attestations_address):
    return deployer.deploy(
        project.CleaningProofs,
        registry,
        attestations_address,
        token,
        BOND,
        DEPOSIT,
        CHALLENGE,
        REVEAL,
        RESPONSE,
    )


@pytest.fixture
def register_pair(registry, owner):
    """Registers a parent and a child listing it for ``data``; returns their ids."""
    counter = [0]

    def _register(data: audit.ClaimData, child_owner=None, *, list_parent=True):
        counter[0] += 1
        facts = data.facts()
        s = counter[0] * 2
        registry.register(
            cid(s),
            facts.parent_root,
            facts.rows_in,
            facts.parent_private,
            cid(1000 + s),
            "CC0-1.0",
            [],
            0,
            sender=owner,
        )
        parent_id = registry.dataset_count()
        parents = [parent_id] if list_parent else []
        registry.register(
            cid(s + 1),
            facts.child_root,
            facts.rows_out,
            facts.child_private,
            cid(1001 + s),
            "CC0-1.0",
            parents,
            0,
            sender=child_owner or owner,
        )
        return parent_id, registry.dataset_count()

    return _register


@pytest.fixture
def submit(proofs, token, register_pair, cleaner):
    """Registers datasets for ``data`` (owned by the cleaner) and submits the claim."""

    def _submit(data: audit.ClaimData | None = None, sender=None, *, approve=True) -> Claim:
        data = data or cleaning(23)
        sender = sender or cleaner
        parent_id, child_id = register_pair(data, sender)
        if approve:
            token.approve(proofs, BOND, sender=sender)
        facts = data.facts()
        receipt = proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), facts.fate_root, sender=sender
        )
        return Claim(proofs.claim_count(), parent_id, child_id, data, receipt)

    return _submit


def secret_for(claim_id: int, sender) -> bytes:
    """A deterministic audit secret for tests."""
    return hashlib.sha256(b"secret %d %s" % (claim_id, str(sender).encode())).digest()


@pytest.fixture
def opened(proofs, token, auditor, chain):
    """Opens an audit of a claim by the auditor (committed to ``secret_for``), mines the
    seed block and reveals (unless ``reveal=False``); returns the number."""

    def _open(claim_id: int, sender=None, *, reveal: bool = True) -> int:
        sender = sender or auditor
        token.approve(proofs, DEPOSIT, sender=sender)
        secret = secret_for(claim_id, sender)
        receipt = proofs.open_audit(
            claim_id, audit.commitment(sender.address, secret), sender=sender
        )
        number = int(receipt.decode_logs(proofs.AuditOpened)[0].audit)
        if reveal:
            chain.mine(1)
            proofs.reveal(claim_id, number, secret, sender=sender)
        return number

    return _open


def answer(proofs, claim: Claim, number: int) -> audit.Response:
    """The honest answer to an audit, built by datasoil.flows.audit from the claim's data."""
    seed = audit.read_seed(proofs, claim.claim_id, number)
    assert seed is not None
    facts = claim.data.facts()
    return audit.build_response(
        claim.data,
        audit.sample_indices(seed, facts.rows_in),
        audit.sample_indices(seed, facts.rows_out, audit.SAMPLES),
    )
