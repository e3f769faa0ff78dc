"""expire, dispute, finalize, withdraw, views and the constructor."""

from __future__ import annotations

import boa
import pytest

from datasoil.flows import audit
from tests.contracts._boa import block_number, deploy, event, mine, mine_to

from .claims import BOND, DEPOSIT, FORFEIT, REVEAL, SHARE, answer, cid, cleaning


def _deadline(proofs, claim, n):
    """The last block in which audit ``n`` of ``claim`` may be answered."""
    return proofs.audit(claim.claim_id, n).deadline


def _past_window(proofs, claim):
    """Mine to the first block after the claim's challenge window."""
    mine_to(proofs.claim(claim.claim_id).window_end + 1)


def _respond(proofs, claim, n, sender):
    ins, outs = answer(proofs, claim, n).as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_expire__unanswered_audit_slashes_others_reclaim(
    proofs, submit, opened, auditor, other, cleaner
):
    claim = submit()
    first = opened(claim.claim_id)
    second = opened(claim.claim_id, other)
    mine_to(_deadline(proofs, claim, first) + 1)
    proofs.expire(claim.claim_id, first, sender=other)
    failed = event(proofs, "AuditFailed")
    assert failed.reason == audit.Reason.NO_RESPONSE
    assert SHARE == BOND // 5
    assert proofs.credits(auditor) == SHARE + DEPOSIT
    assert proofs.burned() == BOND - SHARE
    assert proofs.status(claim.claim_id) == 4
    with boa.reverts("proofs: claim not active"):
        proofs.expire(claim.claim_id, second, sender=other)
    # The other audit's deposit comes back through reclaim (no loop in the slashing).
    proofs.reclaim(claim.claim_id, second, sender=cleaner)
    voided = event(proofs, "AuditVoided")
    assert (voided.audit, voided.auditor, voided.paid_to) == (second, other, other)
    assert proofs.credits(other) == DEPOSIT
    assert [a.state for a in proofs.claim(claim.claim_id).audits] == [3, 4]
    with boa.reverts("proofs: audit not open"):
        proofs.reclaim(claim.claim_id, second, sender=cleaner)
    with boa.reverts("proofs: unknown audit"):
        proofs.reclaim(claim.claim_id, 9, sender=cleaner)


def test_reclaim__active_claim_reverts(proofs, submit, opened, other):
    claim = submit()
    n = opened(claim.claim_id)
    with boa.reverts("proofs: claim not failed"):
        proofs.reclaim(claim.claim_id, n, sender=other)


def test_expire__unrevealed_audit_voids_deposit_to_claimant(proofs, submit, opened, cleaner, other):
    claim = submit()
    opened_at = block_number()
    n = opened(claim.claim_id, reveal=False)
    mine_to(opened_at + REVEAL)  # the reveal window's last block
    with boa.reverts("proofs: reveal deadline not passed"):
        proofs.expire(claim.claim_id, n, sender=other)
    mine(1)
    proofs.expire(claim.claim_id, n, sender=other)
    voided = event(proofs, "AuditVoided")
    assert voided.paid_to == cleaner
    assert proofs.credits(cleaner) == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.status == 1 and view.open_audits == 0 and view.audits[0].state == 4


def test_expire__before_deadline_reverts(proofs, submit, opened, other):
    claim = submit()
    n = opened(claim.claim_id)
    mine_to(_deadline(proofs, claim, n))  # the answer window's last block
    with boa.reverts("proofs: response deadline not passed"):
        proofs.expire(claim.claim_id, n, sender=other)


def test_expire__answered_audit_reverts(proofs, submit, opened, cleaner, other):
    claim = submit()
    n = opened(claim.claim_id)
    _respond(proofs, claim, n, cleaner)
    mine_to(_deadline(proofs, claim, n) + 1)
    with boa.reverts("proofs: audit not open"):
        proofs.expire(claim.claim_id, n, sender=other)


def test_dispute__marks_claim_disputed_and_takes_bond(proofs, token, submit, other, auditor):
    claim = submit()
    token.approve(proofs, BOND, sender=other)
    before = token.balanceOf(other)
    proofs.dispute(claim.claim_id, sender=other)
    disputed = event(proofs, "ClaimDisputed")
    assert token.balanceOf(other) == before - BOND
    assert (disputed.claim_id, disputed.disputer, disputed.bond) == (claim.claim_id, other, BOND)
    assert disputed.metric_set == audit.reproduction_metric_set(claim.claim_id)
    assert proofs.reproduction_metric_set(claim.claim_id) == disputed.metric_set
    assert proofs.disputed(claim.claim_id, other)
    # A second, independent disputer is not locked out by the first.
    token.approve(proofs, BOND, sender=auditor)
    proofs.dispute(claim.claim_id, sender=auditor)
    view = proofs.claim(claim.claim_id)
    assert view.status == 2 and view.disputes == 2


def test_dispute__vindicated_claim_costs_the_disputer(
    proofs, token, submit, opened, cleaner, other
):
    """Issue 10 item 7: a dispute bond used to come back in full whatever happened, so
    disputing every claim was free. A claim that finalises keeps half of it."""
    claim = submit()
    n = opened(claim.claim_id)
    ins, outs = answer(proofs, claim, n).as_args()
    proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    _past_window(proofs, claim)
    proofs.finalize(claim.claim_id, sender=cleaner)
    assert event(proofs, "ClaimFinalised").disputes == 1
    proofs.settle_dispute(claim.claim_id, other, sender=cleaner)
    settled = event(proofs, "DisputeSettled")
    assert FORFEIT == BOND * 5000 // 10000
    assert (settled.disputer, settled.refunded, settled.forfeited) == (
        other,
        BOND - FORFEIT,
        FORFEIT,
    )
    assert proofs.credits(cleaner) == BOND + DEPOSIT + FORFEIT
    assert proofs.credits(other) == BOND - FORFEIT
    assert not proofs.disputed(claim.claim_id, other)
    with boa.reverts("proofs: no dispute to settle"):
        proofs.settle_dispute(claim.claim_id, other, sender=cleaner)


def test_settle_dispute__failed_claim_refunds_in_full(
    proofs, token, submit, opened, other, cleaner
):
    claim = submit()
    n = opened(claim.claim_id)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    with boa.reverts("proofs: claim not settled"):
        proofs.settle_dispute(claim.claim_id, other, sender=other)
    mine_to(_deadline(proofs, claim, n) + 1)
    proofs.expire(claim.claim_id, n, sender=other)
    proofs.settle_dispute(claim.claim_id, other, sender=other)
    settled = event(proofs, "DisputeSettled")
    assert (settled.refunded, settled.forfeited) == (BOND, 0)
    assert proofs.credits(other) == BOND
    assert proofs.credits(cleaner) == 0


def test_dispute__twice_late_or_unapproved_reverts(proofs, token, submit, other, auditor):
    claim = submit()
    with boa.reverts("proofs: bond not approved"):
        proofs.dispute(claim.claim_id, sender=other)
    token.approve(proofs, BOND * 2, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    with boa.reverts("proofs: already disputed"):
        proofs.dispute(claim.claim_id, sender=other)
    second = submit()
    _past_window(proofs, second)
    with boa.reverts("proofs: challenge window closed"):
        proofs.dispute(second.claim_id, sender=auditor)


def test_finalize__unchallenged_claim_releases_bond(proofs, token, submit, cleaner, other):
    claim = submit()
    _past_window(proofs, claim)
    proofs.finalize(claim.claim_id, sender=other)
    finalised = event(proofs, "ClaimFinalised")
    assert (finalised.claim_id, finalised.claimant, finalised.bond, finalised.disputes) == (
        claim.claim_id,
        cleaner,
        BOND,
        0,
    )
    assert proofs.credits(cleaner) == BOND
    assert proofs.status(claim.claim_id) == 3
    before = token.balanceOf(cleaner)
    assert proofs.withdraw(sender=cleaner) == BOND
    assert event(proofs, "Withdrawn").amount == BOND
    assert token.balanceOf(cleaner) == before + BOND
    assert proofs.credits(cleaner) == 0


def test_finalize__early_pending_or_twice_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    window_end = proofs.claim(claim.claim_id).window_end
    with boa.reverts("proofs: challenge window not over"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    mine_to(window_end)
    with boa.reverts("proofs: challenge window not over"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    opened(claim.claim_id)  # in the window's last block, revealed after it
    assert block_number() > window_end
    with boa.reverts("proofs: audit pending"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    mine_to(_deadline(proofs, claim, 0) + 1)
    proofs.expire(claim.claim_id, 0, sender=cleaner)
    with boa.reverts("proofs: claim not active"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    with boa.reverts("proofs: unknown claim"):
        proofs.finalize(99, sender=cleaner)


def test_withdraw__nothing_reverts(proofs, other):
    with boa.reverts("proofs: nothing to withdraw"):
        proofs.withdraw(sender=other)


def test_views__unknown_claim_and_audit_revert(proofs, submit):
    with boa.reverts("proofs: unknown claim"):
        proofs.status(1)
    with boa.reverts("proofs: unknown claim"):
        proofs.claim(1)
    claim = submit()
    with boa.reverts("proofs: unknown audit"):
        proofs.audit_seed(claim.claim_id, 0)
    with boa.reverts("proofs: unknown audit"):
        proofs.sample(claim.claim_id, 0)


def test_views__read_claim_status_in_one_call(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    _respond(proofs, claim, n, cleaner)
    status = audit.read_claim(proofs, claim.claim_id)
    assert status.status is audit.Status.AUDITED
    assert status.audits[0].state is audit.AuditState.PASSED
    assert status.to_json()["audits"][0]["state"] == "passed"
    assert proofs.attestations() != proofs.address
    assert (proofs.bond(), proofs.audit_deposit()) == (BOND, DEPOSIT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 1, 30, 5, 12), "proofs: zero bond"),
        ((1, 0, 30, 5, 12), "proofs: zero audit deposit"),
        ((1, 1, 0, 5, 12), "proofs: zero challenge window"),
        ((1, 1, 2**63, 5, 12), "proofs: challenge window too long"),
        ((1, 1, 30, 1, 6), "proofs: reveal window under 2 blocks"),
        ((1, 1, 30, 257, 6), "proofs: reveal window beyond block hash reach"),
        ((1, 1, 30, 5, 9), "proofs: response window under 10 blocks"),
        ((1, 1, 30, 5, 2**63), "proofs: response window too long"),
    ],
)
def test_constructor__bad_parameters_revert(registry, token, args, message):
    with boa.reverts(message):
        deploy("CleaningProofs", registry, registry, token, *args)


def test_constructor__window_limits_accepted(registry, token):
    """Issue 10 item 9: the only block hash read (at the reveal) is within 256 blocks, so
    no EIP-2935 history contract is trusted, and the answer window is not bounded by any
    block-hash reach (a public 600-block window deploys anywhere)."""
    p = deploy("CleaningProofs", registry, registry, token, 1, 1, 30, 256, 600)
    assert (p.reveal_blocks(), p.response_blocks(), p.MAX_REVEAL_BLOCKS()) == (256, 600, 256)


def test_constructor__zero_addresses_revert(registry, token):
    zero = "0x0000000000000000000000000000000000000000"
    with boa.reverts("proofs: zero registry"):
        deploy("CleaningProofs", zero, zero, token, 1, 1, 30, 5, 12)
    with boa.reverts("proofs: zero bond token"):
        deploy("CleaningProofs", registry, zero, zero, 1, 1, 30, 5, 12)


def test_fee_on_transfer_token__refused_at_every_transfer_in(
    deployer, registry, register_pair, cleaner, auditor, other
):
    """Issue 10 item 11: a token that burns 1% per transfer left the last withdrawers
    short; each transfer in now checks the balance change."""
    fee = deploy("test/FeeTokenMock")
    proofs = deploy("CleaningProofs", registry, registry, fee, 10**18, 10**17, 30, 5, 12)
    data = cleaning(9)
    parent_id, child_id = register_pair(data, cleaner)
    for who in (cleaner, auditor, other):
        fee.mint(who, 10**21, sender=deployer)
        fee.approve(proofs, 10**21, sender=who)
    with boa.reverts("proofs: token took a fee"):
        proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner
        )
