"""Stateful test of CleaningProofs: claims, commit-reveal audits, long rows, deposits,
bonds, disputes, burning, finalisation.

A plain-Python model tracks every claim, audit, credit and burn; invariants compare it
with the chain after every step. Anyone opens audits -- other accounts and the
claimant itself -- and any number of them. Honest claimants answer each audit as soon
as it is revealed, through datasoil.flows.audit.respond (the library path the `ape run audit`
scripts use, long rows included); dishonest ones answer with tampered rows. The key
invariant (issue 10): an honest claimant never loses its bond, whatever the row lengths
and whoever opens audits, and every settled honest claim credits it back.

Profiles come from tests/stateful/conftest.py: HYPOTHESIS_PROFILE=ci (default) or deep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from datasoil.flows import audit
from tests.contracts.proofs.conftest import BOND, CHALLENGE, DEPOSIT, cid, cleaning
from tests.contracts.proofs.test_long_rows import long_cleaning

REVEAL = 4
RESPONSE = 12
SHARE = BOND * 2000 // 10000
FORFEIT = BOND * 5000 // 10000


@dataclass
class MClaim:
    claimant: object
    honest: bool
    data: audit.ClaimData
    submitted: int
    state: str = "active"  # active, finalised, failed
    disputers: list[str] = field(default_factory=list)
    audits: list[dict] = field(default_factory=list)


def _secret(claim_id: int, n: int) -> bytes:
    return bytes([claim_id % 256, n % 256]) * 16


def test_proofs_state_machine(project, chain, accounts, registry, token, deployer):
    proofs = deployer.deploy(
        project.CleaningProofs,
        registry,
        accounts[9],
        token,
        BOND,
        DEPOSIT,
        CHALLENGE,
        REVEAL,
        RESPONSE,
    )
    actors = list(accounts[1:6])
    for a in actors:
        token.approve(proofs, 10**24, sender=a)
    datasets = {
        "7 short rows": cleaning(7),
        "12 short rows": cleaning(12),
        "5 rows near 4,096 bytes": long_cleaning(5, 4094),
        "3 rows of 20,000 bytes": long_cleaning(3, 20_000),
    }

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.claims: dict[int, MClaim] = {}
            self.credits = {a.address: 0 for a in actors}
            self.burned = 0
            self.locked = 0
            self.base_balance = token.balanceOf(proofs)
            self.base_burned = proofs.burned()
            self.base_credits = {a.address: proofs.credits(a) for a in actors}

        def teardown(self):
            chain.restore(self.snapshot)

        def _now(self) -> int:
            return chain.blocks.head.number

        def _active(self):
            return [i for i, c in self.claims.items() if c.state == "active"]

        def _pick(self, ids, pick):
            return ids[pick % len(ids)]

        @rule(who=st.integers(0, 4), honest=st.booleans(), which=st.sampled_from(list(datasets)))
        def submit(self, who, honest, which):
            claimant = actors[who]
            data = datasets[which]
            facts = data.facts()
            owner = actors[(who + 1) % 5]
            registry.register(
                cid(1), facts.parent_root, facts.rows_in, False, cid(2), "MIT", [], 0, sender=owner
            )
            parent = registry.dataset_count()
            registry.register(
                cid(3),
                facts.child_root,
                facts.rows_out,
                False,
                cid(4),
                "MIT",
                [parent],
                0,
                sender=claimant,
            )
            tx = proofs.submit_claim(
                parent, parent + 1, cid(5), cid(6), facts.fate_root, sender=claimant
            )
            self.claims[proofs.claim_count()] = MClaim(claimant, honest, data, tx.block_number)
            self.locked += BOND

        @precondition(lambda self: self._active())
        @rule(pick=st.integers(0, 100), who=st.integers(0, 5))
        def open_audit(self, pick, who):
            cid_ = self._pick(self._active(), pick)
            c = self.claims[cid_]
            if self._now() + 1 > c.submitted + CHALLENGE:
                return
            # who == 5: the claimant audits itself.
            opener = c.claimant if who == 5 else actors[who]
            n = len(c.audits)
            commitment = audit.commitment(opener.address, _secret(cid_, n))
            tx = proofs.open_audit(cid_, commitment, sender=opener)
            c.audits.append(
                {
                    "auditor": opener.address,
                    "opened": tx.block_number,
                    "state": "open",
                    "revealed": None,
                }
            )
            self.locked += DEPOSIT

        @rule(blocks=st.integers(1, 12))
        def mine(self, blocks):
            chain.mine(blocks)

        def _open(self, revealed):
            return [
                (i, n)
                for i, c in self.claims.items()
                if c.state == "active"
                for n, a in enumerate(c.audits)
                if a["state"] == "open" and (a["revealed"] is not None) == revealed
            ]

        @precondition(lambda self: self._open(False))
        @rule(pick=st.integers(0, 100))
        def reveal(self, pick):
            cid_, n = self._pick(self._open(False), pick)
            c = self.claims[cid_]
            a = c.audits[n]
            if self._now() + 1 < a["opened"] + 2:
                chain.mine(1)
            if self._now() + 1 > a["opened"] + REVEAL:
                return  # too late; expire voids it
            tx = proofs.reveal(cid_, n, _secret(cid_, n), sender=actors[0])
            a["revealed"] = tx.block_number
            if c.honest:
                self._answer(cid_, n)

        def _answer(self, cid_, n):
            """The claimant answers at once (honest: the library's answer)."""
            c = self.claims[cid_]
            if c.honest:
                audit.respond(proofs, registry, cid_, n, c.data, c.claimant)
                c.audits[n]["state"] = "passed"
                self.credits[c.claimant.address] += DEPOSIT
                self.locked -= DEPOSIT
                return
            seed = audit.read_seed(proofs, cid_, n)
            facts = c.data.facts()
            tampered = audit.ClaimData(
                input_leaves=c.data.input_leaves,
                output_leaves=c.data.output_leaves,
                fates=c.data.fates,
                input_rows=tuple(b"x" + r[:4000] for r in c.data.input_rows),
                output_rows=c.data.output_rows,
            )
            resp = audit.build_response(
                tampered,
                audit.sample_indices(seed, facts.rows_in),
                audit.sample_indices(seed, facts.rows_out, audit.SAMPLES),
            )
            ins, outs = resp.as_args()
            proofs.respond(cid_, n, ins, outs, sender=c.claimant)
            self._fail(c, n)

        @precondition(lambda self: self._open(True))
        @rule(pick=st.integers(0, 100))
        def respond(self, pick):
            cid_, n = self._pick(self._open(True), pick)
            a = self.claims[cid_].audits[n]
            if self._now() + 1 > a["revealed"] + RESPONSE:
                return  # too late; expire will settle it
            self._answer(cid_, n)

        def _fail(self, c, n):
            c.state = "failed"
            c.audits[n]["state"] = "failed"
            self.credits[c.audits[n]["auditor"]] += SHARE + DEPOSIT
            self.locked -= BOND + DEPOSIT
            self.burned += BOND - SHARE

        @precondition(lambda self: self._open(False) or self._open(True))
        @rule(pick=st.integers(0, 100))
        def expire(self, pick):
            cid_, n = self._pick(self._open(False) + self._open(True), pick)
            c = self.claims[cid_]
            a = c.audits[n]
            now = self._now() + 1
            if a["revealed"] is None:
                if now <= a["opened"] + REVEAL:
                    return
                proofs.expire(cid_, n, sender=actors[0])
                a["state"] = "void"
                self.credits[c.claimant.address] += DEPOSIT
                self.locked -= DEPOSIT
                return
            if now <= a["revealed"] + RESPONSE:
                return
            proofs.expire(cid_, n, sender=actors[0])
            self._fail(c, n)

        def _stranded(self):
            return [
                (i, n)
                for i, c in self.claims.items()
                if c.state == "failed"
                for n, a in enumerate(c.audits)
                if a["state"] == "open"
            ]

        @precondition(lambda self: self._stranded())
        @rule(pick=st.integers(0, 100))
        def reclaim(self, pick):
            cid_, n = self._pick(self._stranded(), pick)
            a = self.claims[cid_].audits[n]
            proofs.reclaim(cid_, n, sender=actors[0])
            a["state"] = "void"
            self.credits[a["auditor"]] += DEPOSIT
            self.locked -= DEPOSIT

        @precondition(lambda self: self._active())
        @rule(pick=st.integers(0, 100), who=st.integers(0, 4))
        def dispute(self, pick, who):
            cid_ = self._pick(self._active(), pick)
            c = self.claims[cid_]
            disputer = actors[who].address
            if disputer in c.disputers or self._now() + 1 > c.submitted + CHALLENGE:
                return
            proofs.dispute(cid_, sender=actors[who])
            c.disputers.append(disputer)
            self.locked += BOND

        def _unsettled(self):
            return [
                (i, d) for i, c in self.claims.items() if c.state != "active" for d in c.disputers
            ]

        @precondition(lambda self: self._unsettled())
        @rule(pick=st.integers(0, 100))
        def settle_dispute(self, pick):
            cid_, disputer = self._pick(self._unsettled(), pick)
            c = self.claims[cid_]
            proofs.settle_dispute(cid_, disputer, sender=actors[0])
            c.disputers.remove(disputer)
            self.locked -= BOND
            if c.state == "finalised":
                self.credits[c.claimant.address] += FORFEIT
                self.credits[disputer] += BOND - FORFEIT
            else:
                self.credits[disputer] += BOND

        @precondition(lambda self: self._active())
        @rule(pick=st.integers(0, 100))
        def finalize(self, pick):
            cid_ = self._pick(self._active(), pick)
            c = self.claims[cid_]
            if self._now() + 1 <= c.submitted + CHALLENGE:
                return
            if any(a["state"] == "open" for a in c.audits):
                return
            proofs.finalize(cid_, sender=actors[0])
            c.state = "finalised"
            self.credits[c.claimant.address] += BOND
            self.locked -= BOND

        @rule(who=st.integers(0, 4))
        def withdraw(self, who):
            a = actors[who]
            owed = proofs.credits(a) - self.base_credits[a.address]
            if owed <= 0:
                return
            proofs.withdraw(sender=a)
            self.base_credits[a.address] = 0
            self.credits[a.address] -= owed

        @invariant()
        def money_adds_up(self):
            assert proofs.burned() - self.base_burned == self.burned
            for a in actors:
                assert proofs.credits(a) - self.base_credits[a.address] == self.credits[a.address]
            assert token.balanceOf(proofs) - self.base_balance == (
                self.burned + self.locked + sum(self.credits.values())
            )

        @invariant()
        def honest_claimants_keep_their_bond(self):
            for i, c in self.claims.items():
                status = proofs.status(i)
                if c.honest:
                    assert status != audit.Status.FAILED
                if c.state == "failed":
                    assert status == audit.Status.FAILED
                elif c.state == "finalised":
                    assert status == audit.Status.FINALISED
                elif c.disputers:
                    assert status == audit.Status.DISPUTED

        @invariant()
        def audits_match(self):
            for i, c in self.claims.items():
                view = audit.read_claim(proofs, i)
                states = [a.state.name.lower() for a in view.audits]
                assert states == [a["state"] for a in c.audits]
                assert (
                    view.open_audits == sum(a["state"] == "open" for a in c.audits)
                    or c.state == "failed"
                )

    run_state_machine_as_test(Machine)
