"""AccessMarket against a plain-Python model of listings, ownership, escrow and credits,
on titanoboa.

The model computes each sale's royalty credits from the rule written in docs/market.md
(tests/contracts/market/model.py, a recursive formulation independent of the
contract's), from the model's own owners, listings and ownership periods, at the
moment of purchase. Between a purchase and its settlement the machine transfers
datasets (away and back), relists at other shares and delists. Invariants: every
settlement (after the objection window, or on a correct reveal) credits exactly the
terms pinned at purchase; the market's balance is escrow plus unwithdrawn credits
(tokens are conserved); access expiries match; a purchase's status moves only as the
model says; a listing or keeper of an earlier ownership period never revives.

The world (registry, token, market, the lineage, approvals) is deployed once; each
example runs in its own `boa.env.anchor()`. The machine is a module-level class,
importable by a deeper run; the CI profile here is larger than the anvil one it replaces,
`HYPOTHESIS_PROFILE=deep` (make test-deep) runs the deep one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import boa
from eth_utils.crypto import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from datasoil.flows import access
from tests.boa.conftest import load
from tests.contracts._boa import event, events
from tests.contracts.market import model

TIMEOUT, OBJECTION, REVEAL = 600, 300, 200
KEY = b"\x01" * 32
CONTENT_KEY = b"\x02" * 32
COMMITMENT = keccak(CONTENT_KEY)
PENDING, DELIVERED, OBJECTED, RELEASED, REFUNDED = 1, 2, 3, 4, 5
HELD = (PENDING, DELIVERED, OBJECTED)
# Lineage: 1, 2 roots; 3 <- 1, 2; 4 <- 1, 3 (ancestor 1 reached by two routes).
LINEAGE = {1: [], 2: [], 3: [1, 2], 4: [1, 3]}

DEPLOYER = boa.env.generate_address("market-deployer")
OWNERS = [boa.env.generate_address(f"market-owner{i}") for i in range(3)]
BUYERS = [boa.env.generate_address(f"market-buyer{i}") for i in range(3)]
HOLDERS = [*OWNERS, BUYERS[0]]  # a buyer may come to own a dataset
FIRST_OWNER = {1: OWNERS[0], 2: OWNERS[1], 3: OWNERS[2], 4: OWNERS[2]}
EVERYONE = sorted({str(a) for a in HOLDERS + BUYERS})


def _cid(seed: int) -> tuple[int, bytes]:
    return ((1 << 64) | 0x70, hashlib.sha256(b"state%d" % seed).digest())


@dataclass
class World:
    registry: Any
    token: Any
    market: Any
    ids: dict[int, int]  # local dataset id (LINEAGE) -> registry id
    local_of: dict[int, int]


def _build() -> World:
    with boa.env.prank(DEPLOYER):
        registry = load("DatasetRegistry")
        token = load("DemoToken", "datasoil demo", "SOIL")
        market = load("AccessMarket", registry, TIMEOUT, OBJECTION, REVEAL)
        market.set_token_allowed(token, True)
        for account in EVERYONE:
            token.mint(account, 10**24)
    ids: dict[int, int] = {}
    for local, parents in LINEAGE.items():
        seed = 100 + local
        registry.register(
            _cid(seed),
            hashlib.sha256(b"r%d" % seed).digest(),
            1,
            True,
            _cid(1000 + seed),
            "MIT",
            [ids[p] for p in parents],
            0,
            sender=FIRST_OWNER[local],
        )
        ids[local] = int(event(registry, "DatasetRegistered").dataset_id)
    for b in EVERYONE:
        token.approve(market, 2**256 - 1, sender=b)
    return World(registry, token, market, ids, {v: k for k, v in ids.items()})


_WORLD: list[World] = []


def _world() -> World:
    """The world, built on first use (again if an outer anchor has reverted it)."""
    if not _WORLD or not boa.env.get_code(_WORLD[0].market.address):
        _WORLD[:] = [_build()]
    return _WORLD[0]


class MarketMachine(RuleBasedStateMachine):
    @initialize(bps3=st.integers(0, 10000), bps4=st.integers(0, 10000))
    def start(self, bps3, bps4):
        self.w = _world()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.now = int(boa.env.timestamp) + 1
        self.owner = {d: str(a) for d, a in FIRST_OWNER.items()}
        self.period = dict.fromkeys(LINEAGE, 0)
        # local id -> (price, duration, bps, period listed in)
        self.listing: dict[int, tuple[int, int, int, int]] = {}
        self.purchases: list[dict] = []
        self.credits = dict.fromkeys(EVERYONE, 0)
        self.expiry: dict[tuple[int, str], int] = {}
        # Both children start listed ...
        for d, bps in ((3, bps3), (4, bps4)):
            self.list_dataset(d, 1000 + d, 3600, bps)
        # ... and one purchase of each is open: 4's delivered, 3's pending, so the
        # rules that follow (transfers, relistings, delistings) come between a
        # purchase and its settlement.
        self.buy(4, 1)
        self.deliver(0)
        self.buy(3, 2)

    def teardown(self):
        if os.environ.get("DATASOIL_STATEFUL_STATS") and hasattr(self, "purchases"):
            print("market machine, final statuses:", sorted(p["status"] for p in self.purchases))
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    def tick(self):
        """The next transaction's timestamp, one second on from the last (at least)."""
        self.now += 1
        boa.env.time_travel(seconds=self.now - boa.env.timestamp)
        return self.now

    def share(self, d):
        """docs/market.md: a listing's share if listed in the current period, else 50%."""
        lst = self.listing.get(d)
        if lst and lst[3] == self.period[d]:
            return lst[2]
        return model.DEFAULT_UPSTREAM_BPS

    def split(self, d, price):
        ids, local_of = self.w.ids, self.w.local_of
        credits = model.split(
            ids[d],
            price,
            lambda i: [ids[p] for p in LINEAGE[local_of[i]]],
            lambda i: self.owner[local_of[i]],
            lambda i: self.share(local_of[i]),
        )
        return tuple((i, a.lower(), x) for i, a, x in credits)

    def pick(self, i, *wanted):
        """A purchase in one of the `wanted` states when there is one (else any, so
        the refusals are exercised too)."""
        some = [p for p in self.purchases if p["status"] in wanted] or self.purchases
        return some[i % len(some)]

    def call(self, fn, p, *extra, sender, reason=None):
        """``fn`` on the market with the terms ``p`` was bought at (its `Purchased` event)."""
        method = getattr(self.w.market, fn)
        if reason:
            with boa.reverts(reason):
                method(p["id"], p["terms"].as_arg(), *extra, sender=sender)
            return
        method(p["id"], p["terms"].as_arg(), *extra, sender=sender)

    def release(self, p):
        """Read right after the releasing call: its `Credited` events are the pinned terms."""
        made = tuple(
            (int(e.dataset_id), str(e.account).lower(), int(e.amount))
            for e in events(self.w.market, "Credited")
        )
        assert made == p["credits"], "settlement pays exactly the terms pinned at purchase"
        for _i, account, amount in made:
            self.credits[next(a for a in EVERYONE if a.lower() == account)] += amount
        p["status"] = RELEASED

    # -- listings and ownership ---------------------------------------------------

    @rule(
        d=st.sampled_from(sorted(LINEAGE)),
        price=st.integers(1, 10**6),
        duration=st.integers(1, 5000),
        bps=st.integers(0, 10000),
    )
    def list_dataset(self, d, price, duration, bps):
        self.tick()
        w = self.w
        w.market.list_dataset(
            w.ids[d], w.token, price, duration, bps, COMMITMENT, sender=self.owner[d]
        )
        self.listing[d] = (price, duration, bps, self.period[d])

    @rule(d=st.sampled_from(sorted(LINEAGE)))
    def delist(self, d):
        self.tick()
        market, dataset_id = self.w.market, self.w.ids[d]
        if d not in self.listing:
            with boa.reverts("market: not listed"):
                market.delist(dataset_id, sender=self.owner[d])
            return
        market.delist(dataset_id, sender=self.owner[d])
        del self.listing[d]

    @rule(d=st.sampled_from(sorted(LINEAGE)), to=st.integers(0, len(HOLDERS) - 1))
    def transfer(self, d, to):
        new = str(HOLDERS[to])
        if new == self.owner[d]:
            return
        registry, dataset_id = self.w.registry, self.w.ids[d]
        self.tick()
        registry.propose_owner(dataset_id, new, sender=self.owner[d])
        self.tick()
        registry.accept_owner(dataset_id, sender=new)
        self.owner[d] = new
        self.period[d] += 1

    # -- purchases ----------------------------------------------------------------

    @rule(d=st.sampled_from(sorted(LINEAGE)), b=st.integers(0, 2))
    def buy(self, d, b):
        market = self.w.market
        buyer = str(BUYERS[b])
        self.tick()
        lst = self.listing.get(d)
        args = (self.w.ids[d], self.w.token, lst[0] if lst else 1, lst[1] if lst else 1, KEY)
        reason = None
        if lst is None:
            reason = "market: not listed"
        elif lst[3] != self.period[d]:
            reason = "market: listing lapsed"  # never revives, even back with its lister
        elif buyer == self.owner[d]:
            reason = "market: buyer is the owner"
        if reason:
            with boa.reverts(reason):
                market.buy(*args, sender=buyer)
            return
        returned = market.buy(*args, sender=buyer)
        purchased = event(market, "Purchased")
        assert returned == purchased.purchase_id
        terms = access.Terms.from_event(purchased.terms)
        pinned = self.split(d, lst[0])
        assert tuple((i, a.lower(), x) for i, a, x in terms.credits) == pinned
        assert terms.seller.lower() == self.owner[d].lower()
        assert (terms.price, terms.duration, terms.period) == (lst[0], lst[1], self.period[d])
        self.purchases.append(
            dict(
                id=int(purchased.purchase_id),
                terms=terms,
                d=d,
                buyer=buyer,
                seller=self.owner[d],
                price=lst[0],
                duration=lst[1],
                credits=pinned,
                status=PENDING,
                created=self.now,
                since=self.now,
            )
        )

    @precondition(lambda self: self.purchases)
    @rule(i=st.integers(0, 100))
    def deliver(self, i):
        p = self.pick(i, PENDING)
        now = self.tick()
        reason = None
        if p["status"] != PENDING:
            reason = "market: purchase not pending"
        elif now >= p["created"] + TIMEOUT:
            reason = "market: delivery window over"
        self.call("deliver_key", p, b"env", sender=p["seller"], reason=reason)
        if reason is None:
            key = (p["d"], p["buyer"])
            self.expiry[key] = max(self.expiry.get(key, 0), now) + p["duration"]
            p["status"], p["since"] = DELIVERED, now

    @precondition(lambda self: self.purchases)
    @rule(i=st.integers(0, 100))
    def object_key(self, i):
        p = self.pick(i, DELIVERED)
        now = self.tick()
        reason = None
        if p["status"] != DELIVERED:
            reason = "market: purchase not delivered"
        elif now >= p["since"] + OBJECTION:
            reason = "market: objection window over"
        self.call("object_key", p, sender=p["buyer"], reason=reason)
        if reason is None:
            p["status"], p["since"] = OBJECTED, now

    @precondition(lambda self: self.purchases)
    @rule(i=st.integers(0, 100), correct=st.booleans())
    def reveal(self, i, correct):
        p = self.pick(i, OBJECTED)
        now = self.tick()
        reason = None
        if p["status"] != OBJECTED:
            reason = "market: purchase not objected"
        elif now >= p["since"] + REVEAL:
            reason = "market: reveal window over"
        elif not correct:
            reason = "market: key does not match commitment"
        key = CONTENT_KEY if correct else b"\x03" * 32
        self.call("reveal_key", p, key, sender=p["seller"], reason=reason)
        if reason is None:
            self.release(p)

    @precondition(lambda self: self.purchases)
    @rule(i=st.integers(0, 100), wait=st.booleans())
    def settle(self, i, wait):
        p = self.pick(i, DELIVERED)
        if wait:  # let the objection window pass first
            self.now = max(self.now, p["since"] + OBJECTION)
        now = self.tick()
        reason = None
        if p["status"] != DELIVERED:
            reason = "market: purchase not delivered"
        elif now < p["since"] + OBJECTION:
            reason = "market: objection window open"
        self.call("settle", p, sender=str(BUYERS[2]), reason=reason)
        if reason is None:
            self.release(p)

    @precondition(lambda self: self.purchases)
    @rule(i=st.integers(0, 100), wait=st.booleans())
    def refund(self, i, wait):
        p = self.pick(i, PENDING, OBJECTED)
        if wait:  # let the refund timeout or the reveal window pass first
            window = TIMEOUT if p["status"] == PENDING else REVEAL
            self.now = max(self.now, (p["created"] if window == TIMEOUT else p["since"]) + window)
        now = self.tick()
        reason = None
        if p["status"] == PENDING and now < p["created"] + TIMEOUT:
            reason = "market: refund timeout not reached"
        elif p["status"] == OBJECTED and now < p["since"] + REVEAL:
            reason = "market: reveal window open"
        elif p["status"] not in (PENDING, OBJECTED):
            reason = "market: purchase not refundable"
        self.call("refund", p, sender=p["buyer"], reason=reason)
        if reason is None:
            if p["status"] == OBJECTED:
                self.expiry[(p["d"], p["buyer"])] -= p["duration"]
            p["status"] = REFUNDED

    @rule(who=st.sampled_from(EVERYONE))
    def withdraw(self, who):
        market, token = self.w.market, self.w.token
        self.tick()
        if self.credits[who] == 0:
            with boa.reverts("market: nothing to withdraw"):
                market.withdraw(token, sender=who)
            return
        before = token.balanceOf(who)
        assert market.withdraw(token, sender=who) == self.credits[who]
        assert token.balanceOf(who) == before + self.credits[who]
        self.credits[who] = 0

    @rule(seconds=st.sampled_from([1, 150, 250, 400, 700]))
    def advance(self, seconds):
        self.now += seconds

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def tokens_conserved(self):
        if not hasattr(self, "purchases"):
            return
        market, token = self.w.market, self.w.token
        escrow = sum(p["price"] for p in self.purchases if p["status"] in HELD)
        assert token.balanceOf(market) == escrow + sum(self.credits.values())
        for who, amount in self.credits.items():
            assert market.credit(token, who) == amount

    @invariant()
    def access_matches(self):
        if not hasattr(self, "purchases"):
            return
        for d in LINEAGE:
            for b in BUYERS:
                expiry = self.w.market.access_expiry(self.w.ids[d], b)
                assert expiry == self.expiry.get((d, str(b)), 0)

    @invariant()
    def statuses_match(self):
        # every purchase (the anvil machine checked the last three, for time)
        for p in getattr(self, "purchases", []):
            assert self.w.market.purchase(p["id"]).status == p["status"]

    @invariant()
    def listings_and_keepers_follow_the_period(self):
        if not hasattr(self, "purchases"):
            return
        for d in LINEAGE:
            lst = self.listing.get(d)
            active = bool(lst) and lst[3] == self.period[d]
            assert self.w.market.listing(self.w.ids[d]).active == active


def test_market_machine():
    # CI: larger than the anvil machine's 12 x 12, in less time; `make test-deep`: deeper
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    # Built here, outside the examples: titanoboa's pytest plugin runs each hypothesis
    # example in an anchor of its own, which would revert a world built in the first one.
    _world()
    run_state_machine_as_test(
        MarketMachine,
        settings=settings(
            max_examples=400 if deep else 24, stateful_step_count=50 if deep else 30, deadline=None
        ),
    )
