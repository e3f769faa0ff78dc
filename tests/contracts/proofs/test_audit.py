"""open_audit and reveal: deposits, commitments, the seed, and no cap anyone can fill."""

from __future__ import annotations

import boa

from datasoil.flows import audit
from datasoil.formats import merkle
from tests.contracts._boa import block_hash, block_number, event, mine, mine_to

from .claims import CHALLENGE, DEPOSIT, RESPONSE, REVEAL, answer, cid, cleaning, secret_for
from .conftest import SEED_DELAY


def _commit(proofs, token, claim_id, sender, secret=None):
    """Approves the deposit and opens an audit committed to ``secret``; returns its number."""
    secret = secret or secret_for(claim_id, sender)
    token.approve(proofs, DEPOSIT, sender=sender)
    return proofs.open_audit(claim_id, audit.commitment(sender, secret), sender=sender)


def test_open_audit__takes_deposit_records_audit_and_logs(proofs, token, submit, auditor):
    claim = submit()
    before = token.balanceOf(auditor)
    secret = secret_for(claim.claim_id, auditor)
    opened_at = block_number()
    assert _commit(proofs, token, claim.claim_id, auditor, secret) == 0
    opened = event(proofs, "AuditOpened")
    assert token.balanceOf(auditor) == before - DEPOSIT
    assert (opened.claim_id, opened.audit, opened.auditor) == (claim.claim_id, 0, auditor)
    assert opened.commitment == audit.commitment(auditor, secret)
    assert opened.commitment == proofs.commitment_of(auditor, secret)
    assert opened.seed_block == opened_at + 1
    assert opened.reveal_deadline == opened_at + REVEAL
    assert opened.deposit == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.status == 1  # AUDITED
    assert (view.open_audits, view.audit_count, view.first_audit) == (1, 1, 0)
    (a,) = view.audits
    assert (a.auditor, a.opened, a.reveal_deadline, a.revealed, a.deadline) == (
        auditor,
        opened_at,
        opened_at + REVEAL,
        0,
        0,
    )
    assert (a.state, a.reason, a.seed) == (1, 0, bytes(32))
    assert proofs.audit(claim.claim_id, 0) == a


def test_reveal__seed_mixes_secret_and_next_block_hash(proofs, token, submit, auditor):
    claim = submit(cleaning(40))
    secret = secret_for(claim.claim_id, auditor)
    opened_at = block_number()
    _commit(proofs, token, claim.claim_id, auditor, secret)
    revealed_at = mine_to(opened_at + SEED_DELAY)
    proofs.reveal(claim.claim_id, 0, secret, sender=auditor)
    revealed = event(proofs, "AuditRevealed")
    python = audit.compute_seed(secret, block_hash(opened_at + 1), claim.claim_id, 0)
    # the seed block's hash, not its neighbours' (every block's hash differs)
    for other in (opened_at, opened_at + 2):
        assert audit.compute_seed(secret, block_hash(other), claim.claim_id, 0) != python
    assert (revealed.secret, revealed.seed) == (secret, python)
    assert revealed.deadline == revealed_at + RESPONSE
    assert audit.read_seed(proofs, claim.claim_id, 0) == python
    assert bytes(proofs.audit_seed(claim.claim_id, 0)) == python
    a = proofs.audit(claim.claim_id, 0)
    assert (a.revealed, a.deadline, a.seed) == (revealed_at, revealed_at + RESPONSE, python)
    ins, outs = proofs.sample(claim.claim_id, 0)
    assert list(ins) == audit.sample_indices(python, 40)
    assert list(outs) == audit.sample_indices(python, claim.data.rows_out, audit.SAMPLES)
    assert len(ins) == len(outs) == audit.SAMPLES


def test_reveal__anyone_holding_the_secret_may_reveal(proofs, token, submit, auditor, other):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    mine(SEED_DELAY)
    proofs.reveal(claim.claim_id, 0, secret, sender=other)
    assert proofs.audit(claim.claim_id, 0).revealed != 0


def test_reveal__wrong_secret_reverts(proofs, token, submit, auditor, other):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    mine(SEED_DELAY)
    with boa.reverts("proofs: secret does not match the commitment"):
        proofs.reveal(claim.claim_id, 0, bytes(32), sender=auditor)
    # A commitment binds the auditor: another account's commitment to the same secret
    # differs, so copying a pending commitment gains nothing.
    assert audit.commitment(other, secret) != audit.commitment(auditor, secret)


def test_reveal__in_the_seed_block_reverts(proofs, token, submit, auditor):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    _commit(proofs, token, claim.claim_id, auditor, secret)
    # In the opening block, and in the seed block itself, whose hash is not readable yet.
    for _ in range(SEED_DELAY):
        with boa.reverts("proofs: seed block not mined yet"):
            proofs.reveal(claim.claim_id, 0, secret, sender=auditor)
        mine(1)
    proofs.reveal(claim.claim_id, 0, secret, sender=auditor)


def test_reveal__after_window_twice_or_unknown_reverts(proofs, token, submit, auditor):
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    opened_at = block_number()
    _commit(proofs, token, claim.claim_id, auditor, secret)
    mine_to(opened_at + REVEAL + 1)
    with boa.reverts("proofs: reveal window closed"):
        proofs.reveal(claim.claim_id, 0, secret, sender=auditor)
    opened_at = block_number()
    _commit(proofs, token, claim.claim_id, auditor, secret)
    mine_to(opened_at + REVEAL)  # the last block of the window
    proofs.reveal(claim.claim_id, 1, secret, sender=auditor)
    with boa.reverts("proofs: audit already revealed"):
        proofs.reveal(claim.claim_id, 1, secret, sender=auditor)
    with boa.reverts("proofs: unknown audit"):
        proofs.reveal(claim.claim_id, 7, secret, sender=auditor)


def test_reveal__same_secret_other_opening_block_gives_other_seed(proofs, token, submit, auditor):
    """When an audit opens changes only which block hash is mixed in, a hash its opener
    cannot know while committing; the audit number separates audits of one block."""
    claim = submit()
    secret = secret_for(claim.claim_id, auditor)
    token.approve(proofs, DEPOSIT * 3, sender=auditor)
    c = audit.commitment(auditor, secret)
    opened_at = []
    for n in range(3):
        if n == 1:
            mine(1)  # audits 1 and 2 open one block after audit 0, in one block
        opened_at.append(block_number())
        assert proofs.open_audit(claim.claim_id, c, sender=auditor) == n
    mine(SEED_DELAY)
    for n in range(3):
        proofs.reveal(claim.claim_id, n, secret, sender=auditor)
    python = [
        audit.compute_seed(secret, block_hash(at + 1), claim.claim_id, n)
        for n, at in enumerate(opened_at)
    ]
    assert [audit.read_seed(proofs, claim.claim_id, n) for n in range(3)] == python
    assert len(set(python)) == 3


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
            claim.claim_id, audit.commitment(cleaner, bytes([k + 1]) * 32), sender=cleaner
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


def test_open_audit__after_window_reverts(proofs, token, submit, auditor):
    claim = submit()
    window_end = proofs.claim(claim.claim_id).window_end
    mine_to(window_end)  # the last block an audit may open in
    _commit(proofs, token, claim.claim_id, auditor)
    mine(1)
    with boa.reverts("proofs: challenge window closed"):
        _commit(proofs, token, claim.claim_id, auditor)
    assert window_end == proofs.claim(claim.claim_id).submitted + CHALLENGE


def test_open_audit__zero_commitment_reverts(proofs, token, submit, auditor):
    claim = submit()
    token.approve(proofs, DEPOSIT, sender=auditor)
    with boa.reverts("proofs: zero commitment"):
        proofs.open_audit(claim.claim_id, bytes(32), sender=auditor)


def test_open_audit__without_deposit_reverts(proofs, token, submit, auditor, accounts):
    claim = submit()
    c = audit.commitment(auditor, bytes([1]) * 32)
    with boa.reverts("proofs: deposit not approved"):
        proofs.open_audit(claim.claim_id, c, sender=auditor)
    poor = accounts[8]
    token.approve(proofs, DEPOSIT, sender=poor)
    with boa.reverts("proofs: deposit exceeds balance"):
        proofs.open_audit(claim.claim_id, c, sender=poor)


def test_open_audit__unknown_claim_reverts(proofs, auditor):
    with boa.reverts("proofs: unknown claim"):
        proofs.open_audit(5, b"\x01" * 32, sender=auditor)


def test_open_audit__empty_parent_reverts(proofs, token, registry, owner, cleaner, auditor):
    registry.register(cid(1), merkle.EMPTY_ROOT, 0, False, cid(2), "MIT", [], 0, sender=owner)
    registry.register(cid(3), merkle.EMPTY_ROOT, 0, False, cid(4), "MIT", [1], 0, sender=cleaner)
    token.approve(proofs, 10**21, sender=cleaner)
    proofs.submit_claim(1, 2, cid(7), cid(8), merkle.EMPTY_ROOT, sender=cleaner)
    with boa.reverts("proofs: nothing to audit"):
        _commit(proofs, token, 1, auditor)


def test_open_audit__finalised_claim_reverts(proofs, token, submit, auditor, cleaner):
    claim = submit()
    mine_to(proofs.claim(claim.claim_id).window_end + 1)
    proofs.finalize(claim.claim_id, sender=cleaner)
    with boa.reverts("proofs: claim not active"):
        _commit(proofs, token, claim.claim_id, auditor)
