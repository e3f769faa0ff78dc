"""The registry against a plain-Python model of datasets, owners, versions and lineage."""

from __future__ import annotations

import hashlib

import ape
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

RAW = 0x55
ZERO = "0x" + "00" * 20


def _digest(tag: bytes, n: int) -> bytes:
    return hashlib.sha256(tag + n.to_bytes(8, "big")).digest()


@pytest.fixture
def machine(registry, accounts, chain):
    actors = list(accounts[:4])

    class RegistryMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.datasets: dict[int, dict] = {}
            self.pending: dict[int, str] = {}

        def teardown(self):
            chain.restore(self.snapshot)

        @rule(
            who=st.integers(0, 3),
            rows=st.integers(0, 2**64 - 1),
            private=st.booleans(),
            parent_picks=st.lists(st.integers(1, 64), max_size=9),
            version_pick=st.integers(0, 64),
        )
        def register(self, who, rows, private, parent_picks, version_pick):
            sender = actors[who]
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
            expected_error = None
            if any(p > count for p in parents):
                expected_error = "registry: unknown parent"
            if version_of and self.datasets[version_of]["owner"] != sender.address:
                expected_error = expected_error or "registry: not the owner of version_of"
            if len(parents) > 8:
                with pytest.raises(Exception):  # noqa: B017 - rejected by the ABI encoder
                    registry.register(*args, sender=sender)
                return
            if expected_error:
                # The contract checks version_of before parents.
                with ape.reverts():
                    registry.register(*args, sender=sender)
                return
            registry.register(*args, sender=sender)
            self.datasets[count + 1] = dict(
                owner=sender.address, root=root, rows=rows, private=private, parents=parents
            )

        @precondition(lambda self: self.datasets)
        @rule(pick=st.integers(1, 64), who=st.integers(0, 3), to=st.integers(0, 3))
        def propose(self, pick, who, to):
            dataset_id = (pick - 1) % len(self.datasets) + 1
            sender, target = actors[who], actors[to]
            if self.datasets[dataset_id]["owner"] != sender.address:
                with ape.reverts("registry: not the dataset owner"):
                    registry.propose_owner(dataset_id, target, sender=sender)
                return
            registry.propose_owner(dataset_id, target, sender=sender)
            self.pending[dataset_id] = target.address

        @precondition(lambda self: self.datasets)
        @rule(pick=st.integers(1, 64), who=st.integers(0, 3))
        def accept(self, pick, who):
            dataset_id = (pick - 1) % len(self.datasets) + 1
            sender = actors[who]
            if self.pending.get(dataset_id) != sender.address:
                with ape.reverts("registry: not the pending owner"):
                    registry.accept_owner(dataset_id, sender=sender)
                return
            registry.accept_owner(dataset_id, sender=sender)
            self.datasets[dataset_id]["owner"] = sender.address
            del self.pending[dataset_id]

        @invariant()
        def matches_model(self):
            if not hasattr(self, "datasets"):
                return
            assert registry.dataset_count() == len(self.datasets)
            for dataset_id, d in self.datasets.items():
                info = registry.info(dataset_id)
                assert info.owner == d["owner"]
                assert info.row_root == d["root"]
                assert info.row_count == d["rows"]
                assert info.private == d["private"]
                assert list(info.parents) == d["parents"]
                assert all(p < dataset_id for p in info.parents)
                assert registry.pending_owner(dataset_id) == self.pending.get(dataset_id, ZERO)

    return RegistryMachine


def test_registry_state(machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(machine)
