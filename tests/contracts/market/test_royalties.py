"""Royalties: hand-computed splits for small lineages, the bound, and the model."""

from __future__ import annotations

import boa

from . import model
from .conftest import COMMITMENT, KEY, OBJECTION_WINDOW, credits_of, purchase_id_of, terms_of

DURATION = 60


def _sell(market, token, seller, buyer, dataset_id, price, bps):
    """List, buy, deliver and settle; return the credits made (checked against the pinned)."""
    market.list_dataset(dataset_id, token, price, DURATION, bps, COMMITMENT, sender=seller)
    token.approve(market, price, sender=buyer)
    pid = purchase_id_of(market, market.buy(dataset_id, token, price, DURATION, KEY, sender=buyer))
    terms = terms_of(market, pid)
    market.deliver_key(pid, terms.as_arg(), b"envelope", sender=seller)
    boa.env.time_travel(seconds=OBJECTION_WINDOW)
    market.settle(pid, terms.as_arg(), sender=buyer)
    credits = credits_of(market)
    assert tuple(credits) == terms.credits
    return credits


def _quote(market, dataset_id, price):
    return [
        (int(c.dataset_id), str(c.account), int(c.amount))
        for c in market.quote_release(dataset_id, price)
    ]


def test_royalty__single_parent_gets_share(market, token, register, accounts, buyer):
    a, seller = accounts[1], accounts[2]
    root = register(a)
    child = register(seller, [root])
    credits = _sell(market, token, seller, buyer, child, 10**18, 1000)
    assert credits == [(root, a, 10**17), (child, seller, 9 * 10**17)]
    assert market.credit(token, a) == 10**17
    assert market.credit(token, seller) == 9 * 10**17


def test_royalty__dust_goes_to_seller(market, token, register, accounts, buyer):
    a, b, seller = accounts[1], accounts[2], accounts[3]
    p1, p2 = register(a), register(b)
    child = register(seller, [p1, p2])
    credits = _sell(market, token, seller, buyer, child, 1001, 10000)
    assert credits == [(p2, b, 500), (p1, a, 500), (child, seller, 1)]


def test_royalty__diamond_credits_common_ancestor_once(market, token, register, accounts, buyer):
    x, a_owner, b_owner, seller = accounts[1], accounts[2], accounts[3], accounts[4]
    r = register(x)
    a = register(a_owner, [r])  # unlisted: passes DEFAULT_UPSTREAM_BPS (50%) on
    b = register(b_owner, [r])
    d = register(seller, [a, b])
    market.list_dataset(b, token, 1, 1, 2000, COMMITMENT, sender=b_owner)  # B passes 20% on
    expected = [(b, b_owner, 200), (a, a_owner, 125), (r, x, 175), (d, seller, 500)]
    assert _quote(market, d, 1000) == expected
    assert _sell(market, token, seller, buyer, d, 1000, 5000) == expected


def test_royalty__bounded_to_eight_ancestors(market, token, register, accounts, buyer):
    ids = [register(accounts[0])]
    for i in range(1, 10):
        ids.append(register(accounts[i % 8], [ids[-1]]))
    seller = accounts[9]
    top = register(seller, [ids[-1]])
    price = 2**40 + 12345
    credits = _sell(market, token, seller, buyer, top, price, 5000)
    credited = [c[0] for c in credits[:-1]]
    assert len(credited) == 8 and len(set(credited)) == 8
    assert credited == ids[-1:-9:-1]  # the 8 nearest, breadth-first = nearest first here
    assert ids[0] not in credited and ids[1] not in credited
    assert sum(c[2] for c in credits) == price
    assert credits[-1][:2] == (top, seller)


def test_royalty__matches_model_on_wide_lineage(market, token, register, accounts, registry, buyer):
    owners = accounts[:8]
    base = [register(owners[i]) for i in range(4)]
    mid = [
        register(owners[4], base[:2]),
        register(owners[5], base[1:]),
        register(owners[6], base[::2]),
    ]
    upper = register(owners[7], mid + base[3:])
    top = register(owners[1], [upper, mid[0], base[0]])
    market.list_dataset(mid[1], token, 5, 5, 7000, COMMITMENT, sender=owners[5])
    market.list_dataset(upper, token, 5, 5, 300, COMMITMENT, sender=owners[7])
    price = 987654321987

    def share(i):
        listing = market.listing(i)
        return listing.upstream_bps if listing.active else model.DEFAULT_UPSTREAM_BPS

    def shares(i):  # the selling dataset's listing is set by _sell below
        return 4321 if i == top else share(i)

    expected = model.split(
        top,
        price,
        lambda i: list(registry.parents(i)),
        lambda i: str(registry.owner_of(i)),
        shares,
    )
    assert _sell(market, token, owners[1], buyer, top, price, 4321) == expected
    assert sum(c[2] for c in expected) == price
