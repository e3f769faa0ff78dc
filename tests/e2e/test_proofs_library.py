"""datasoil.flows.audit end to end on anvil: the messy example cleaned by the engine,
claimed, audited through the library (open_audit mines the seed block via evm_mine),
answered, finalised; long rows answered through the library; the seed mixed with a real
block hash. The contract's own tests run on titanoboa (tests/contracts/proofs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasoil.engine.clean import clean
from datasoil.errors import ChainError, ProofError
from datasoil.flows import audit
from datasoil.formats.recipe import load_recipe
from tests import proofs_ape as fx
from tests.contracts.proofs.claims import (
    BOND,
    CHALLENGE,
    DEPOSIT,
    LONG_ROW_CASES,
    answer,
    check_long_rows_passed,
    check_long_rows_split,
    cid,
    long_cleaning,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The CleaningProofs fixtures on ape + anvil.
attestations_address = fx.attestations_address
proofs = fx.proofs
register_pair = fx.register_pair
submit = fx.submit
opened = fx.opened


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


def test_library__seed_mixes_the_real_next_block_hash(proofs, token, submit, auditor, chain):
    """On a node, the seed mixes the hash of the block after the opening (the titanoboa
    tests give each block a hash of their own: tests/contracts/_boa.py's mine)."""
    claim = submit()
    secret = b"\x07" * 32
    number = audit.open_audit(proofs, token, claim.claim_id, auditor, secret=secret)
    opened_at = audit.read_claim(proofs, claim.claim_id).audits[number].opened
    seed_block = bytes(chain.blocks[opened_at + 1].hash)
    assert seed_block != bytes(32)
    expected = audit.compute_seed(secret, seed_block, claim.claim_id, number)
    assert audit.read_seed(proofs, claim.claim_id, number) == expected


@pytest.mark.parametrize(("n", "size"), LONG_ROW_CASES)
def test_library__long_rows_answered(proofs, registry, submit, opened, cleaner, n, size):
    """Issue 10 item 5 through datasoil.flows.audit.respond, the path `ape run audit
    respond` uses: each row over 4,096 bytes by open_row, then the answer."""
    claim = submit(long_cleaning(n, size))
    number = opened(claim.claim_id)
    response = answer(proofs, claim, number)
    check_long_rows_split(claim, response)
    tx = audit.respond(proofs, registry, claim.claim_id, number, claim.data, cleaner)
    (passed,) = tx.decode_logs(proofs.AuditPassed)
    check_long_rows_passed(proofs, claim, number, response, passed, cleaner)
