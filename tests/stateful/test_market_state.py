"""AccessMarket against a plain-Python model of escrow, credits, access and purchases.

Invariants: the market's token balance equals escrow plus unwithdrawn credits; no
account has access without a delivered purchase that paid the price it pinned; a
release credits exactly the price, to distinct datasets within the bound; a purchase
is delivered or refunded, never both. Profiles: "ci" (small, default) and "deep"
(`HYPOTHESIS_PROFILE=deep`, for make test-deep).
"""

from __future__ import annotations

import hashlib
import os

import ape
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

# Profiles "ci" and "deep" come from tests/stateful/conftest.py.
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TIMEOUT = 600
KEY = b"\x01" * 32
PENDING, DELIVERED, REFUNDED = 1, 2, 3


def _cid(registry, seed):
    digest = hashlib.sha256(b"state%d" % seed).digest()
    (abi,) = [a for a in registry.contract_type.abi if getattr(a, "name", "") == "register"]
    return (1, 0x70, digest) if len(abi.inputs[0].components) == 3 else ((1 << 64) | 0x70, digest)


def test_market_state(project, registry, token, accounts, chain, deployer):
    market = deployer.deploy(project.AccessMarket, registry, TIMEOUT)
    market.set_token_allowed(token, True, sender=deployer)
    owners = [accounts[1], accounts[2], accounts[3]]
    buyers = [accounts[5], accounts[6], accounts[7]]
    # Lineage: 1, 2 roots; 3 <- 1, 2; 4 <- 3, 1 (ancestor 1 reached by two routes).
    lineage = {1: [], 2: [], 3: [1, 2], 4: [1, 3]}
    owner_of = {1: owners[0], 2: owners[1], 3: owners[2], 4: owners[2]}
    first = registry.dataset_count() + 1
    ids = {}
    for local, parents in lineage.items():
        seed = 100 + local
        tx = registry.register(
            _cid(registry, seed),
            hashlib.sha256(b"r%d" % seed).digest(),
            1,
            True,
            _cid(registry, 1000 + seed),
            "MIT",
            [ids[p] for p in parents],
            0,
            sender=owner_of[local],
        )
        ids[local] = int(tx.decode_logs(registry.DatasetRegistered)[0].dataset_id)
    assert ids[1] == first
    for b in buyers:
        token.approve(market, 2**256 - 1, sender=b)
    accounts_all = {str(a) for a in owners + buyers}

    class MarketMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.listing: dict[int, tuple[int, int]] = {}  # local id -> (price, duration)
            self.purchases: list[dict] = []
            self.credits = dict.fromkeys(accounts_all, 0)
            self.expiry: dict[tuple[int, str], int] = {}
            self.paid_delivered: dict[tuple[int, str], int] = {}

        def teardown(self):
            chain.restore(self.snapshot)

        @rule(
            d=st.sampled_from([1, 2, 3, 4]),
            price=st.integers(1, 10**6),
            duration=st.integers(1, 5000),
            bps=st.integers(0, 10000),
        )
        def list_dataset(self, d, price, duration, bps):
            market.list_dataset(ids[d], token, price, duration, bps, sender=owner_of[d])
            self.listing[d] = (price, duration)

        @rule(
            d=st.sampled_from([1, 2, 3, 4]),
            b=st.integers(0, 2),
            slack=st.integers(-1, 1),
            dslack=st.integers(-1, 1),
        )
        def buy(self, d, b, slack, dslack):
            buyer = buyers[b]
            if d not in self.listing:
                with ape.reverts("market: not listed"):
                    market.buy(ids[d], token, 10**6, 0, KEY, sender=buyer)
                return
            price, duration = self.listing[d]
            max_price, min_duration = price + slack, duration + dslack
            if slack < 0:
                with ape.reverts("market: price above max"):
                    market.buy(ids[d], token, max_price, min_duration, KEY, sender=buyer)
                return
            if dslack > 0:
                with ape.reverts("market: duration below min"):
                    market.buy(ids[d], token, max_price, min_duration, KEY, sender=buyer)
                return
            tx = market.buy(ids[d], token, max_price, min_duration, KEY, sender=buyer)
            (event,) = tx.decode_logs(market.Purchased)
            assert event.price == price <= max_price and event.duration >= min_duration
            self.purchases.append(
                dict(
                    id=int(event.purchase_id),
                    d=d,
                    buyer=str(buyer),
                    price=price,
                    duration=duration,
                    status=PENDING,
                    created=chain.blocks.head.timestamp,
                )
            )

        @precondition(lambda self: self.purchases)
        @rule(i=st.integers(0, 100))
        def deliver(self, i):
            p = self.purchases[i % len(self.purchases)]
            seller = owner_of[p["d"]]
            if p["status"] != PENDING:
                with ape.reverts("market: purchase not pending"):
                    market.deliver_key(p["id"], b"env", sender=seller)
                return
            tx = market.deliver_key(p["id"], b"env", sender=seller)
            credits = tx.decode_logs(market.Credited)
            released = [int(c.amount) for c in credits]
            datasets = [int(c.dataset_id) for c in credits[:-1]]
            assert sum(released) == p["price"], "a release credits exactly the price"
            assert all(a <= p["price"] for a in released)
            assert len(datasets) == len(set(datasets)) <= 8, "distinct ancestors, bounded"
            assert int(credits[-1].dataset_id) == ids[p["d"]]
            for c in credits:
                self.credits[str(c.account)] += int(c.amount)
            p["status"] = DELIVERED
            key = (p["d"], p["buyer"])
            now = chain.blocks.head.timestamp
            self.expiry[key] = max(self.expiry.get(key, 0), now) + p["duration"]
            self.paid_delivered[key] = self.paid_delivered.get(key, 0) + p["price"]

        @precondition(lambda self: self.purchases)
        @rule(i=st.integers(0, 100), wait=st.booleans())
        def refund(self, i, wait):
            p = self.purchases[i % len(self.purchases)]
            if wait:
                chain.pending_timestamp = max(chain.pending_timestamp, p["created"] + TIMEOUT)
            if p["status"] != PENDING:
                with ape.reverts("market: purchase not pending"):
                    market.refund(p["id"], sender=p["buyer"])
                return
            if chain.pending_timestamp < p["created"] + TIMEOUT:
                with ape.reverts("market: refund timeout not reached"):
                    market.refund(p["id"], sender=p["buyer"])
                return
            market.refund(p["id"], sender=p["buyer"])
            p["status"] = REFUNDED

        @rule(who=st.sampled_from(sorted(accounts_all)))
        def withdraw(self, who):
            if self.credits[who] == 0:
                with ape.reverts("market: nothing to withdraw"):
                    market.withdraw(token, sender=who)
                return
            before = token.balanceOf(who)
            market.withdraw(token, sender=who)
            assert token.balanceOf(who) == before + self.credits[who]
            self.credits[who] = 0

        @rule(seconds=st.integers(1, 4000))
        def advance(self, seconds):
            chain.mine(timestamp=chain.blocks.head.timestamp + seconds)

        @invariant()
        def balance_is_escrow_plus_credits(self):
            if not hasattr(self, "purchases"):
                return
            escrow = sum(p["price"] for p in self.purchases if p["status"] == PENDING)
            assert token.balanceOf(market) == escrow + sum(self.credits.values())
            for who, amount in self.credits.items():
                assert market.credit(token, who) == amount

        @invariant()
        def access_only_after_paid_delivery(self):
            if not hasattr(self, "purchases"):
                return
            now = chain.blocks.head.timestamp
            for d in lineage:
                for b in buyers:
                    key = (d, str(b))
                    expected = self.expiry.get(key, 0)
                    assert market.access_expiry(ids[d], b) == expected
                    if expected:  # has_access is checked where there is something to grant
                        assert market.has_access(ids[d], b) == (expected > now)
                        assert self.paid_delivered[key] > 0

        @invariant()
        def settled_once(self):
            for p in getattr(self, "purchases", [])[-3:]:
                assert market.purchase(p["id"]).status == p["status"]

    run_state_machine_as_test(MarketMachine, settings=PROFILE)
