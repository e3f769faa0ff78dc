"""Gas of row disputes (RowDisputes with RowJudge, on ape + anvil), recorded through gas_log
(bench/gas.md via make bench): a 16-column row of a 4,096-row cleaning (depth 12) judged
through a six-step recipe, and its breakdown.

The breakdown comes from RowJudge.judge alone (eth_estimateGas of a call: 21,000 + its
calldata + execution) with three programs over the same row: one whose header names the
wrong width (the row is decoded, then the judge stops), one of no steps (decoded and
written back) and the recipe's (decoded, six steps, written back). The rest of
answer_row is the openings (three RFC 9162 paths of depth 12, two fate records, the
fate rules) and the game's bookkeeping.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from datasoil.formats.recipe import load_recipe
from datasoil.protocol import row_disputes as rd
from tests import proofs_ape as fx
from tests import row_disputes_ape as rx
from tests.contracts.proofs.claims import BOND, cid
from tests.contracts.proofs.judged import judged_cleaning

# The CleaningProofs fixtures on ape + anvil.
attestations_address = fx.attestations_address
proofs = fx.proofs
register_pair = fx.register_pair
row_judge = rx.row_judge
row_disputes = rx.row_disputes

COLUMNS = [
    "id", "name", "email", "age", "city", "country", "score", "member",
    "notes", "phone", "street", "zip", "team", "role", "since", "label",
]  # fmt: skip
RECIPE = """
version: 1
steps:
  - {kind: trim, columns: [name, email, city, country, notes]}
  - {kind: normalise, columns: [email, country], unicode: null, case: ascii_lower}
  - {kind: cast, columns: {age: int64, member: bool}, on_error: "null"}
  - {kind: drop_nulls, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: filter, expr: "is_null(age) or (age >= 18 and country != 'xx')"}
"""
ROWS = 4096
JUDGED = 2049


def _csv() -> str:
    lines = [",".join(COLUMNS)]
    for i in range(ROWS):
        lines.append(
            f"{i},  Person {i} ,P{i}@Example.ORG ,{'n/a' if i % 10 == 0 else 18 + i % 60},"
            f" City {i % 97}\u3000,DE,{i * 7 % 1000},{['maybe', 'true', 'false'][i % 3]},"
            f"note {i} with some text,"
            f"+49 30 {i:07d},Street {i % 300},{10000 + i % 9000},team {i % 12},"
            f"role {i % 5},2020-01-{1 + i % 28:02d},label {i % 3}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def judged():
    return judged_cleaning(_csv(), RECIPE)


def _estimate(contract, sender, *args) -> SimpleNamespace:
    """A call's gas as a transaction's would be (eth_estimateGas), in gas_log's shape."""
    return SimpleNamespace(gas_used=contract.judge.estimate_gas_cost(*args, sender=sender))


def test_gas__row_dispute_16_columns_6_steps_depth_12(
    proofs, row_disputes, row_judge, token, register_pair, cleaner, other, chain, gas_log, judged
):
    data = judged.data
    assert data.rows_in == ROWS and len(judged.recipe.steps) == 6
    assert len(judged.fates) == ROWS and judged.fates[JUDGED].kept
    parent_id, child_id = register_pair(data, cleaner)
    token.approve(proofs, BOND, sender=cleaner)
    proofs.submit_claim(parent_id, child_id, cid(7), cid(8), data.facts().fate_root, sender=cleaner)
    claim_id = int(proofs.claim_count())
    gas_log(
        "disputes: commit_judge",
        row_disputes.commit_judge(claim_id, judged.program_hash, sender=cleaner),
    )
    token.approve(row_disputes, BOND, sender=other)
    gas_log("disputes: dispute_row", row_disputes.dispute_row(claim_id, JUDGED, sender=other))
    answer = rd.build_row_answer(data, judged.program, JUDGED)
    total = gas_log(
        "disputes: answer_row, 16 columns through 6 steps, 4096 rows (depth 12)",
        row_disputes.answer_row(claim_id, 0, *answer.as_args(), sender=cleaner),
    )
    assert total <= 1_500_000
    view = row_disputes.row_dispute(claim_id, 0)
    assert (view.state, view.outcome) == (rd.DisputeState.REJECTED, rd.Outcome.KEPT)

    row, none = answer.opening.row, b""
    keep, dup = 255, rd.NO_ROW
    width = len(COLUMNS)
    decode_only = bytes([1, width + 1, 0])  # the wrong width: INVALID after decoding
    no_steps = bytes([1, width, 0])
    args = (JUDGED, keep, dup, rd.NO_ROW, keep)
    decode = gas_log(
        "judge: decode a 16-column row (RowJudge.judge call, program stops at once)",
        _estimate(row_judge, other, row, none, decode_only, *args),
    )
    written = gas_log(
        "judge: decode and write back (no steps)",
        _estimate(row_judge, other, row, none, no_steps, *args),
    )
    judged_all = gas_log(
        "judge: decode, 6 steps, write back",
        _estimate(row_judge, other, row, none, judged.program, *args),
    )
    assert row_judge.judge(row, none, no_steps, *args)[0] == rd.Outcome.KEPT
    assert row_judge.judge(row, none, decode_only, *args)[0] == rd.Outcome.INVALID
    assert decode < written < judged_all < total
    print(
        f"\nanswer_row {total:,}: judge call {judged_all:,} (decode {decode:,}, "
        f"encode {written - decode:,}, steps {judged_all - written:,}), "
        f"openings and game {total - judged_all:,}"
    )

    chain.mine(proofs.response_blocks() + 1)
    token.approve(row_disputes, BOND, sender=other)
    # Within the window still (30 blocks): a second dispute, left unanswered.
    row_disputes.dispute_row(claim_id, 1, sender=other)
    chain.mine(proofs.response_blocks() + 1)
    gas_log(
        "disputes: expire_row (unanswered: claim slashed)",
        row_disputes.expire_row(claim_id, 1, sender=other),
    )
    assert proofs.status(claim_id) == 4
    gas_log("disputes: withdraw", row_disputes.withdraw(sender=cleaner))


def test_gas__judge_drop_rows_of_480_rows_and_a_subject(
    row_judge, other, gas_log, judged, tmp_path
):
    """drop_rows judged on chain (a consent answer's step) before the six steps: 480 listed
    input rows (what a 4,096-byte program holds with the six steps), read to the end for a
    row not among them, and a column compared with 8 values."""
    from datasoil.formats import judge as jp
    from datasoil.formats import rows
    from datasoil.formats.recipe import recipe_from_json

    listed = list(range(1, 961, 2))  # 480 rows, the last 959; JUDGED (2049) not among them
    subjects = [f"team {k}" for k in range(20, 28)]  # no row's team: none dropped by value
    steps = load_recipe(RECIPE).to_json()["steps"]
    drop = {"kind": "drop_rows", "rows": listed, "column": "team", "values": subjects}
    recipe = recipe_from_json({"version": 1, "steps": [drop, *steps]})
    source = tmp_path / "in.csv"
    source.write_text(_csv(), encoding="utf-8")
    program = jp.compile_judge(recipe, rows.infer_schema(source), [{}] * 7).program
    kept, dropped = JUDGED, listed[-1]

    def row(i: int) -> bytes:
        return rd.build_row_answer(judged.data, judged.program, i).opening.row

    def args(i: int) -> tuple[int, ...]:
        return (i, 255, rd.NO_ROW, rd.NO_ROW, 255)

    assert row_judge.judge(row(kept), b"", program, *args(kept))[0] == rd.Outcome.KEPT
    assert row_judge.judge(row(dropped), b"", program, *args(dropped))[:2] == (
        rd.Outcome.DROPPED,
        0,
    )
    gas = gas_log(
        "judge: drop_rows (480 rows, 8 values; row not dropped), then the 6 steps",
        _estimate(row_judge, other, row(kept), b"", program, *args(kept)),
    )
    assert gas < 1_500_000


def test_gas__judge_collapse_of_five_texts(row_judge, other, gas_log, judged, tmp_path):
    """The six steps with normalise collapsing whitespace too (the five trimmed texts:
    their single inner spaces stay, so each is scanned and none written)."""
    from datasoil.formats import judge as jp
    from datasoil.formats import rows
    from datasoil.formats.recipe import recipe_from_json

    steps = load_recipe(RECIPE).to_json()["steps"]
    steps[1] = {**steps[1], "columns": ["name", "email", "city", "country", "notes"]}
    steps[1]["whitespace"] = "collapse"
    recipe = recipe_from_json({"version": 1, "steps": steps})
    source = tmp_path / "in.csv"
    source.write_text(_csv(), encoding="utf-8")
    program = jp.compile_judge(recipe, rows.infer_schema(source), [{}] * 6).program
    row = rd.build_row_answer(judged.data, judged.program, JUDGED).opening.row
    args = (JUDGED, 255, rd.NO_ROW, rd.NO_ROW, 255)
    outcome = row_judge.judge(row, b"", program, *args)
    assert outcome[0] == rd.Outcome.KEPT and b"note 2049 with some text" in bytes(outcome[3])
    gas = gas_log(
        "judge: decode, 6 steps (normalise collapsing 5 texts), write back",
        _estimate(row_judge, other, row, b"", program, *args),
    )
    assert gas < 1_500_000
