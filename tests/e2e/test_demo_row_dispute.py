"""The demo's row-dispute stage (22-25) on ape + anvil with a recorded deployment from
deploy_all: a dishonest cleaner's claim over 10,000 rows with one output row rewritten is
found by a verifier's re-execution, disputed, judged on chain by RowJudge and slashed to
the verifier, with no attestation; run twice, the second run reuses what the chain holds."""

from __future__ import annotations

from datasoil import chain
from datasoil.app import demo
from datasoil.chain.registry import Registry
from datasoil.protocol.row_disputes import DisputeState, Outcome
from datasoil.store import open_store


def test_stage_row_dispute__one_wrong_row_in_10000_is_slashed_and_rerun_reuses(
    project, deployer, owner, cleaner, auditor, accounts, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    chain.deploy_all(project, deployer, mint_to=list(accounts[:8]), log=lambda _m: None)
    contracts = chain.contracts(project)
    proofs, disputes, token = contracts.proofs, contracts.row_disputes, contracts.token
    registry = Registry(contracts.registry, contracts.deployment.block)
    state = demo.DemoState(work=tmp_path / "demo")
    before = int(token.balanceOf(auditor))
    lines: list[str] = []
    kwargs = dict(
        registry=registry, store=open_store(), contracts=contracts, owner=owner,
        cleaner=cleaner, verifier=auditor,
    )  # fmt: skip
    demo.stage_row_dispute(state, log=lines.append, **kwargs)

    claim_id = state.ids["wrong_claim"]
    assert registry.get(state.ids["signups"]).row_count == demo.SIGNUPS
    assert int(disputes.row_dispute_count(claim_id)) == 1
    view = disputes.row_dispute(claim_id, 0)
    assert int(view.state) == DisputeState.UPHELD and int(view.outcome) == Outcome.KEPT
    assert int(proofs.status(claim_id)) == 4  # failed
    bond = int(proofs.bond())
    # the claim bond won, the dispute bond back, both withdrawn
    assert int(token.balanceOf(auditor)) == before + bond
    assert int(proofs.credits(auditor)) == 0 and int(disputes.credits(auditor)) == 0
    text = "\n".join(lines)
    assert "the chain would uphold the dispute" in text
    assert "dispute upheld" in text and f"claim #{claim_id} is failed" in text
    assert f"reproduction attestations of claim #{claim_id}: 0" in text

    again: list[str] = []
    demo.stage_row_dispute(demo.DemoState(work=tmp_path / "demo"), log=again.append, **kwargs)
    assert int(proofs.claim_count()) == claim_id and int(disputes.row_dispute_count(claim_id)) == 1
    assert any("already registered" in line for line in again)
    assert int(token.balanceOf(auditor)) == before + bond
