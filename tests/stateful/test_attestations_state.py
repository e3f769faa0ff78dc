"""Attestations against a plain-Python model: per (dataset, metric set) count and sum of
the latest unrevoked scores, and per (attester, dataset, metric set) nonces, through
direct, relayed and batched attestations, revocations and nonce bumps (including
stale signatures that must fail).

Profiles: "ci" (small, `make test`), "deep" (`make test-deep`); HYPOTHESIS_PROFILE picks.
"""

from __future__ import annotations

import hashlib
import os

import ape
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from datasoil.flows.attest import Attestation, sign, split_signature, typed_data
from datasoil.formats.cid import CidTuple

# Profiles "ci" and "deep" come from tests/stateful/conftest.py.
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

DAG_PB = 0x70
DATASETS = (1, 2)
METRICS = (b"\x01" * 32, b"\x02" * 32)
FAR = 2**63
REPORT = CidTuple(1, 0x55, hashlib.sha256(b"report").digest())


def _root(seed: int) -> bytes:
    return hashlib.sha256(b"root%d" % seed).digest()


@pytest.fixture(scope="module")
def setup(project, deployer, registry, owner):
    for seed in DATASETS:
        registry.register(
            ((1 << 64) | DAG_PB, hashlib.sha256(b"cid%d" % seed).digest()),
            _root(seed),
            5,
            False,
            ((1 << 64) | 0x0129, hashlib.sha256(b"meta%d" % seed).digest()),
            "MIT",
            [],
            0,
            sender=owner,
        )
    return deployer.deploy(project.Attestations, registry)


def test_attestations_state(setup, accounts, chain):
    contract = setup
    attesters = list(accounts[:4])
    relayer = accounts[5]
    keys = st.tuples(
        st.integers(0, len(attesters) - 1), st.sampled_from(DATASETS), st.sampled_from(METRICS)
    )

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.nonces: dict[tuple, int] = {}
            self.active: dict[tuple, int] = {}  # key -> score while counted
            self.stale: list[tuple] = []  # (attestation, signature) no longer valid

        def teardown(self):
            chain.restore(self.snapshot)

        def _att(self, key, score):
            i, d, m = key
            return Attestation(
                attester=str(attesters[i].address),
                dataset_id=d,
                row_root=_root(d),
                metric_set=m,
                score=score,
                report=REPORT,
                deadline=FAR,
                nonce=self.nonces.get(key, 0),
            )

        def _sig(self, key, a):
            typed = typed_data(a, chain.chain_id, contract.address)
            return split_signature(sign(typed, attesters[key[0]].private_key))

        def _apply(self, key, score):
            self.nonces[key] = self.nonces.get(key, 0) + 1
            self.active[key] = score

        @rule(key=keys, score=st.integers(0, 10000), relayed=st.booleans())
        def attest(self, key, score, relayed):
            a = self._att(key, score)
            if relayed:
                sig = self._sig(key, a)
                contract.attest_by_sig(a.as_abi(), sig, sender=relayer)
                self.stale.append((a, sig))
            else:
                contract.attest(a.as_abi(), sender=attesters[key[0]])
            self._apply(key, score)

        @rule(key=keys, scores=st.lists(st.integers(0, 10000), min_size=1, max_size=3))
        def batch_same_key(self, key, scores):
            atts, sigs = [], []
            for score in scores:
                a = self._att(key, score)
                atts.append(a.as_abi())
                sigs.append(self._sig(key, a))
                self._apply(key, score)
            contract.attest_batch(atts, sigs, sender=relayer)

        @rule(key=keys)
        def revoke(self, key):
            i, d, m = key
            if key in self.active:
                contract.revoke(d, m, sender=attesters[i])
                del self.active[key]
                self.nonces[key] = self.nonces.get(key, 0) + 1
            else:
                with ape.reverts("attestations: no active attestation"):
                    contract.revoke(d, m, sender=attesters[i])

        @rule(key=keys, step=st.integers(0, 3))
        def bump(self, key, step):
            i, d, m = key
            new = self.nonces.get(key, 0) + step
            if step == 0:
                with ape.reverts("attestations: nonce not above the current one"):
                    contract.bump_nonce(d, m, new, sender=attesters[i])
            else:
                contract.bump_nonce(d, m, new, sender=attesters[i])
                self.nonces[key] = new

        @rule(data=st.data())
        def replay_stale(self, data):
            if not self.stale:
                return
            a, sig = data.draw(st.sampled_from(self.stale))
            with ape.reverts("attestations: nonce is not the current one"):
                contract.attest_by_sig(a.as_abi(), sig, sender=relayer)

        @invariant()
        def aggregates_match(self):
            for d in DATASETS:
                for m in METRICS:
                    scores = [s for (i, dd, mm), s in self.active.items() if (dd, mm) == (d, m)]
                    assert tuple(contract.aggregate(d, m)) == (len(scores), sum(scores))

        @invariant()
        def nonces_match(self):
            for (i, d, m), nonce in self.nonces.items():
                record = contract.record(attesters[i], d, m)
                assert record.nonce == nonce
                assert record.active == ((i, d, m) in self.active)
                if (i, d, m) in self.active:
                    assert record.score == self.active[(i, d, m)]

    Machine.TestCase.settings = settings.get_profile(PROFILE)
    Machine.TestCase().runTest()
