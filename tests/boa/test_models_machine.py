"""Data sales and model sales side by side: tokens are conserved across both, on titanoboa.

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

The world (contracts, datasets, the two models) is built once; each example runs in its
own `boa.env.anchor()`. The machine is a module-level class, importable by a deeper run;
the CI profile here is larger than the anvil one it replaces.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.boa.conftest import load
from tests.contracts._boa import event, events
from tests.contracts.market import model
from tests.contracts.models.conftest import ENVELOPE, cid, manifest_of, terms_tuple

PRICE, DURATION, BPS_CHILD = 10**15, 3600, 2500
NAMES = ("deployer", "a", "b", "trainer", "c1", "c2", "heir")
ACTORS = {name: boa.env.generate_address(f"models-machine-{name}") for name in NAMES}
A, B, TRAINER, C1, C2, HEIR = (ACTORS[n] for n in NAMES[1:])


@dataclass
class World:
    registry: Any
    token: Any
    market: Any
    models: Any
    root: int
    child: int
    public: int
    receipt: tuple[int, tuple[Any, ...]]
    m1: int
    m2: int
    comp: dict[int, tuple[Any, ...]]
    holders: list[str]
    supply: int

    def parents_of(self, d: int) -> list[int]:
        return {self.root: [], self.child: [self.root], self.public: []}[d]

    def owner_of(self, d: int) -> str:
        return {self.root: A, self.child: B, self.public: A}[d]

    def buy_data(self, buyer: str) -> tuple[int, tuple[Any, ...]]:
        """Buy the child (delivered at once); return the receipt (purchase id, terms)."""
        self.market.buy(self.child, self.token, PRICE, 1, b"\x11" * 32, sender=buyer)
        ev = event(self.market, "Purchased")
        pid, terms = int(ev.purchase_id), terms_tuple(ev.terms)
        self.market.deliver_key(pid, terms, ENVELOPE, sender=B)
        return pid, terms


def _build() -> World:
    deployer = ACTORS["deployer"]
    with boa.env.prank(deployer):
        registry = load("DatasetRegistry")
        token = load("DemoToken", "datasoil demo", "SOIL")
        market = load("AccessMarket", registry.address, 600, 60, 60)
        market.set_token_allowed(token.address, True)
        models = load("ModelRegistry", market.address)
        for who in NAMES[1:]:
            token.mint(ACTORS[who], 10**24)

    def register(sender: str, private: bool, parents: tuple[int, ...] = ()) -> int:
        seed = registry.dataset_count() + 500
        args = (cid(seed), hashlib.sha256(b"s%d" % seed).digest(), 50, private, cid(seed + 1))
        return int(registry.register(*args, "MIT", list(parents), 0, sender=sender))

    root = register(A, False)
    child = register(B, True, (root,))
    public = register(A, False)
    market.list_dataset(child, token, PRICE, 10**6, BPS_CHILD, b"\x01" * 32, sender=B)
    for x in (TRAINER, C1, C2, HEIR):
        token.approve(market, 2**255, sender=x)
        token.approve(models, 2**255, sender=x)
    holders = [str(x) for x in (A, B, TRAINER, C1, C2, HEIR, market.address, models.address)]
    world = World(
        registry, token, market, models, root, child, public, (0, ()), 0, 0, {}, holders, 0
    )
    world.supply = sum(token.balanceOf(h) for h in holders)
    world.receipt = world.buy_data(TRAINER)

    def register_model(
        rows: dict[int, list[int]], parents: list[int], data_bps: int, parents_bps: int
    ) -> int:
        ds = [(d, registry.row_root(d), len(set(r))) for d, r in sorted(rows.items())]
        comp = (ds, list(parents), data_bps, parents_bps)
        weights = cid(models.model_count() + 900)
        root = manifest_of(rows).root
        receipts = [world.receipt]
        m = models.register_model(
            weights, root, cid(1), cid(2), comp, receipts, "MIT", 0, sender=TRAINER
        )
        world.comp[int(m)] = comp
        return int(m)

    world.m1 = register_model({child: list(range(0, 30)), public: list(range(0, 10))}, [], 4000, 0)
    world.m2 = register_model({child: list(range(10, 50))}, [world.m1], 3000, 2000)
    for m in (world.m1, world.m2):
        models.list_model(m, token, PRICE * 3, DURATION, sender=TRAINER)
    return world


_WORLD: list[World] = []


def _world() -> World:
    """The world, built on first use (again if an outer anchor has reverted it)."""
    if not _WORLD or not boa.env.get_code(_WORLD[0].models.address):
        _WORLD[:] = [_build()]
    return _WORLD[0]


class ModelsMachine(RuleBasedStateMachine):
    """Model: owners and listings of M1/M2, credits owed by each contract, the escrow."""

    @initialize()
    def start(self) -> None:
        self.w = w = _world()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.model_owner = {w.m1: TRAINER, w.m2: TRAINER}
        self.model_credit: dict[str, int] = {}
        self.market_credit = {h: int(w.market.credit(w.token, h)) for h in w.holders}
        self.escrow = PRICE  # the trainer's delivered purchase, not yet settled
        self.open = [w.receipt]
        self.listed = {w.m1: True, w.m2: True}

    def teardown(self) -> None:
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    def expected_sale(self, m: int, price: int) -> list[tuple[str, int]]:
        datasets, parents, data_bps, parents_bps = self.w.comp[m]
        size = sum(n for _, _, n in datasets)
        credits: list[tuple[str, int]] = []
        data = price * data_bps // 10_000
        for d, _, n in datasets:
            part = data * n // size
            if part:
                share = lambda x: BPS_CHILD if x == self.w.child else model.DEFAULT_UPSTREAM_BPS  # noqa: E731
                for _, who, amt in model.split(d, part, self.w.parents_of, self.w.owner_of, share):
                    if amt:
                        credits.append((who, amt))
        up = price * parents_bps // 10_000
        if up and up // len(parents):
            credits += [(self.model_owner[p], up // len(parents)) for p in parents]
        credits.append((self.model_owner[m], price - sum(x for _, x in credits)))
        return credits

    @rule(second=st.booleans(), who=st.sampled_from([C1, C2, HEIR]))
    def buy_model(self, second: bool, who: str) -> None:
        m = self.w.m2 if second else self.w.m1
        if not self.listed[m] or who == self.model_owner[m]:
            return
        models = self.w.models
        models.buy_model(m, self.w.comp[m], self.w.token, PRICE * 3, DURATION, sender=who)
        got = [(str(e.account), int(e.amount)) for e in events(models, "Credited")]
        assert got == self.expected_sale(m, PRICE * 3)
        for acct, amt in got:
            self.model_credit[acct] = self.model_credit.get(acct, 0) + amt

    @rule(who=st.sampled_from([C1, C2]))
    def buy_data(self, who: str) -> None:
        self.open.append(self.w.buy_data(who))
        self.escrow += PRICE

    @rule()
    def settle_data(self) -> None:
        if not self.open:
            return
        market = self.w.market
        pid, terms = self.open.pop(0)
        wait = int(market.purchase(pid).since) + 60 - boa.env.evm.patch.timestamp
        if wait > 0:
            boa.env.time_travel(seconds=wait)
        market.settle(pid, terms, sender=A)
        for e in events(market, "Credited"):
            account = str(e.account)
            self.market_credit[account] = self.market_credit.get(account, 0) + int(e.amount)
        self.escrow -= PRICE

    @rule(who=st.sampled_from([A, B, TRAINER, HEIR]), from_models=st.booleans())
    def withdraw(self, who: str, from_models: bool) -> None:
        ledger = self.model_credit if from_models else self.market_credit
        if not ledger.get(who):
            return
        (self.w.models if from_models else self.w.market).withdraw(self.w.token, sender=who)
        ledger[who] = 0

    @rule()
    def transfer_m1(self) -> None:
        m1 = self.w.m1
        frm, to = (TRAINER, HEIR) if self.model_owner[m1] == TRAINER else (HEIR, TRAINER)
        self.w.models.propose_owner(m1, to, sender=frm)
        self.w.models.accept_owner(m1, sender=to)
        self.model_owner[m1] = to
        self.listed[m1] = False

    @rule()
    def relist_m1(self) -> None:
        m1 = self.w.m1
        owner = self.model_owner[m1]
        self.w.models.list_model(m1, self.w.token, PRICE * 3, DURATION, sender=owner)
        self.listed[m1] = True

    @invariant()
    def tokens_conserved(self) -> None:
        if not hasattr(self, "escrow"):
            return
        w = self.w
        assert w.token.balanceOf(w.models) == sum(self.model_credit.values())
        assert w.token.balanceOf(w.market) == self.escrow + sum(self.market_credit.values())
        assert sum(w.token.balanceOf(h) for h in w.holders) == w.supply
        for acct, amt in self.model_credit.items():
            assert w.models.credit(w.token, acct) == amt


def test_models_machine():
    # CI: more than the anvil machine's 12 x 12, in less time; `make test-deep`: deeper
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    # Built here, outside the examples: titanoboa's pytest plugin runs each hypothesis
    # example in an anchor of its own, which would revert a world built in the first one.
    _world()
    run_state_machine_as_test(
        ModelsMachine,
        settings=settings(
            max_examples=300 if deep else 20, stateful_step_count=50 if deep else 30, deadline=None
        ),
    )
