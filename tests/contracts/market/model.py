"""The royalty rule of docs/market.md, written from the rule, not from the contract.

The contract pushes each ancestor's inflow to its parents in decreasing id order. This
model pulls instead: an ancestor's inflow is defined recursively as the sum of what
each of its children (within the credited set, or the sold dataset) passes to it, and
is computed by memoised recursion over children. Both follow the documented rule; an
ordering mistake in the contract (settling an ancestor before all its inflow arrived)
would make them disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

BPS = 10_000
DEFAULT_UPSTREAM_BPS = 5_000
MAX_ANCESTORS = 8


def credited_set(dataset_id: int, parents: Callable[[int], list[int]]) -> list[int]:
    """The first MAX_ANCESTORS distinct ancestors in breadth-first order from the parents."""
    order: list[int] = []
    queue = list(parents(dataset_id))
    while queue and len(order) < MAX_ANCESTORS:
        a = queue.pop(0)
        if a not in order:
            order.append(a)
            queue.extend(parents(a))
    return order


def split(
    dataset_id: int,
    price: int,
    parents: Callable[[int], list[int]],
    owner: Callable[[int], str],
    share: Callable[[int], int],
) -> list[tuple[int, str, int]]:
    """[(dataset id, account, amount)]: ancestors by decreasing id, the seller last."""
    members = credited_set(dataset_id, parents)
    nodes = [dataset_id, *members]

    @cache
    def inflow(x: int) -> int:
        if x == dataset_id:
            return price
        return sum(part(c) for c in nodes if x in parents(c))

    @cache
    def passed(x: int) -> int:
        # What x hands up in total: its share of its inflow (nothing without parents).
        return inflow(x) * share(x) // BPS if parents(x) else 0

    def part(x: int) -> int:
        # One parent's equal part of what x hands up.
        return passed(x) // len(parents(x))

    def keeps(x: int) -> int:
        beyond = sum(1 for p in parents(x) if p not in members)
        return inflow(x) - passed(x) + (beyond * part(x) if beyond else 0)

    credits = [(a, owner(a), keeps(a)) for a in sorted(members, reverse=True) if keeps(a)]
    return [*credits, (dataset_id, owner(dataset_id), price - sum(c[2] for c in credits))]
