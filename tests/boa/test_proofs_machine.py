"""Stateful test of CleaningProofs on titanoboa: claims, commit-reveal audits, long rows,
deposits, bonds, disputes, burning, finalisation, and row disputes judged on chain
(RowDisputes with RowJudge).

A plain-Python model tracks every claim, audit, credit and burn; invariants compare it
with the chain after every step. Anyone opens audits -- other accounts and the
claimant itself -- and any number of them. Honest claimants answer each audit as soon
as it is revealed, as datasoil.flows.audit.respond does (the facts read from the chain
must be the data's, the answer is checked locally, long rows go first by open_row);
dishonest ones answer with tampered rows. The key invariant (issue 10): an honest
claimant never loses its bond, whatever the row lengths and whoever opens audits, and
every settled honest claim credits it back. A call the model expects the contract to
refuse (a window closed or not yet over, a second dispute, nothing to withdraw) is sent
anyway and must revert with the contract's reason.

Row disputes: some claims are real engine cleanings through a judgeable recipe, claimed
with its judge program (tests/contracts/proofs/judged.py): the honest one and three each
wrong about one row (a filter or a dedupe skipped, an output row rewritten); which rows
are wrong is the Python engine's verdict (`wrong_rows`), not the contract's. Anyone
disputes any row (or a wrong one, naming the earlier row it needs); the claimant answers
at once where it is honest and right (its watcher), the disputer or anyone else answers
the rest in time (a forged opening first reverts), or the dispute expires. Invariants:
an honest claimant right about its rows never loses its bond to a row dispute (every one
is rejected and pays it the dispute bond), a wrong row is always slashable (answered, it
is upheld and the claim fails with its whole bond to the disputer), an unanswered dispute
is upheld, and bonds are conserved (each contract holds exactly its locked bonds and
credits after every step; the token's supply equals the accounts' and the two contracts'
balances after every withdrawal and at the end).

Calls land in the current block until the `mine` rule moves on; BLOCKHASH answers
tests/contracts/_boa.py's `block_hash`. The world (contracts, approvals) is built once;
each example runs in its own `boa.env.anchor()`. The machine is a module-level class,
importable by a deeper run; the CI profile here is larger than the anvil one it replaces,
and HYPOTHESIS_PROFILE=deep (`make test-deep`) runs a deeper one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from datasoil.flows import audit
from datasoil.formats.recipe import Dedupe, Filter
from datasoil.protocol import row_disputes as rd
from tests.boa.conftest import load
from tests.contracts._boa import block_number, mine, mine_to
from tests.contracts.proofs.claims import (
    BOND,
    CHALLENGE,
    DEPOSIT,
    FORFEIT,
    SHARE,
    cid,
    cleaning,
    long_cleaning,
    response_for,
    send_answer,
)
from tests.contracts.proofs.judged import (
    Judged,
    altered_cleaning,
    doing_nothing,
    forged,
    judged_cleaning,
)

REVEAL = 4
RESPONSE = 12
SEED_DELAY = 2  # a reveal lands from the block after next of the opening on
TOKENS = 10**24
ACTORS = [boa.env.generate_address(f"proofs-machine-{i}") for i in range(5)]
DEPLOYER = boa.env.generate_address("proofs-machine-deployer")
DATASETS = {
    "7 short rows": cleaning(7),
    "12 short rows": cleaning(12),
    "5 rows near 4,096 bytes": long_cleaning(5, 4094),
    "3 rows of 20,000 bytes": long_cleaning(3, 20_000),
}
_HONEST = judged_cleaning()
# Cleanings through tests/contracts/proofs/judged.py's six-step judgeable recipe, claimed
# with its judge program: the engine's own, and three wrong ones (one row each).
JUDGED = {
    "judged": _HONEST,
    "judged, filter skipped": altered_cleaning(lambda: doing_nothing(Filter)),
    "judged, dedupe skipped": altered_cleaning(lambda: doing_nothing(Dedupe)),
    "judged, an output row rewritten": forged(
        _HONEST,
        outputs=[r.replace(b"eve@", b"EVE@") for r in _HONEST.data.output_rows or ()],
    ),
}


def wrong_rows(claimed: Judged, honest: Judged = _HONEST) -> dict[int, int | None]:
    """The rows a claim gets wrong, by the Python engine's honest cleaning: each with the
    earlier row a dispute must name (the honest duplicate, for a row claimed kept that
    the honest run drops as a duplicate; None when naming none is enough). A record that
    differs in kept, step or duplicate, or a kept row published as other bytes. (The
    rows hold one duplicate pair, so naming any other earlier row changes nothing.)"""
    wrong: dict[int, int | None] = {}
    c_out, h_out = claimed.data.output_rows or (), honest.data.output_rows or ()
    for i, (c, h) in enumerate(zip(claimed.fates, honest.fates, strict=True)):
        if (c.kept, c.step, c.dup_of) != (h.kept, h.step, h.dup_of):
            wrong[i] = h.dup_of if c.dup_of is None else None
        elif c.kept and c_out[c.output_index] != h_out[h.output_index]:
            wrong[i] = None
    return wrong


@dataclass
class World:
    registry: Any
    token: Any
    proofs: Any
    disputes: Any


_WORLD: list[World] = []


def _build() -> World:
    with boa.env.prank(DEPLOYER):
        registry = load("DatasetRegistry")
        token = load("DemoToken", "datasoil demo", "SOIL")
        proofs = load(
            "CleaningProofs",
            registry,
            DEPLOYER,  # the Attestations address is only stored
            token,
            BOND,
            DEPOSIT,
            CHALLENGE,
            REVEAL,
            RESPONSE,
        )
        disputes = load("RowDisputes", proofs, load("RowJudge"))
        proofs.enable_row_disputes(disputes, sender=DEPLOYER)
        for a in ACTORS:
            token.mint(a, TOKENS)
    for a in ACTORS:
        token.approve(proofs, TOKENS, sender=a)
        token.approve(disputes, TOKENS, sender=a)
    return World(registry, token, proofs, disputes)


def _world() -> World:
    """The world, built on first use (again if an outer anchor has reverted it)."""
    if not _WORLD or not boa.env.get_code(_WORLD[0].proofs.address):
        _WORLD[:] = [_build()]
    return _WORLD[0]


@dataclass
class MClaim:
    claimant: str
    honest: bool
    data: audit.ClaimData
    submitted: int
    state: str = "active"  # active, finalised, failed
    disputers: list[str] = field(default_factory=list)
    audits: list[dict] = field(default_factory=list)
    judged: Judged | None = None  # claimed with its judge program committed
    wrong: dict[int, int | None] = field(default_factory=dict)  # wrong_rows
    row_disputes: list[dict] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        """Honest in audits and right about every row."""
        return self.honest and not self.wrong


def _secret(claim_id: int, n: int) -> bytes:
    return bytes([claim_id % 256, n % 256]) * 16


CLAIM = {
    "who": st.integers(0, 4),
    "honest": st.booleans(),
    "which": st.sampled_from(list(DATASETS) + list(JUDGED)),
}


class ProofsMachine(RuleBasedStateMachine):
    @initialize(**CLAIM, judged=st.sampled_from(list(JUDGED)))
    def start(self, who: int, honest: bool, which: str, judged: str) -> None:
        """A fresh copy of the world, a first claim (so audits start at once) and a judged
        one (so rows can be disputed at once)."""
        self.w = _world()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        mine(1)  # past the world's block, so BLOCKHASH reads this file's hashes
        self.claims: dict[int, MClaim] = {}
        self.done: set[int] = set()
        self.credits = {a: 0 for a in ACTORS}
        self.burned = 0
        self.locked = 0
        self.row_credits = {a: 0 for a in ACTORS}
        self.row_locked = 0
        self.base_balance = int(self.w.token.balanceOf(self.w.proofs))
        self.base_row_balance = int(self.w.token.balanceOf(self.w.disputes))
        self.base_burned = int(self.w.proofs.burned())
        self.supply = int(self.w.token.totalSupply())
        self.submit(who, honest, which)
        self.submit((who + 1) % 5, honest, judged)

    def _conserved(self) -> None:
        """Bonds conserved: no value created or lost, whoever wins (the two contracts'
        holdings are checked against the model after every step, by money_adds_up)."""
        token, w = self.w.token, self.w
        held = token.balanceOf(w.proofs) + token.balanceOf(w.disputes)
        assert token.totalSupply() == self.supply
        assert held + sum(token.balanceOf(a) for a in ACTORS) == self.supply

    def teardown(self) -> None:
        try:
            if hasattr(self, "supply"):
                self._conserved()
        finally:
            if hasattr(self, "_anchor"):
                self._anchor.__exit__(None, None, None)

    def _active(self) -> list[int]:
        return [i for i, c in self.claims.items() if c.state == "active"]

    @staticmethod
    def _pick(ids: list[Any], pick: int) -> Any:
        return ids[pick % len(ids)]

    @rule(**CLAIM)
    def submit(self, who: int, honest: bool, which: str) -> None:
        proofs, registry = self.w.proofs, self.w.registry
        claimant = ACTORS[who]
        judged = JUDGED.get(which)
        data = judged.data if judged else DATASETS[which]
        facts = data.facts()
        owner = ACTORS[(who + 1) % 5]
        parent = registry.register(
            cid(1), facts.parent_root, facts.rows_in, False, cid(2), "MIT", [], 0, sender=owner
        )
        child = registry.register(
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
        submitted = block_number()
        claim_id = proofs.submit_claim(
            parent, child, cid(5), cid(6), facts.fate_root, sender=claimant
        )
        assert claim_id == len(self.claims) + 1
        self.claims[claim_id] = MClaim(claimant, honest, data, submitted)
        self.locked += BOND
        if judged is not None:
            self.w.disputes.commit_judge(claim_id, judged.program_hash, sender=claimant)
            self.claims[claim_id].judged = judged
            self.claims[claim_id].wrong = wrong_rows(judged)

    def _in_window(self) -> list[int]:
        """Active claims within their challenge window."""
        now = block_number()
        return [i for i in self._active() if now <= self.claims[i].submitted + CHALLENGE]

    @precondition(lambda self: self._in_window())
    @rule(pick=st.integers(0, 100), who=st.integers(0, 5), reveal_now=st.booleans())
    def open_audit(self, pick: int, who: int, reveal_now: bool) -> None:
        """Anyone opens an audit; with ``reveal_now`` its secret is revealed as soon as
        it may be (two blocks on), else by the reveal rule, late or never."""
        claim_id = self._pick(self._in_window(), pick)
        c = self.claims[claim_id]
        # who == 5: the claimant audits itself.
        opener = c.claimant if who == 5 else ACTORS[who]
        n = len(c.audits)
        opened = block_number()
        commitment = audit.commitment(opener, _secret(claim_id, n))
        assert self.w.proofs.open_audit(claim_id, commitment, sender=opener) == n
        c.audits.append({"auditor": opener, "opened": opened, "state": "open", "revealed": None})
        self.locked += DEPOSIT
        if reveal_now:
            self._reveal(claim_id, n)

    # within a reveal window, within an answer window, or past a whole challenge window
    # (anvil mined a block per transaction besides; here only this rule moves on)
    @rule(blocks=st.integers(1, 2) | st.integers(3, RESPONSE + 1) | st.just(CHALLENGE + 1))
    def mine(self, blocks: int) -> None:
        mine(blocks)

    def _open(self, revealed: bool) -> list[tuple[int, int]]:
        return [
            (i, n)
            for i, c in self.claims.items()
            if c.state == "active"
            for n, a in enumerate(c.audits)
            if a["state"] == "open" and (a["revealed"] is not None) == revealed
        ]

    def _revealable(self) -> list[tuple[int, int]]:
        """Unrevealed open audits whose reveal window has not closed."""
        now = block_number()
        return [
            (i, n)
            for i, n in self._open(False)
            if now <= self.claims[i].audits[n]["opened"] + REVEAL
        ]

    @precondition(lambda self: self._revealable())
    @rule(pick=st.integers(0, 100))
    def reveal(self, pick: int) -> None:
        self._reveal(*self._pick(self._revealable(), pick))

    def _reveal(self, claim_id: int, n: int) -> None:
        """Reveal (mining to the first block it may land in), then the claimant answers
        at once if honest."""
        c = self.claims[claim_id]
        a = c.audits[n]
        if block_number() < a["opened"] + SEED_DELAY:
            with boa.reverts("proofs: seed block not mined yet"):
                self.w.proofs.reveal(claim_id, n, _secret(claim_id, n), sender=ACTORS[0])
            mine_to(a["opened"] + SEED_DELAY)
        with boa.reverts("proofs: reveal deadline not passed"):
            self.w.proofs.expire(claim_id, n, sender=ACTORS[0])
        self.w.proofs.reveal(claim_id, n, _secret(claim_id, n), sender=ACTORS[0])
        a["revealed"] = block_number()
        if c.honest:
            self._answer(claim_id, n)

    def _answer(self, claim_id: int, n: int) -> None:
        """The claimant answers at once (honest: as the library answers)."""
        proofs = self.w.proofs
        c = self.claims[claim_id]
        if c.honest:
            facts = audit.read_facts(proofs, self.w.registry, claim_id)
            assert facts == c.data.facts()
            response = response_for(proofs, c.data, claim_id, n)
            seed = audit.read_seed(proofs, claim_id, n)
            assert audit.check_response(facts, response, seed) == (audit.Reason.NONE, 0)
            send_answer(proofs, claim_id, n, response, c.claimant)
            c.audits[n]["state"] = "passed"
            self.credits[c.claimant] += DEPOSIT
            self.locked -= DEPOSIT
            return
        tampered = audit.ClaimData(
            input_leaves=c.data.input_leaves,
            output_leaves=c.data.output_leaves,
            fates=c.data.fates,
            input_rows=tuple(b"x" + r[:4000] for r in c.data.input_rows),
            output_rows=c.data.output_rows,
        )
        ins, outs = response_for(proofs, tampered, claim_id, n).as_args()
        proofs.respond(claim_id, n, ins, outs, sender=c.claimant)
        self._fail(c, n)

    def _answerable(self) -> list[tuple[int, int]]:
        """Revealed open audits (of dishonest claims: honest ones answer at the reveal)
        whose answer window has not closed."""
        now = block_number()
        return [
            (i, n)
            for i, n in self._open(True)
            if now <= self.claims[i].audits[n]["revealed"] + RESPONSE
        ]

    @precondition(lambda self: self._answerable())
    @rule(pick=st.integers(0, 100))
    def respond(self, pick: int) -> None:
        claim_id, n = self._pick(self._answerable(), pick)
        with boa.reverts("proofs: response deadline not passed"):
            self.w.proofs.expire(claim_id, n, sender=ACTORS[0])
        self._answer(claim_id, n)

    def _fail(self, c: MClaim, n: int) -> None:
        c.state = "failed"
        c.audits[n]["state"] = "failed"
        self.credits[c.audits[n]["auditor"]] += SHARE + DEPOSIT
        self.locked -= BOND + DEPOSIT
        self.burned += BOND - SHARE

    def _expired(self) -> list[tuple[int, int]]:
        """Open audits past their deadline: unrevealed after the reveal window, revealed
        and unanswered after the answer window (before, expire reverts: checked in
        reveal and respond)."""
        now = block_number()
        return [
            (i, n)
            for i, n in self._open(False) + self._open(True)
            if now > self.claims[i].audits[n]["opened"] + REVEAL
            if self.claims[i].audits[n]["revealed"] is None
            or now > self.claims[i].audits[n]["revealed"] + RESPONSE
        ]

    @precondition(lambda self: self._expired())
    @rule(pick=st.integers(0, 100))
    def expire(self, pick: int) -> None:
        claim_id, n = self._pick(self._expired(), pick)
        c = self.claims[claim_id]
        a = c.audits[n]
        proofs = self.w.proofs
        if a["revealed"] is None:
            with boa.reverts("proofs: reveal window closed"):
                proofs.reveal(claim_id, n, _secret(claim_id, n), sender=ACTORS[0])
            proofs.expire(claim_id, n, sender=ACTORS[0])
            a["state"] = "void"
            self.credits[c.claimant] += DEPOSIT
            self.locked -= DEPOSIT
            return
        with boa.reverts("proofs: response deadline passed"):
            proofs.respond(claim_id, n, [], [], sender=c.claimant)
        proofs.expire(claim_id, n, sender=ACTORS[0])
        self._fail(c, n)

    def _stranded(self) -> list[tuple[int, int]]:
        return [
            (i, n)
            for i, c in self.claims.items()
            if c.state == "failed"
            for n, a in enumerate(c.audits)
            if a["state"] == "open"
        ]

    @precondition(lambda self: self._stranded())
    @rule(pick=st.integers(0, 100))
    def reclaim(self, pick: int) -> None:
        claim_id, n = self._pick(self._stranded(), pick)
        a = self.claims[claim_id].audits[n]
        self.w.proofs.reclaim(claim_id, n, sender=ACTORS[0])
        a["state"] = "void"
        self.credits[a["auditor"]] += DEPOSIT
        self.locked -= DEPOSIT

    @precondition(lambda self: self._in_window())
    @rule(pick=st.integers(0, 100), who=st.integers(0, 4))
    def dispute(self, pick: int, who: int) -> None:
        claim_id = self._pick(self._in_window(), pick)
        c = self.claims[claim_id]
        disputer = ACTORS[who]
        with boa.reverts("proofs: challenge window not over"):
            self.w.proofs.finalize(claim_id, sender=ACTORS[0])
        if disputer in c.disputers:
            with boa.reverts("proofs: already disputed"):
                self.w.proofs.dispute(claim_id, sender=disputer)
            return
        self.w.proofs.dispute(claim_id, sender=disputer)
        c.disputers.append(disputer)
        self.locked += BOND

    def _unsettled(self) -> list[tuple[int, str]]:
        return [(i, d) for i, c in self.claims.items() if c.state != "active" for d in c.disputers]

    @precondition(lambda self: self._unsettled())
    @rule(pick=st.integers(0, 100))
    def settle_dispute(self, pick: int) -> None:
        claim_id, disputer = self._pick(self._unsettled(), pick)
        c = self.claims[claim_id]
        self.w.proofs.settle_dispute(claim_id, disputer, sender=ACTORS[0])
        c.disputers.remove(disputer)
        self.locked -= BOND
        if c.state == "finalised":
            self.credits[c.claimant] += FORFEIT
            self.credits[disputer] += BOND - FORFEIT
        else:
            self.credits[disputer] += BOND

    def _closed(self) -> list[int]:
        """Active claims past their challenge window (before, finalize reverts: checked
        in dispute)."""
        now = block_number()
        return [i for i in self._active() if now > self.claims[i].submitted + CHALLENGE]

    @precondition(lambda self: self._closed())
    @rule(pick=st.integers(0, 100))
    def finalize(self, pick: int) -> None:
        claim_id = self._pick(self._closed(), pick)
        c = self.claims[claim_id]
        proofs = self.w.proofs
        with boa.reverts("proofs: challenge window closed"):
            proofs.open_audit(claim_id, b"\x01" * 32, sender=ACTORS[0])
        with boa.reverts("proofs: challenge window closed"):
            proofs.dispute(claim_id, sender=ACTORS[0])
        if any(a["state"] == "open" for a in c.audits):
            with boa.reverts("proofs: audit pending"):
                self.w.proofs.finalize(claim_id, sender=ACTORS[0])
            return
        if any(d["state"] == "open" for d in c.row_disputes):
            with boa.reverts("proofs: row dispute pending"):
                self.w.proofs.finalize(claim_id, sender=ACTORS[0])
            return
        self.w.proofs.finalize(claim_id, sender=ACTORS[0])
        c.state = "finalised"
        self.credits[c.claimant] += BOND
        self.locked -= BOND

    @precondition(lambda self: any(self.credits.values()))
    @rule(pick=st.integers(0, 100))
    def withdraw(self, pick: int) -> None:
        a = self._pick([a for a in ACTORS if self.credits[a]], pick)
        owed = self.credits[a]
        before = self.w.token.balanceOf(a)
        assert self.w.proofs.withdraw(sender=a) == owed
        assert self.w.token.balanceOf(a) == before + owed
        self.credits[a] = 0
        with boa.reverts("proofs: nothing to withdraw"):
            self.w.proofs.withdraw(sender=a)
        self._conserved()

    # -- row disputes (RowDisputes + RowJudge) -------------------------------------------

    @precondition(lambda self: self._in_window())
    @rule(
        pick=st.integers(0, 100),
        who=st.integers(0, 4),
        row=st.integers(0, 100),
        pick_wrong=st.booleans(),
        name_earlier=st.booleans(),
        by_disputer=st.booleans(),
    )
    def dispute_row(
        self, pick: int, who: int, row: int, pick_wrong: bool, name_earlier: bool,
        by_disputer: bool,
    ) -> None:  # fmt: skip
        """Anyone disputes a row (a wrong one, with the earlier row it needs, when
        ``pick_wrong`` and the claim has one). The claimant answers at once where it is
        right and honest (its watcher); with ``by_disputer`` the disputer answers at once
        (to have it judged now); otherwise the dispute waits for the answer rule."""
        disputer = ACTORS[who]
        disputes = self.w.disputes
        plain = [i for i in self._in_window() if self.claims[i].judged is None]
        if plain:
            with boa.reverts("disputes: claim has no judge program"):
                disputes.dispute_row(self._pick(plain, pick), 0, sender=disputer)
        judged = [i for i in self._in_window() if self.claims[i].judged is not None]
        if not judged:
            return
        claim_id = self._pick(judged, pick)
        c = self.claims[claim_id]
        rows_in = c.data.rows_in
        with boa.reverts("disputes: no such input row"):
            disputes.dispute_row(claim_id, rows_in, sender=disputer)
        if pick_wrong and c.wrong:
            index = self._pick(sorted(c.wrong), row)
            earlier = c.wrong[index]
        else:
            index = row % rows_in
            earlier = row // rows_in % index if name_earlier and index else None
        args = (claim_id, index) if earlier is None else (claim_id, index, earlier)
        number = disputes.dispute_row(*args, sender=disputer)
        assert number == len(c.row_disputes)
        c.row_disputes.append(
            {"disputer": disputer, "index": index, "earlier": earlier,
             "opened": block_number(), "state": "open"}
        )  # fmt: skip
        self.row_locked += BOND
        if c.honest and index not in c.wrong:
            self._answer_row(claim_id, number, c.claimant)
        elif by_disputer:
            self._answer_row(claim_id, number, disputer)

    def _answer_row(self, claim_id: int, number: int, sender: str) -> None:
        """Answer with the claim's own openings (as datasoil.protocol.row_disputes builds
        them); the verdict must be the engine's: upheld exactly on a wrong row (with the
        earlier row it needs)."""
        c = self.claims[claim_id]
        d = c.row_disputes[number]
        assert c.judged is not None
        answer = rd.build_row_answer(c.judged.data, c.judged.program, d["index"], d["earlier"])
        self.w.disputes.answer_row(claim_id, number, *answer.as_args(), sender=sender)
        wrong = d["index"] in c.wrong and c.wrong[d["index"]] in (None, d["earlier"])
        self._settle_row(c, d, upheld=wrong)

    def _settle_row(self, c: MClaim, d: dict, *, upheld: bool) -> None:
        d["state"] = "upheld" if upheld else "rejected"
        self.row_locked -= BOND
        if not upheld:
            self.row_credits[c.claimant] += BOND
            return
        self.row_credits[d["disputer"]] += BOND
        if c.state == "active":  # the claim fails, its whole bond to the disputer
            c.state = "failed"
            self.locked -= BOND
            self.credits[d["disputer"]] += BOND

    def _open_rows(self, *, late: bool) -> list[tuple[int, int]]:
        """Open row disputes within their answer window, or (``late``) past it."""
        now = block_number()
        return [
            (i, n)
            for i, c in self.claims.items()
            for n, d in enumerate(c.row_disputes)
            if d["state"] == "open" and (now > d["opened"] + RESPONSE) == late
        ]

    @precondition(lambda self: self._open_rows(late=False))
    @rule(pick=st.integers(0, 100), who=st.integers(0, 4), forge_first=st.booleans())
    def answer_row(self, pick: int, who: int, forge_first: bool) -> None:
        """Anyone answers an open dispute in time (a forged input row first reverts)."""
        claim_id, number = self._pick(self._open_rows(late=False), pick)
        disputes = self.w.disputes
        with boa.reverts("disputes: answer deadline not passed"):
            disputes.expire_row(claim_id, number, sender=ACTORS[who])
        if forge_first:
            c = self.claims[claim_id]
            d = c.row_disputes[number]
            assert c.judged is not None
            answer = rd.build_row_answer(c.judged.data, c.judged.program, d["index"], d["earlier"])
            program, opening, output, earlier = answer.as_args()
            forged_opening = (b"\xa0" + opening[0][1:], *opening[1:])
            with boa.reverts("disputes: input row does not open"):
                disputes.answer_row(
                    claim_id, number, program, forged_opening, output, earlier, sender=ACTORS[who]
                )
        self._answer_row(claim_id, number, ACTORS[who])

    @precondition(lambda self: self._open_rows(late=True))
    @rule(pick=st.integers(0, 100), who=st.integers(0, 4))
    def expire_row(self, pick: int, who: int) -> None:
        """An unanswered dispute past its deadline is upheld (an answer now reverts)."""
        claim_id, number = self._pick(self._open_rows(late=True), pick)
        c = self.claims[claim_id]
        d = c.row_disputes[number]
        assert c.judged is not None
        answer = rd.build_row_answer(c.judged.data, c.judged.program, d["index"], d["earlier"])
        with boa.reverts("disputes: answer deadline passed"):
            self.w.disputes.answer_row(claim_id, number, *answer.as_args(), sender=ACTORS[who])
        self.w.disputes.expire_row(claim_id, number, sender=ACTORS[who])
        d["expired"] = True
        self._settle_row(c, d, upheld=True)

    @precondition(lambda self: any(self.row_credits.values()))
    @rule(pick=st.integers(0, 100))
    def withdraw_row_credits(self, pick: int) -> None:
        a = self._pick([a for a in ACTORS if self.row_credits[a]], pick)
        owed = self.row_credits[a]
        before = self.w.token.balanceOf(a)
        assert self.w.disputes.withdraw(sender=a) == owed
        assert self.w.token.balanceOf(a) == before + owed
        self.row_credits[a] = 0
        with boa.reverts("disputes: nothing to withdraw"):
            self.w.disputes.withdraw(sender=a)
        self._conserved()

    @invariant()
    def money_adds_up(self) -> None:
        if not hasattr(self, "w"):
            return
        proofs = self.w.proofs
        assert proofs.burned() - self.base_burned == self.burned
        for a in ACTORS:
            assert proofs.credits(a) == self.credits[a]
        assert self.w.token.balanceOf(proofs) - self.base_balance == (
            self.burned + self.locked + sum(self.credits.values())
        )
        disputes, token = self.w.disputes, self.w.token
        for a in ACTORS:
            assert disputes.credits(a) == self.row_credits[a]
        assert token.balanceOf(disputes) - self.base_row_balance == (
            self.row_locked + sum(self.row_credits.values())
        )

    @invariant()
    def claims_match(self) -> None:
        """Each claim as the chain reports it (one read_claim a step) against the model;
        a settled claim with nothing left open, once matched, is not read again (no call
        can change it)."""
        for i, c in getattr(self, "claims", {}).items():
            if i in self.done:
                continue
            view = audit.read_claim(self.w.proofs, i)
            self._honest_claimant_keeps_its_bond(c, view)
            self._audits_match(c, view)
            self._row_disputes_match(i, c)
            opened = [x["state"] == "open" for x in c.audits + c.row_disputes]
            if c.state != "active" and not any(opened):
                self.done.add(i)

    @staticmethod
    def _honest_claimant_keeps_its_bond(c: MClaim, view: audit.ClaimStatus) -> None:
        """An honest claim never fails (so its bond is never slashed), and every claim's
        status is the model's."""
        if c.correct:
            assert view.status != audit.Status.FAILED
        if c.state == "failed":
            assert view.status == audit.Status.FAILED
        elif c.state == "finalised":
            assert view.status == audit.Status.FINALISED
        elif c.disputers or any(d["state"] == "open" for d in c.row_disputes):
            assert view.status == audit.Status.DISPUTED

    def _row_disputes_match(self, claim_id: int, c: MClaim) -> None:
        """Each row dispute's state is the model's: an honest claimant's are rejected, a
        wrong row's (with the earlier row it needs) upheld, an unanswered one upheld."""
        disputes = self.w.disputes
        assert disputes.row_dispute_count(claim_id) == len(c.row_disputes)
        states = {"open": rd.DisputeState.OPEN, "upheld": rd.DisputeState.UPHELD}
        for n, d in enumerate(c.row_disputes):
            view = disputes.row_dispute(claim_id, n)
            assert (view.disputer, view.index) == (d["disputer"], d["index"])
            assert view.state == states.get(d["state"], rd.DisputeState.REJECTED)
            if c.correct:
                assert d["state"] != "upheld"
            if d["state"] == "rejected":
                assert d["index"] not in c.wrong or c.wrong[d["index"]] != d["earlier"]
            if d["state"] == "upheld" and not d.get("expired"):
                assert view.outcome != rd.Outcome.NONE

    @staticmethod
    def _audits_match(c: MClaim, view: audit.ClaimStatus) -> None:
        states = [a.state.name.lower() for a in view.audits]
        assert states == [a["state"] for a in c.audits]
        assert (
            view.open_audits == sum(a["state"] == "open" for a in c.audits) or c.state == "failed"
        )


def test_proofs_machine():
    # CI: 20 x 30 (the anvil machine ran 12 x 12) in about its time; `make test-deep`: deeper
    deep = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
    # Built here, outside the examples: titanoboa's pytest plugin runs each hypothesis
    # example in an anchor of its own, which would revert a world built in the first one.
    _world()
    run_state_machine_as_test(
        ProofsMachine,
        settings=settings(
            max_examples=300 if deep else 20,
            stateful_step_count=50 if deep else 30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
