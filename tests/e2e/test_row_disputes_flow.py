"""datasoil.flows.row_disputes end to end on anvil: a claim of an engine cleaning, its
judge program committed from the proof, a row disputed and answered by the claimant's
watcher (answer_open_row_disputes), a wrong claim's answer refused locally (the free
RowJudge call shows the chain would uphold it) and the dispute upheld when it expires.
The contracts' own tests run on titanoboa (tests/contracts/proofs/test_row_disputes.py).
"""

from __future__ import annotations

import pytest

from datasoil.errors import ProofError
from datasoil.flows import row_disputes as flow
from datasoil.formats.recipe import Filter
from datasoil.protocol.row_disputes import DisputeState
from tests import proofs_ape as fx
from tests import row_disputes_ape as rx
from tests.contracts.proofs.claims import BOND, cid
from tests.contracts.proofs.judged import (
    FILTERED_ROW,
    KEPT_ROW,
    altered_cleaning,
    doing_nothing,
    judged_cleaning,
)

# The CleaningProofs fixtures on ape + anvil.
attestations_address = fx.attestations_address
proofs = fx.proofs
register_pair = fx.register_pair
row_judge = rx.row_judge
row_disputes = rx.row_disputes


def _proof(judged) -> dict:
    """The proof's judge record, as the engine writes it."""
    return {
        "judge": {"program": "0x" + judged.program.hex(), "hash": "0x" + judged.program_hash.hex()}
    }


def _claim(proofs, token, register_pair, judged, cleaner) -> int:
    parent_id, child_id = register_pair(judged.data, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    proofs.submit_claim(
        parent_id, child_id, cid(7), cid(8), judged.data.facts().fate_root, sender=cleaner
    )
    return int(proofs.claim_count())


def test_flow__honest_claim_answered_by_the_watcher(
    proofs, row_disputes, row_judge, token, register_pair, cleaner, other
):
    judged = judged_cleaning()
    claim_id = _claim(proofs, token, register_pair, judged, cleaner)
    assert flow.commit_judge(row_disputes, claim_id, _proof(judged), cleaner) == judged.program_hash
    assert flow.commit_judge(row_disputes, claim_id, {"judge": {"program": None}}, cleaner) is None
    number = flow.dispute_row(row_disputes, token, claim_id, KEPT_ROW, None, other)
    flow.dispute_row(row_disputes, token, claim_id, FILTERED_ROW, KEPT_ROW, other)
    logged: list[str] = []
    done = flow.answer_open_row_disputes(
        row_disputes, row_judge, claim_id, judged.data, judged.program, cleaner, logged.append
    )
    assert done == [number, number + 1]
    assert [int(row_disputes.row_dispute(claim_id, n).state) for n in done] == [
        DisputeState.REJECTED
    ] * 2
    assert int(row_disputes.credits(cleaner)) == 2 * BOND
    assert logged[0] == f"answered row dispute 0 of claim {claim_id} (row {KEPT_ROW})"
    assert (
        flow.answer_open_row_disputes(
            row_disputes, row_judge, claim_id, judged.data, judged.program, cleaner, logged.append
        )
        == []
    )


def test_flow__wrong_claim_answer_refused_and_the_dispute_upheld(
    proofs, row_disputes, row_judge, token, register_pair, cleaner, other, chain
):
    wrong = altered_cleaning(lambda: doing_nothing(Filter))
    claim_id = _claim(proofs, token, register_pair, wrong, cleaner)
    flow.commit_judge(row_disputes, claim_id, _proof(wrong), cleaner)
    number = flow.dispute_row(row_disputes, token, claim_id, FILTERED_ROW, None, other)
    with pytest.raises(
        ProofError,
        match=r"row 1 of claim \d+: the chain would uphold the dispute \(judged dropped at step 5",
    ):
        flow.answer_row(
            row_disputes, row_judge, claim_id, number, wrong.data, wrong.program, cleaner
        )
    chain.mine(int(proofs.response_blocks()) + 1)
    row_disputes.expire_row(claim_id, number, sender=other)
    assert int(row_disputes.row_dispute(claim_id, number).state) == DisputeState.UPHELD
    assert int(proofs.status(claim_id)) == 4
    assert int(proofs.credits(other)) == BOND


def test_dispute_command__names_the_row_and_the_earlier_one():
    assert flow.dispute_command(3, 17) == "ape run audit dispute-row 3 17"
    assert flow.dispute_command(3, 17, 4) == "ape run audit dispute-row 3 17 --earlier 4"


def test_verifier_names_the_winning_dispute_and_it_wins(
    project, deployer, registry, token, owner, cleaner, other, tmp_path, monkeypatch, chain
):
    """The loop with nobody's attestation: a claimant runs an engine whose filter does
    nothing and claims it (committing the honest recipe's program); a verifier's full
    re-execution says which row to dispute and how; that dispute, unanswerable, is upheld
    and slashes the claim."""
    from datasoil.chain.registry import Registry
    from datasoil.flows import claims, publish
    from datasoil.store.local import LocalStore
    from tests.contracts.proofs.judged import CSV, RECIPE

    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    attestations = deployer.deploy(project.Attestations, registry)
    proofs = deployer.deploy(
        project.CleaningProofs, registry, attestations, token, BOND, 5 * 10**18, 30, 5, 12
    )
    judge = deployer.deploy(project.RowJudge)
    disputes = deployer.deploy(project.RowDisputes, proofs, judge)
    proofs.enable_row_disputes(disputes, sender=deployer)
    store, reg = LocalStore(tmp_path / "ipfs"), Registry(registry)
    raw = tmp_path / "people.csv"
    raw.write_text(CSV, encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    raw_id = publish.register(publish.prepare(raw, store=store), reg, sender=owner)
    with doing_nothing(Filter):
        child = claims.clean_and_publish(
            raw_id, recipe, registry=reg, store=store, sender=cleaner, work=tmp_path / "work"
        )
    claim_id = flow.submit_judged_claim(proofs, disputes, token, child, sender=cleaner)
    assert bytes(disputes.judge_program(claim_id)) == flow.judge_program_of(child.result.proof)[1]

    verdict = claims.verify_claim(claim_id, proofs=proofs, registry=reg, store=store)
    assert not verdict.reproduced
    command = f"ape run audit dispute-row {claim_id} {FILTERED_ROW}"
    assert verdict.detail.endswith(f"the chain judges it: `{command}` wins"), verdict.detail

    number = flow.dispute_row(disputes, token, claim_id, FILTERED_ROW, None, other)
    chain.mine(13)
    disputes.expire_row(claim_id, number, sender=other)
    assert int(proofs.status(claim_id)) == 4 and int(proofs.credits(other)) == BOND
