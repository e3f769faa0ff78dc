"""expire, dispute, finalize, withdraw, views and the constructor."""

from __future__ import annotations

import ape
import pytest

from datasoil.flows import audit

from .conftest import BOND, CHALLENGE, DEPOSIT, RESPONSE, REVEAL, answer


def _respond(proofs, claim, n, sender):
    ins, outs = answer(proofs, claim, n).as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_expire__unanswered_audit_slashes_others_reclaim(
    proofs, submit, opened, auditor, other, cleaner, chain
):
    claim = submit()
    first = opened(claim.claim_id)
    second = opened(claim.claim_id, other)
    chain.mine(RESPONSE)
    tx = proofs.expire(claim.claim_id, first, sender=other)
    (failed,) = tx.decode_logs(proofs.AuditFailed)
    assert failed.reason == audit.Reason.NO_RESPONSE
    share = BOND // 5
    assert proofs.credits(auditor) == share + DEPOSIT
    assert proofs.burned() == BOND - share
    assert proofs.status(claim.claim_id) == 4
    with ape.reverts("proofs: claim not active"):
        proofs.expire(claim.claim_id, second, sender=other)
    # The other audit's deposit comes back through reclaim (no loop in the slashing).
    tx = proofs.reclaim(claim.claim_id, second, sender=cleaner)
    (voided,) = tx.decode_logs(proofs.AuditVoided)
    assert (voided.audit, voided.auditor, voided.paid_to) == (second, other, other)
    assert proofs.credits(other) == DEPOSIT
    assert [a.state for a in proofs.claim(claim.claim_id).audits] == [3, 4]
    with ape.reverts("proofs: audit not open"):
        proofs.reclaim(claim.claim_id, second, sender=cleaner)
    with ape.reverts("proofs: unknown audit"):
        proofs.reclaim(claim.claim_id, 9, sender=cleaner)


def test_reclaim__active_claim_reverts(proofs, submit, opened, other):
    claim = submit()
    n = opened(claim.claim_id)
    with ape.reverts("proofs: claim not failed"):
        proofs.reclaim(claim.claim_id, n, sender=other)


def test_expire__unrevealed_audit_voids_deposit_to_claimant(
    proofs, submit, opened, cleaner, other, chain
):
    claim = submit()
    n = opened(claim.claim_id, reveal=False)
    chain.mine(REVEAL - 1)
    with ape.reverts("proofs: reveal deadline not passed"):
        proofs.expire(claim.claim_id, n, sender=other)
    chain.mine(1)
    tx = proofs.expire(claim.claim_id, n, sender=other)
    (voided,) = tx.decode_logs(proofs.AuditVoided)
    assert voided.paid_to == cleaner
    assert proofs.credits(cleaner) == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.status == 1 and view.open_audits == 0 and view.audits[0].state == 4


def test_expire__before_deadline_reverts(proofs, submit, opened, other):
    claim = submit()
    n = opened(claim.claim_id)
    with ape.reverts("proofs: response deadline not passed"):
        proofs.expire(claim.claim_id, n, sender=other)


def test_expire__answered_audit_reverts(proofs, submit, opened, cleaner, other, chain):
    claim = submit()
    n = opened(claim.claim_id)
    _respond(proofs, claim, n, cleaner)
    chain.mine(RESPONSE)
    with ape.reverts("proofs: audit not open"):
        proofs.expire(claim.claim_id, n, sender=other)


def test_dispute__marks_claim_disputed_and_takes_bond(proofs, token, submit, other, auditor):
    claim = submit()
    token.approve(proofs, BOND, sender=other)
    before = token.balanceOf(other)
    tx = proofs.dispute(claim.claim_id, sender=other)
    assert token.balanceOf(other) == before - BOND
    (event,) = tx.decode_logs(proofs.ClaimDisputed)
    assert (event.claim_id, event.disputer, event.bond) == (claim.claim_id, other, BOND)
    assert event.metric_set == audit.reproduction_metric_set(claim.claim_id)
    assert proofs.reproduction_metric_set(claim.claim_id) == event.metric_set
    assert proofs.disputed(claim.claim_id, other)
    # A second, independent disputer is not locked out by the first.
    token.approve(proofs, BOND, sender=auditor)
    proofs.dispute(claim.claim_id, sender=auditor)
    view = proofs.claim(claim.claim_id)
    assert view.status == 2 and view.disputes == 2


def test_dispute__vindicated_claim_costs_the_disputer(
    proofs, token, submit, opened, cleaner, other, chain
):
    """Issue 10 item 7: a dispute bond used to come back in full whatever happened, so
    disputing every claim was free. A claim that finalises keeps half of it."""
    claim = submit()
    n = opened(claim.claim_id)
    ins, outs = answer(proofs, claim, n).as_args()
    proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    chain.mine(CHALLENGE)
    with_dispute = proofs.finalize(claim.claim_id, sender=cleaner)
    assert with_dispute.decode_logs(proofs.ClaimFinalised)[0].disputes == 1
    tx = proofs.settle_dispute(claim.claim_id, other, sender=cleaner)
    (event,) = tx.decode_logs(proofs.DisputeSettled)
    half = BOND * 5000 // 10000
    assert (event.disputer, event.refunded, event.forfeited) == (other, BOND - half, half)
    assert proofs.credits(cleaner) == BOND + DEPOSIT + half
    assert proofs.credits(other) == BOND - half
    assert not proofs.disputed(claim.claim_id, other)
    with ape.reverts("proofs: no dispute to settle"):
        proofs.settle_dispute(claim.claim_id, other, sender=cleaner)


def test_settle_dispute__failed_claim_refunds_in_full(
    proofs, token, submit, opened, other, cleaner, chain
):
    claim = submit()
    n = opened(claim.claim_id)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    with ape.reverts("proofs: claim not settled"):
        proofs.settle_dispute(claim.claim_id, other, sender=other)
    chain.mine(RESPONSE)
    proofs.expire(claim.claim_id, n, sender=other)
    tx = proofs.settle_dispute(claim.claim_id, other, sender=other)
    (event,) = tx.decode_logs(proofs.DisputeSettled)
    assert (event.refunded, event.forfeited) == (BOND, 0)
    assert proofs.credits(other) == BOND
    assert proofs.credits(cleaner) == 0


def test_dispute__twice_late_or_unapproved_reverts(proofs, token, submit, other, auditor, chain):
    claim = submit()
    with ape.reverts("proofs: bond not approved"):
        proofs.dispute(claim.claim_id, sender=other)
    token.approve(proofs, BOND * 2, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    with ape.reverts("proofs: already disputed"):
        proofs.dispute(claim.claim_id, sender=other)
    second = submit()
    chain.mine(CHALLENGE)
    with ape.reverts("proofs: challenge window closed"):
        proofs.dispute(second.claim_id, sender=auditor)


def test_finalize__unchallenged_claim_releases_bond(proofs, token, submit, cleaner, other, chain):
    claim = submit()
    chain.mine(CHALLENGE)
    tx = proofs.finalize(claim.claim_id, sender=other)
    (event,) = tx.decode_logs(proofs.ClaimFinalised)
    assert (event.claim_id, event.claimant, event.bond, event.disputes) == (
        claim.claim_id,
        cleaner,
        BOND,
        0,
    )
    assert proofs.credits(cleaner) == BOND
    assert proofs.status(claim.claim_id) == 3
    before = token.balanceOf(cleaner)
    tx = proofs.withdraw(sender=cleaner)
    assert tx.decode_logs(proofs.Withdrawn)[0].amount == BOND
    assert token.balanceOf(cleaner) == before + BOND
    assert proofs.credits(cleaner) == 0


def test_finalize__early_pending_or_twice_reverts(proofs, submit, opened, cleaner, chain):
    claim = submit()
    with ape.reverts("proofs: challenge window not over"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    chain.mine(CHALLENGE - 3)
    opened(claim.claim_id)
    chain.mine(3)
    with ape.reverts("proofs: audit pending"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    chain.mine(RESPONSE)
    proofs.expire(claim.claim_id, 0, sender=cleaner)
    with ape.reverts("proofs: claim not active"):
        proofs.finalize(claim.claim_id, sender=cleaner)
    with ape.reverts("proofs: unknown claim"):
        proofs.finalize(99, sender=cleaner)


def test_withdraw__nothing_reverts(proofs, other):
    with ape.reverts("proofs: nothing to withdraw"):
        proofs.withdraw(sender=other)


def test_views__unknown_claim_and_audit_revert(proofs, submit):
    with ape.reverts("proofs: unknown claim"):
        proofs.status(1)
    with ape.reverts("proofs: unknown claim"):
        proofs.claim(1)
    claim = submit()
    with ape.reverts("proofs: unknown audit"):
        proofs.audit_seed(claim.claim_id, 0)
    with ape.reverts("proofs: unknown audit"):
        proofs.sample(claim.claim_id, 0)


def test_views__read_claim_status_in_one_call(proofs, submit, opened, cleaner, chain):
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
def test_constructor__bad_parameters_revert(project, deployer, registry, token, args, message):
    with ape.reverts(message):
        deployer.deploy(project.CleaningProofs, registry, registry, token, *args)


def test_constructor__window_limits_accepted(project, deployer, registry, token):
    """Issue 10 item 9: the only block hash read (at the reveal) is within 256 blocks, so
    no EIP-2935 history contract is trusted, and the answer window is not bounded by any
    block-hash reach (a public 600-block window deploys anywhere)."""
    p = deployer.deploy(project.CleaningProofs, registry, registry, token, 1, 1, 30, 256, 600)
    assert (p.reveal_blocks(), p.response_blocks(), p.MAX_REVEAL_BLOCKS()) == (256, 600, 256)


def test_constructor__zero_addresses_revert(project, deployer, registry, token):
    zero = "0x0000000000000000000000000000000000000000"
    with ape.reverts("proofs: zero registry"):
        deployer.deploy(project.CleaningProofs, zero, zero, token, 1, 1, 30, 5, 12)
    with ape.reverts("proofs: zero bond token"):
        deployer.deploy(project.CleaningProofs, registry, zero, zero, 1, 1, 30, 5, 12)


def test_fee_on_transfer_token__refused_at_every_transfer_in(
    project, deployer, registry, register_pair, cleaner, auditor, other
):
    """Issue 10 item 11: a token that burns 1% per transfer left the last withdrawers
    short; each transfer in now checks the balance change."""
    fee = deployer.deploy(project.FeeTokenMock)
    proofs = deployer.deploy(
        project.CleaningProofs, registry, registry, fee, 10**18, 10**17, 30, 5, 12
    )
    from .conftest import cid, cleaning

    data = cleaning(9)
    parent_id, child_id = register_pair(data, cleaner)
    for who in (cleaner, auditor, other):
        fee.mint(who, 10**21, sender=deployer)
        fee.approve(proofs, 10**21, sender=who)
    with ape.reverts("proofs: token took a fee"):
        proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner
        )
