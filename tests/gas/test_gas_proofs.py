"""Gas of CleaningProofs operations, recorded through gas_log (bench/gas.md via make bench).

Submit (first claim: claim_count zero -> non-zero; then a later one), audit open (first
and later audit of a claim), response by tree depth (4 input + 4 output samples; the
per-opening figure is the depth-matched difference over the row count), expire, dispute,
finalize, withdraw.
"""

from __future__ import annotations

import pytest

from tests.contracts.proofs import conftest as fx
from tests.contracts.proofs.conftest import BOND, CHALLENGE, DEPOSIT, answer, cleaning

# The CleaningProofs fixtures, shared with tests/contracts/proofs.
attestations_address = fx.attestations_address
proofs = fx.proofs
register_pair = fx.register_pair
submit = fx.submit
opened = fx.opened


def _respond(proofs, claim, n, sender):
    ins, outs = answer(proofs, claim, n).as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_gas__submit_open_finalize(
    proofs, token, submit, opened, cleaner, auditor, other, chain, gas_log
):
    first = submit(cleaning(64))
    gas_log("proofs: submit_claim (first claim)", first.receipt)
    second = submit(cleaning(64))
    gas_log("proofs: submit_claim", second.receipt)
    token.approve(proofs, DEPOSIT * 2, sender=auditor)
    gas_log(
        "proofs: open_audit (first of a claim)", proofs.open_audit(second.claim_id, sender=auditor)
    )
    gas_log(
        "proofs: open_audit (second of a claim)", proofs.open_audit(second.claim_id, sender=auditor)
    )
    token.approve(proofs, BOND, sender=other)
    gas_log("proofs: dispute", proofs.dispute(first.claim_id, sender=other))
    chain.mine(CHALLENGE + 8)
    gas_log(
        "proofs: finalize (disputed, unaudited)", proofs.finalize(first.claim_id, sender=cleaner)
    )
    gas_log(
        "proofs: expire (slash, voids 1 other audit)",
        proofs.expire(second.claim_id, 0, sender=other),
    )
    gas_log("proofs: withdraw", proofs.withdraw(sender=cleaner))


@pytest.mark.parametrize("rows", [16, 256, 4096])
def test_gas__respond_by_depth(proofs, submit, opened, cleaner, chain, gas_log, rows):
    claim = submit(cleaning(rows))
    n = opened(claim.claim_id)
    depth = (rows - 1).bit_length()
    gas_log(
        f"proofs: respond, 4+4 openings, {rows} rows in (depth {depth})",
        _respond(proofs, claim, n, cleaner),
    )
    chain.mine(CHALLENGE)
    gas_log(
        f"proofs: finalize (vindicated), {rows} rows",
        proofs.finalize(claim.claim_id, sender=cleaner),
    )
