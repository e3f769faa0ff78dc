"""datasoil.flows.audit end to end: the messy example cleaned by the engine, claimed, audited
through the library (open_audit mines the seed block via evm_mine), answered, finalised."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasoil.engine.clean import clean
from datasoil.errors import ChainError, ProofError
from datasoil.flows import audit
from datasoil.formats.recipe import load_recipe

from .conftest import BOND, CHALLENGE, DEPOSIT, cid

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "out"
    source = EXAMPLES / "messy" / "people.csv"
    clean(source, load_recipe(EXAMPLES / "recipes" / "clean.yaml"), out)
    return out, source


def test_library__clean_claim_audit_respond_finalize(
    proofs, registry, token, owner, cleaner, auditor, chain, cleaned
):
    out, source = cleaned
    data = audit.load_claim_data(out, source)
    facts = data.facts()
    assert facts.rows_in == 3000 and 0 < facts.rows_out < 3000
    registry.register(
        cid(1), facts.parent_root, facts.rows_in, False, cid(2), "MIT", [], 0, sender=owner
    )
    registry.register(
        cid(3), facts.child_root, facts.rows_out, False, cid(4), "MIT", [1], 0, sender=cleaner
    )
    token.approve(proofs, BOND, sender=cleaner)
    proofs.submit_claim(1, 2, cid(5), cid(6), facts.fate_root, sender=cleaner)
    assert audit.read_facts(proofs, registry, 1) == facts

    number = audit.open_audit(proofs, token, 1, auditor)
    tx = audit.respond(proofs, registry, 1, number, data, cleaner)
    (event,) = tx.decode_logs(proofs.AuditPassed)
    assert len(event.input_rows) == audit.SAMPLES
    with pytest.raises(ChainError, match="audit not open"):
        audit.respond(proofs, registry, 1, number, data, cleaner)

    status = audit.read_claim(proofs, 1)
    assert status.status is audit.Status.AUDITED
    assert status.audits[0].state is audit.AuditState.PASSED
    chain.mine(CHALLENGE)
    audit.finalize(proofs, 1, cleaner)
    assert proofs.credits(cleaner) == BOND + DEPOSIT
    assert audit.read_claim(proofs, 1).status is audit.Status.FINALISED


def test_library__data_for_another_claim_is_refused(
    proofs, registry, token, owner, cleaner, auditor, cleaned, submit
):
    out, source = cleaned
    claim = submit()
    number = audit.open_audit(proofs, token, claim.claim_id, auditor)
    with pytest.raises(ProofError, match="the chain holds"):
        audit.respond(
            proofs, registry, claim.claim_id, number, audit.load_claim_data(out, source), cleaner
        )
