from __future__ import annotations

import boa
import pytest

from .conftest import LICENCE, MODEL_PRICE, event


@pytest.fixture
def model(dataset, register_model):
    return register_model({dataset(private=False): [0, 1]}).model_id


def test_propose_owner__records_pending_and_logs(models, trainer, other, model):
    models.propose_owner(model, other, sender=trainer)
    started = event(models, "OwnershipTransferStarted")
    assert models.pending_owner(model) == other
    assert (started.model_id, started.owner, started.pending_owner) == (model, trainer, other)


def test_propose_owner__not_owner_reverts(models, other, model):
    with boa.reverts("models: not the model owner"):
        models.propose_owner(model, other, sender=other)


def test_accept_owner__moves_owner_advances_period_lapses_listing(
    models, token, trainer, other, model
):
    models.list_model(model, token, MODEL_PRICE, LICENCE, sender=trainer)
    models.propose_owner(model, other, sender=trainer)
    models.accept_owner(model, sender=other)
    transferred = event(models, "OwnershipTransferred")
    assert models.ownership(model) == (other, 1)
    assert models.pending_owner(model) == "0x" + "00" * 20
    assert (transferred.previous_owner, transferred.new_owner) == (trainer, other)
    assert models.listing(model).active is False
    assert models.manifest_size(model) == 2  # the packed record keeps its other fields


def test_accept_owner__not_pending_reverts(models, trainer, other, model):
    with boa.reverts("models: not the pending owner"):
        models.accept_owner(model, sender=other)


def test_list_model__stores_listing_and_logs(models, token, trainer, model):
    models.list_model(model, token, MODEL_PRICE, LICENCE, sender=trainer)
    listed = event(models, "ModelListed")
    listing = models.listing(model)
    assert (listing.lister, listing.token, listing.price, listing.duration, listing.active) == (
        trainer,
        token.address,
        MODEL_PRICE,
        LICENCE,
        True,
    )
    assert (listed.model_id, listed.lister, listed.token, listed.price, listed.duration) == (
        model,
        trainer,
        token.address,
        MODEL_PRICE,
        LICENCE,
    )


def test_list_model__disallowed_token_makes_listing_inactive(
    market, models, deployer, token, trainer, model
):
    models.list_model(model, token, MODEL_PRICE, LICENCE, sender=trainer)
    market.set_token_allowed(token, False, sender=deployer)
    assert models.listing(model).active is False


@pytest.mark.parametrize(
    "price, duration, reason",
    [
        (0, LICENCE, "models: zero price"),
        (2**96, LICENCE, "models: price too large"),
        (MODEL_PRICE, 0, "models: zero duration"),
        (MODEL_PRICE, 2**30, "models: duration too long"),
    ],
)
def test_list_model__bad_terms_revert(models, token, trainer, model, price, duration, reason):
    with boa.reverts(reason):
        models.list_model(model, token, price, duration, sender=trainer)


def test_list_model__not_owner_reverts(models, token, other, model):
    with boa.reverts("models: not the model owner"):
        models.list_model(model, token, MODEL_PRICE, LICENCE, sender=other)


def test_list_model__token_not_allowed_reverts(models, trainer, other, model):
    with boa.reverts("models: token not allowed"):
        models.list_model(model, other, MODEL_PRICE, LICENCE, sender=trainer)


def test_delist_model__clears_listing_and_logs(models, token, trainer, model):
    models.list_model(model, token, MODEL_PRICE, LICENCE, sender=trainer)
    models.delist_model(model, sender=trainer)
    delisted = event(models, "ModelDelisted")
    assert models.listing(model).active is False and models.listing(model).price == 0
    assert (delisted.model_id, delisted.lister) == (model, trainer)


def test_delist_model__not_listed_reverts(models, trainer, model):
    with boa.reverts("models: not listed"):
        models.delist_model(model, sender=trainer)


def test_delist_model__not_owner_reverts(models, token, trainer, other, model):
    models.list_model(model, token, MODEL_PRICE, LICENCE, sender=trainer)
    with boa.reverts("models: not the model owner"):
        models.delist_model(model, sender=other)


def test_owner_of__unknown_model_reverts(models):
    with boa.reverts("models: unknown model"):
        models.owner_of(1)
    with boa.reverts("models: unknown model"):
        models.ownership(1)
    with boa.reverts("models: unknown model"):
        models.manifest_size(1)
