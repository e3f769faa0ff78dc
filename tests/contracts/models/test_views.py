"""The manifest views: leaves match DAG-CBOR + RFC 9162 (dag-cbor, pymerkle), inclusion
and sorted-neighbour absence proofs verify for the right model only."""

from __future__ import annotations

import boa
import pytest

from .conftest import entry, leaf, manifest_of


@pytest.mark.parametrize(
    "dataset_id, row_index",
    [(0, 0), (1, 23), (24, 24), (255, 256), (65535, 65536), (2**32 - 1, 2**32), (7, 2**64 - 1)],
)
def test_manifest_leaf__is_rfc9162_leaf_of_dag_cbor_entry(models, dataset_id, row_index):
    assert models.manifest_leaf(dataset_id, row_index) == leaf(entry(dataset_id, row_index))


def test_manifest_leaf__above_64_bits_reverts(models):
    with boa.reverts("models: manifest entry above 64 bits"):
        models.manifest_leaf(1, 2**64)


def test_verify_row__every_entry_verifies(models, trained):
    reg = trained[0]
    for position, (d, i) in enumerate(reg.manifest.entries):
        assert models.verify_row(reg.model_id, d, i, position, reg.manifest.path(position))


def test_verify_row__wrong_position_row_or_model_fails(models, dataset, register_model, trained):
    reg, private, public, _ = trained
    pos = reg.manifest.position(private, 17)
    path = reg.manifest.path(pos)
    assert not models.verify_row(reg.model_id, private, 16, pos, path)
    assert not models.verify_row(reg.model_id, private, 17, pos + 1, path)
    # The same proof against another model's manifest (same size, other rows).
    other = register_model({public: [0, 1, 2, 3, 4]})
    assert models.manifest_size(other.model_id) == models.manifest_size(reg.model_id)
    assert not models.verify_row(other.model_id, private, 17, pos, path)


def test_verify_row__unknown_model_reverts(models, trained):
    with boa.reverts("models: unknown model"):
        models.verify_row(9, trained[1], 0, 0, [])


def test_verify_row__row_past_dataset_count_reverts(models, trained):
    reg, private = trained[0], trained[1]
    with boa.reverts("models: row index past the dataset's count"):
        models.verify_row(reg.model_id, private, 20, 0, [])


def _absent(models, reg, d, i):
    position = sum(1 for e in reg.manifest.entries if e < (d, i))
    return models.verify_row_absent(
        reg.model_id,
        d,
        i,
        position,
        reg.manifest.neighbour(position - 1),
        reg.manifest.neighbour(position),
    )


def test_verify_row_absent__rows_not_used_are_proven_absent(models, trained):
    reg, private, public, _ = trained
    used = set(reg.manifest.entries)
    for d in (private, public):
        for i in range(0, 20):
            if (d, i) not in used:
                assert _absent(models, reg, d, i), (d, i)
    assert _absent(models, reg, 0, 5)  # before the first entry
    assert _absent(models, reg, public + 1, 0)  # after the last


def test_verify_row_absent__a_used_row_cannot_be_proven_absent(models, trained):
    reg = trained[0]
    entries = reg.manifest.entries
    for k, (d, i) in enumerate(entries):
        # honest neighbours bracket nothing: the row itself sits between them
        for position in (k, k + 1):
            left, right = reg.manifest.neighbour(position - 1), reg.manifest.neighbour(position)
            assert not models.verify_row_absent(reg.model_id, d, i, position, left, right)


def test_verify_row_absent__forged_neighbours_fail(models, trained):
    reg, private = trained[0], trained[1]
    m = reg.manifest
    pos = m.position(private, 3)  # absent claim for row 2: neighbours are rows 0 and 3
    left, right = m.neighbour(pos - 1), m.neighbour(pos)
    assert models.verify_row_absent(reg.model_id, private, 2, pos, left, right)
    bad_path = (right[0], right[1], left[2])
    assert not models.verify_row_absent(reg.model_id, private, 2, pos, left, bad_path)
    assert not models.verify_row_absent(reg.model_id, private, 2, pos + 1, left, right)
    assert not models.verify_row_absent(reg.model_id, private, 2, len(m.entries) + 1, left, right)


def test_verify_row_absent__empty_manifest_holds_nothing(models, dataset, register_model):
    base = register_model({dataset(private=False): [0]})
    merge = register_model({}, parents=[base.model_id], data_bps=0)
    assert models.verify_row_absent(merge.model_id, 1, 0, 0, (0, 0, []), (0, 0, []))
    with boa.reverts("models: unknown model"):
        models.verify_row_absent(9, 1, 0, 0, (0, 0, []), (0, 0, []))


def test_manifest_of__large_indices_match_contract(models, dataset, register_model):
    big = dataset(private=False, rows=2**40)
    reg = register_model({big: [0, 23, 24, 2**16, 2**32 + 5]})
    m = manifest_of({big: [0, 23, 24, 2**16, 2**32 + 5]})
    assert reg.manifest.root == m.root
    for position, (d, i) in enumerate(m.entries):
        assert models.verify_row(reg.model_id, d, i, position, m.path(position))
