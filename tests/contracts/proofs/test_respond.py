from __future__ import annotations

from dataclasses import replace

import boa
import pytest

from datasoil.engine.clean import FateRecord
from datasoil.flows import audit
from tests.contracts._boa import block_number, deploy, event, mine, mine_to

from .claims import BOND, DEPOSIT, RESPONSE, SHARE, Claim, answer, cid, cleaning, response_for
from .conftest import SEED_DELAY


def _send(proofs, claim, n, response, sender):
    ins, outs = response.as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_respond__correct_answer_passes_and_pays_deposit(proofs, token, submit, opened, cleaner):
    claim = submit(cleaning(37))
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    seed = audit.read_seed(proofs, claim.claim_id, n)
    assert audit.check_response(claim.data.facts(), response, seed) == (audit.Reason.NONE, 0)
    _send(proofs, claim, n, response, cleaner)
    passed = event(proofs, "AuditPassed")
    assert passed.claim_id == claim.claim_id and passed.audit == n
    assert passed.seed == seed
    assert list(passed.input_indices) == [o.index for o in response.inputs]
    assert list(passed.input_rows) == [o.row for o in response.inputs]
    assert list(passed.fates) == [o.fate for o in response.inputs]
    assert list(passed.output_indices) == [o.index for o in response.outputs]
    assert list(passed.output_sources) == [o.source for o in response.outputs]
    assert proofs.credits(cleaner) == DEPOSIT
    view = proofs.claim(claim.claim_id)
    assert view.audits[0].state == 2 and view.open_audits == 0
    assert view.audits[0].seed == seed  # stored at the answer


def test_respond__private_datasets_open_leaf_hashes(proofs, submit, opened, cleaner):
    claim = submit(cleaning(21, key=bytes(range(32))))
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    assert all(o.row == b"" for o in response.inputs)
    _send(proofs, claim, n, response, cleaner)
    passed = event(proofs, "AuditPassed")
    assert list(passed.input_rows) == [b""] * audit.SAMPLES
    assert list(passed.input_leaves) == [o.leaf for o in response.inputs]


def test_respond__empty_child_has_no_output_samples(proofs, submit, opened, cleaner):
    rows = [b"r%d" % i for i in range(6)]
    fates = b"".join(FateRecord(i, False, None, 0, 3, None).encode() for i in range(6))
    claim = submit(audit.ClaimData.from_rows(rows, [], fates))
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    assert response.outputs == ()
    _send(proofs, claim, n, response, cleaner)
    assert proofs.claim(claim.claim_id).audits[0].state == 2


def test_respond__wrong_input_index_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    first = response.inputs[0]
    bad = replace(
        response, inputs=(replace(first, index=(first.index + 1) % 23), *response.inputs[1:])
    )
    with boa.reverts("proofs: wrong input index"):
        _send(proofs, claim, n, bad, cleaner)


def test_respond__wrong_output_index_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    last = response.outputs[-1]
    bad = replace(response, outputs=(*response.outputs[:-1], replace(last, index=last.index + 1)))
    with boa.reverts("proofs: wrong output index"):
        _send(proofs, claim, n, bad, cleaner)


def test_respond__wrong_number_of_openings_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    with boa.reverts("proofs: wrong number of input openings"):
        _send(proofs, claim, n, replace(response, inputs=response.inputs[:-1]), cleaner)
    with boa.reverts("proofs: wrong number of output openings"):
        _send(proofs, claim, n, replace(response, outputs=response.outputs[:-1]), cleaner)


def test_respond__not_the_claimant_reverts(proofs, submit, opened, other):
    claim = submit()
    n = opened(claim.claim_id)
    with boa.reverts("proofs: not the claimant"):
        _send(proofs, claim, n, answer(proofs, claim, n), other)


def test_respond__after_deadline_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    deadline = proofs.audit(claim.claim_id, n).deadline
    assert deadline == block_number() + RESPONSE
    mine_to(deadline + 1)
    with boa.reverts("proofs: response deadline passed"):
        _send(proofs, claim, n, response, cleaner)


def test_respond__before_reveal_reverts(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id, reveal=False)
    mine(SEED_DELAY)
    with boa.reverts("proofs: audit not revealed"):
        proofs.respond(claim.claim_id, n, [], [], sender=cleaner)
    with boa.reverts("proofs: audit not revealed"):
        proofs.sample(claim.claim_id, n)


def test_respond__more_than_256_blocks_after_opening(
    registry, token, attestations_address, register_pair, cleaner, auditor
):
    """The seed is stored at the reveal, so an answer window may run past BLOCKHASH's reach
    (the seed block is out of its reach by then)."""
    proofs = deploy(
        "CleaningProofs", registry, attestations_address, token, BOND, DEPOSIT, 400, 5, 300
    )
    data = cleaning(29)
    parent_id, child_id = register_pair(data, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    proofs.submit_claim(parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner)
    secret = b"\x42" * 32
    token.approve(proofs, DEPOSIT, sender=auditor)
    opened_at = block_number()
    proofs.open_audit(1, audit.commitment(auditor, secret), sender=auditor)
    mine(SEED_DELAY)
    proofs.reveal(1, 0, secret, sender=auditor)
    mine(280)
    response = response_for(proofs, data, 1, 0)
    _send(proofs, Claim(1, parent_id, child_id, data, None), 0, response, cleaner)
    assert block_number() - opened_at > 256
    assert proofs.audit(1, 0).state == 2


def test_respond__twice_and_unknown_audit_revert(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    _send(proofs, claim, n, response, cleaner)
    with boa.reverts("proofs: audit not open"):
        _send(proofs, claim, n, response, cleaner)
    with boa.reverts("proofs: unknown audit"):
        _send(proofs, claim, 5, response, cleaner)


def _tampered_rows(data):
    return audit.ClaimData(
        input_leaves=data.input_leaves,
        output_leaves=data.output_leaves,
        fates=data.fates,
        input_rows=tuple(b"X" + r for r in data.input_rows),
        output_rows=data.output_rows,
    )


def _tampered_outputs(data):
    return audit.ClaimData(
        input_leaves=data.input_leaves,
        output_leaves=data.output_leaves,
        fates=data.fates,
        input_rows=data.input_rows,
        output_rows=tuple(b"X" + r for r in data.output_rows),
    )


def _all_kept_wrong_output(n):
    """Committed fate records whose kept rows also name a dropping step."""
    rows = [b"r%d" % i for i in range(n)]
    fates = b"".join(FateRecord(i, True, i, i, 0, None).encode() for i in range(n))
    return audit.ClaimData.from_rows(rows, [b"o" + r for r in rows], fates)


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (_tampered_rows, audit.Reason.INPUT_ROW),
        (_tampered_outputs, audit.Reason.OUTPUT_ROW),
        (None, audit.Reason.FATE_RULE),
    ],
)
def test_respond__failed_check_slashes_bond(
    proofs, token, submit, opened, cleaner, auditor, make_bad, reason
):
    claim = submit(cleaning(19) if make_bad else _all_kept_wrong_output(9))
    n = opened(claim.claim_id)
    seed = audit.read_seed(proofs, claim.claim_id, n)
    data = make_bad(claim.data) if make_bad else claim.data
    facts = claim.data.facts()
    response = audit.build_response(
        data,
        audit.sample_indices(seed, facts.rows_in),
        audit.sample_indices(seed, facts.rows_out, audit.SAMPLES),
    )
    assert audit.check_response(facts, response, seed)[0] is reason
    _send(proofs, claim, n, response, cleaner)
    failed = event(proofs, "AuditFailed")
    slashed = event(proofs, "ClaimSlashed")
    assert failed.reason == reason
    assert (slashed.burned, slashed.auditor_share) == (BOND - SHARE, SHARE)
    assert SHARE == BOND * 2000 // 10000
    assert proofs.burned() == BOND - SHARE
    assert proofs.credits(auditor) == SHARE + DEPOSIT
    assert proofs.credits(cleaner) == 0
    assert proofs.status(claim.claim_id) == 4  # FAILED
    assert proofs.claim(claim.claim_id).audits[0].reason == reason


def test_respond__tampered_fate_path_fails_fate_opening(proofs, submit, opened, cleaner):
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    first = response.inputs[0]
    bad_path = (bytes(32), *first.fate_path[1:])
    bad = replace(response, inputs=(replace(first, fate_path=bad_path), *response.inputs[1:]))
    _send(proofs, claim, n, bad, cleaner)
    failed = event(proofs, "AuditFailed")
    assert (failed.reason, failed.opening) == (audit.Reason.FATE_OPENING, 0)
