from __future__ import annotations

import boa
import pytest

from .conftest import LICENCE, MODEL_PRICE, UPSTREAM_BPS, deploy, event, events


@pytest.fixture
def lineage(dataset, owner, other, buyer):
    """root (owner) <- child (other, private): the child's sales pass a share up."""
    root = dataset(sender=owner, private=False)
    child = dataset(sender=other, parents=[root])
    return root, child


@pytest.fixture
def sold(
    models, registry, token, market, trainer, other, dataset, purchase, register_model, lineage
):
    """A model on 4 rows of the child (bought) and 1 row of a public dataset, with a
    parent model, listed; data 40%, parents 10%."""
    root, child = lineage
    receipt = purchase(child, seller=other)
    # the child's owner lists with a 10% upstream share
    assert market.listing(child).upstream_bps == UPSTREAM_BPS
    base = register_model({root: [0]}, sender=other, data_bps=0).model_id
    public = dataset(private=False)
    reg = register_model(
        {child: [0, 1, 2, 3], public: [5]},
        [receipt],
        parents=[base],
        data_bps=4000,
        parents_bps=1000,
    )
    models.list_model(reg.model_id, token, MODEL_PRICE, LICENCE, sender=trainer)
    return reg, root, child, public, base


def _buy(models, tok, customer, reg, **kw):
    tok.approve(models, kw.pop("allowance", MODEL_PRICE), sender=customer)
    args = dict(comp=reg.composition, token=tok, max_price=MODEL_PRICE, min_duration=LICENCE)
    args.update(kw)
    return models.buy_model(
        reg.model_id,
        args["comp"],
        args["token"],
        args["max_price"],
        args["min_duration"],
        sender=customer,
    )


def test_buy_model__credits_owner_data_lineage_and_parents(
    models, token, owner, other, trainer, customer, sold
):
    reg, root, child, public, base = sold
    before = token.balanceOf(customer)
    _buy(models, token, customer, reg)
    sale = event(models, "ModelSold")
    data = MODEL_PRICE * 4000 // 10000
    child_part, public_part = data * 4 // 5, data * 1 // 5
    to_root = child_part * UPSTREAM_BPS // 10000
    parent_part = MODEL_PRICE * 1000 // 10000
    credits = [
        (int(e.dataset_id), int(e.source_model), e.account, int(e.amount))
        for e in events(models, "Credited")
    ]
    assert credits == [
        (root, 0, owner, to_root),
        (child, 0, other, child_part - to_root),
        (public, 0, owner, public_part),
        (0, base, other, parent_part),
        (0, reg.model_id, trainer, MODEL_PRICE - data - parent_part),
    ]
    assert sum(c[3] for c in credits) == MODEL_PRICE
    assert token.balanceOf(models) == MODEL_PRICE
    assert token.balanceOf(customer) == before - MODEL_PRICE
    assert models.credit(token, owner) == to_root + public_part
    assert models.credit(token, other) == child_part - to_root + parent_part
    now = boa.env.evm.patch.timestamp
    assert models.licence_expiry(reg.model_id, customer) == now + LICENCE
    assert models.has_licence(reg.model_id, customer)
    assert (sale.model_id, sale.buyer, sale.token, sale.price, sale.licence_expiry) == (
        reg.model_id,
        customer,
        token.address,
        MODEL_PRICE,
        now + LICENCE,
    )
    quote = models.quote_sale(reg.model_id, reg.composition, MODEL_PRICE)
    assert [
        (int(q.dataset_id), int(q.model_id), q.account, int(q.amount)) for q in quote
    ] == credits


def test_buy_model__second_sale_extends_licence(models, token, customer, sold):
    reg = sold[0]
    _buy(models, token, customer, reg)
    first = models.licence_expiry(reg.model_id, customer)
    _buy(models, token, customer, reg)
    assert models.licence_expiry(reg.model_id, customer) == first + LICENCE


def test_withdraw__pays_credits_once(models, token, owner, customer, sold):
    _buy(models, token, customer, sold[0])
    amount = models.credit(token, owner)
    before = token.balanceOf(owner)
    models.withdraw(token, sender=owner)
    withdrawn = event(models, "Withdrawn")
    assert token.balanceOf(owner) == before + amount and models.credit(token, owner) == 0
    assert (withdrawn.token, withdrawn.account, withdrawn.amount) == (token.address, owner, amount)
    with boa.reverts("models: nothing to withdraw"):
        models.withdraw(token, sender=owner)


def test_buy_model__not_listed_reverts(models, token, trainer, customer, sold):
    models.delist_model(sold[0].model_id, sender=trainer)
    with boa.reverts("models: not listed"):
        _buy(models, token, customer, sold[0])


def test_buy_model__lapsed_listing_reverts(models, token, trainer, other, customer, sold):
    models.propose_owner(sold[0].model_id, other, sender=trainer)
    models.accept_owner(sold[0].model_id, sender=other)
    with boa.reverts("models: listing lapsed"):
        _buy(models, token, customer, sold[0])


def test_buy_model__owner_buying_reverts(models, token, trainer, sold):
    with boa.reverts("models: buyer is the owner"):
        _buy(models, token, trainer, sold[0])


def test_buy_model__other_token_reverts(models, token, customer, other, sold):
    with boa.reverts("models: token changed"):
        _buy(models, token, customer, sold[0], token=other)


def test_buy_model__token_disallowed_since_listing_reverts(
    market, models, token, deployer, customer, sold
):
    market.set_token_allowed(token, False, sender=deployer)
    with boa.reverts("models: token not allowed"):
        _buy(models, token, customer, sold[0])


def test_buy_model__price_above_max_reverts(models, token, customer, sold):
    with boa.reverts("models: price above max"):
        _buy(models, token, customer, sold[0], max_price=MODEL_PRICE - 1)


def test_buy_model__duration_below_min_reverts(models, token, customer, sold):
    with boa.reverts("models: duration below min"):
        _buy(models, token, customer, sold[0], min_duration=LICENCE + 1)


def test_buy_model__altered_composition_reverts(models, token, customer, sold):
    datasets, parents, data_bps, parents_bps = sold[0].composition
    with boa.reverts("models: composition mismatch"):
        _buy(models, token, customer, sold[0], comp=(datasets, parents, data_bps - 1, parents_bps))


def test_buy_model__insufficient_allowance_reverts(models, token, customer, sold):
    with boa.reverts("models: insufficient allowance"):
        _buy(models, token, customer, sold[0], allowance=MODEL_PRICE - 1)


def test_quote_sale__altered_composition_and_large_price_revert(models, sold):
    reg = sold[0]
    with boa.reverts("models: composition mismatch"):
        models.quote_sale(reg.model_id, ([], [], 0, 0), MODEL_PRICE)
    with boa.reverts("models: price too large"):
        models.quote_sale(reg.model_id, reg.composition, 2**96)
    with boa.reverts("models: unknown model"):
        models.quote_sale(99, reg.composition, 1)


def _listed_with(deployer, market, models, token_type, trainer, customer, dataset, register_model):
    tok = deploy(f"test/{token_type}")
    tok.mint(customer, 10 * MODEL_PRICE, sender=deployer)
    market.set_token_allowed(tok, True, sender=deployer)
    reg = register_model({dataset(private=False): [0]})
    models.list_model(reg.model_id, tok, MODEL_PRICE, LICENCE, sender=trainer)
    tok.approve(models, MODEL_PRICE, sender=customer)
    return tok, reg


def test_buy_model__fee_taking_token_reverts(
    deployer, market, models, trainer, customer, dataset, register_model
):
    fee, reg = _listed_with(
        deployer,
        market,
        models,
        "FeeTokenMock",
        trainer,
        customer,
        dataset,
        register_model,
    )
    with boa.reverts("models: token took a fee"):
        models.buy_model(reg.model_id, reg.composition, fee, MODEL_PRICE, LICENCE, sender=customer)


def test_reentrancy__callbacks_during_buy_and_withdraw_are_refused(
    deployer, market, models, trainer, customer, other, dataset, register_model
):
    hook, reg = _listed_with(
        deployer,
        market,
        models,
        "ReentrantTokenMock",
        trainer,
        customer,
        dataset,
        register_model,
    )
    hook.arm(models, models.withdraw.prepare_calldata(hook), sender=other)
    models.buy_model(reg.model_id, reg.composition, hook, MODEL_PRICE, LICENCE, sender=customer)
    assert (hook.attempts(), hook.successes()) == (1, 0)
    models.withdraw(hook, sender=trainer)
    assert (hook.attempts(), hook.successes()) == (2, 0)
    assert models.credit(hook, trainer) == 0
