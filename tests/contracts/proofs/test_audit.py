"""open_audit and reveal: deposits, commitments, the seed, and no cap anyone can fill."""

from __future__ import annotations

import ape

from datasoil.flows import audit
from datasoil.formats import merkle

from .conftest import CHALLENGE, DEPOSIT, REVEAL, answer, cid, cleaning, secret_for


def _commit(proofs, token, claim_id, sender, secret=None):
    secret = secret or secret_for(claim_id, sender)
    token.approve(proofs, DEPOSIT, sender=sender)
    return proofs.open_audit(claim_id, audit.commitment(sender.address, secret), sender=sender)


def test_open_audit__takes_deposit_records_audit_and_logs(proofs, token, submit, auditor):
    claim = submit()
    before = token.balanceOf(auditor)
    secret = secret_for(claim.claim_id, auditor)
    tx = _commit(proofs, token, claim.claim_id, auditor, secret)
    assert token.balanceOf(auditor) == before - DEPOSIT
    (event,) = tx.decode_logs(proofs.AuditOpened)
    assert (event.claim_id, event.audit, event.auditor) == (claim.claim_id, 0, auditor)
    assert event.commitment == audit.commitment(auditor.address, secret)
    assert event.commitment == proofs.commitment_of(auditor, secret)
    assert event.seed_block == tx.block_number + 1
    assert event.reveal_deadline == tx.block_number + REVEAL
    assert event.deposit == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.status == 1  # AUDITED
    assert (view.open_audits, view.audit_count, view.first_audit) == (1, 1, 0)
    (a,) = view.audits
    assert (a.auditor, a.opened, a.reveal_deadline, a.revealed, a.deadline) == (
        auditor,
        tx.block_number,
        tx.block_number + REVEAL,
        0,
        0,
    )
    assert (a.state, a.reason, a.seed) == (1, 0, bytes(32))
    assert proofs.audit(claim.claim_id, 0) == a


def test_reveal__seed_mixes_secret_and_next_block_hash(proofs, token, submit, auditor, chain):
    claim = submit(cleaning(40))
    secret = secret_for(claim.claim_id, auditor)
    opened_at = _commit(proofs, token, claim.claim_id, auditor, secret).block_number
    chain.mine(1)
    tx = proofs.reveal(claim.claim_id, 0, secret, sender=auditor)
    python = audit.compute_seed(secret, bytes(chain.blocks[opened_at + 1].hash), claim.claim_id, 0)
    (event,) = tx.decode_logs(proofs.AuditRevealed)
    assert (event.secret, event.seed) == (secret, python)
    assert event.deadline == tx.block_number + 12
    assert audit.read_seed(proofs, claim.claim_id, 0) == python
    assert bytes(proofs.audit_seed(claim.claim_id, 0)) == python
    a = proofs.audit(claim.claim_id, 0)
    assert (a.revealed, a.deadline, a.seed) == (tx.block_number, tx.block_number + 12, python)
    ins, outs = proofs.sample(claim.claim_id, 0)
    assert list(ins) == audit.sample_indices(python, 40)
    assert list(outs) == audit.sample_indices(python, claim.data.rows_out, audit.SAMPLES)
    assert len(ins) == len(outs) == audit.SAMPLES


def test_reveal__anyone_holding_the_secret_may_reveal(proofs, token, submit, auditor, other, chain):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    chain.mine(1)
    proofs.reveal(claim.claim_id, 0, secret, sender=other)
    assert proofs.audit(claim.claim_id, 0).revealed != 0


def test_reveal__wrong_secret_reverts(proofs, token, submit, auditor, other, chain):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    chain.mine(1)
    with ape.reverts("proofs: secret does not match the commitment"):
        proofs.reveal(claim.claim_id, 0, bytes(32), sender=auditor)
    # A commitment binds the auditor: another account's commitment to the same secret
    # differs, so copying a pending commitment gains nothing.
    assert audit.commitment(other.address, secret) != audit.commitment(auditor.address, secret)


def test_reveal__in_the_seed_block_reverts(proofs, token, submit, auditor):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    # The next transaction lands in the seed block itself, whose hash is not readable.
    with ape.reverts("proofs: seed block not mined yet"):
        proofs.reveal(claim.claim_id, 0, secret, sender=auditor)


def test_reveal__after_window_twice_or_unknown_reverts(proofs, token, submit, auditor, chain):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    chain.mine(REVEAL)
    with ape.reverts("proofs: reveal window closed"):
        proofs.reveal(claim.claim_id, 0, secret, sender=auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    chain.mine(1)
    proofs.reveal(claim.claim_id, 1, secret, sender=auditor)
    with ape.reverts("proofs: audit already revealed"):
        proofs.reveal(claim.claim_id, 1, secret, sender=auditor)
    with ape.reverts("proofs: unknown audit"):
        proofs.reveal(claim.claim_id, 7, secret, sender=auditor)


def test_reveal__same_secret_other_opening_block_gives_other_seed(
    proofs, token, submit, auditor, chain
):
    """When an audit opens changes only which block hash is mixed in, a hash its opener
    cannot know while committing; the audit number separates audits of one block."""
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    token.approve(proofs, DEPOSIT * 2, sender=auditor)
    c = audit.commitment(auditor.address, secret)
    first = proofs.open_audit(claim.claim_id, c, sender=auditor)
    chain.mine(1)
    second = proofs.open_audit(claim.claim_id, c, sender=auditor)
    chain.mine(1)
    for n in (0, 1):
        proofs.reveal(claim.claim_id, n, secret, sender=auditor)
    python = [
        audit.compute_seed(secret, bytes(chain.blocks[tx.block_number + 1].hash), claim.claim_id, n)
        for n, tx in enumerate((first, second))
    ]
    assert [audit.read_seed(proofs, claim.claim_id, n) for n in (0, 1)] == python
    assert python[0] != python[1]


def test_open_audit__claimant_cannot_fill_audit_capacity(
    proofs, token, submit, opened, cleaner, auditor
):
    """Issue 10 item 6: the claimant opened 16 audits against itself (all passing, deposits
    back to itself) and so locked every independent auditor out. Now there is no cap: an
    independent auditor still opens (and is answered) after 20 self-audits."""
    claim = submit()
    token.approve(proofs, DEPOSIT * 20, sender=cleaner)
    for k in range(20):
        proofs.open_audit(
            claim.claim_id, audit.commitment(cleaner.address, bytes([k + 1]) * 32), sender=cleaner
        )
    n = opened(claim.claim_id, auditor)
    assert n == 20
    ins, outs = answer(proofs, claim, n).as_args()
    proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    view = proofs.claim(claim.claim_id)
    assert (view.audit_count, view.open_audits, view.first_audit) == (21, 20, 5)
    assert len(view.audits) == 16 and view.audits[-1].state == 2
    status = audit.read_claim(proofs, claim.claim_id)
    assert [a.number for a in status.audits] == list(range(21))


def test_open_audit__after_window_reverts(proofs, token, submit, auditor, chain):
    claim = submit()
    chain.mine(CHALLENGE)
    with ape.reverts("proofs: challenge window closed"):
        _commit(proofs, token, claim.claim_id, auditor)


def test_open_audit__zero_commitment_reverts(proofs, token, submit, auditor):
    claim = submit()
    token.approve(proofs, DEPOSIT, sender=auditor)
    with ape.reverts("proofs: zero commitment"):
        proofs.open_audit(claim.claim_id, bytes(32), sender=auditor)


def test_open_audit__without_deposit_reverts(proofs, token, submit, auditor, accounts):
    claim = submit()
    c = audit.commitment(auditor.address, bytes([1]) * 32)
    with ape.reverts("proofs: deposit not approved"):
        proofs.open_audit(claim.claim_id, c, sender=auditor)
    poor = accounts[8]
    token.approve(proofs, DEPOSIT, sender=poor)
    with ape.reverts("proofs: deposit exceeds balance"):
        proofs.open_audit(claim.claim_id, c, sender=poor)


def test_open_audit__unknown_claim_reverts(proofs, auditor):
    with ape.reverts("proofs: unknown claim"):
        proofs.open_audit(5, b"\x01" * 32, sender=auditor)


def test_open_audit__empty_parent_reverts(proofs, token, registry, owner, cleaner, auditor):
    registry.register(cid(1), merkle.EMPTY_ROOT, 0, False, cid(2), "MIT", [], 0, sender=owner)
    registry.register(cid(3), merkle.EMPTY_ROOT, 0, False, cid(4), "MIT", [1], 0, sender=cleaner)
    token.approve(proofs, 10**21, sender=cleaner)
    proofs.submit_claim(1, 2, cid(7), cid(8), merkle.EMPTY_ROOT, sender=cleaner)
    with ape.reverts("proofs: nothing to audit"):
        _commit(proofs, token, 1, auditor)


def test_open_audit__finalised_claim_reverts(proofs, token, submit, auditor, chain, cleaner):
    claim = submit()
    chain.mine(CHALLENGE + 1)
    proofs.finalize(claim.claim_id, sender=cleaner)
    with ape.reverts("proofs: claim not active"):
        _commit(proofs, token, claim.claim_id, auditor)
