"""Gas of ModelRegistry's budgeted operations, in the storage state each budget assumes.

Run by `make test` (the operations must succeed) and by `make bench`, which sets
DATASOIL_GAS_OUT so the figures land in bench/gas.md. No gas is asserted here.

States: `model_count` is non-zero (an earlier registration); the registrant's receipt is
a delivered purchase; for the sale, every account credited already holds credits (an
earlier sale) and the buyer is new (its licence slot is written for the first time); the
market is bound to a Consent contract (as deployed), with no withdrawal in the lineage.
"""

from __future__ import annotations

import hashlib

import dag_cbor

from tests.gas._consent import deploy_consent

PRICE = 10**18
DURATION = 30 * 86400
ENVELOPE = b'{"ciphertext":"AAAA","ephemPublicKey":"BBBB","nonce":"CCCC","version":"x"}'


def _cid(seed: int) -> tuple[int, bytes]:
    return ((1 << 64) | 0x55, hashlib.sha256(b"gas-models%d" % seed).digest())


def _register(registry, sender, seed, parents=(), private=True):
    tx = registry.register(
        _cid(seed),
        hashlib.sha256(b"root%d" % seed).digest(),
        1000,
        private,
        _cid(1000 + seed),
        "CC-BY-4.0",
        list(parents),
        0,
        sender=sender,
    )
    return int(tx.decode_logs(registry.DatasetRegistered)[0].dataset_id)


def _root(entries):
    leaves = [hashlib.sha256(b"\x00" + bytes(dag_cbor.encode(list(e)))).digest() for e in entries]

    def mth(xs):
        if len(xs) == 1:
            return xs[0]
        k = 1 << ((len(xs) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(xs[:k]) + mth(xs[k:])).digest()

    return mth(leaves)


def _terms(t):
    return (
        (
            t.buyer,
            t.dataset_id,
            t.seller,
            t.period,
            t.token,
            t.price,
            t.duration,
            t.created,
            t.key_commitment,
            [[c.dataset_id, c.account, c.amount] for c in t.credits],
        )
        if hasattr(t, "buyer")
        else t
    )


def test_gas__models(project, chain, deployer, registry, token, accounts, gas_log):
    raw_owner, seller, trainer, early, customer = (
        accounts[1],
        accounts[2],
        accounts[7],
        accounts[3],
        accounts[6],
    )
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    market.set_consent(deploy_consent(project, deployer, registry, token)[0], sender=deployer)
    models = deployer.deploy(project.ModelRegistry, market)
    root_a = _register(registry, raw_owner, 1, private=False)
    root_b = _register(registry, raw_owner, 2, private=False)
    child_a = _register(registry, seller, 3, [root_a])
    child_b = _register(registry, seller, 4, [root_b], private=False)
    market.list_dataset(child_a, token, PRICE, DURATION, 1000, b"\x01" * 32, sender=seller)
    token.approve(market, PRICE, sender=trainer)
    tx = market.buy(child_a, token, PRICE, DURATION, b"\x11" * 32, sender=trainer)
    (event,) = tx.decode_logs(market.Purchased)
    pid, terms = int(event.purchase_id), _terms(event.terms)
    market.deliver_key(pid, terms, ENVELOPE, sender=seller)

    def composition(uses, parents=(), data_bps=4000, parents_bps=0):
        ds = [(d, registry.row_root(d), len(rows)) for d, rows in uses]
        return (ds, list(parents), data_bps, parents_bps)

    def register(uses, receipts, **kw):
        comp = composition(uses, **kw)
        entries = sorted((d, i) for d, rows in uses for i in rows)
        tx = models.register_model(
            _cid(models.model_count() + 50),
            _root(entries),
            _cid(60),
            _cid(70),
            comp,
            receipts,
            "Apache-2.0",
            0,
            sender=trainer,
        )
        return int(tx.decode_logs(models.ModelRegistered)[0].model_id), comp, tx

    uses = [(child_a, range(0, 600)), (child_b, range(0, 400))]
    register(uses, [(pid, terms)])  # an earlier registration: model_count is non-zero
    model_id, comp, tx = register(uses, [(pid, terms)])
    gas_log("models: register_model (2 datasets, 1 receipt)", tx)

    models.list_model(model_id, token, PRICE, DURATION, sender=trainer)
    token.approve(models, PRICE, sender=early)
    models.buy_model(model_id, comp, token, PRICE, DURATION, sender=early)
    token.approve(models, PRICE, sender=customer)
    tx = models.buy_model(model_id, comp, token, PRICE, DURATION, sender=customer)
    assert len(tx.decode_logs(models.Credited)) == 5
    gas_log("models: buy_model (owner + 2 datasets + 2 ancestors holding credits, new buyer)", tx)

    tx = models.withdraw(token, sender=raw_owner)
    gas_log("models: withdraw (registry keeps a balance, receiver holds the token)", tx)
