from __future__ import annotations

import boa

from tests.contracts._boa import event

from .conftest import DAG_PB, EMPTY_ROOT, RAW, cid, prefix, root


def test_register__records_stored_facts_and_event(registry, owner, register):
    assert register(seed=1) == 1
    registered = event(registry, "DatasetRegistered")
    assert registry.dataset_count() == 1
    assert registry.owner_of(1) == owner
    assert registry.row_root(1) == root(1)
    assert registry.row_count(1) == 11
    assert registry.is_private(1) is False
    assert registry.parents(1) == []
    assert registered.dataset_id == 1
    assert registered.owner == owner
    assert registered.version_of == 0
    assert tuple(registered.content_cid) == cid(1)
    assert registered.row_root == root(1)
    assert registered.row_count == 11
    assert not registered.private
    assert tuple(registered.metadata_cid) == cid(1001, 1, 0x0129)
    assert registered.license == "CC-BY-4.0"
    assert registered.parents == []


def test_register__returns_sequential_ids(registry, register, other):
    register(seed=1)
    register(other, seed=2)
    assert registry.dataset_count() == 2
    assert registry.owner_of(2) == other
    assert registry.register(cid(3), root(3), 1, False, cid(4), "MIT", [], 0, sender=other) == 3
    assert registry.owner_of(3) == other


def test_register__cidv0_comes_back_as_cidv0(registry, register):
    register(seed=1, content_cid=(prefix(0, DAG_PB), cid(1)[1]))
    registered = event(registry, "DatasetRegistered")
    assert tuple(registered.content_cid) == (prefix(0, DAG_PB), cid(1)[1])


def test_register__private_flag_and_parents(registry, register, other):
    register(seed=1)
    register(seed=2)
    register(seed=3)
    register(other, seed=4, parents=[1, 3], private=True)
    registered = event(registry, "DatasetRegistered")
    assert registry.is_private(4) is True
    assert registry.parents(4) == [1, 3]
    info = registry.info(4)
    assert info.owner == other
    assert info.row_root == root(4)
    assert info.row_count == 14
    assert info.private is True
    assert list(info.parents) == [1, 3]
    assert registered.parents == [1, 3]


def test_register__eight_parents(registry, register):
    for seed in range(1, 9):
        register(seed=seed)
    register(seed=9, parents=list(range(1, 9)))
    assert registry.parents(9) == list(range(1, 9))


def test_register__nine_parents_reverts(registry, register):
    for seed in range(1, 10):
        register(seed=seed)
    # boa encodes the 9-element array; the contract's calldata bounds check refuses it.
    with boa.reverts(compiler="DynArray[uint256, 8] bounds check"):
        register(seed=10, parents=list(range(1, 10)))
    assert registry.dataset_count() == 9


def test_register__empty_dataset_with_empty_root(registry, register):
    register(seed=1, row_count=0, row_root=EMPTY_ROOT)
    assert registry.row_count(1) == 0
    assert registry.row_root(1) == EMPTY_ROOT


def test_register__empty_dataset_with_other_root_reverts(registry, register):
    with boa.reverts("registry: empty dataset needs the empty root"):
        register(seed=1, row_count=0)


def test_register__unknown_parent_reverts(registry, register):
    register(seed=1)
    with boa.reverts("registry: unknown parent"):
        register(seed=2, parents=[2])
    assert registry.dataset_count() == 1


def test_register__higher_parent_reverts(registry, register):
    with boa.reverts("registry: unknown parent"):
        register(seed=1, parents=[5])


def test_register__unsorted_parents_revert(registry, register):
    register(seed=1)
    register(seed=2)
    with boa.reverts("registry: parents not strictly increasing"):
        register(seed=3, parents=[2, 1])


def test_register__duplicate_parent_reverts(registry, register):
    register(seed=1)
    with boa.reverts("registry: parents not strictly increasing"):
        register(seed=2, parents=[1, 1])


def test_register__zero_parent_reverts(registry, register):
    with boa.reverts("registry: parents not strictly increasing"):
        register(seed=1, parents=[0])


def test_register__zero_content_digest_reverts(register):
    with boa.reverts("registry: zero content digest"):
        register(seed=1, content_cid=(prefix(1, RAW), b"\x00" * 32))


def test_register__zero_metadata_digest_reverts(register):
    with boa.reverts("registry: zero metadata digest"):
        register(seed=1, metadata_cid=(prefix(1, 0x0129), b"\x00" * 32))


def test_register__bad_cid_version_reverts(register):
    with boa.reverts("registry: content CID version not 0 or 1"):
        register(seed=1, content_cid=(prefix(2, RAW), cid(1)[1]))


def test_register__cidv0_with_raw_codec_reverts(register):
    with boa.reverts("registry: metadata CIDv0 not dag-pb"):
        register(seed=1, metadata_cid=(prefix(0, RAW), cid(1)[1]))


def test_register__zero_row_root_reverts(register):
    with boa.reverts("registry: zero row root"):
        register(seed=1, row_root=b"\x00" * 32)


def test_register__version_of_by_owner(registry, register, owner):
    register(seed=1)
    register(seed=2, version_of=1)
    registered = event(registry, "DatasetRegistered")
    assert registered.version_of == 1
    assert registry.owner_of(2) == owner


def test_register__version_of_by_non_owner_reverts(registry, register, other):
    register(seed=1)
    with boa.reverts("registry: not the owner of version_of"):
        register(other, seed=2, version_of=1)
    assert registry.dataset_count() == 1


def test_register__version_of_unknown_reverts(register):
    with boa.reverts("registry: unknown version_of"):
        register(seed=1, version_of=1)
