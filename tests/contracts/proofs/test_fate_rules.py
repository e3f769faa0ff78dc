"""Every fate-record rule, violated on chain (issue 10: only one of them was tested).

Each claim commits records that all break one rule (and, where the layout allows, no
earlier one), so whichever rows the seed samples, the honest-looking openings verify
and the audit fails with REASON_FATE_RULE. The Python mirror (`audit.fate_rules`)
must agree on every record.
"""

from __future__ import annotations

import struct

import pytest

from datasoil.flows import audit
from datasoil.formats import merkle
from tests.contracts._boa import event

from .claims import answer

NONE = audit.FATE_NONE
NO_STEP = audit.FATE_STEP_NONE


def rec(i, kept, out, before, step, dup):
    return struct.pack(">QBQQBQ", i, kept, out, before, step, dup)


# name -> (rows in, rows out, record of row i)
CASES = {
    "names another input row": (8, 8, lambda i: rec(i + 1, 1, i, i, NO_STEP, NONE)),
    "kept is neither 0 nor 1": (8, 8, lambda i: rec(i, 2, i, i, NO_STEP, NONE)),
    "kept_before above the index": (8, 8, lambda i: rec(i, 0, NONE, i + 1, 0, NONE)),
    "kept_before + kept above rows out": (8, 0, lambda i: rec(i, 1, i, i, NO_STEP, NONE)),
    "last row does not close the count": (1, 1, lambda i: rec(i, 0, NONE, 0, 0, NONE)),
    "duplicate of a later or same row": (8, 0, lambda i: rec(i, 0, NONE, 0, 1, i)),
    "kept row output is not kept_before": (8, 8, lambda i: rec(i, 1, i + 1, i, NO_STEP, NONE)),
    "kept row names a step": (8, 8, lambda i: rec(i, 1, i, i, 0, NONE)),
    "kept row names a duplicate": (16, 16, lambda i: rec(i, 1, i, i, NO_STEP, max(i - 1, 0))),
    "dropped row has an output index": (8, 0, lambda i: rec(i, 0, 0, 0, 0, NONE)),
    "dropped row names no step": (8, 0, lambda i: rec(i, 0, NONE, 0, NO_STEP, NONE)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_respond__fate_rule_violation_fails_audit(proofs, submit, opened, cleaner, case):
    rows_in, rows_out, make = CASES[case]
    records = [make(i) for i in range(rows_in)]
    data = audit.ClaimData.from_rows(
        [b"r%d" % i for i in range(rows_in)],
        [b"o%d" % i for i in range(rows_out)],
        b"".join(records),
    )
    for i, r in enumerate(records):
        if case != "kept row names a duplicate" or i:
            assert audit.fate_rules(r, i, rows_in, rows_out)[0] is False
    claim = submit(data)
    n = opened(claim.claim_id)
    seed = audit.read_seed(proofs, claim.claim_id, n)
    wanted_in = audit.sample_indices(seed, rows_in)
    wanted_out = audit.sample_indices(seed, rows_out, audit.SAMPLES)
    inputs = audit.build_response(data, wanted_in, []).inputs
    # Output openings are never reached once an input opening fails: any fill will do.
    outputs = tuple(audit.OutputOpening(o, 0, b"", ()) for o in wanted_out)
    facts = data.facts()
    response = audit.Response(inputs, outputs)
    assert audit.check_response(facts, response, seed) == (audit.Reason.FATE_RULE, 0)
    ins, outs = response.as_args()
    proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    failed = event(proofs, "AuditFailed")
    assert (failed.reason, failed.opening) == (audit.Reason.FATE_RULE, 0)
    assert proofs.status(claim.claim_id) == audit.Status.FAILED


@pytest.mark.parametrize("shift", ["dropped source", "other output"])
def test_respond__output_opening_with_wrong_source_fails_audit(
    proofs, submit, opened, cleaner, shift
):
    """A sampled output row must be opened by the kept record that names it."""
    claim = submit()
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    data = claim.data
    first = response.outputs[0]
    if shift == "dropped source":
        source = next(i for i in range(data.rows_in) if data.fate(i)[8] == 0)
    else:
        source = next(
            i
            for i in range(data.rows_in)
            if data.fate(i)[8] == 1 and int.from_bytes(data.fate(i)[9:17], "big") != first.index
        )
    fate_leaves = [merkle.leaf_hash(data.fate(i)) for i in range(data.rows_in)]
    bad = audit.OutputOpening(
        first.index, source, data.fate(source), merkle.inclusion_proof(fate_leaves, source).path
    )
    response = audit.Response(response.inputs, (bad, *response.outputs[1:]))
    seed = audit.read_seed(proofs, claim.claim_id, n)
    assert audit.check_response(data.facts(), response, seed) == (
        audit.Reason.FATE_RULE,
        audit.SAMPLES,
    )
    ins, outs = response.as_args()
    proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    failed = event(proofs, "AuditFailed")
    assert (failed.reason, failed.opening) == (audit.Reason.FATE_RULE, audit.SAMPLES)
