"""Row disputes (contracts/RowDisputes.vy with RowJudge, and CleaningProofs' side of them):
a real engine cleaning (judged.py) claimed with its judge program; a row disputed,
answered with the openings datasoil.protocol.row_disputes builds, and judged. Every
external function with its positive case and one negative case per check.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from datasoil.formats.fate import FateRecord
from datasoil.formats.recipe import Dedupe, Filter
from datasoil.protocol import row_disputes as rd
from tests.contracts._boa import block_number, deploy, event, mine, mine_to

from .claims import BOND, PARAMETERS, Claim, cid, cleaning
from .judged import (
    DUPLICATE_ROW,
    FILTERED_ROW,
    KEPT_ROW,
    NULL_ROW,
    Judged,
    altered_cleaning,
    doing_nothing,
    forged,
    judged_cleaning,
)

NO_ROW = rd.NO_ROW


@pytest.fixture(scope="module")
def proofs(registry, token, attestations_address) -> Any:
    """A CleaningProofs of this module's own, with row disputes enabled."""
    return deploy("CleaningProofs", registry, attestations_address, token, *PARAMETERS)


@pytest.fixture(scope="module")
def row_judge() -> Any:
    return deploy("RowJudge")


@pytest.fixture(scope="module")
def row_disputes(proofs, row_judge, deployer) -> Any:
    disputes = deploy("RowDisputes", proofs, row_judge)
    proofs.enable_row_disputes(disputes, sender=deployer)
    return disputes


@pytest.fixture(scope="module")
def honest() -> Judged:
    return judged_cleaning()


@pytest.fixture(scope="module")
def wrong_filter() -> Judged:
    """A filter that keeps every row: row 1 (17) is claimed kept."""
    return altered_cleaning(lambda: doing_nothing(Filter))


@pytest.fixture(scope="module")
def wrong_dedupe() -> Judged:
    """A dedupe that keeps duplicates: row 3 (ann@x.org again) is claimed kept."""
    return altered_cleaning(lambda: doing_nothing(Dedupe))


@pytest.fixture
def submit_judged(proofs, row_disputes, token, register_pair, cleaner):
    """``submit_judged(judged, commit=True)``: registers the cleaning's datasets, claims
    them and commits the judge program's hash (a block later, as a claimant's second
    transaction lands)."""

    def _submit(judged: Judged, *, commit: bool = True, sender: Any = None) -> Claim:
        sender = sender or cleaner
        parent_id, child_id = register_pair(judged.data, sender)
        token.approve(proofs, BOND, sender=sender)
        claim_id = int(proofs.claim_count()) + 1
        fate_root = judged.data.facts().fate_root
        proofs.submit_claim(parent_id, child_id, cid(7), cid(8), fate_root, sender=sender)
        if commit:
            mine()
            row_disputes.commit_judge(claim_id, judged.program_hash, sender=sender)
        return Claim(claim_id, parent_id, child_id, judged.data, None)

    return _submit


@pytest.fixture
def disputed(row_disputes, token, other):
    """``disputed(claim, index, earlier=None, sender=other)``: approves the bond and
    disputes the row; returns the dispute's number."""

    def _dispute(claim: Claim, index: int, earlier: int | None = None, sender: Any = None) -> int:
        sender = sender or other
        token.approve(row_disputes, BOND, sender=sender)
        if earlier is None:
            return int(row_disputes.dispute_row(claim.claim_id, index, sender=sender))
        return int(row_disputes.dispute_row(claim.claim_id, index, earlier, sender=sender))

    return _dispute


def _inner(row_disputes: Any, contract: Any, name: str) -> list[Any]:
    """The ``name`` events ``contract`` logged within RowDisputes' last call."""
    return [
        log
        for log in row_disputes.get_logs()
        if type(log).__name__ == name and str(log.address) == str(contract.address)
    ]


def _answer(judged: Judged, index: int, named: int | None = None) -> rd.RowAnswer:
    return rd.build_row_answer(judged.data, judged.program, index, named)


def _send(row_disputes, claim: Claim, number: int, answer: rd.RowAnswer, sender: Any):
    return row_disputes.answer_row(claim.claim_id, number, *answer.as_args(), sender=sender)


# ---------------------------------------------------------------------------------------
# CleaningProofs' side
# ---------------------------------------------------------------------------------------


def test_commit_judge__records_the_program_hash(row_disputes, submit_judged, honest, cleaner):
    claim = submit_judged(honest)
    committed = event(row_disputes, "JudgeCommitted")
    assert (committed.claim_id, committed.claimant) == (claim.claim_id, cleaner)
    assert committed.judge_program == honest.program_hash
    assert row_disputes.judge_program(claim.claim_id) == honest.program_hash
    with boa.reverts("disputes: judge program already committed"):
        row_disputes.commit_judge(claim.claim_id, honest.program_hash, sender=cleaner)


def test_commit_judge__only_the_claimant_early_on_an_active_claim(
    row_disputes, proofs, submit_judged, honest, cleaner, other
):
    claim = submit_judged(honest, commit=False)
    assert row_disputes.judge_program(claim.claim_id) == bytes(32)
    with boa.reverts("disputes: not the claimant"):
        row_disputes.commit_judge(claim.claim_id, honest.program_hash, sender=other)
    with boa.reverts("disputes: zero judge program"):
        row_disputes.commit_judge(claim.claim_id, bytes(32), sender=cleaner)
    submitted = proofs.claim(claim.claim_id).submitted
    mine_to(submitted + row_disputes.response_blocks() + 1)
    with boa.reverts("disputes: commitment window closed"):
        row_disputes.commit_judge(claim.claim_id, honest.program_hash, sender=cleaner)
    mine_to(proofs.claim(claim.claim_id).window_end + 1)
    proofs.finalize(claim.claim_id, sender=cleaner)
    with boa.reverts("disputes: claim settled"):
        row_disputes.commit_judge(claim.claim_id, honest.program_hash, sender=cleaner)
    with boa.reverts("proofs: unknown claim"):
        row_disputes.commit_judge(999, honest.program_hash, sender=cleaner)


def test_submit_claim__second_claim_on_a_child_with_a_live_claim_reverts(
    proofs, token, submit, cleaner
):
    claim = submit(cleaning(9))
    token.approve(proofs, BOND, sender=cleaner)
    fate_root = claim.data.facts().fate_root
    with boa.reverts("proofs: child has a live claim"):
        proofs.submit_claim(
            claim.parent_id, claim.child_id, cid(7), cid(8), fate_root, sender=cleaner
        )
    # Settled claims do not count: once finalised, the child may be claimed again.
    mine_to(proofs.claim(claim.claim_id).window_end + 1)
    proofs.finalize(claim.claim_id, sender=cleaner)
    proofs.submit_claim(claim.parent_id, claim.child_id, cid(7), cid(8), fate_root, sender=cleaner)
    assert proofs.claim(claim.claim_id + 1).child_id == claim.child_id


def test_enable_row_disputes__once_by_the_deployer(
    registry, token, attestations_address, deployer, other
):
    fresh = deploy("CleaningProofs", registry, attestations_address, token, *PARAMETERS)
    with boa.reverts("proofs: not the deployer"):
        fresh.enable_row_disputes(other, sender=other)
    fresh.enable_row_disputes(other, sender=deployer)
    assert event(fresh, "RowDisputesEnabled").row_disputes == other
    assert fresh.row_disputes() == other
    with boa.reverts("proofs: already enabled"):
        fresh.enable_row_disputes(deployer, sender=deployer)


def test_row_dispute_changed__only_the_row_disputes_contract(
    proofs, row_disputes, submit_judged, honest, other
):
    claim = submit_judged(honest)
    for change in (0, 1, 2):
        with boa.reverts("proofs: not row disputes"):
            proofs.row_dispute_changed(claim.claim_id, other, change, sender=other)
    me = str(row_disputes.address)
    # Closing one that is not open underflows the open count.
    for change in (1, 2):
        with boa.reverts():
            proofs.row_dispute_changed(claim.claim_id, other, change, sender=me)
    # Opened and closed directly: the count follows, an upheld one moves the bond.
    proofs.row_dispute_changed(claim.claim_id, other, 0, sender=me)
    assert proofs.status(claim.claim_id) == 2
    proofs.row_dispute_changed(claim.claim_id, other, 2, sender=me)
    assert proofs.status(claim.claim_id) == 4
    assert proofs.credits(other) == BOND


def test_row_dispute_changed__opens_only_on_an_active_claim_in_its_window(
    proofs, row_disputes, submit_judged, honest
):
    claim = submit_judged(honest)
    me = str(row_disputes.address)
    with boa.reverts("proofs: unknown claim"):
        proofs.row_dispute_changed(999, me, 0, sender=me)
    mine_to(proofs.claim(claim.claim_id).window_end + 1)
    with boa.reverts("proofs: challenge window closed"):
        proofs.row_dispute_changed(claim.claim_id, me, 0, sender=me)


def test_finalize__waits_for_open_row_disputes(
    proofs, row_disputes, submit_judged, disputed, honest, cleaner, other
):
    claim = submit_judged(honest)
    window_end = proofs.claim(claim.claim_id).window_end
    mine_to(window_end)  # the last block a dispute may open in; the answer is due later
    number = disputed(claim, KEPT_ROW)
    assert proofs.status(claim.claim_id) == 2  # disputed while the row dispute is open
    mine_to(window_end + 1)
    with boa.reverts("proofs: row dispute pending"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    _send(row_disputes, claim, number, _answer(honest, KEPT_ROW), cleaner)
    proofs.finalize(claim.claim_id, sender=cleaner)
    assert proofs.status(claim.claim_id) == 3


# ---------------------------------------------------------------------------------------
# RowDisputes
# ---------------------------------------------------------------------------------------


def test_constructor__reads_the_claims_contract(row_disputes, proofs, row_judge, token, registry):
    assert row_disputes.proofs() == proofs.address
    assert row_disputes.row_judge() == row_judge.address
    assert row_disputes.registry() == registry.address
    assert row_disputes.bond_token() == token.address
    assert row_disputes.bond() == BOND
    assert row_disputes.response_blocks() == proofs.response_blocks()
    with boa.reverts("disputes: zero proofs"):
        deploy("RowDisputes", "0x" + "00" * 20, row_judge)
    with boa.reverts("disputes: zero judge"):
        deploy("RowDisputes", proofs, "0x" + "00" * 20)


def test_dispute_row__records_takes_the_bond_and_logs(
    row_disputes, proofs, token, submit_judged, honest, other
):
    claim = submit_judged(honest)
    token.approve(row_disputes, BOND, sender=other)
    before = token.balanceOf(other)
    opened = block_number()
    number = row_disputes.dispute_row(claim.claim_id, DUPLICATE_ROW, KEPT_ROW, sender=other)
    assert number == 0
    logged = event(row_disputes, "RowDisputed")
    assert (logged.claim_id, logged.number, logged.disputer) == (claim.claim_id, 0, other)
    assert (logged.index, logged.earlier, logged.bond) == (DUPLICATE_ROW, KEPT_ROW, BOND)
    assert logged.deadline == opened + proofs.response_blocks()
    view = row_disputes.row_dispute(claim.claim_id, 0)
    assert (view.disputer, view.index, view.earlier, view.opened) == (
        other,
        DUPLICATE_ROW,
        KEPT_ROW,
        opened,
    )
    assert (view.deadline, view.state, view.outcome) == (logged.deadline, 1, 0)
    assert row_disputes.row_dispute_count(claim.claim_id) == 1
    assert token.balanceOf(other) == before - BOND
    assert token.balanceOf(row_disputes) == BOND
    # Without an earlier row named.
    token.approve(row_disputes, BOND, sender=other)
    assert row_disputes.dispute_row(claim.claim_id, KEPT_ROW, sender=other) == 1
    assert row_disputes.row_dispute(claim.claim_id, 1).earlier == NO_ROW


def test_dispute_row__claim_without_a_judge_program_reverts(
    row_disputes, submit_judged, token, honest, other
):
    claim = submit_judged(honest, commit=False)
    token.approve(row_disputes, BOND, sender=other)
    with boa.reverts("disputes: claim has no judge program"):
        row_disputes.dispute_row(claim.claim_id, 0, sender=other)


def test_dispute_row__private_rows_revert(
    row_disputes, proofs, token, register_pair, cleaner, other, honest
):
    data = cleaning(9, key=b"k" * 32)
    parent_id, child_id = register_pair(data, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    proofs.submit_claim(parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner)
    row_disputes.commit_judge(proofs.claim_count(), honest.program_hash, sender=cleaner)
    token.approve(row_disputes, BOND, sender=other)
    with boa.reverts("disputes: private rows cannot be judged"):
        row_disputes.dispute_row(proofs.claim_count(), 0, sender=other)


def test_dispute_row__bad_rows_revert(row_disputes, submit_judged, token, honest, other):
    claim = submit_judged(honest)
    token.approve(row_disputes, BOND, sender=other)
    with boa.reverts("disputes: no such input row"):
        row_disputes.dispute_row(claim.claim_id, honest.data.rows_in, sender=other)
    with boa.reverts("disputes: earlier row not before the row"):
        row_disputes.dispute_row(claim.claim_id, 2, 2, sender=other)
    with boa.reverts("proofs: unknown claim"):
        row_disputes.dispute_row(999, 0, sender=other)


def test_dispute_row__bond_checks_revert(
    row_disputes, submit_judged, token, honest, other, accounts
):
    claim = submit_judged(honest)
    with boa.reverts("disputes: bond not approved"):
        row_disputes.dispute_row(claim.claim_id, 0, sender=other)
    poor = accounts[9]  # holds no tokens
    token.approve(row_disputes, BOND, sender=poor)
    with boa.reverts("disputes: bond exceeds balance"):
        row_disputes.dispute_row(claim.claim_id, 0, sender=poor)


def test_dispute_row__after_the_window_or_on_a_settled_claim_reverts(
    row_disputes, proofs, submit_judged, token, honest, other, cleaner
):
    claim = submit_judged(honest)
    token.approve(row_disputes, 2 * BOND, sender=other)
    mine_to(proofs.claim(claim.claim_id).window_end + 1)
    with boa.reverts("proofs: challenge window closed"):
        row_disputes.dispute_row(claim.claim_id, 0, sender=other)
    proofs.finalize(claim.claim_id, sender=cleaner)
    with boa.reverts("proofs: claim not active"):
        row_disputes.dispute_row(claim.claim_id, 0, sender=other)


@pytest.mark.parametrize(
    ("index", "named", "outcome"),
    [
        (KEPT_ROW, None, rd.Outcome.KEPT),
        (FILTERED_ROW, None, rd.Outcome.DROPPED),
        (NULL_ROW, None, rd.Outcome.DROPPED),
        (DUPLICATE_ROW, None, rd.Outcome.DROPPED),  # its fate names row 0: opened with it
        (DUPLICATE_ROW, 1, rd.Outcome.DROPPED),  # the fate's dup_of wins over the disputer's
        (5, KEPT_ROW, rd.Outcome.KEPT),  # a kept row, and an earlier row that is no duplicate
        (4, 2, rd.Outcome.KEPT),  # an earlier row dropped before the dedupe
    ],
)
def test_answer_row__honest_claim_rejects_the_dispute(
    row_disputes, proofs, submit_judged, disputed, honest, cleaner, other, index, named, outcome
):
    claim = submit_judged(honest)
    number = disputed(claim, index, named)
    _send(row_disputes, claim, number, _answer(honest, index, named), other)  # anyone answers
    judged = event(row_disputes, "RowJudged")
    fate = honest.fates[index]
    assert (judged.claim_id, judged.number, judged.disputer) == (claim.claim_id, number, other)
    assert (judged.upheld, judged.outcome, judged.paid_to) == (False, outcome, cleaner)
    if outcome == rd.Outcome.DROPPED:
        assert judged.step == fate.step
        assert judged.dup_of == (NO_ROW if fate.dup_of is None else fate.dup_of)
    view = row_disputes.row_dispute(claim.claim_id, number)
    assert (view.state, view.outcome) == (rd.DisputeState.REJECTED, outcome)
    assert row_disputes.credits(cleaner) == BOND
    assert proofs.status(claim.claim_id) == 0  # pending again: nothing open
    with boa.reverts("disputes: dispute not open"):
        _send(row_disputes, claim, number, _answer(honest, index, named), other)


def test_answer_row__wrong_filter_upholds_and_slashes(
    row_disputes, proofs, submit_judged, disputed, wrong_filter, cleaner, other
):
    assert wrong_filter.fates[FILTERED_ROW].kept  # the altered engine kept the minor
    claim = submit_judged(wrong_filter)
    number = disputed(claim, FILTERED_ROW)
    _send(row_disputes, claim, number, _answer(wrong_filter, FILTERED_ROW), cleaner)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome, judged.step, judged.paid_to) == (
        True,
        rd.Outcome.DROPPED,
        5,
        other,
    )
    (slashed,) = _inner(row_disputes, proofs, "ClaimSlashed")
    assert (slashed.claim_id, slashed.auditor, slashed.burned, slashed.auditor_share) == (
        claim.claim_id,
        other,
        0,
        BOND,
    )
    assert proofs.status(claim.claim_id) == 4
    assert proofs.credits(other) == BOND  # the claim bond
    assert row_disputes.credits(other) == BOND  # the dispute bond back
    assert row_disputes.row_dispute(claim.claim_id, number).state == rd.DisputeState.UPHELD


def test_answer_row__kept_duplicate_named_by_the_disputer_upholds(
    row_disputes, proofs, submit_judged, disputed, wrong_dedupe, honest, other, cleaner
):
    fate = wrong_dedupe.fates[DUPLICATE_ROW]
    assert fate.kept and honest.fates[DUPLICATE_ROW].dup_of == KEPT_ROW
    claim = submit_judged(wrong_dedupe)
    number = disputed(claim, DUPLICATE_ROW, KEPT_ROW)
    _send(row_disputes, claim, number, _answer(wrong_dedupe, DUPLICATE_ROW, KEPT_ROW), cleaner)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome, judged.step, judged.dup_of) == (
        True,
        rd.Outcome.DROPPED,
        4,
        KEPT_ROW,
    )
    assert proofs.status(claim.claim_id) == 4
    # The same row disputed without naming the earlier row: the claim holds.
    again = submit_judged(wrong_dedupe)
    n2 = disputed(again, DUPLICATE_ROW)
    _send(row_disputes, again, n2, _answer(wrong_dedupe, DUPLICATE_ROW), cleaner)
    assert event(row_disputes, "RowJudged").upheld is False


def test_answer_row__a_changed_output_row_upholds(
    row_disputes, proofs, submit_judged, disputed, honest, cleaner, other
):
    outputs = list(honest.data.output_rows)
    outputs[1] = outputs[1].replace(b"dee", b"DEE")  # row 4's output, one value changed
    wrong = forged(honest, outputs=outputs)
    claim = submit_judged(wrong)
    number = disputed(claim, 4)
    _send(row_disputes, claim, number, _answer(wrong, 4), cleaner)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome) == (True, rd.Outcome.KEPT)
    assert proofs.status(claim.claim_id) == 4


def test_answer_row__a_fate_record_breaking_the_rules_upholds(
    row_disputes, proofs, submit_judged, disputed, honest, cleaner
):
    fates = bytearray(honest.data.fates)
    record = FateRecord(1, True, 5, 1, None, None)  # kept, but not at output kept_before
    fates[34:68] = record.encode()
    wrong = forged(honest, fates=bytes(fates))
    claim = submit_judged(wrong)
    number = disputed(claim, 1)
    _send(row_disputes, claim, number, _answer(wrong, 1), cleaner)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome) == (True, rd.Outcome.NONE)
    assert proofs.status(claim.claim_id) == 4


def test_answer_row__an_earlier_fate_record_breaking_the_rules_upholds(
    row_disputes, proofs, submit_judged, disputed, honest, cleaner, other
):
    """The duplicate's own record is right, but the record of the row it duplicates
    (opened with it) breaks a fate rule: the claim's fate file is wrong, so it fails."""
    fates = bytearray(honest.data.fates)
    fates[0:34] = FateRecord(0, True, 2, 0, None, None).encode()  # kept, not at kept_before
    wrong = forged(honest, fates=bytes(fates))
    claim = submit_judged(wrong)
    number = disputed(claim, DUPLICATE_ROW)
    answer = _answer(wrong, DUPLICATE_ROW)
    assert answer.earlier.fate == bytes(fates[0:34])
    _send(row_disputes, claim, number, answer, cleaner)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome, judged.paid_to) == (True, rd.Outcome.NONE, other)
    assert proofs.status(claim.claim_id) == 4


def test_answer_row__openings_that_do_not_verify_revert(
    row_disputes, submit_judged, disputed, honest, cleaner
):
    claim = submit_judged(honest)
    number = disputed(claim, DUPLICATE_ROW)
    good = _answer(honest, DUPLICATE_ROW)
    other_row = _answer(honest, 4)
    cases = {
        "disputes: not the claim's judge program": (good.program + b"\x00", *good.as_args()[1:]),
        "disputes: input row does not open": (
            good.program,
            other_row.opening.as_input(),
            *good.as_args()[2:],
        ),
        "disputes: fate record does not open": (
            good.program,
            (
                good.opening.row,
                list(good.opening.path),
                other_row.opening.fate,
                list(good.opening.fate_path),
            ),
            *good.as_args()[2:],
        ),
        "disputes: earlier row does not open": (
            *good.as_args()[:3],
            (
                other_row.opening.row,
                list(good.earlier.path),
                good.earlier.fate,
                list(good.earlier.fate_path),
            ),
        ),
        "disputes: earlier fate record does not open": (
            *good.as_args()[:3],
            (
                good.earlier.row,
                list(good.earlier.path),
                other_row.opening.fate,
                list(good.earlier.fate_path),
            ),
        ),
    }
    for reason, args in cases.items():
        with boa.reverts(reason):
            row_disputes.answer_row(claim.claim_id, number, *args, sender=cleaner)
    kept = _answer(honest, 4)
    n2 = disputed(claim, 4)
    bad_output = (kept.output.row + b"\x00", list(kept.output.path))
    with boa.reverts("disputes: output row does not open"):
        row_disputes.answer_row(
            claim.claim_id,
            n2,
            kept.program,
            kept.opening.as_input(),
            bad_output,
            kept.earlier.as_input(),
            sender=cleaner,
        )
    with boa.reverts("disputes: unknown dispute"):
        row_disputes.answer_row(claim.claim_id, 9, *good.as_args(), sender=cleaner)


def test_answer_row__after_the_deadline_reverts_and_expire_upholds(
    row_disputes, proofs, submit_judged, disputed, honest, cleaner, other
):
    claim = submit_judged(honest)
    number = disputed(claim, KEPT_ROW)
    deadline = row_disputes.row_dispute(claim.claim_id, number).deadline
    with boa.reverts("disputes: answer deadline not passed"):
        row_disputes.expire_row(claim.claim_id, number, sender=other)
    mine_to(deadline + 1)
    with boa.reverts("disputes: answer deadline passed"):
        _send(row_disputes, claim, number, _answer(honest, KEPT_ROW), cleaner)
    row_disputes.expire_row(claim.claim_id, number, sender=other)
    judged = event(row_disputes, "RowJudged")
    assert (judged.upheld, judged.outcome, judged.paid_to) == (True, 0, other)
    assert proofs.status(claim.claim_id) == 4  # no answer counts as disagreement
    assert proofs.credits(other) == BOND and row_disputes.credits(other) == BOND
    with boa.reverts("disputes: dispute not open"):
        row_disputes.expire_row(claim.claim_id, number, sender=other)
    with boa.reverts("disputes: unknown dispute"):
        row_disputes.expire_row(claim.claim_id, 7, sender=other)


def test_row_disputes_on_a_claim_that_failed_elsewhere__settle_without_a_second_slash(
    row_disputes, proofs, submit_judged, disputed, wrong_filter, honest, cleaner, other, auditor
):
    claim = submit_judged(wrong_filter)
    first = disputed(claim, FILTERED_ROW)
    second = disputed(claim, KEPT_ROW, sender=auditor)
    _send(row_disputes, claim, first, _answer(wrong_filter, FILTERED_ROW), cleaner)
    assert proofs.status(claim.claim_id) == 4
    # Row 0 was right: the second disputer's bond goes to the claimant, nothing more moves.
    _send(row_disputes, claim, second, _answer(wrong_filter, KEPT_ROW), cleaner)
    assert event(row_disputes, "RowJudged").upheld is False
    assert _inner(row_disputes, proofs, "ClaimSlashed") == []
    assert proofs.credits(other) == BOND and proofs.credits(auditor) == 0
    assert row_disputes.credits(cleaner) == BOND


def test_withdraw__sends_credits(row_disputes, token, submit_judged, disputed, honest, cleaner):
    claim = submit_judged(honest)
    number = disputed(claim, KEPT_ROW)
    _send(row_disputes, claim, number, _answer(honest, KEPT_ROW), cleaner)
    before = token.balanceOf(cleaner)
    assert row_disputes.withdraw(sender=cleaner) == BOND
    assert event(row_disputes, "Withdrawn").amount == BOND
    assert token.balanceOf(cleaner) == before + BOND
    with boa.reverts("disputes: nothing to withdraw"):
        row_disputes.withdraw(sender=cleaner)


def test_row_dispute__unknown_reverts(row_disputes):
    with boa.reverts("disputes: unknown dispute"):
        row_disputes.row_dispute(1, 0)


def test_one_wrong_row_in_many__is_slashed_with_nobody_attesting(
    row_disputes, proofs, submit_judged, disputed, cleaner, other
):
    """A cleaning of 200 rows where an altered engine got one row wrong: the disputer
    finds it by re-running the engine and wins on chain; no attestation involved."""
    lines = ["name,email,age"] + [f"p{i},p{i}@x.org,{20 + i % 50}" for i in range(200)]
    lines[137] = "minor,minor@x.org,17"
    csv = "\n".join(lines) + "\n"
    wrong = altered_cleaning(lambda: doing_nothing(Filter), csv)
    honest_200 = judged_cleaning(csv)
    differing = [
        i for i, (a, b) in enumerate(zip(honest_200.fates, wrong.fates, strict=True)) if a != b
    ]
    assert differing[0] == 136  # the minor (data row 136) is the first difference
    claim = submit_judged(wrong)
    number = disputed(claim, 136)
    _send(row_disputes, claim, number, _answer(wrong, 136), cleaner)
    assert event(row_disputes, "RowJudged").upheld
    assert proofs.status(claim.claim_id) == 4
    assert proofs.credits(other) == BOND


# A bond token that misbehaves on demand (test only, compiled here): mode 1 delivers 99%
# of a transferFrom (a fee), mode 2 makes transfer return false, mode 3 transferFrom.
MODAL_TOKEN = """
# pragma version ~=0.4.3
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
mode: public(uint256)

@external
def set_mode(mode: uint256):
    self.mode = mode

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True

@external
def transfer(to: address, amount: uint256) -> bool:
    if self.mode == 2:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True

@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if self.mode == 3:
        return False
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    fee: uint256 = 0
    if self.mode == 1:
        fee = amount // 100
    self.balanceOf[to] += amount - fee
    return True
"""


def test_token_misbehaving__dispute_and_withdraw_revert(
    registry, attestations_address, row_judge, register_pair, honest, deployer, cleaner, other
):
    """RowDisputes checks each transfer: a bond taken with a fee, a transferFrom or a
    transfer that returns false revert, and succeed once the token behaves."""
    with boa.env.prank(str(deployer)):
        modal = boa.loads(MODAL_TOKEN)
    proofs = deploy("CleaningProofs", registry, attestations_address, modal, *PARAMETERS)
    disputes = deploy("RowDisputes", proofs, row_judge)
    proofs.enable_row_disputes(disputes, sender=deployer)
    for who in (cleaner, other):
        modal.mint(who, 10 * BOND)
        modal.approve(proofs, 10 * BOND, sender=who)
        modal.approve(disputes, 10 * BOND, sender=who)
    parent_id, child_id = register_pair(honest.data, cleaner)
    fate_root = honest.data.facts().fate_root
    claim_id = proofs.submit_claim(parent_id, child_id, cid(7), cid(8), fate_root, sender=cleaner)
    disputes.commit_judge(claim_id, honest.program_hash, sender=cleaner)

    modal.set_mode(1)
    with boa.reverts("disputes: token took a fee"):
        disputes.dispute_row(claim_id, KEPT_ROW, sender=other)
    modal.set_mode(3)
    with boa.reverts("disputes: transfer failed"):
        disputes.dispute_row(claim_id, KEPT_ROW, sender=other)
    modal.set_mode(0)
    number = disputes.dispute_row(claim_id, KEPT_ROW, sender=other)
    answer = _answer(honest, KEPT_ROW)
    disputes.answer_row(claim_id, number, *answer.as_args(), sender=cleaner)
    assert disputes.credits(cleaner) == BOND

    modal.set_mode(2)
    with boa.reverts("disputes: transfer failed"):
        disputes.withdraw(sender=cleaner)
    assert disputes.credits(cleaner) == BOND  # the revert kept the credit
    modal.set_mode(0)
    assert disputes.withdraw(sender=cleaner) == BOND
    # minted, less the claim bond still held, plus the dispute bond won
    assert modal.balanceOf(cleaner) == 10 * BOND
