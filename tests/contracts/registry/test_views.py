from __future__ import annotations

import boa
import pytest


@pytest.mark.parametrize("view", ["owner_of", "row_count", "is_private", "parents", "info"])
@pytest.mark.parametrize("dataset_id", [0, 1, 2**32])
def test_view__unknown_dataset_reverts(registry, view, dataset_id):
    with boa.reverts("registry: unknown dataset"):
        getattr(registry, view)(dataset_id)


def test_exists(registry, register):
    assert registry.exists(0) is False
    assert registry.exists(1) is False
    register(seed=1)
    assert registry.exists(1) is True
    assert registry.exists(2) is False


def test_constants(registry):
    assert registry.MAX_PARENTS() == 8
    assert registry.EMPTY_ROOT().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("dataset_id", [0, 1, 2**32])
def test_row_root__unknown_dataset_is_zero(registry, dataset_id):
    assert registry.row_root(dataset_id) == b"\x00" * 32
