"""ModelRegistry and Consent: `row_withdrawal` flags a model whose manifest includes a
withdrawn row (given the manifest opening), and `buy_model` pauses while a dataset the
model was trained on is paused."""

from __future__ import annotations

import boa
import pytest

from datasoil.protocol import consent as protocol
from tests.contracts.models.conftest import composition, manifest_of

from .conftest import NO_PROOF, deploy, event, people_rows

MODEL_PRICE = 10**18
CID = ((1 << 64) | 0x55, b"\x44" * 32)


@pytest.fixture
def register(models, registry, cleaner):
    """Register a model trained on ``rows`` (dataset id -> row indices) of public data."""

    def _register(uses):
        manifest = manifest_of(uses)
        comp = composition(registry, {d: len(set(r)) for d, r in uses.items()})
        models.register_model(CID, manifest.root, CID, CID, comp, [], "MIT", 0, sender=cleaner)
        return int(event(models, "ModelRegistered").model_id), manifest, comp

    return _register


@pytest.fixture
def sell(models, token, cleaner, other):
    def _sell(model_id, comp):
        if not models.listing(model_id).active:
            models.list_model(model_id, token, MODEL_PRICE, 3600, sender=cleaner)
        token.approve(models, MODEL_PRICE, sender=other)
        return models.buy_model(model_id, comp, token, MODEL_PRICE, 0, sender=other)

    return _sell


def test_row_withdrawal__flags_an_included_row_open_then_answered(
    consent, models, people, clean, register, signed, subjects, owner, other
):
    model, manifest, _ = register({people.dataset_id: [1, 2, 3]})
    d = people.dataset_id

    def flag(i):
        position = manifest.position(d, i)
        return models.row_withdrawal(model, d, i, position, manifest.path(position))

    assert flag(1) == 0
    consent.request_withdrawal(d, 1, signed(people, 1, subjects[1]), sender=other)
    assert (flag(1), flag(2)) == (protocol.OPEN, 0)
    cleaning = clean(people, {1})
    consent.answer(d, cleaning.claim_id, [cleaning.opening(1)], sender=owner)
    assert flag(1) == protocol.ANSWERED


def test_row_withdrawal__row_not_in_the_manifest_reverts(consent, models, people, register, owner):
    model, manifest, _ = register({people.dataset_id: [1, 2, 3]})
    consent.request_withdrawal(people.dataset_id, 4, NO_PROOF, sender=owner)
    position = manifest.position(people.dataset_id, 3)
    with boa.reverts("models: row not proven in the manifest"):
        models.row_withdrawal(model, people.dataset_id, 4, position, manifest.path(position))


def test_row_withdrawal__unknown_model_reverts(models, people):
    with boa.reverts("models: unknown model"):
        models.row_withdrawal(99, people.dataset_id, 0, 0, [])


def test_row_withdrawal__without_consent_is_none(registry, people, cleaner):
    market = deploy("AccessMarket", registry, 600, 300, 200)  # no consent set
    bare_models = deploy("ModelRegistry", market)
    manifest = manifest_of({people.dataset_id: [0]})
    comp = composition(registry, {people.dataset_id: 1})
    bare_models.register_model(CID, manifest.root, CID, CID, comp, [], "MIT", 0, sender=cleaner)
    assert bare_models.row_withdrawal(1, people.dataset_id, 0, 0, manifest.path(0)) == 0


def test_buy_model__paused_while_its_data_is_and_after_the_answer(
    consent, people, publish, clean, register, sell, owner, subjects
):
    extra = publish(people_rows(subjects, 3)).dataset_id
    model, _, comp = register({extra: [0], people.dataset_id: [2, 3]})
    sell(model, comp)
    consent.request_withdrawal(people.dataset_id, 7, NO_PROOF, sender=owner)
    with boa.reverts("models: sales paused by a withdrawal"):
        sell(model, comp)
    cleaning = clean(people, {7})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(7)], sender=owner)
    with boa.reverts("models: sales paused by a withdrawal"):
        sell(model, comp)  # trained on the superseded version: retrain on the new one
    retrained, _, retrained_comp = register({extra: [0], cleaning.child.dataset_id: [2, 3]})
    assert sell(retrained, retrained_comp) > 0
