"""Claims over synthetic cleanings for CleaningProofs tests, on titanoboa or on ape alike.

A synthetic cleaning of ``n`` rows drops every row whose index is 2 mod 5 (step 0) and
marks every row whose index is 4 mod 7 a duplicate of the row before it (step 1); fate
records are :class:`datasoil.engine.clean.FateRecord` bytes, so the layout is the engine's own.
The fixtures register_pair and submit serve both; the others are in this folder's conftest
(boa) and in tests/proofs_ape.py (ape + anvil).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from datasoil.engine.clean import FateRecord
from datasoil.flows import audit
from datasoil.formats import merkle

BOND = 100 * 10**18
DEPOSIT = 5 * 10**18
CHALLENGE = 30
REVEAL = 5
RESPONSE = 12
DAG_PB = 0x70
SHARE = BOND * 2000 // 10000  # an auditor's share of a slashed bond
FORFEIT = BOND * 5000 // 10000  # what a vindicated claimant keeps of a dispute bond
# CleaningProofs' constructor arguments after its three addresses (registry, Attestations,
# bond token): bond, audit deposit, challenge, reveal and answer windows in blocks
PARAMETERS = (BOND, DEPOSIT, CHALLENGE, REVEAL, RESPONSE)


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


def long_cleaning(n: int, size: int) -> audit.ClaimData:
    """The synthetic cleaning of n rows of about ``size`` bytes (row i: size + i - n // 2)."""
    rows_in = [bytes([0x82, i % 256]) + b"x" * (size + i - n // 2 - 2) for i in range(n)]
    records, kept = fates_for(n)
    rows_out = [b"clean " + rows_in[i] for i in kept]
    return audit.ClaimData.from_rows(rows_in, rows_out, b"".join(r.encode() for r in records))


@dataclass
class Claim:
    claim_id: int
    parent_id: int
    child_id: int
    data: audit.ClaimData
    receipt: object  # what submit_claim returned: ape's receipt, boa's claim id


@pytest.fixture
def register_pair(registry: Any, owner: Any) -> Callable[..., tuple[int, int]]:
    """``register_pair(data, child_owner=None, *, list_parent=True)``: registers a parent
    and a child listing it (unless not ``list_parent``) for ``data``; returns their ids."""
    counter = [0]

    def _register_pair(
        data: audit.ClaimData, child_owner: Any = None, *, list_parent: bool = True
    ) -> tuple[int, int]:
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
        parent_id = int(registry.dataset_count())
        registry.register(
            cid(s + 1),
            facts.child_root,
            facts.rows_out,
            facts.child_private,
            cid(1001 + s),
            "CC0-1.0",
            [parent_id] if list_parent else [],
            0,
            sender=child_owner or owner,
        )
        return parent_id, int(registry.dataset_count())

    return _register_pair


@pytest.fixture
def submit(
    proofs: Any, token: Any, register_pair: Callable[..., tuple[int, int]], cleaner: Any
) -> Callable[..., Claim]:
    """``submit(data=cleaning(23), sender=cleaner, *, approve=True)``: registers datasets
    for ``data`` owned by ``sender``, approves the bond and submits the claim; the
    submission is the last call, so its events can be read right after."""

    def _submit(
        data: audit.ClaimData | None = None, sender: Any = None, *, approve: bool = True
    ) -> Claim:
        data = data or cleaning(23)
        sender = sender or cleaner
        parent_id, child_id = register_pair(data, sender)
        if approve:
            token.approve(proofs, BOND, sender=sender)
        claim_id = int(proofs.claim_count()) + 1
        receipt = proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=sender
        )
        return Claim(claim_id, parent_id, child_id, data, receipt)

    return _submit


def secret_for(claim_id: int, sender: object) -> bytes:
    """A deterministic audit secret for tests."""
    return hashlib.sha256(b"secret %d %s" % (claim_id, str(sender).encode())).digest()


def response_for(proofs: Any, data: audit.ClaimData, claim_id: int, number: int) -> audit.Response:
    """The answer to an audit built from ``data`` by datasoil.flows.audit (honest when
    ``data`` is the claim's own) for the samples of the revealed seed."""
    seed = audit.read_seed(proofs, claim_id, number)
    assert seed is not None
    return audit.build_response(
        data,
        audit.sample_indices(seed, data.rows_in),
        audit.sample_indices(seed, data.rows_out, audit.SAMPLES),
    )


def answer(proofs: Any, claim: Claim, number: int) -> audit.Response:
    """The honest answer to an audit, built by datasoil.flows.audit from the claim's data."""
    return response_for(proofs, claim.data, claim.claim_id, number)


def send_answer(
    proofs: Any, claim_id: int, number: int, response: audit.Response, sender: Any
) -> Any:
    """Send ``response`` as datasoil.flows.audit.respond does (each row over the inline
    bound by ``open_row`` first, then ``respond``), straight to the contract."""
    for slot, row in response.long_rows():
        proofs.open_row(claim_id, number, slot, row, sender=sender)
    ins, outs = response.as_args()
    return proofs.respond(claim_id, number, ins, outs, sender=sender)


LONG_ROW_CASES = [(9, 4093), (5, 5000), (3, 100_000)]  # rows near and over the inline bound


def check_long_rows_split(claim: Claim, response: audit.Response) -> None:
    """``response.long_rows()`` holds exactly the sampled rows over the inline bound; when
    every row of the claim is over it, the audit has some (a sample is drawn from the
    seed, so rows near the bound on both sides may all land under it: on anvil the seed
    mixes a block hash no test picks)."""
    sampled = [(j, op.row) for j, op in enumerate(response.inputs)]
    sampled += [(audit.SAMPLES + j, op.output_row) for j, op in enumerate(response.inputs)]
    assert response.long_rows() == sorted(
        ((slot, row) for slot, row in sampled if len(row) > audit.MAX_ROW_BYTES),
        key=lambda item: (item[0] % audit.SAMPLES, item[0]),
    )
    assert claim.data.input_rows is not None
    if min(len(row) for row in claim.data.input_rows) > audit.MAX_ROW_BYTES:
        assert response.long_rows()


def check_long_rows_passed(
    proofs: Any, claim: Claim, number: int, response: audit.Response, passed: Any, claimant: Any
) -> None:
    """The AuditPassed event ``passed`` of an answer with long rows: each row over the
    inline bound went by open_row (the event holds its leaf, the chain its slot)."""
    for j, op in enumerate(response.inputs):
        inline = b"" if len(op.row) > audit.MAX_ROW_BYTES else op.row
        assert passed.input_rows[j] == inline
        assert passed.input_leaves[j] == merkle.leaf_hash(op.row)
    for slot, row in response.long_rows():
        assert bytes(proofs.row_leaf(claim.claim_id, number, slot)) == merkle.leaf_hash(row)
    assert proofs.audit(claim.claim_id, number).state == 2
    assert proofs.credits(claimant) > 0
