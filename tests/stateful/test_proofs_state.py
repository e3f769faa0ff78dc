"""Stateful test of CleaningProofs: claims, audits, deposits, bonds, burning, finalisation.

A plain-Python model tracks every claim, audit, credit and burn; invariants compare it
with the chain after every step. Honest claimants always answer with openings built by
datasoil.audit; dishonest ones answer with tampered rows. The key invariant: no honest
claimant who answered in time loses the bond.

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

from datasoil import audit
from tests.contracts.proofs.conftest import (
    BOND,
    CHALLENGE,
    DEPOSIT,
    RESPONSE,
    cid,
    cleaning,
)

SHARE = BOND * 2000 // 10000


@dataclass
class MClaim:
    claimant: object
    honest: bool
    data: audit.ClaimData
    submitted: int
    state: str = "active"  # active, finalised, failed
    disputer: object = None
    audits: list[dict] = field(default_factory=list)


def test_proofs_state_machine(project, chain, accounts, registry, token, deployer):
    proofs = deployer.deploy(
        project.CleaningProofs, registry, accounts[9], token, BOND, DEPOSIT, CHALLENGE, RESPONSE
    )
    actors = list(accounts[1:6])
    for a in actors:
        token.approve(proofs, 10**24, sender=a)
    datasets = {n: cleaning(n) for n in (7, 12)}

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.claims: dict[int, MClaim] = {}
            self.credits = {a.address: 0 for a in actors}
            self.burned = 0
            self.locked = 0
            self.base = proofs.claim_count()
            self.base_balance = token.balanceOf(proofs)
            self.base_burned = proofs.burned()
            self.base_credits = {a.address: proofs.credits(a) for a in actors}

        def teardown(self):
            chain.restore(self.snapshot)

        def _now(self) -> int:
            return chain.blocks.head.number

        def _active(self):
            return [i for i, c in self.claims.items() if c.state == "active"]

        @rule(who=st.integers(0, 4), honest=st.booleans(), size=st.sampled_from([7, 12]))
        def submit(self, who, honest, size):
            claimant = actors[who]
            data = datasets[size]
            facts = data.facts()
            registry.register(
                cid(1),
                facts.parent_root,
                facts.rows_in,
                False,
                cid(2),
                "MIT",
                [],
                0,
                sender=actors[(who + 1) % 5],
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
        @rule(pick=st.integers(0, 100), who=st.integers(0, 4))
        def open_audit(self, pick, who):
            ids = self._active()
            cid_ = ids[pick % len(ids)]
            c = self.claims[cid_]
            if self._now() + 1 > c.submitted + CHALLENGE or len(c.audits) >= 16:
                return
            tx = proofs.open_audit(cid_, sender=actors[who])
            c.audits.append(
                {"auditor": actors[who].address, "opened": tx.block_number, "state": "open"}
            )
            self.locked += DEPOSIT

        @rule(blocks=st.integers(1, 12))
        def mine(self, blocks):
            chain.mine(blocks)

        def _open_audits(self):
            return [
                (i, n)
                for i, c in self.claims.items()
                if c.state == "active"
                for n, a in enumerate(c.audits)
                if a["state"] == "open"
            ]

        @precondition(lambda self: self._open_audits())
        @rule(pick=st.integers(0, 100))
        def respond(self, pick):
            opens = self._open_audits()
            cid_, n = opens[pick % len(opens)]
            c = self.claims[cid_]
            a = c.audits[n]
            now = self._now()
            if now + 1 < a["opened"] + 2:
                chain.mine(1)
                now += 1
            if now + 1 > a["opened"] + RESPONSE:
                return  # too late; expire will settle it
            seed = audit.read_seed(proofs, cid_, n)
            facts = c.data.facts()
            data = (
                c.data
                if c.honest
                else audit.ClaimData(
                    input_leaves=c.data.input_leaves,
                    output_leaves=c.data.output_leaves,
                    fates=c.data.fates,
                    input_rows=tuple(b"x" + r for r in c.data.input_rows),
                    output_rows=c.data.output_rows,
                )
            )
            resp = audit.build_response(
                data,
                audit.sample_indices(seed, facts.rows_in),
                audit.sample_indices(seed, facts.rows_out, 4),
            )
            ins, outs = resp.as_args()
            proofs.respond(cid_, n, ins, outs, sender=c.claimant)
            if c.honest:
                a["state"] = "passed"
                self.credits[c.claimant.address] += DEPOSIT
                self.locked -= DEPOSIT
            else:
                self._fail(c, n)

        def _fail(self, c, n):
            c.state = "failed"
            for m, other in enumerate(c.audits):
                if other["state"] == "open":
                    other["state"] = "failed" if m == n else "void"
                    self.credits[other["auditor"]] += DEPOSIT
                    self.locked -= DEPOSIT
            self.credits[c.audits[n]["auditor"]] += SHARE
            self.burned += BOND - SHARE
            self.locked -= BOND
            if c.disputer is not None:
                self.credits[c.disputer] += BOND
                self.locked -= BOND

        @precondition(lambda self: self._open_audits())
        @rule(pick=st.integers(0, 100))
        def expire(self, pick):
            opens = self._open_audits()
            cid_, n = opens[pick % len(opens)]
            c = self.claims[cid_]
            if self._now() + 1 <= c.audits[n]["opened"] + RESPONSE:
                return
            proofs.expire(cid_, n, sender=actors[0])
            self._fail(c, n)

        @precondition(lambda self: self._active())
        @rule(pick=st.integers(0, 100), who=st.integers(0, 4))
        def dispute(self, pick, who):
            ids = self._active()
            cid_ = ids[pick % len(ids)]
            c = self.claims[cid_]
            if c.disputer is not None or self._now() + 1 > c.submitted + CHALLENGE:
                return
            proofs.dispute(cid_, sender=actors[who])
            c.disputer = actors[who].address
            self.locked += BOND

        @precondition(lambda self: self._active())
        @rule(pick=st.integers(0, 100))
        def finalize(self, pick):
            ids = self._active()
            cid_ = ids[pick % len(ids)]
            c = self.claims[cid_]
            if self._now() + 1 <= c.submitted + CHALLENGE:
                return
            if any(a["state"] == "open" for a in c.audits):
                return
            proofs.finalize(cid_, sender=actors[0])
            c.state = "finalised"
            self.credits[c.claimant.address] += BOND
            self.locked -= BOND
            if c.disputer is not None:
                self.credits[c.disputer] += BOND
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
            total = 0
            for a in actors:
                chain_credit = proofs.credits(a)
                assert chain_credit - self.base_credits[a.address] == self.credits[a.address]
                total += chain_credit
            assert token.balanceOf(proofs) - self.base_balance == (
                self.burned + self.locked + sum(self.credits.values())
            )

        @invariant()
        def statuses_match(self):
            for i, c in self.claims.items():
                status = proofs.status(i)
                if c.state == "failed":
                    assert status == audit.Status.FAILED
                    # No honest claimant loses the bond except by not answering in time.
                    if c.honest:
                        reasons = {a.reason for a in proofs.claim(i).audits}
                        assert audit.Reason.NO_RESPONSE in reasons
                        assert audit.Reason.INPUT_ROW not in reasons
                elif c.state == "finalised":
                    assert status == audit.Status.FINALISED
                elif c.disputer is not None:
                    assert status == audit.Status.DISPUTED
                else:
                    assert status == (audit.Status.AUDITED if c.audits else audit.Status.PENDING)

    run_state_machine_as_test(Machine)
