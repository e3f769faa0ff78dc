from __future__ import annotations

import ape

from datasoil import audit, merkle

from .conftest import CHALLENGE, DEPOSIT, RESPONSE, cid, cleaning


def test_open_audit__takes_deposit_records_audit_and_logs(proofs, token, submit, auditor, chain):
    claim = submit()
    before = token.balanceOf(auditor)
    token.approve(proofs, DEPOSIT, sender=auditor)
    tx = proofs.open_audit(claim.claim_id, sender=auditor)
    assert token.balanceOf(auditor) == before - DEPOSIT
    (event,) = tx.decode_logs(proofs.AuditOpened)
    assert (event.claim_id, event.audit, event.auditor) == (claim.claim_id, 0, auditor)
    assert event.seed_block == tx.block_number + 1
    assert event.deadline == tx.block_number + RESPONSE
    assert event.deposit == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.status == 1  # AUDITED
    assert view.open_audits == 1
    (a,) = view.audits
    assert (a.auditor, a.opened, a.deadline, a.state, a.reason) == (
        auditor,
        tx.block_number,
        tx.block_number + RESPONSE,
        1,
        0,
    )


def test_open_audit__seed_and_sample_match_python_mirror(proofs, submit, opened, chain):
    claim = submit(cleaning(40))
    n = opened(claim.claim_id)
    opened_at = proofs.claim(claim.claim_id).audits[0].opened
    python = audit.compute_seed(bytes(chain.blocks[opened_at + 1].hash), claim.claim_id, n)
    assert audit.read_seed(proofs, claim.claim_id, n) == python
    chain.mine(1)  # the view sees the seed block once a later block exists
    assert bytes(proofs.audit_seed(claim.claim_id, n)) == python
    ins, outs = proofs.sample(claim.claim_id, n)
    assert list(ins) == audit.sample_indices(python, 40)
    assert list(outs) == audit.sample_indices(python, claim.data.rows_out, audit.SAMPLES)
    assert len(ins) == len(outs) == audit.SAMPLES


def test_open_audit__several_audits_per_claim(proofs, submit, opened, other):
    claim = submit()
    assert opened(claim.claim_id) == 0
    assert opened(claim.claim_id, other) == 1
    view = proofs.claim(claim.claim_id)
    assert view.open_audits == 2
    assert [a.auditor for a in view.audits][1] == other


def test_open_audit__after_window_reverts(proofs, token, submit, auditor, chain):
    claim = submit()
    chain.mine(CHALLENGE)
    token.approve(proofs, DEPOSIT, sender=auditor)
    with ape.reverts("proofs: challenge window closed"):
        proofs.open_audit(claim.claim_id, sender=auditor)


def test_open_audit__without_deposit_reverts(proofs, token, submit, auditor, accounts):
    claim = submit()
    with ape.reverts("proofs: deposit not approved"):
        proofs.open_audit(claim.claim_id, sender=auditor)
    poor = accounts[8]
    token.approve(proofs, DEPOSIT, sender=poor)
    with ape.reverts("proofs: deposit exceeds balance"):
        proofs.open_audit(claim.claim_id, sender=poor)


def test_open_audit__unknown_claim_reverts(proofs, auditor):
    with ape.reverts("proofs: unknown claim"):
        proofs.open_audit(5, sender=auditor)


def test_open_audit__too_many_audits_reverts(proofs, token, submit, auditor):
    claim = submit()
    token.approve(proofs, DEPOSIT * 17, sender=auditor)
    for _ in range(16):
        proofs.open_audit(claim.claim_id, sender=auditor)
    with ape.reverts("proofs: too many audits"):
        proofs.open_audit(claim.claim_id, sender=auditor)


def test_open_audit__empty_parent_reverts(proofs, token, registry, owner, cleaner, auditor):
    registry.register(cid(1), merkle.EMPTY_ROOT, 0, False, cid(2), "MIT", [], 0, sender=owner)
    registry.register(cid(3), merkle.EMPTY_ROOT, 0, False, cid(4), "MIT", [1], 0, sender=cleaner)
    token.approve(proofs, 10**21, sender=cleaner)
    proofs.submit_claim(1, 2, cid(7), cid(8), merkle.EMPTY_ROOT, sender=cleaner)
    token.approve(proofs, DEPOSIT, sender=auditor)
    with ape.reverts("proofs: nothing to audit"):
        proofs.open_audit(1, sender=auditor)


def test_open_audit__finalised_claim_reverts(proofs, token, submit, auditor, chain, cleaner):
    claim = submit()
    chain.mine(CHALLENGE + 1)
    proofs.finalize(claim.claim_id, sender=cleaner)
    token.approve(proofs, DEPOSIT, sender=auditor)
    with ape.reverts("proofs: claim not active"):
        proofs.open_audit(claim.claim_id, sender=auditor)
