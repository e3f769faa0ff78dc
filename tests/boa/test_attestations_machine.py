"""Attestations against a plain-Python model, on titanoboa: per (dataset, metric set) the
count and sum of the latest unrevoked scores, and per (attester, dataset, metric set) the
nonces, through direct, relayed and batched attestations, revocations, nonce bumps and
replays of stale signatures (which must fail). Signatures are real EIP-712 signatures
made by datasoil's signer over the domain of the deployed contract."""

from __future__ import annotations

import hashlib
import os

import boa
from eth_account import Account
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from datasoil.formats.cid import CidTuple
from datasoil.protocol.attestations import Attestation, sign, split_signature, typed_data
from tests.boa.conftest import load

DAG_PB = 0x70
DATASETS = (1, 2)
METRICS = (b"\x01" * 32, b"\x02" * 32)
FAR = 2**63
REPORT = CidTuple(1, 0x55, hashlib.sha256(b"report").digest())
KEYS = [Account.from_key(hashlib.sha256(b"attester%d" % i).digest()) for i in range(4)]
RELAYER = boa.env.generate_address("relayer")
OWNER = boa.env.generate_address("owner")
KEY_SPACE = st.tuples(
    st.integers(0, len(KEYS) - 1), st.sampled_from(DATASETS), st.sampled_from(METRICS)
)


def _root(seed: int) -> bytes:
    return hashlib.sha256(b"root%d" % seed).digest()


class AttestationsMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        registry = load("DatasetRegistry")
        with boa.env.prank(OWNER):
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
                )
        self.contract = load("Attestations", registry.address)
        self.nonces: dict[tuple, int] = {}
        self.active: dict[tuple, int] = {}  # key -> score while counted
        self.stale: list[tuple] = []  # (attestation, signature) no longer valid

    def _att(self, key: tuple, score: int) -> Attestation:
        i, d, m = key
        return Attestation(
            attester=KEYS[i].address,
            dataset_id=d,
            row_root=_root(d),
            metric_set=m,
            score=score,
            report=REPORT,
            deadline=FAR,
            nonce=self.nonces.get(key, 0),
        )

    def _sig(self, key: tuple, a: Attestation) -> tuple:
        typed = typed_data(a, boa.env.evm.patch.chain_id, self.contract.address)
        return split_signature(sign(typed, KEYS[key[0]].key))

    def _apply(self, key: tuple, score: int) -> None:
        self.nonces[key] = self.nonces.get(key, 0) + 1
        self.active[key] = score

    @rule(key=KEY_SPACE, score=st.integers(0, 10000), relayed=st.booleans())
    def attest(self, key, score, relayed) -> None:
        a = self._att(key, score)
        if relayed:
            sig = self._sig(key, a)
            with boa.env.prank(RELAYER):
                self.contract.attest_by_sig(a.as_abi(), sig)
            self.stale.append((a, sig))
        else:
            with boa.env.prank(KEYS[key[0]].address):
                self.contract.attest(a.as_abi())
        self._apply(key, score)

    @rule(key=KEY_SPACE, scores=st.lists(st.integers(0, 10000), min_size=1, max_size=3))
    def batch_same_key(self, key, scores) -> None:
        atts, sigs = [], []
        for score in scores:
            a = self._att(key, score)
            atts.append(a.as_abi())
            sigs.append(self._sig(key, a))
            self._apply(key, score)
        with boa.env.prank(RELAYER):
            self.contract.attest_batch(atts, sigs)

    @rule(key=KEY_SPACE)
    def revoke(self, key) -> None:
        i, d, m = key
        with boa.env.prank(KEYS[i].address):
            if key in self.active:
                self.contract.revoke(d, m)
                del self.active[key]
                self.nonces[key] = self.nonces.get(key, 0) + 1
            else:
                with boa.reverts("attestations: no active attestation"):
                    self.contract.revoke(d, m)

    @rule(key=KEY_SPACE, step=st.integers(0, 3))
    def bump(self, key, step) -> None:
        i, d, m = key
        new = self.nonces.get(key, 0) + step
        with boa.env.prank(KEYS[i].address):
            if step == 0:
                with boa.reverts("attestations: nonce not above the current one"):
                    self.contract.bump_nonce(d, m, new)
            else:
                self.contract.bump_nonce(d, m, new)
                self.nonces[key] = new

    @rule(data=st.data())
    def replay_stale(self, data) -> None:
        if not self.stale:
            return
        a, sig = data.draw(st.sampled_from(self.stale))
        with boa.reverts("attestations: nonce is not the current one"), boa.env.prank(RELAYER):
            self.contract.attest_by_sig(a.as_abi(), sig)

    @invariant()
    def aggregates_match(self) -> None:
        if not hasattr(self, "contract"):
            return
        for d in DATASETS:
            for m in METRICS:
                scores = [s for (_i, dd, mm), s in self.active.items() if (dd, mm) == (d, m)]
                assert tuple(self.contract.aggregate(d, m)) == (len(scores), sum(scores))

    @invariant()
    def nonces_match(self) -> None:
        if not hasattr(self, "contract"):
            return
        for (i, d, m), nonce in self.nonces.items():
            score, _expiry, stored_nonce, active, _revoked = self.contract.record(
                KEYS[i].address, d, m
            )
            assert stored_nonce == nonce
            assert active == ((i, d, m) in self.active)
            if (i, d, m) in self.active:
                assert score == self.active[(i, d, m)]


def test_attestations_machine():
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    run_state_machine_as_test(
        AttestationsMachine,
        settings=settings(
            max_examples=300 if deep else 30, stateful_step_count=40 if deep else 20, deadline=None
        ),
    )
