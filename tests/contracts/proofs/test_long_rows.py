"""Issue 10 item 5: rows over 4,096 bytes are answerable (open_row, then respond).

Before, openings were Bytes[4096] inline, so an audit sampling a longer row could not be
answered by any transaction and an honest bond was lost. Rows near the inline bound,
of 5,000 bytes and of 100,000 bytes are answered here through datasoil.flows.audit.respond,
the library path `ape run audit respond` uses.
"""

from __future__ import annotations

import ape
import pytest

from datasoil.errors import ProofError
from datasoil.flows import audit
from datasoil.formats import merkle

from .conftest import answer, fates_for


def long_cleaning(n: int, size: int) -> audit.ClaimData:
    """The synthetic cleaning of n rows of about ``size`` bytes (row i: size + i - n // 2)."""
    rows_in = [bytes([0x82, i % 256]) + b"x" * (size + i - n // 2 - 2) for i in range(n)]
    records, kept = fates_for(n)
    rows_out = [b"clean " + rows_in[i] for i in kept]
    return audit.ClaimData.from_rows(rows_in, rows_out, b"".join(r.encode() for r in records))


@pytest.mark.parametrize(("n", "size"), [(9, 4093), (5, 5000), (3, 100_000)])
def test_respond__long_rows_answered_through_the_library(
    proofs, registry, submit, opened, cleaner, auditor, n, size
):
    claim = submit(long_cleaning(n, size))
    number = opened(claim.claim_id)
    response = answer(proofs, claim, number)
    long = response.long_rows()
    assert long  # every row here is near or over the inline bound
    tx = audit.respond(proofs, registry, claim.claim_id, number, claim.data, cleaner)
    (passed,) = tx.decode_logs(proofs.AuditPassed)
    for j, op in enumerate(response.inputs):
        inline = b"" if len(op.row) > audit.MAX_ROW_BYTES else op.row
        assert passed.input_rows[j] == inline
        assert passed.input_leaves[j] == merkle.leaf_hash(op.row)
    for slot, row in long:
        assert bytes(proofs.row_leaf(claim.claim_id, number, slot)) == merkle.leaf_hash(row)
    assert proofs.audit(claim.claim_id, number).state == 2
    assert proofs.credits(cleaner) > 0


def test_open_row__logs_leaf_and_length(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    slot, row = answer(proofs, claim, number).long_rows()[0]
    tx = proofs.open_row(claim.claim_id, number, slot, row, sender=cleaner)
    (event,) = tx.decode_logs(proofs.RowOpened)
    assert (event.claim_id, event.audit, event.slot) == (claim.claim_id, number, slot)
    assert (event.leaf, event.length) == (merkle.leaf_hash(row), len(row))


def test_open_row__wrong_row_fails_the_audit(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    response = answer(proofs, claim, number)
    slot, row = response.long_rows()[0]
    proofs.open_row(claim.claim_id, number, slot, b"Y" + row, sender=cleaner)
    for other_slot, other in response.long_rows()[1:]:
        proofs.open_row(claim.claim_id, number, other_slot, other, sender=cleaner)
    ins, outs = response.as_args()
    tx = proofs.respond(claim.claim_id, number, ins, outs, sender=cleaner)
    (failed,) = tx.decode_logs(proofs.AuditFailed)
    assert failed.reason in (audit.Reason.INPUT_ROW, audit.Reason.OUTPUT_ROW)


def test_respond__long_row_not_opened_fails_the_audit(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    ins, outs = answer(proofs, claim, number).as_args()
    tx = proofs.respond(claim.claim_id, number, ins, outs, sender=cleaner)
    assert tx.decode_logs(proofs.AuditFailed)[0].reason == audit.Reason.INPUT_ROW


def test_open_row__reverts(proofs, submit, opened, cleaner, other):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id, reveal=False)
    row = b"z" * 4097
    with ape.reverts("proofs: audit not revealed"):
        proofs.open_row(claim.claim_id, number, 0, row, sender=cleaner)
    with ape.reverts("proofs: not the claimant"):
        proofs.open_row(claim.claim_id, number, 0, row, sender=other)
    with ape.reverts("proofs: unknown audit"):
        proofs.open_row(claim.claim_id, 3, 0, row, sender=cleaner)


def test_open_row__slot_size_deadline_reverts(proofs, submit, opened, cleaner, chain):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    with ape.reverts("proofs: no such row slot"):
        proofs.open_row(claim.claim_id, number, 8, b"z" * 4097, sender=cleaner)
    with ape.reverts("proofs: no such row slot"):
        proofs.row_leaf(claim.claim_id, number, 8)
    with ape.reverts("proofs: row fits in the answer"):
        proofs.open_row(claim.claim_id, number, 0, b"z" * audit.MAX_ROW_BYTES, sender=cleaner)
    chain.mine(12)
    with ape.reverts("proofs: response deadline passed"):
        proofs.open_row(claim.claim_id, number, 0, b"z" * 4097, sender=cleaner)


def test_build_response__row_beyond_long_bound_raises():
    data = long_cleaning(2, audit.MAX_LONG_ROW_BYTES + 10)
    with pytest.raises(ProofError, match="expected at most 393216 bytes"):
        audit.build_response(data, [0], [])
