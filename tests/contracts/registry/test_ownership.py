from __future__ import annotations

import ape


def test_propose_owner__sets_pending_and_emits(registry, register, owner, other):
    register(seed=1)
    tx = registry.propose_owner(1, other, sender=owner)
    assert registry.pending_owner(1) == other
    assert registry.owner_of(1) == owner
    (event,) = tx.decode_logs(registry.OwnershipTransferStarted)
    assert (event.dataset_id, event.owner, event.pending_owner) == (1, owner, other)


def test_propose_owner__non_owner_reverts(registry, register, other):
    register(seed=1)
    with ape.reverts("registry: not the dataset owner"):
        registry.propose_owner(1, other, sender=other)
    assert registry.pending_owner(1) == "0x" + "00" * 20


def test_propose_owner__unknown_dataset_reverts(registry, other):
    with ape.reverts("registry: not the dataset owner"):
        registry.propose_owner(7, other, sender=other)


def test_accept_owner__moves_ownership_keeps_facts(registry, register, owner, other):
    register(seed=1, private=True)
    root_before = registry.row_root(1)
    registry.propose_owner(1, other, sender=owner)
    tx = registry.accept_owner(1, sender=other)
    assert registry.owner_of(1) == other
    assert registry.pending_owner(1) == "0x" + "00" * 20
    assert registry.row_root(1) == root_before
    assert registry.row_count(1) == 11
    assert registry.is_private(1) is True
    (event,) = tx.decode_logs(registry.OwnershipTransferred)
    assert (event.dataset_id, event.previous_owner, event.new_owner) == (1, owner, other)


def test_accept_owner__not_pending_reverts(registry, register, owner, other, deployer):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    with ape.reverts("registry: not the pending owner"):
        registry.accept_owner(1, sender=deployer)
    assert registry.owner_of(1) == owner


def test_accept_owner__cancelled_proposal_reverts(registry, register, owner, other):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    registry.propose_owner(1, "0x" + "00" * 20, sender=owner)
    with ape.reverts("registry: not the pending owner"):
        registry.accept_owner(1, sender=other)


def test_old_owner_cannot_version_after_transfer(registry, register, owner, other):
    register(seed=1)
    registry.propose_owner(1, other, sender=owner)
    registry.accept_owner(1, sender=other)
    with ape.reverts("registry: not the owner of version_of"):
        register(owner, seed=2, version_of=1)
    register(other, seed=2, version_of=1)
