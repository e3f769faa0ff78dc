from __future__ import annotations

import boa

from datasoil.formats import merkle
from tests.contracts._boa import event

from .claims import BOND, cid, cleaning


def test_submit_claim__records_claim_takes_bond_and_logs(proofs, token, submit, cleaner, registry):
    before = token.balanceOf(cleaner)
    claim = submit(cleaning(23))
    submitted = event(proofs, "ClaimSubmitted")  # read before any other call of proofs
    facts = claim.data.facts()
    assert claim.claim_id == claim.receipt == 1  # submit_claim returns the id
    assert token.balanceOf(cleaner) == before - BOND
    assert token.balanceOf(proofs) == BOND
    view = proofs.claim(1)
    assert view.claimant == cleaner
    assert (view.parent_id, view.child_id) == (claim.parent_id, claim.child_id)
    assert view.fate_root == facts.fate_root
    assert view.status == 0  # PENDING
    assert view.window_end == view.submitted + 30
    assert view.audits == []
    assert submitted.claim_id == 1
    assert submitted.parent_id == claim.parent_id
    assert submitted.child_id == claim.child_id
    assert submitted.claimant == cleaner
    assert tuple(submitted.recipe_cid) == cid(7)
    assert tuple(submitted.proof_cid) == cid(8)
    assert submitted.fate_root == facts.fate_root
    assert submitted.parent_root == facts.parent_root
    assert submitted.child_root == facts.child_root
    assert (submitted.rows_in, submitted.rows_out) == (23, facts.rows_out)
    assert submitted.bond == BOND


def test_submit_claim__not_child_owner_reverts(proofs, token, register_pair, cleaner, other):
    data = cleaning(5)
    parent_id, child_id = register_pair(data, cleaner)
    token.approve(proofs, BOND, sender=other)
    with boa.reverts("proofs: not the child's owner"):
        proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=other
        )


def test_submit_claim__child_not_listing_parent_reverts(proofs, token, register_pair, cleaner):
    data = cleaning(5)
    parent_id, child_id = register_pair(data, cleaner, list_parent=False)
    token.approve(proofs, BOND, sender=cleaner)
    with boa.reverts("proofs: child does not list the parent"):
        proofs.submit_claim(
            parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner
        )


def test_submit_claim__unknown_child_reverts(proofs, cleaner):
    with boa.reverts("registry: unknown dataset"):
        proofs.submit_claim(1, 99, cid(7), cid(8), b"\x01" * 32, sender=cleaner)


def test_submit_claim__child_larger_than_parent_reverts(proofs, token, registry, owner, cleaner):
    registry.register(cid(1), b"\x01" * 32, 2, False, cid(2), "MIT", [], 0, sender=owner)
    registry.register(cid(3), b"\x02" * 32, 3, False, cid(4), "MIT", [1], 0, sender=cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    with boa.reverts("proofs: child has more rows than parent"):
        proofs.submit_claim(1, 2, cid(7), cid(8), b"\x03" * 32, sender=cleaner)


def _pair(registry, owner, cleaner, rows_in=3, rows_out=2):
    root_in = merkle.EMPTY_ROOT if rows_in == 0 else b"\x01" * 32
    root_out = merkle.EMPTY_ROOT if rows_out == 0 else b"\x02" * 32
    registry.register(cid(1), root_in, rows_in, False, cid(2), "MIT", [], 0, sender=owner)
    registry.register(cid(3), root_out, rows_out, False, cid(4), "MIT", [1], 0, sender=cleaner)


def test_submit_claim__zero_fate_root_reverts(proofs, token, registry, owner, cleaner):
    _pair(registry, owner, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    with boa.reverts("proofs: zero fate root"):
        proofs.submit_claim(1, 2, cid(7), cid(8), b"\x00" * 32, sender=cleaner)


def test_submit_claim__empty_parent_needs_empty_fate_root(proofs, token, registry, owner, cleaner):
    _pair(registry, owner, cleaner, 0, 0)
    token.approve(proofs, BOND, sender=cleaner)
    with boa.reverts("proofs: empty parent needs the empty fate root"):
        proofs.submit_claim(1, 2, cid(7), cid(8), b"\x03" * 32, sender=cleaner)
    proofs.submit_claim(1, 2, cid(7), cid(8), merkle.EMPTY_ROOT, sender=cleaner)
    assert proofs.claim_count() == 1


def test_submit_claim__zero_cid_digests_revert(proofs, token, registry, owner, cleaner):
    _pair(registry, owner, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    zero = ((1 << 64) | 0x70, b"\x00" * 32)
    with boa.reverts("proofs: zero recipe digest"):
        proofs.submit_claim(1, 2, zero, cid(8), b"\x03" * 32, sender=cleaner)
    with boa.reverts("proofs: zero proof digest"):
        proofs.submit_claim(1, 2, cid(7), zero, b"\x03" * 32, sender=cleaner)


def test_submit_claim__bond_not_approved_reverts(proofs, submit, cleaner):
    with boa.reverts("proofs: bond not approved"):
        submit(cleaning(5), approve=False)


def test_submit_claim__bond_exceeds_balance_reverts(proofs, token, submit, accounts):
    poor = accounts[8]
    token.approve(proofs, BOND, sender=poor)
    with boa.reverts("proofs: bond exceeds balance"):
        submit(cleaning(5), poor, approve=False)
