"""A plain-Python model of AccessMarket's royalty split (docs/market.md), for tests."""

from __future__ import annotations

from collections.abc import Callable

BPS = 10_000
DEFAULT_UPSTREAM_BPS = 5_000
MAX_ANCESTORS = 8


def split(
    dataset_id: int,
    price: int,
    parents: Callable[[int], list[int]],
    owner: Callable[[int], str],
    share: Callable[[int], int],
) -> list[tuple[int, str, int]]:
    """[(dataset id, account, amount)]: ancestors in settlement order, the seller last."""
    top = parents(dataset_id)
    if not top:
        return [(dataset_id, owner(dataset_id), price)]
    found: list[int] = []
    for p in top:
        if len(found) < MAX_ANCESTORS and p not in found:
            found.append(p)
    i = 0
    while i < len(found):
        for p in parents(found[i]):
            if len(found) < MAX_ANCESTORS and p not in found:
                found.append(p)
        i += 1
    inflow = dict.fromkeys(found, 0)
    upstream = price * share(dataset_id) // BPS
    for p in top:
        inflow[p] += upstream // len(top)
    credits = []
    for a in sorted(found, reverse=True):
        x = inflow[a]
        if x == 0:
            continue
        keep = x
        ps = parents(a)
        if ps:
            passed = x * share(a) // BPS
            part = passed // len(ps)
            keep = x - passed
            for p in ps:
                if p in inflow:
                    inflow[p] += part
                else:
                    keep += part
        if keep:
            credits.append((a, owner(a), keep))
    credits.append((dataset_id, owner(dataset_id), price - sum(c[2] for c in credits)))
    return credits
