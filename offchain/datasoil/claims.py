"""Cleaning claims end to end: clean a registered dataset, publish the child, claim it,
verify a claim by re-execution, and record the verdict as a reproduction attestation.

The chain checks a claim's *structure* (openings against the roots, fate rules) in
audits; whether the rows were cleaned *correctly* is judged here, by re-running the
recipe, and recorded in the Attestations contract under the metric set
``keccak256("datasoil.reproduction.v1" ‖ claim id)`` (score 10,000 reproduced, 0 not).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil import clean, crypto, publish, rows
from datasoil.chain import event_logs
from datasoil.cid import cid_to_tuple
from datasoil.errors import ChainError, DatasoilError, ProofError
from datasoil.loader import materialize
from datasoil.recipe import Recipe, load_recipe

__all__ = [
    "NOT_REPRODUCED",
    "REPRODUCED",
    "CleanedChild",
    "Verdict",
    "attest_verdict",
    "claim_documents",
    "clean_and_publish",
    "pin_bundle",
    "submit_claim",
    "verify_claim",
]

REPRODUCED = 10_000
NOT_REPRODUCED = 0


@dataclass(frozen=True)
class CleanedChild:
    """A cleaning run whose output is published as a child of its parent."""

    parent_id: int
    child_id: int
    result: clean.CleanResult
    recipe: Recipe
    recipe_cid: str
    proof_cid: str
    private: bool
    content_key: bytes | None = None
    input_path: Path | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of re-executing a claim; ``report`` is what gets pinned."""

    claim_id: int
    reproduced: bool
    detail: str
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> int:
        return REPRODUCED if self.reproduced else NOT_REPRODUCED


def _pin_bytes(store: Any, data: bytes) -> str:
    return str(store.add_bytes(data, pin=True))


def clean_and_publish(
    parent_id: int,
    recipe_path: Path | str,
    *,
    registry: Any,
    store: Any,
    sender: Any,
    work: Path,
    private: bool = False,
    name: str | None = None,
    license: str = "CC-BY-4.0",
) -> CleanedChild:
    """Fetch the (public) parent verified, clean it, publish the output as its child.

    A private child's rows are committed with keyed leaves under the content key that
    encrypts it (the parent's root stays the plain one it was registered with).
    Raises what fetching, cleaning, publishing and registering raise.
    """
    recipe = load_recipe(recipe_path)
    parent = registry.get(parent_id)
    work = Path(work)
    shutil.rmtree(work / "parent", ignore_errors=True)  # a previous run's copy
    input_path, _schema = materialize(parent, store, work / "parent")
    content_key = crypto.new_content_key() if private else None
    out = work / "clean"
    result = clean.clean(
        input_path,
        recipe,
        out,
        output_key=crypto.row_hmac_key(content_key) if content_key else None,
    )
    schema_out = rows.Schema.from_json(result.proof["schema_out"])
    prepared = publish.prepare(
        result.data_path,
        store=store,
        schema=schema_out,
        name=name or f"cleaned #{parent_id}",
        creator=str(sender.address),
        derived_from=[parent.content_cid],
        private=private,
        content_key=content_key,
        license=license,
    )
    if prepared.row_root != result.output_root:
        raise ProofError(
            f"expected the published root 0x{result.output_root.hex()} of the cleaning, "
            f"found 0x{prepared.row_root.hex()}"
        )
    existing = None if private else publish.find_duplicate(registry, prepared)
    child_id = existing or publish.register(prepared, registry, sender=sender, parents=[parent_id])
    recipe_cid = _pin_bytes(store, recipe.canonical_bytes())
    proof_cid = pin_bundle(store, result)
    return CleanedChild(
        parent_id,
        child_id,
        result,
        recipe,
        recipe_cid,
        proof_cid,
        private,
        content_key,
        input_path,
    )


def pin_bundle(store: Any, result: clean.CleanResult) -> str:
    """Pin the claim bundle: a directory holding ``proof.json`` and ``fate.bin``.

    Its CID is the claim's proof CID, so a verifier gets the proof document and every
    row's fate record (checked against the claimed fate root) from one CID.
    """
    with tempfile.TemporaryDirectory(prefix="datasoil-bundle-") as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "proof.json").write_bytes(clean.proof_bytes(result.proof))
        (bundle / "fate.bin").write_bytes(result.fate_path.read_bytes())
        return str(store.add_path(bundle, pin=True))


def submit_claim(proofs: Any, token: Any, child: CleanedChild, *, sender: Any) -> int:
    """Approve the bond and submit the claim; return the claim id (ChainError on revert)."""
    bond = int(proofs.bond())
    try:
        if int(token.allowance(sender, proofs)) < bond:
            token.approve(proofs, bond, sender=sender)
        receipt = proofs.submit_claim(
            child.parent_id,
            child.child_id,
            cid_to_tuple(child.recipe_cid).as_abi(),
            cid_to_tuple(child.proof_cid).as_abi(),
            child.result.fate_root,
            sender=sender,
        )
    except Exception as exc:
        reason = getattr(exc, "revert_message", None) or exc
        raise ChainError(f"expected the claim to be accepted, it was refused: {reason}") from exc
    (event,) = receipt.decode_logs(proofs.ClaimSubmitted)
    return int(event.claim_id)


def claim_documents(proofs: Any, claim_id: int, from_block: int = 0) -> dict[str, Any]:
    """The ClaimSubmitted event of ``claim_id`` as a dict (recipe and proof CIDs, roots)."""
    from datasoil.cid import CidTuple

    for event in event_logs(proofs.ClaimSubmitted, from_block):
        if int(event.claim_id) == int(claim_id):
            return {
                "parent_id": int(event.parent_id),
                "child_id": int(event.child_id),
                "recipe_cid": str(CidTuple.from_abi(tuple(event.recipe_cid))),
                "proof_cid": str(CidTuple.from_abi(tuple(event.proof_cid))),
                "fate_root": bytes(event.fate_root),
                "parent_root": bytes(event.parent_root),
                "child_root": bytes(event.child_root),
            }
    raise DatasoilError(f"expected claim {claim_id} on chain, found no ClaimSubmitted event")


def verify_claim(
    claim_id: int,
    *,
    proofs: Any,
    registry: Any,
    store: Any,
    sample: int | None = None,
    from_block: int = 0,
    seed: int | None = None,
) -> Verdict:
    """Re-execute a claim and say whether it reproduced.

    Fetches the claim bundle (proof document and fate file; the fate file must hash to
    the claimed fate root) and the parent (verified against its CID and root), checks
    the recipe embedded in the proof against the claimed recipe CID, then either

    - re-runs the recipe on the whole parent and compares input, fate and (for a
      public child) output roots and counts with the chain; or
    - with ``sample=K``, judges K random input rows alone (:func:`clean.check_sample`):
      each row is re-cleaned with the row-local steps and compared with its fate
      record and, for a kept row of a public child, its published output row.

    A private child's rows are keyed: only its fate root and counts can be compared
    without the content key.
    """
    docs = claim_documents(proofs, claim_id, from_block)
    report: dict[str, Any] = {
        "version": "datasoil.reproduction.v1",
        "claim_id": int(claim_id),
        "proof_cid": docs["proof_cid"],
        "recipe_cid": docs["recipe_cid"],
        "engine": clean.engine_info(),
        "mode": "full" if sample is None else f"sample {sample}",
    }

    def verdict(ok: bool, detail: str) -> Verdict:
        report.update(reproduced=ok, detail=detail)
        return Verdict(int(claim_id), ok, detail, report)

    parent = registry.get(docs["parent_id"])
    child = registry.get(docs["child_id"])
    with tempfile.TemporaryDirectory(prefix="datasoil-verify-") as tmp:
        bundle = Path(tmp) / "bundle"
        store.get(cid_to_tuple(docs["proof_cid"]).to_cid(), bundle)
        proof = clean.load_proof(bundle / "proof.json")
        fate_bytes = (bundle / "fate.bin").read_bytes()
        if clean.fate_root(fate_bytes) != docs["fate_root"]:
            return verdict(False, "the bundle's fate file does not hash to the claimed fate root")
        recipe = load_recipe(json.dumps(proof["recipe"]))
        if recipe.cid != docs["recipe_cid"]:
            return verdict(
                False, f"the proof's recipe is {recipe.cid}, the claim names {docs['recipe_cid']}"
            )
        input_path, _ = materialize(parent, store, Path(tmp) / "parent", verify_rows=True)
        if sample is not None:
            return _verify_sample(
                proof,
                recipe,
                fate_bytes,
                input_path,
                child,
                store,
                Path(tmp),
                sample,
                seed,
                verdict,
            )
        rerun = clean.clean(input_path, recipe, Path(tmp) / "rerun")
        checks = [
            ("input root", rerun.input_root, docs["parent_root"]),
            ("fate root", rerun.fate_root, docs["fate_root"]),
        ]
        if not child.private:
            checks.append(("output root", rerun.output_root, docs["child_root"]))
        for what, got, want in checks:
            if got != want:
                return verdict(False, f"{what}: re-executed 0x{got.hex()}, claimed 0x{want.hex()}")
        if rerun.rows_out != child.row_count:
            return verdict(
                False, f"rows out: re-executed {rerun.rows_out}, claimed {child.row_count}"
            )
        scope = "fate root and counts (private child)" if child.private else "every root"
        return verdict(True, f"re-executed {rerun.rows_in} rows: {scope} reproduced")


def _verify_sample(
    proof: dict[str, Any],
    recipe: Recipe,
    fate_bytes: bytes,
    input_path: Path,
    child: Any,
    store: Any,
    tmp: Path,
    k: int,
    seed: int | None,
    verdict: Callable[[bool, str], Verdict],
) -> Verdict:
    fates = clean.decode_fates(fate_bytes)
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(len(fates)), min(k, len(fates))))
    schema_in = rows.Schema.from_json(proof["schema_in"])
    wanted_in = set(picks) | {f.dup_of for i in picks if (f := fates[i]).dup_of is not None}
    input_rows = _rows_at(input_path, schema_in, wanted_in)
    outputs = {fates[i].output_index for i in picks if fates[i].kept}
    output_rows: dict[int, Any] = {}
    if not child.private and outputs:
        out_path, schema_out = materialize(child, store, tmp / "child")
        output_rows = _rows_at(out_path, schema_out, {int(o) for o in outputs if o is not None})
    problems = clean.check_sample(
        proof, recipe, input_rows, {i: fates[i] for i in wanted_in}, output_rows
    )
    if problems:
        return verdict(False, f"sampled rows {picks}: {problems[0]}")
    return verdict(True, f"sampled rows {picks}: every fate and output reproduced")


def _rows_at(path: Path, schema: rows.Schema, indices: set[int]) -> dict[int, Any]:
    """The rows at ``indices`` (schema order tuples), reading the file once."""
    found: dict[int, Any] = {}
    offset = 0
    for batch in rows.read_batches(path, schema):
        for i in [j for j in indices if offset <= j < offset + batch.num_rows]:
            found[i] = tuple(batch.slice(i - offset, 1).to_pylist()[0].values())
        offset += batch.num_rows
    return found


def attest_verdict(
    attestations: Any, verdict: Verdict, *, store: Any, sender: Any, child_id: int
) -> str:
    """Pin the verifier's report and attest it under the claim's reproduction metric set.

    Returns the report CID. ``attestations`` is a :class:`datasoil.attest.Attestations`.
    """
    from datasoil.attest import reproduction_metric_set

    report_cid = _pin_bytes(
        store, json.dumps(verdict.report, sort_keys=True, separators=(",", ":")).encode()
    )
    attestation = attestations.build(
        str(sender.address),
        child_id,
        reproduction_metric_set(verdict.claim_id),
        verdict.score,
        report_cid,
    )
    attestations.attest(attestation, sender)
    return report_cid
