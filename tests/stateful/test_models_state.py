"""Data sales and model sales side by side: tokens are conserved across both.

Datasets: a public root (owner A) and a private child of it (owner B, listed on the
market). A trainer buys the child, and registers two models: M1 on rows of the child
and of a public dataset, M2 a fine-tune of M1 on more rows of the child. Both are listed
(M1 may change hands and be relisted). Rules interleave data purchases (bought,
delivered, settled), model sales and withdrawals from both contracts. A plain-Python
model computes every model sale's credits from the documented rule (data share pro
rata to rows used, each dataset's part by the market's royalty rule of
tests/contracts/market/model.py, parents in equal parts, the rest to the owner).
Invariants: each contract's balance is exactly its escrow plus the credits it owes; the
token's supply over all holders never changes; every account's credit matches.
"""

from __future__ import annotations

import hashlib
import os

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.contracts.market import model
from tests.contracts.models.conftest import ENVELOPE, cid, manifest_of, terms_tuple

PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
PRICE, DURATION, BPS_CHILD = 10**15, 3600, 2500


def test_models_state(project, registry, token, accounts, chain, deployer):
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    models = deployer.deploy(project.ModelRegistry, market)
    a, b, trainer, c1, c2, heir = (accounts[i] for i in (1, 2, 7, 5, 6, 3))
    holders = [str(x) for x in (a, b, trainer, c1, c2, heir, market, models)]
    supply = sum(token.balanceOf(h) for h in holders)

    def register(sender, private, parents=()):
        seed = registry.dataset_count() + 500
        tx = registry.register(
            cid(seed),
            hashlib.sha256(b"s%d" % seed).digest(),
            50,
            private,
            cid(seed + 1),
            "MIT",
            list(parents),
            0,
            sender=sender,
        )
        return int(tx.decode_logs(registry.DatasetRegistered)[0].dataset_id)

    root = register(a, False)
    child = register(b, True, [root])
    public = register(a, False)
    parents_of = {root: [], child: [root], public: []}
    owner_of = {root: str(a), child: str(b), public: str(a)}
    market.list_dataset(child, token, PRICE, 10**6, BPS_CHILD, b"\x01" * 32, sender=b)
    for x in (trainer, c1, c2, heir):
        token.approve(market, 2**255, sender=x)
        token.approve(models, 2**255, sender=x)

    def buy_data(buyer):
        tx = market.buy(child, token, PRICE, 1, b"\x11" * 32, sender=buyer)
        (ev,) = tx.decode_logs(market.Purchased)
        pid, terms = int(ev.purchase_id), terms_tuple(ev.terms)
        market.deliver_key(pid, terms, ENVELOPE, sender=b)
        return pid, terms

    receipt = buy_data(trainer)
    rows1 = {child: list(range(0, 30)), public: list(range(0, 10))}
    rows2 = {child: list(range(10, 50))}

    def comp(rows, parents, data_bps, parents_bps):
        ds = [(d, registry.row_root(d), len(set(r))) for d, r in sorted(rows.items())]
        return (ds, list(parents), data_bps, parents_bps)

    def register_model(rows, parents, data_bps, parents_bps):
        c = comp(rows, parents, data_bps, parents_bps)
        tx = models.register_model(
            cid(models.model_count() + 900),
            manifest_of(rows).root,
            cid(1),
            cid(2),
            c,
            [receipt],
            "MIT",
            0,
            sender=trainer,
        )
        return int(tx.decode_logs(models.ModelRegistered)[0].model_id), c

    m1, comp1 = register_model(rows1, [], 4000, 0)
    m2, comp2 = register_model(rows2, [m1], 3000, 2000)
    for m in (m1, m2):
        models.list_model(m, token, PRICE * 3, DURATION, sender=trainer)

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.model_owner = {m1: str(trainer), m2: str(trainer)}
            self.comp = {m1: comp1, m2: comp2}
            self.model_credit: dict[str, int] = {}
            self.market_credit = {h: int(market.credit(token, h)) for h in holders}
            self.escrow = PRICE  # the trainer's delivered purchase, not yet settled
            self.open = [receipt]
            self.listed = {m1: True, m2: True}

        def teardown(self):
            chain.restore(self.snapshot)

        def expected_sale(self, m, price):
            datasets, parents, data_bps, parents_bps = self.comp[m]
            size = sum(n for _, _, n in datasets)
            credits: list[tuple[str, int]] = []
            data = price * data_bps // 10_000
            for d, _, n in datasets:
                part = data * n // size
                if part:
                    share = lambda x: BPS_CHILD if x == child else model.DEFAULT_UPSTREAM_BPS  # noqa: E731
                    for _, who, amt in model.split(
                        d, part, parents_of.__getitem__, owner_of.__getitem__, share
                    ):
                        if amt:
                            credits.append((who, amt))
            up = price * parents_bps // 10_000
            if up and up // len(parents):
                credits += [(self.model_owner[p], up // len(parents)) for p in parents]
            credits.append((self.model_owner[m], price - sum(x for _, x in credits)))
            return credits

        @rule(m=st.sampled_from([m1, m2]), who=st.sampled_from([c1, c2, heir]))
        def buy_model(self, m, who):
            if not self.listed[m] or str(who) == self.model_owner[m]:
                return
            tx = models.buy_model(m, self.comp[m], token, PRICE * 3, DURATION, sender=who)
            got = [(str(e.account), int(e.amount)) for e in tx.decode_logs(models.Credited)]
            assert got == self.expected_sale(m, PRICE * 3)
            for acct, amt in got:
                self.model_credit[acct] = self.model_credit.get(acct, 0) + amt

        @rule(who=st.sampled_from([c1, c2]))
        def buy_data(self, who):
            self.open.append(buy_data(who))
            self.escrow += PRICE

        @rule()
        def settle_data(self):
            if not self.open:
                return
            pid, terms = self.open.pop(0)
            chain.pending_timestamp = max(
                chain.pending_timestamp, int(market.purchase(pid).since) + 60
            )
            tx = market.settle(pid, terms, sender=a)
            for e in tx.decode_logs(market.Credited):
                self.market_credit[str(e.account)] = self.market_credit.get(
                    str(e.account), 0
                ) + int(e.amount)
            self.escrow -= PRICE

        @rule(who=st.sampled_from([a, b, trainer, heir]), from_models=st.booleans())
        def withdraw(self, who, from_models):
            ledger = self.model_credit if from_models else self.market_credit
            if not ledger.get(str(who)):
                return
            (models if from_models else market).withdraw(token, sender=who)
            ledger[str(who)] = 0

        @rule()
        def transfer_m1(self):
            frm, to = (trainer, heir) if self.model_owner[m1] == str(trainer) else (heir, trainer)
            models.propose_owner(m1, to, sender=frm)
            models.accept_owner(m1, sender=to)
            self.model_owner[m1] = str(to)
            self.listed[m1] = False

        @rule()
        def relist_m1(self):
            owner = trainer if self.model_owner[m1] == str(trainer) else heir
            models.list_model(m1, token, PRICE * 3, DURATION, sender=owner)
            self.listed[m1] = True

        @invariant()
        def tokens_conserved(self):
            if not hasattr(self, "escrow"):
                return
            assert token.balanceOf(models) == sum(self.model_credit.values())
            assert token.balanceOf(market) == self.escrow + sum(self.market_credit.values())
            assert sum(token.balanceOf(h) for h in holders) == supply
            for acct, amt in self.model_credit.items():
                assert models.credit(token, acct) == amt

    run_state_machine_as_test(Machine, settings=PROFILE)
