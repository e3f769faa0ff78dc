"""Issue 10 item 5: rows over 4,096 bytes are answerable (open_row, then respond).

Before, openings were Bytes[4096] inline, so an audit sampling a longer row could not be
answered by any transaction and an honest bond was lost. Rows near the inline bound,
of 5,000 bytes and of 100,000 bytes are answered here as datasoil.flows.audit.respond
answers them (each long row by open_row, then the answer); tests/e2e/test_proofs_library.py
sends the same answers through the library itself, on anvil.
"""

from __future__ import annotations

import boa
import pytest

from datasoil.errors import ProofError
from datasoil.flows import audit
from datasoil.formats import merkle
from tests.contracts._boa import event, events, mine_to

from .claims import (
    LONG_ROW_CASES,
    answer,
    check_long_rows_passed,
    check_long_rows_split,
    long_cleaning,
    send_answer,
)


@pytest.mark.parametrize(("n", "size"), LONG_ROW_CASES)
def test_respond__long_rows_opened_then_answered(proofs, submit, opened, cleaner, n, size):
    claim = submit(long_cleaning(n, size))
    number = opened(claim.claim_id)
    response = answer(proofs, claim, number)
    check_long_rows_split(claim, response)
    assert audit.check_response(
        claim.data.facts(), response, audit.read_seed(proofs, claim.claim_id, number)
    ) == (audit.Reason.NONE, 0)
    send_answer(proofs, claim.claim_id, number, response, cleaner)
    passed = event(proofs, "AuditPassed")
    assert events(proofs, "AuditFailed") == []
    check_long_rows_passed(proofs, claim, number, response, passed, cleaner)


def test_open_row__logs_leaf_and_length(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    slot, row = answer(proofs, claim, number).long_rows()[0]
    proofs.open_row(claim.claim_id, number, slot, row, sender=cleaner)
    row_opened = event(proofs, "RowOpened")
    assert (row_opened.claim_id, row_opened.audit, row_opened.slot) == (
        claim.claim_id,
        number,
        slot,
    )
    assert (row_opened.leaf, row_opened.length) == (merkle.leaf_hash(row), len(row))


def test_open_row__wrong_row_fails_the_audit(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    response = answer(proofs, claim, number)
    slot, row = response.long_rows()[0]
    proofs.open_row(claim.claim_id, number, slot, b"Y" + row, sender=cleaner)
    for other_slot, other in response.long_rows()[1:]:
        proofs.open_row(claim.claim_id, number, other_slot, other, sender=cleaner)
    ins, outs = response.as_args()
    proofs.respond(claim.claim_id, number, ins, outs, sender=cleaner)
    failed = event(proofs, "AuditFailed")
    assert failed.reason in (audit.Reason.INPUT_ROW, audit.Reason.OUTPUT_ROW)


def test_respond__long_row_not_opened_fails_the_audit(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    ins, outs = answer(proofs, claim, number).as_args()
    proofs.respond(claim.claim_id, number, ins, outs, sender=cleaner)
    assert event(proofs, "AuditFailed").reason == audit.Reason.INPUT_ROW


def test_open_row__reverts(proofs, submit, opened, cleaner, other):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id, reveal=False)
    row = b"z" * 4097
    with boa.reverts("proofs: audit not revealed"):
        proofs.open_row(claim.claim_id, number, 0, row, sender=cleaner)
    with boa.reverts("proofs: not the claimant"):
        proofs.open_row(claim.claim_id, number, 0, row, sender=other)
    with boa.reverts("proofs: unknown audit"):
        proofs.open_row(claim.claim_id, 3, 0, row, sender=cleaner)


def test_open_row__slot_size_deadline_reverts(proofs, submit, opened, cleaner):
    claim = submit(long_cleaning(3, 5000))
    number = opened(claim.claim_id)
    with boa.reverts("proofs: no such row slot"):
        proofs.open_row(claim.claim_id, number, 8, b"z" * 4097, sender=cleaner)
    with boa.reverts("proofs: no such row slot"):
        proofs.row_leaf(claim.claim_id, number, 8)
    with boa.reverts("proofs: row fits in the answer"):
        proofs.open_row(claim.claim_id, number, 0, b"z" * audit.MAX_ROW_BYTES, sender=cleaner)
    mine_to(proofs.audit(claim.claim_id, number).deadline + 1)
    with boa.reverts("proofs: response deadline passed"):
        proofs.open_row(claim.claim_id, number, 0, b"z" * 4097, sender=cleaner)


def test_build_response__row_beyond_long_bound_raises():
    data = long_cleaning(2, audit.MAX_LONG_ROW_BYTES + 10)
    with pytest.raises(ProofError, match="expected at most 393216 bytes"):
        audit.build_response(data, [0], [])
