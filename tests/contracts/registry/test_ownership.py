from __future__ import annotations

import boa

from tests.contracts._boa import event

ZERO = "0x" + "00" * 20


def test_propose_owner__sets_pending_and_emits(registry, register, owner, other):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    started = event(registry, "OwnershipTransferStarted")
    assert registry.pending_owner(1) == other
    assert registry.owner_of(1) == owner
    assert (started.dataset_id, started.owner, started.pending_owner) == (1, owner, other)


def test_propose_owner__non_owner_reverts(registry, register, other):
    register(seed=1)
    with boa.reverts("registry: not the dataset owner"):
        registry.propose_owner(1, other, sender=other)
    assert registry.pending_owner(1) == ZERO


def test_propose_owner__unknown_dataset_reverts(registry, other):
    with boa.reverts("registry: not the dataset owner"):
        registry.propose_owner(7, other, sender=other)


def test_accept_owner__moves_ownership_keeps_facts(registry, register, owner, other):
    register(seed=1, private=True)
    root_before = registry.row_root(1)
    registry.propose_owner(1, other, sender=owner)
    registry.accept_owner(1, sender=other)
    moved = event(registry, "OwnershipTransferred")
    assert registry.owner_of(1) == other
    assert registry.pending_owner(1) == ZERO
    assert registry.row_root(1) == root_before
    assert registry.row_count(1) == 11
    assert registry.is_private(1) is True
    assert (moved.dataset_id, moved.previous_owner, moved.new_owner) == (1, owner, other)


def test_accept_owner__not_pending_reverts(registry, register, owner, other, deployer):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    with boa.reverts("registry: not the pending owner"):
        registry.accept_owner(1, sender=deployer)
    assert registry.owner_of(1) == owner


def test_accept_owner__cancelled_proposal_reverts(registry, register, owner, other):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    registry.propose_owner(1, ZERO, sender=owner)
    with boa.reverts("registry: not the pending owner"):
        registry.accept_owner(1, sender=other)


def test_old_owner_cannot_version_after_transfer(registry, register, owner, other):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    registry.accept_owner(1, sender=other)
    with boa.reverts("registry: not the owner of version_of"):
        register(owner, seed=2, version_of=1)
    assert register(other, seed=2, version_of=1) == 2
