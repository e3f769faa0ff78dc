from __future__ import annotations

import boa
import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from .conftest import (
    EMPTY_ROOT,
    OBJECTION_WINDOW,
    REFUND_TIMEOUT,
    REVEAL_WINDOW,
    ZERO_CID,
    Manifest,
    cid,
    composition,
    wait,
)

COMPOSITION_ABI = "((uint256,bytes32,uint64)[],uint256[],uint256,uint256)"


def test_register_model__stores_record_and_logs_everything(
    models, registry, trainer, dataset, purchase, register_model
):
    private, public = dataset(), dataset(private=False)
    receipt = purchase(private)
    rows = {private: [0, 3, 17, 3], public: [1, 2]}
    reg = register_model(rows, [receipt])
    assert reg.model_id == 1 and models.model_count() == 1
    assert models.exists(1) and not models.exists(2) and not models.exists(0)
    assert models.owner_of(1) == trainer
    assert models.ownership(1) == (trainer, 0)
    assert models.manifest_root(1) == reg.manifest.root
    assert models.manifest_size(1) == 5  # row 3 used twice is one entry
    expected = keccak(encode([COMPOSITION_ABI], [reg.composition]))
    assert models.composition_hash(1) == expected
    event = reg.event
    assert (event.model_id, event.owner, event.version_of) == (1, trainer, 0)
    assert event.manifest_root == reg.manifest.root and event.manifest_size == 5
    assert tuple(event.weights_cid) == cid(100)
    assert tuple(event.manifest_cid) == cid(200)
    assert tuple(event.config_cid) == cid(300)
    assert [tuple(d) for d in event.composition[0]] == [
        (private, registry.row_root(private), 3),
        (public, registry.row_root(public), 2),
    ]
    assert tuple(event.composition[2:]) == (3000, 0)
    assert list(event.receipts) == [receipt[0]]
    assert event.license == "Apache-2.0"


def test_register_model__owner_of_private_data_needs_no_receipt(
    models, owner, dataset, register_model
):
    private = dataset()
    reg = register_model({private: [1]}, sender=owner)
    assert models.owner_of(reg.model_id) == owner


def test_register_model__public_data_needs_no_receipt(dataset, register_model):
    assert register_model({dataset(private=False): [0, 1]}).model_id == 1


def test_register_model__released_purchase_is_a_receipt(
    market, other, dataset, purchase, register_model
):
    private = dataset()
    pid, terms = purchase(private)
    wait(OBJECTION_WINDOW)
    market.settle(pid, terms, sender=other)
    assert market.purchase(pid).status == 4
    assert register_model({private: [0]}, [(pid, terms)]).model_id == 1


def test_register_model__no_datasets_with_empty_root_and_parents(models, dataset, register_model):
    base = register_model({dataset(private=False): [0]})
    merge = register_model({}, parents=[base.model_id], data_bps=0, parents_bps=2000)
    assert merge.manifest.root == EMPTY_ROOT
    assert models.manifest_size(merge.model_id) == 0
    assert list(merge.event.composition[1]) == [base.model_id]


def test_register_model__version_of_own_model(models, dataset, register_model):
    d = dataset(private=False)
    first = register_model({d: [0]})
    second = register_model({d: [0, 1]}, version_of=first.model_id)
    assert second.event.version_of == first.model_id


# -- bad input: one sentence, nothing registered -------------------------------------


def _args(reg_comp, root, receipts=(), weights=None, manifest_cid=None):
    return (
        weights or cid(1),
        root,
        manifest_cid or cid(2),
        cid(3),
        reg_comp,
        list(receipts),
        "MIT",
        0,
    )


@pytest.fixture
def public(dataset):
    return dataset(private=False)


@pytest.fixture
def one(registry, public):
    """A valid composition of one public dataset (2 rows) and its manifest root."""
    return composition(registry, {public: 2}), Manifest([(public, 0), (public, 1)]).root


def test_register_model__zero_weights_cid_reverts(models, trainer, one):
    with boa.reverts("models: zero weights CID"):
        models.register_model(*_args(one[0], one[1], weights=ZERO_CID), sender=trainer)
    assert models.model_count() == 0


def test_register_model__zero_manifest_cid_reverts(models, trainer, one):
    with boa.reverts("models: zero manifest CID"):
        models.register_model(*_args(one[0], one[1], manifest_cid=ZERO_CID), sender=trainer)


def test_register_model__zero_manifest_root_reverts(models, trainer, one):
    with boa.reverts("models: zero manifest root"):
        models.register_model(*_args(one[0], b"\x00" * 32), sender=trainer)


@pytest.mark.parametrize("shares", [(10001, 0), (6000, 4001)])
def test_register_model__shares_above_whole_revert(models, trainer, registry, public, shares):
    comp = composition(registry, {public: 2}, [], *shares)
    with boa.reverts("models: shares above 100%"):
        models.register_model(*_args(comp, b"\x01" * 32), sender=trainer)


def test_register_model__data_share_without_datasets_reverts(models, trainer):
    with boa.reverts("models: data share without datasets"):
        models.register_model(*_args(([], [], 1, 0), EMPTY_ROOT), sender=trainer)


def test_register_model__parent_share_without_parents_reverts(models, trainer):
    with boa.reverts("models: parent share without parents"):
        models.register_model(*_args(([], [], 0, 1), EMPTY_ROOT), sender=trainer)


def test_register_model__unknown_version_of_reverts(models, trainer, one):
    args = list(_args(*one))
    args[7] = 1
    with boa.reverts("models: unknown version_of"):
        models.register_model(*args, sender=trainer)


def test_register_model__version_of_someone_elses_reverts(
    models, trainer, other, one, register_model, public
):
    register_model({public: [0]}, sender=other)
    args = list(_args(*one))
    args[7] = 1
    with boa.reverts("models: not the owner of version_of"):
        models.register_model(*args, sender=trainer)


def test_register_model__unknown_parent_model_reverts(models, trainer):
    with boa.reverts("models: unknown parent model"):
        models.register_model(*_args(([], [1], 0, 0), EMPTY_ROOT), sender=trainer)


def test_register_model__parents_not_increasing_revert(models, trainer, public, register_model):
    register_model({public: [0]})
    with boa.reverts("models: parents not strictly increasing"):
        models.register_model(*_args(([], [1, 1], 0, 0), EMPTY_ROOT), sender=trainer)


def test_register_model__datasets_not_increasing_revert(models, trainer, registry, public):
    d = (public, registry.row_root(public), 1)
    with boa.reverts("models: datasets not strictly increasing"):
        models.register_model(*_args(([d, d], [], 0, 0), b"\x01" * 32), sender=trainer)


def test_register_model__unknown_dataset_reverts(models, trainer):
    # The registry's own sentence: checking first would cost every registration a call.
    with boa.reverts("registry: unknown dataset"):
        models.register_model(
            *_args(([(9, b"\x01" * 32, 1)], [], 0, 0), b"\x01" * 32), sender=trainer
        )


def test_register_model__row_root_differs_from_registry_reverts(models, trainer, public):
    with boa.reverts("models: row root differs from the registry's"):
        models.register_model(
            *_args(([(public, b"\x01" * 32, 1)], [], 0, 0), b"\x01" * 32), sender=trainer
        )


def test_register_model__no_rows_used_of_dataset_reverts(models, trainer, registry, public):
    comp = composition(registry, {public: 0}, [], 0, 0)
    with boa.reverts("models: no rows used of a dataset"):
        models.register_model(*_args(comp, b"\x01" * 32), sender=trainer)


def test_register_model__more_rows_than_dataset_has_reverts(models, trainer, registry, dataset):
    small = dataset(private=False, rows=3)
    comp = composition(registry, {small: 4}, [], 0, 0)
    with boa.reverts("models: more rows used than the dataset has"):
        models.register_model(*_args(comp, b"\x01" * 32), sender=trainer)


def test_register_model__manifest_above_64_bits_reverts(models, trainer, registry, dataset):
    top = 2**64 - 1
    a, b = dataset(private=False, rows=top), dataset(private=False, rows=top)
    comp = composition(registry, {a: top, b: top}, [], 0, 0)
    with boa.reverts("models: manifest too large"):
        models.register_model(*_args(comp, b"\x01" * 32), sender=trainer)


def test_register_model__no_rows_with_non_empty_root_reverts(models, trainer):
    with boa.reverts("models: no rows used needs the empty root"):
        models.register_model(*_args(([], [], 0, 0), b"\x01" * 32), sender=trainer)


# -- receipts ------------------------------------------------------------------------


@pytest.fixture
def private(dataset):
    return dataset()


@pytest.fixture
def private_comp(registry, private):
    return composition(registry, {private: 1}), Manifest([(private, 0)]).root


def test_register_model__listed_dataset_without_receipt_reverts(
    models, trainer, private_comp, purchase, private
):
    purchase(private)  # bought and delivered, but not named
    with boa.reverts("models: no receipt for a private dataset"):
        models.register_model(*_args(*private_comp), sender=trainer)
    assert models.model_count() == 0


def test_register_model__receipt_for_a_dataset_not_used_reverts(
    models, trainer, dataset, purchase, private_comp
):
    receipt = purchase(dataset())
    with boa.reverts("models: receipt for a dataset not used"):
        models.register_model(*_args(*private_comp, [receipt]), sender=trainer)


def test_register_model__two_receipts_for_one_dataset_revert(
    models, trainer, purchase, private, private_comp
):
    first, second = purchase(private), purchase(private)
    with boa.reverts("models: two receipts for one dataset"):
        models.register_model(*_args(*private_comp, [first, second]), sender=trainer)


def test_register_model__receipt_for_someone_else_reverts(
    models, trainer, buyer, purchase, private, private_comp
):
    receipt = purchase(private, buyer=buyer)
    with boa.reverts("models: receipt for another account"):
        models.register_model(*_args(*private_comp, [receipt]), sender=trainer)


def test_register_model__receipt_with_altered_terms_reverts(
    models, trainer, purchase, private, private_comp
):
    pid, terms = purchase(private)
    forged = list(terms)
    forged[6] = terms[6] * 100  # a longer duration than was bought
    with boa.reverts("models: receipt terms mismatch"):
        models.register_model(*_args(*private_comp, [(pid, tuple(forged))]), sender=trainer)


def test_register_model__undelivered_receipt_reverts(
    models, trainer, purchase, private, private_comp
):
    receipt = purchase(private, deliver=False)
    with boa.reverts("models: receipt not delivered"):
        models.register_model(*_args(*private_comp, [receipt]), sender=trainer)


def test_register_model__objected_receipt_reverts(
    market, models, trainer, purchase, private, private_comp
):
    pid, terms = purchase(private)
    market.object_key(pid, terms, sender=trainer)
    with boa.reverts("models: receipt disputed"):
        models.register_model(*_args(*private_comp, [(pid, terms)]), sender=trainer)


def test_register_model__refunded_receipt_reverts(
    market, models, trainer, purchase, private, private_comp
):
    pid, terms = purchase(private, deliver=False)
    wait(REFUND_TIMEOUT)
    market.refund(pid, terms, sender=trainer)
    with boa.reverts("models: receipt refunded"):
        models.register_model(*_args(*private_comp, [(pid, terms)]), sender=trainer)


def test_register_model__refunded_after_objection_reverts(
    market, models, trainer, purchase, private, private_comp
):
    pid, terms = purchase(private)
    market.object_key(pid, terms, sender=trainer)
    wait(REVEAL_WINDOW)
    market.refund(pid, terms, sender=trainer)
    with boa.reverts("models: receipt refunded"):
        models.register_model(*_args(*private_comp, [(pid, terms)]), sender=trainer)


def test_register_model__expired_access_reverts(
    market, models, trainer, other, purchase, private, private_comp
):
    pid, terms = purchase(private)
    wait(terms[6] + 1)
    with boa.reverts("models: access expired"):
        models.register_model(*_args(*private_comp, [(pid, terms)]), sender=trainer)
