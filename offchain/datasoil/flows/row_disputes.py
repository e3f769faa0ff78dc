"""Row disputes through the chain (RowDisputes and RowJudge; docs/proofs.md, "Row
disputes"): a claimant commits its judge program (:func:`commit_judge`, or
:func:`submit_judged_claim` for the claim and the commitment), a disputer disputes a row
(:func:`dispute_row`), and anyone answers (:func:`answer_row`) — the claimant's watcher
with :func:`answer_open_row_disputes`. :func:`dispute_command` is the command a verifier
prints for a row it found wrong.

The answers are built by :mod:`datasoil.protocol.row_disputes` and checked first with a
free call of RowJudge, so an answer the chain would uphold is never sent. Contract
handles are ape's (duck-typed, as :mod:`datasoil.flows.audit` takes them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import zip_longest
from pathlib import Path
from typing import Any

from datasoil.chain import tx
from datasoil.errors import ChainError, ProofError
from datasoil.formats import merkle
from datasoil.formats.fate import FATE_NONE, FATE_STEP_NONE, FateRecord, decode_fates, fate_root
from datasoil.protocol.audits import ClaimData
from datasoil.protocol.row_disputes import (
    NO_ROW,
    DisputeState,
    JudgeOutcome,
    Outcome,
    RowAnswer,
    build_row_answer,
    verdict,
)

__all__ = [
    "answer_open_row_disputes",
    "answer_row",
    "commit_judge",
    "dispute_command",
    "dispute_row",
    "judge_program_of",
    "public_claim_data",
    "submit_judged_claim",
    "winning_dispute",
]


def judge_program_of(proof: Mapping[str, Any]) -> tuple[bytes, bytes] | None:
    """The proof's judge program and its hash, or None when it records none (an
    unjudgeable recipe, a proof from before judge programs)."""
    record = proof.get("judge")
    if not isinstance(record, Mapping) or not record.get("program"):
        return None
    return bytes.fromhex(record["program"][2:]), bytes.fromhex(record["hash"][2:])


def commit_judge(
    row_disputes: Any, claim_id: int, proof: Mapping[str, Any], sender: Any
) -> bytes | None:
    """Commit the proof's judge program hash for the claim (the claimant, within
    ``response_blocks`` of the submission); None, and nothing sent, when the proof has no
    program."""
    found = judge_program_of(proof)
    if found is None:
        return None
    _, program_hash = found
    tx.send(
        f"claim {claim_id}'s judge program to be committed",
        row_disputes,
        "commit_judge",
        claim_id,
        program_hash,
        sender=sender,
    )
    return program_hash


def submit_judged_claim(
    proofs: Any, row_disputes: Any | None, token: Any, child: Any, *, sender: Any
) -> int:
    """:func:`datasoil.flows.claims.submit_claim`, then, when the proof records a judge
    program and a RowDisputes contract is deployed, its commitment; returns the claim id."""
    from datasoil.flows import claims

    claim_id = claims.submit_claim(proofs, token, child, sender=sender)
    if row_disputes is not None:
        commit_judge(row_disputes, claim_id, child.result.proof, sender)
    return claim_id


def dispute_row(
    row_disputes: Any, token: Any, claim_id: int, index: int, earlier: int | None, sender: Any
) -> int:
    """Dispute input row ``index`` of a claim (``earlier``: an earlier row the disputer says
    it repeats), approving the bond first; returns the dispute's number."""
    bond = int(row_disputes.bond())
    if int(token.allowance(sender, row_disputes)) < bond:
        tx.send(
            "the dispute bond to be approved", token, "approve", row_disputes, bond, sender=sender
        )
    args = (claim_id, index) if earlier is None else (claim_id, index, earlier)
    what = f"row {index} of claim {claim_id} to be disputed"
    receipt = tx.send(what, row_disputes, "dispute_row", *args, sender=sender)
    (event,) = receipt.decode_logs(row_disputes.RowDisputed)
    return int(event.number)


def _judge(
    row_judge: Any, answer: RowAnswer, index: int, fate: FateRecord, j: int | None
) -> JudgeOutcome:
    earlier_step = FATE_STEP_NONE
    if j is not None:
        earlier_step = (
            FATE_STEP_NONE if (s := FateRecord.decode(answer.earlier.fate).step) is None else s
        )
    result = row_judge.judge(
        answer.opening.row,
        answer.earlier.row,
        answer.program,
        index,
        FATE_STEP_NONE if fate.step is None else fate.step,
        FATE_NONE if fate.dup_of is None else fate.dup_of,
        FATE_NONE if j is None else j,
        earlier_step,
    )
    return JudgeOutcome.from_call(result)


def answer_row(
    row_disputes: Any,
    row_judge: Any,
    claim_id: int,
    number: int,
    data: ClaimData,
    program: bytes,
    sender: Any,
    *,
    only_if_rejected: bool = True,
) -> Any:
    """Answer a row dispute with openings built from the claim's data, after a free call of
    RowJudge shows the chain would agree with the claim.

    With ``only_if_rejected=False`` the answer is sent whatever the chain will rule: what
    a disputer does to have a wrong row judged now rather than when its deadline passes
    (the openings are the claim's own, so the verdict is the same whoever sends them).

    Raises ProofError when the chain would uphold the dispute and ``only_if_rejected``
    (the claim is wrong about the row: an answer would only settle the dispute against it
    sooner), and ChainError when the chain refuses.
    """
    view = row_disputes.row_dispute(claim_id, number)
    if int(view.state) != DisputeState.OPEN:
        raise ChainError(f"row dispute {number} of claim {claim_id} is not open")
    index = int(view.index)
    named = None if int(view.earlier) == NO_ROW else int(view.earlier)
    answer = build_row_answer(data, program, index, named)
    fate = FateRecord.decode(answer.opening.fate)
    j = fate.dup_of if fate.dup_of is not None else named
    outcome = _judge(row_judge, answer, index, fate, j)
    if only_if_rejected and not verdict(outcome, fate, answer.output.row):
        judged = (
            "kept, but not as the claim's output row"
            if outcome.outcome == Outcome.KEPT
            else f"{outcome.outcome.name.lower()} at step {outcome.step}"
        )
        raise ProofError(
            f"row {index} of claim {claim_id}: the chain would uphold the dispute (judged "
            f"{judged}), so no answer was sent"
        )
    what = f"the answer to row dispute {number} of claim {claim_id} to be accepted"
    return tx.send(
        what, row_disputes, "answer_row", claim_id, number, *answer.as_args(), sender=sender
    )


def answer_open_row_disputes(
    row_disputes: Any,
    row_judge: Any,
    claim_id: int,
    data: ClaimData,
    program: bytes,
    sender: Any,
    log: Callable[[str], None] = print,
) -> list[int]:
    """Answer every open row dispute of a claim still within its deadline (the watcher's
    job for an honest claimant); returns the numbers answered."""
    answered = []
    for number in range(int(row_disputes.row_dispute_count(claim_id))):
        view = row_disputes.row_dispute(claim_id, number)
        if int(view.state) != DisputeState.OPEN:
            continue
        answer_row(row_disputes, row_judge, claim_id, number, data, program, sender)
        log(f"answered row dispute {number} of claim {claim_id} (row {int(view.index)})")
        answered.append(number)
    return answered


def public_claim_data(
    proofs: Any, registry: Any, store: Any, claim_id: int, work: Path, from_block: int = 0
) -> ClaimData:
    """A public claim's :class:`ClaimData` as anyone can rebuild it (a disputer answering
    its own dispute): the parent's and the child's rows fetched verified from ``store``,
    the fate file from the claim bundle, every root checked against the chain's.

    ``registry`` is a :class:`datasoil.chain.registry.Registry`. Raises ProofError when a
    side is private or a root differs, and what fetching raises.
    """
    from datasoil.engine.clean import load_proof
    from datasoil.flows.claims import claim_documents
    from datasoil.flows.loader import materialize
    from datasoil.formats import rows
    from datasoil.formats.cid import cid_to_tuple

    docs = claim_documents(proofs, claim_id, from_block)
    parent, child = registry.get(docs["parent_id"]), registry.get(docs["child_id"])
    if parent.private or child.private:
        raise ProofError(f"claim {claim_id}: expected public rows, found a private side")
    bundle = Path(work) / "bundle"
    store.get(cid_to_tuple(docs["proof_cid"]).to_cid(), bundle)
    proof = load_proof(bundle / "proof.json")
    fates = (bundle / "fate.bin").read_bytes()
    encoded: list[list[bytes]] = []
    for dataset, side, schema_key in (
        (parent, "parent", "schema_in"),
        (child, "child", "schema_out"),
    ):
        path, _ = materialize(dataset, store, Path(work) / side)
        schema = rows.Schema.from_json(proof[schema_key])
        encoded.append(
            [r for b in rows.read_batches(path, schema) for r in rows.encode_rows(b, schema)]
        )
    data = ClaimData.from_rows(encoded[0], encoded[1], fates)
    for what, got, want in (
        ("input root", merkle.root(data.input_leaves), docs["parent_root"]),
        ("output root", merkle.root(data.output_leaves), docs["child_root"]),
        ("fate root", fate_root(fates), docs["fate_root"]),
    ):
        if got != want:
            raise ProofError(
                f"claim {claim_id}'s {what}: expected 0x{want.hex()}, found 0x{got.hex()}"
            )
    return data


def dispute_command(claim_id: int, index: int, earlier: int | None = None) -> str:
    """The command that disputes input row ``index`` (naming ``earlier`` for a row kept
    although it repeats an earlier one)."""
    tail = "" if earlier is None else f" --earlier {earlier}"
    return f"ape run audit dispute-row {claim_id} {index}{tail}"


def winning_dispute(
    claimed_fates: bytes,
    honest_fates: bytes,
    claimed_rows: Iterable[bytes] = (),
    honest_rows: Iterable[bytes] = (),
) -> tuple[int, int | None] | None:
    """A row dispute the chain would uphold, found by a full re-execution: ``(input row,
    earlier row or None)``, or None when the claim's fates and output rows (encoded, in
    order) are the honest ones.

    The first input row whose fate record differs from the honest one (kept, step or
    duplicate), naming the honest ``dup_of`` as the earlier row when the claim keeps a row
    the honest run drops as a duplicate; rows whose records differ only in which earlier
    duplicate they name are skipped (the chain does not check that it is the lowest).
    Failing that, the input row of the first output row that differs.
    """
    claimed = decode_fates(claimed_fates)
    honest = decode_fates(honest_fates)
    for i, (mine, right) in enumerate(zip(claimed, honest, strict=False)):
        same_drop = (mine.kept, mine.step) == (right.kept, right.step)
        # Both name an earlier duplicate (maybe another one): the chain cannot tell.
        if same_drop and (mine.dup_of is None) == (right.dup_of is None):
            continue
        earlier = right.dup_of if mine.dup_of is None and right.dup_of is not None else None
        return i, earlier
    sources = {f.output_index: f.input_index for f in claimed if f.kept}
    for k, (mine_row, right_row) in enumerate(zip_longest(claimed_rows, honest_rows)):
        if mine_row != right_row and k in sources:
            return sources[k], None
    return None
