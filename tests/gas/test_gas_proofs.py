"""Gas of CleaningProofs operations, recorded through gas_log (bench/gas.md via make bench).

Submit (first claim: claim_count zero -> non-zero; then a later one), audit open (first
and later audit of a claim), reveal, response by tree depth (4 input + 4 output samples;
the per-opening figure is the depth-matched difference over the row count), long rows
(open_row of 5,000 and 100,000 bytes, and the answer after them), expire (no answer;
an unrevealed audit), reclaim, dispute, settle_dispute, finalize, withdraw.
"""

from __future__ import annotations

import pytest

from datasoil.flows import audit
from tests import proofs_ape as fx
from tests.contracts.proofs.claims import (
    BOND,
    CHALLENGE,
    DEPOSIT,
    RESPONSE,
    REVEAL,
    answer,
    cleaning,
    long_cleaning,
    secret_for,
)

# The CleaningProofs fixtures on ape + anvil.
attestations_address = fx.attestations_address
proofs = fx.proofs
register_pair = fx.register_pair
submit = fx.submit
opened = fx.opened


def _respond(proofs, claim, n, sender):
    ins, outs = answer(proofs, claim, n).as_args()
    return proofs.respond(claim.claim_id, n, ins, outs, sender=sender)


def test_gas__submit_open_reveal_settle(
    proofs, token, submit, opened, cleaner, auditor, other, chain, gas_log
):
    first = submit(cleaning(64))
    gas_log("proofs: submit_claim (first claim)", first.receipt)
    second = submit(cleaning(64))
    gas_log("proofs: submit_claim", second.receipt)
    token.approve(proofs, DEPOSIT * 3, sender=auditor)
    secret = secret_for(second.claim_id, auditor)
    c = audit.commitment(auditor.address, secret)
    gas_log(
        "proofs: open_audit (first of a claim)",
        proofs.open_audit(second.claim_id, c, sender=auditor),
    )
    gas_log(
        "proofs: open_audit (second of a claim)",
        proofs.open_audit(second.claim_id, c, sender=auditor),
    )
    proofs.open_audit(second.claim_id, c, sender=auditor)
    chain.mine(1)
    gas_log("proofs: reveal", proofs.reveal(second.claim_id, 0, secret, sender=auditor))
    proofs.reveal(second.claim_id, 1, secret, sender=auditor)
    token.approve(proofs, BOND, sender=other)
    gas_log("proofs: dispute", proofs.dispute(first.claim_id, sender=other))
    chain.mine(CHALLENGE + 8)
    gas_log(
        "proofs: finalize (disputed, unaudited)", proofs.finalize(first.claim_id, sender=cleaner)
    )
    gas_log(
        "proofs: settle_dispute (claim finalised: half forfeited)",
        proofs.settle_dispute(first.claim_id, other, sender=cleaner),
    )
    gas_log(
        "proofs: expire (unrevealed: deposit to claimant)",
        proofs.expire(second.claim_id, 2, sender=other),
    )
    gas_log("proofs: expire (unanswered: slash)", proofs.expire(second.claim_id, 0, sender=other))
    gas_log(
        "proofs: reclaim (audit of a failed claim)",
        proofs.reclaim(second.claim_id, 1, sender=other),
    )
    gas_log("proofs: withdraw", proofs.withdraw(sender=cleaner))
    assert REVEAL + RESPONSE < CHALLENGE + 8


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


@pytest.mark.parametrize("size", [5000, 100_000])
def test_gas__long_rows(proofs, registry, submit, opened, cleaner, gas_log, size):
    claim = submit(long_cleaning(3, size))
    n = opened(claim.claim_id)
    response = answer(proofs, claim, n)
    long = response.long_rows()
    receipts = [proofs.open_row(claim.claim_id, n, s, row, sender=cleaner) for s, row in long]
    gas_log(f"proofs: open_row, one {size:,}-byte row", receipts[0])
    ins, outs = response.as_args()
    tx = proofs.respond(claim.claim_id, n, ins, outs, sender=cleaner)
    gas_log(f"proofs: respond after up to 8 open_row ({size:,}-byte rows)", tx)
    assert proofs.audit(claim.claim_id, n).state == 2
