"""The DatasetRegistry against a plain-Python model (datasets, owners, pending owners,
lineage, versions), on titanoboa. The machine is a module-level class, importable by a
deeper run; the CI profile here is larger than the anvil one it replaces."""

from __future__ import annotations

import hashlib
import os

import boa
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

from tests.boa.conftest import load

RAW = 0x55
ZERO = "0x" + "00" * 20
ACTORS = [boa.env.generate_address(f"registry-actor{i}") for i in range(4)]


def _digest(tag: bytes, n: int) -> bytes:
    return hashlib.sha256(tag + n.to_bytes(8, "big")).digest()


class RegistryMachine(RuleBasedStateMachine):
    """Model: id -> owner, root, rows, private, parents; pending owner per id."""

    @initialize()
    def start(self) -> None:
        self.registry = load("DatasetRegistry")
        self.datasets: dict[int, dict] = {}
        self.pending: dict[int, str] = {}

    @rule(
        who=st.integers(0, 3),
        rows=st.integers(0, 2**64 - 1),
        private=st.booleans(),
        parent_picks=st.lists(st.integers(1, 64), max_size=8),
        version_pick=st.integers(0, 64),
    )
    def register(self, who, rows, private, parent_picks, version_pick) -> None:
        sender = ACTORS[who]
        count = len(self.datasets)
        parents = sorted(set(parent_picks))
        version_of = version_pick if version_pick <= count else 0
        root = _digest(b"root", count) if rows else hashlib.sha256(b"").digest()
        args = (
            ((1 << 64) | RAW, _digest(b"c", count)),
            root,
            rows,
            private,
            ((1 << 64) | RAW, _digest(b"m", count)),
            "MIT",
            parents,
            version_of,
        )
        # the documented order: version_of is checked before the parents
        if version_of and self.datasets[version_of]["owner"] != sender:
            with boa.reverts("registry: not the owner of version_of"), boa.env.prank(sender):
                self.registry.register(*args)
            return
        if any(p > count for p in parents):
            with boa.reverts("registry: unknown parent"), boa.env.prank(sender):
                self.registry.register(*args)
            return
        with boa.env.prank(sender):
            assert self.registry.register(*args) == count + 1
        self.datasets[count + 1] = dict(
            owner=sender, root=root, rows=rows, private=private, parents=parents
        )

    @precondition(lambda self: self.datasets)
    @rule(pick=st.integers(1, 64), who=st.integers(0, 3), to=st.integers(0, 3))
    def propose(self, pick, who, to) -> None:
        dataset_id = (pick - 1) % len(self.datasets) + 1
        sender, target = ACTORS[who], ACTORS[to]
        with boa.env.prank(sender):
            if self.datasets[dataset_id]["owner"] != sender:
                with boa.reverts("registry: not the dataset owner"):
                    self.registry.propose_owner(dataset_id, target)
                return
            self.registry.propose_owner(dataset_id, target)
        self.pending[dataset_id] = target

    @precondition(lambda self: self.datasets)
    @rule(pick=st.integers(1, 64), who=st.integers(0, 3))
    def accept(self, pick, who) -> None:
        dataset_id = (pick - 1) % len(self.datasets) + 1
        sender = ACTORS[who]
        with boa.env.prank(sender):
            if self.pending.get(dataset_id) != sender:
                with boa.reverts("registry: not the pending owner"):
                    self.registry.accept_owner(dataset_id)
                return
            self.registry.accept_owner(dataset_id)
        self.datasets[dataset_id]["owner"] = sender
        del self.pending[dataset_id]

    @invariant()
    def matches_model(self) -> None:
        if not hasattr(self, "registry"):
            return
        assert self.registry.dataset_count() == len(self.datasets)
        for dataset_id, d in self.datasets.items():
            owner, row_root, row_count, private, parents = self.registry.info(dataset_id)
            assert (owner, row_root, row_count, private) == (
                d["owner"],
                d["root"],
                d["rows"],
                d["private"],
            )
            assert list(parents) == d["parents"]
            assert all(p < dataset_id for p in parents)
            pending = self.registry.pending_owner(dataset_id)
            assert pending == self.pending.get(dataset_id, ZERO)


def test_registry_machine():
    # CI: four times the anvil machine's 12 x 12, in less time; `make test-deep`: deeper
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    run_state_machine_as_test(
        RegistryMachine,
        settings=settings(
            max_examples=400 if deep else 24, stateful_step_count=50 if deep else 30, deadline=None
        ),
    )
