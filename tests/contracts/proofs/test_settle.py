"""expire, dispute, finalize, withdraw, views and the constructor."""

from __future__ import annotations

import ape
import pytest

from datasoil import audit

from .conftest import BOND, CHALLENGE, DEPOSIT, RESPONSE, answer


def _respond(proofs, claim, n, sender):
    ins, outs = answer(proofs, claim, n).as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_expire__unanswered_audit_slashes_and_voids_others(
    proofs, submit, opened, auditor, other, cleaner, chain
):
    claim = submit()
    first = opened(claim.claim_id)
    second = opened(claim.claim_id, other)
    chain.mine(RESPONSE)
    tx = proofs.expire(claim.claim_id, first, sender=other)
    (failed,) = tx.decode_logs(proofs.AuditFailed)
    assert failed.reason == audit.Reason.NO_RESPONSE
    (voided,) = tx.decode_logs(proofs.AuditVoided)
    assert (voided.audit, voided.auditor) == (second, other)
    share = BOND // 5
    assert proofs.credits(auditor) == share + DEPOSIT
    assert proofs.credits(other) == DEPOSIT
    assert proofs.burned() == BOND - share
    view = proofs.claim(claim.claim_id)
    assert view.status == 4 and view.open_audits == 0
    assert [a.state for a in view.audits] == [3, 4]
    with ape.reverts("proofs: claim not active"):
        proofs.expire(claim.claim_id, second, sender=other)


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


def test_dispute__marks_claim_disputed_and_takes_bond(proofs, token, submit, other):
    claim = submit()
    token.approve(proofs, BOND, sender=other)
    before = token.balanceOf(other)
    tx = proofs.dispute(claim.claim_id, sender=other)
    assert token.balanceOf(other) == before - BOND
    (event,) = tx.decode_logs(proofs.ClaimDisputed)
    assert (event.claim_id, event.disputer, event.bond) == (claim.claim_id, other, BOND)
    assert event.metric_set == audit.reproduction_metric_set(claim.claim_id)
    assert proofs.reproduction_metric_set(claim.claim_id) == event.metric_set
    view = proofs.claim(claim.claim_id)
    assert view.status == 2 and view.disputer == other


def test_dispute__twice_late_or_unapproved_reverts(proofs, token, submit, other, auditor, chain):
    claim = submit()
    with ape.reverts("proofs: bond not approved"):
        proofs.dispute(claim.claim_id, sender=other)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    token.approve(proofs, BOND, sender=auditor)
    with ape.reverts("proofs: already disputed"):
        proofs.dispute(claim.claim_id, sender=auditor)
    second = submit()
    chain.mine(CHALLENGE)
    with ape.reverts("proofs: challenge window closed"):
        proofs.dispute(second.claim_id, sender=auditor)


def test_finalize__unchallenged_claim_releases_bond(proofs, token, submit, cleaner, other, chain):
    claim = submit()
    chain.mine(CHALLENGE)
    tx = proofs.finalize(claim.claim_id, sender=other)
    (event,) = tx.decode_logs(proofs.ClaimFinalised)
    assert (event.claim_id, event.claimant, event.bond, bool(event.disputed)) == (
        claim.claim_id,
        cleaner,
        BOND,
        False,
    )
    assert proofs.credits(cleaner) == BOND
    assert proofs.status(claim.claim_id) == 3
    before = token.balanceOf(cleaner)
    tx = proofs.withdraw(sender=cleaner)
    assert tx.decode_logs(proofs.Withdrawn)[0].amount == BOND
    assert token.balanceOf(cleaner) == before + BOND
    assert proofs.credits(cleaner) == 0


def test_finalize__vindicated_and_disputed_claim(
    proofs, token, submit, opened, cleaner, other, chain
):
    claim = submit()
    n = opened(claim.claim_id)
    _respond(proofs, claim, n, cleaner)
    token.approve(proofs, BOND, sender=other)
    proofs.dispute(claim.claim_id, sender=other)
    chain.mine(CHALLENGE)
    tx = proofs.finalize(claim.claim_id, sender=cleaner)
    assert bool(tx.decode_logs(proofs.ClaimFinalised)[0].disputed) is True
    assert proofs.credits(cleaner) == BOND + DEPOSIT
    assert proofs.credits(other) == BOND
    view = proofs.claim(claim.claim_id)
    assert view.status == 3 and view.disputer == other


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
        ((0, 1, 2, 30, 6), "proofs: zero bond"),
        ((1, 1, 0, 30, 6), "proofs: zero challenge window"),
        ((1, 1, 2, 30, 1), "proofs: response window under 2 blocks"),
        ((1, 1, 30, 30, 5000), "proofs: response window beyond block hash reach"),
    ],
)
def test_constructor__bad_parameters_revert(project, deployer, registry, token, args, message):
    bond, deposit, window, _, response = (*args[:3], args[3], args[4])
    with ape.reverts(message):
        deployer.deploy(
            project.CleaningProofs, registry, registry, token, bond, deposit, window, response
        )


def test_constructor__zero_addresses_revert(project, deployer, registry, token):
    zero = "0x0000000000000000000000000000000000000000"
    with ape.reverts("proofs: zero registry"):
        deployer.deploy(project.CleaningProofs, zero, zero, token, 1, 1, 30, 6)
    with ape.reverts("proofs: zero bond token"):
        deployer.deploy(project.CleaningProofs, registry, zero, zero, 1, 1, 30, 6)


def test_history_contract_present_on_anvil_prague(chain):
    """EIP-2935's history contract exists here, so the 4,096-block response cap applies."""
    code = chain.provider.web3.eth.get_code("0x0000F90827F1C53a10cb7A02335B175320002935")
    assert len(code) > 0
