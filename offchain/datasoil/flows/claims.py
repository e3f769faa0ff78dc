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
from typing import TYPE_CHECKING, Any

from datasoil.chain import event_logs
from datasoil.chain.session import ProofsClient, TokenClient
from datasoil.engine import clean
from datasoil.errors import CryptoError, DatasoilError, ProofError
from datasoil.flows import publish
from datasoil.flows.loader import materialize
from datasoil.formats import crypto, rows
from datasoil.formats.cid import cid_to_tuple
from datasoil.formats.recipe import Recipe, load_recipe

if TYPE_CHECKING:
    from ape.api import AccountAPI
    from ape.contracts.base import ContractInstance

    from datasoil.chain.registry import Registry
    from datasoil.flows.attest import Attestations

__all__ = [
    "NOT_REPRODUCED",
    "REPRODUCED",
    "CleanedChild",
    "SampleError",
    "Verdict",
    "attest_verdict",
    "check_row_sizes",
    "child_content_key",
    "claim_documents",
    "clean_and_publish",
    "pin_bundle",
    "submit_claim",
    "verify_claim",
]

REPRODUCED = 10_000
NOT_REPRODUCED = 0


class SampleError(DatasoilError, ValueError):
    """A verification sample size is not a positive number of rows."""


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
    parent_private: bool = False


@dataclass(frozen=True)
class Verdict:
    """The outcome of re-executing a claim; ``report`` is what gets pinned.

    ``full`` is true only when every root was recomputed from every row (input, fate and
    output, the output keyed with the child's key for a private child) and compared with
    the chain; ``checked`` says what was compared (rows judged, output rows compared,
    roots). A verdict that is not full is recorded under the partial reproduction metric
    set, never as a full reproduction.
    """

    claim_id: int
    reproduced: bool
    detail: str
    report: dict[str, Any] = field(default_factory=dict)
    full: bool = False

    @property
    def score(self) -> int:
        return REPRODUCED if self.reproduced else NOT_REPRODUCED

    @property
    def checked(self) -> dict[str, Any]:
        checked: dict[str, Any] = self.report.get("checked", {})
        return checked


def _pin_bytes(store: Any, data: bytes) -> str:
    return str(store.add_bytes(data, pin=True))


def clean_and_publish(
    parent_id: int,
    recipe_path: Path | str,
    *,
    registry: Registry,
    store: Any,
    sender: AccountAPI,
    work: Path,
    private: bool = False,
    name: str | None = None,
    license: str = "CC-BY-4.0",
    version_of: int = 0,
    subject: tuple[str, str] | None = None,
) -> CleanedChild:
    """Fetch the (public) parent verified, clean it, publish the output as its child.

    A private child's rows are committed with keyed leaves under the content key that
    encrypts it (the parent's root stays the plain one it was registered with).
    ``version_of`` registers the child as a new version of a dataset the sender owns (the
    parent, when an owner answers withdrawal requests: docs/consent.md); ``subject`` is
    the child's subject column, ``(column, kind)``, recorded in its metadata.
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
        subject=subject,
    )
    if prepared.row_root != result.output_root:
        raise ProofError(
            f"expected the published root 0x{result.output_root.hex()} of the cleaning, "
            f"found 0x{prepared.row_root.hex()}"
        )
    existing = None if private else publish.find_duplicate(registry, prepared)
    child_id = existing or publish.register(
        prepared, registry, sender=sender, parents=[parent_id], version_of=version_of
    )
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
        bool(parent.private),
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


def _longest_row(path: Path, schema: rows.Schema) -> tuple[int, int]:
    """``(index, bytes)`` of the longest encoded row of a dataset file (``(-1, 0)`` if empty)."""
    import pyarrow.compute

    pc: Any = pyarrow.compute  # generated at import: untyped (as in formats/rows.py)
    longest, at, offset = 0, -1, 0
    for batch in rows.read_batches(path, schema):
        if batch.num_rows:
            lengths = pc.binary_length(rows.encode_batch(batch, schema)).to_numpy()
            i = int(lengths.argmax())
            if int(lengths[i]) > longest:
                longest, at = int(lengths[i]), offset + i
        offset += batch.num_rows
    return at, longest


def check_row_sizes(child: CleanedChild, limit: int) -> None:
    """Refuse a claim an audit could not be answered for: a public parent or child row
    longer than ``limit``, the most ``open_row`` takes (CleaningProofs'
    ``MAX_LONG_ROW_BYTES``, 384 KiB).

    Private rows are opened by their keyed leaf alone, so only public sides are read.
    Raises ProofError naming the side, the row and its size.
    """
    proof = child.result.proof
    sides = []
    if not child.parent_private and child.input_path is not None:
        sides.append(("parent", child.input_path, rows.Schema.from_json(proof["schema_in"])))
    if not child.private:
        sides.append(("child", child.result.data_path, rows.Schema.from_json(proof["schema_out"])))
    for side, path, schema in sides:
        index, size = _longest_row(Path(path), schema)
        if size > limit:
            raise ProofError(
                f"expected every {side} row to fit an audit answer (at most "
                f"{limit} bytes encoded), found {side} row {index} of {size} bytes: "
                "no transaction could open it, so the claim's bond would be lost to the "
                "first audit; nothing was sent"
            )


def submit_claim(
    proofs: ContractInstance | ProofsClient,
    token: ContractInstance | TokenClient,
    child: CleanedChild,
    *,
    sender: AccountAPI,
) -> int:
    """Check, approve the bond and submit the claim; return the claim id.

    Before anything is sent: every public row of the parent and the child must fit an
    audit's ``open_row`` (:func:`check_row_sizes`), the bond must be in the balance, and
    the approval and the claim must pass a simulation
    (:meth:`datasoil.chain.session.ProofsClient.submit_claim`).

    Raises ProofError (a row too long to open) or ChainError (refused).
    """
    client = proofs if isinstance(proofs, ProofsClient) else ProofsClient(proofs)
    check_row_sizes(child, int(client.contract.MAX_LONG_ROW_BYTES()))
    return client.submit_claim(
        child.parent_id,
        child.child_id,
        cid_to_tuple(child.recipe_cid).as_abi(),
        cid_to_tuple(child.proof_cid).as_abi(),
        child.result.fate_root,
        token if isinstance(token, TokenClient) else TokenClient(token),
        sender=sender,
    )


def claim_documents(proofs: ContractInstance, claim_id: int, from_block: int = 0) -> dict[str, Any]:
    """The ClaimSubmitted event of ``claim_id`` as a dict (recipe and proof CIDs, roots)."""
    from datasoil.formats.cid import CidTuple

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
    proofs: ContractInstance,
    registry: Registry,
    store: Any,
    sample: int | None = None,
    from_block: int = 0,
    seed: int | None = None,
    content_key: bytes | None = None,
) -> Verdict:
    """Re-execute a claim and say whether it reproduced, and what was checked.

    Fetches the claim bundle (proof document and fate file; the fate file must hash to
    the claimed fate root) and the parent (verified against its CID and root), checks
    the recipe embedded in the proof against the claimed recipe CID, then either

    - re-runs the recipe on the whole parent and compares input, fate and output roots
      and counts with the chain (a *full* verdict). A private child's output root is
      keyed: it is compared only with ``content_key`` (the child's content key, held by
      its owner or by a verifier who bought access); without it only the fate root and
      counts are compared and the verdict is partial; or
    - with ``sample=K`` (K >= 1), judges K random input rows alone
      (:func:`clean.check_sample`): each row is re-cleaned with the row-local steps and
      compared with its fate record and, for a kept row of a public child, its
      published output row. A sample is always partial.

    A full re-execution that finds a mismatch is a conclusive (full) "not reproduced".

    Raises:
        SampleError: ``sample`` is below 1.
        CryptoError: ``content_key`` is not 32 bytes, or does not decrypt the child.
        and what fetching the bundle and the parent raises.
    """
    if sample is not None and sample < 1:
        raise SampleError(f"expected a sample of at least 1 row, found {sample}")
    if content_key is not None and len(content_key) != crypto.KEY_SIZE:
        raise CryptoError(
            f"expected a {crypto.KEY_SIZE}-byte content key, found {len(content_key)} bytes"
        )
    docs = claim_documents(proofs, claim_id, from_block)
    report: dict[str, Any] = {
        "version": "datasoil.reproduction.v1",
        "claim_id": int(claim_id),
        "proof_cid": docs["proof_cid"],
        "recipe_cid": docs["recipe_cid"],
        "engine": clean.engine_info(),
        "mode": "full" if sample is None else f"sample {sample}",
    }
    checked: dict[str, Any] = {"input_rows": 0, "output_rows": 0, "roots": []}
    report["checked"] = checked

    def verdict(ok: bool, detail: str, *, full: bool = False) -> Verdict:
        report.update(reproduced=ok, detail=detail, scope="full" if full else "partial")
        return Verdict(int(claim_id), ok, detail, report, full)

    parent = registry.get(docs["parent_id"])
    child = registry.get(docs["child_id"])
    with tempfile.TemporaryDirectory(prefix="datasoil-verify-") as tmp:
        bundle = Path(tmp) / "bundle"
        store.get(cid_to_tuple(docs["proof_cid"]).to_cid(), bundle)
        proof = clean.load_proof(bundle / "proof.json")
        fate_bytes = (bundle / "fate.bin").read_bytes()
        if clean.fate_root(fate_bytes) != docs["fate_root"]:
            return verdict(
                False, "the bundle's fate file does not hash to the claimed fate root", full=True
            )
        recipe = load_recipe(json.dumps(proof["recipe"]))
        if recipe.cid != docs["recipe_cid"]:
            return verdict(
                False,
                f"the proof's recipe is {recipe.cid}, the claim names {docs['recipe_cid']}",
                full=True,
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
                checked,
            )
        keyed = child.private and content_key is not None
        rerun = clean.clean(
            input_path,
            recipe,
            Path(tmp) / "rerun",
            output_key=crypto.row_hmac_key(content_key) if keyed and content_key else None,
        )
        checks = [
            ("input root", rerun.input_root, docs["parent_root"]),
            ("fate root", rerun.fate_root, docs["fate_root"]),
        ]
        if not child.private or keyed:
            checks.append(("output root", rerun.output_root, docs["child_root"]))
        for what, got, want in checks:
            if got != want and what == "output root" and keyed and content_key:
                _check_opens(child, store, content_key, Path(tmp) / "child.enc")
            if got != want:
                detail = f"{what}: re-executed 0x{got.hex()}, claimed 0x{want.hex()}"
                hint = _dispute_hint(claim_id, proof, fate_bytes, rerun, child, store, Path(tmp))
                return verdict(False, detail + hint, full=True)
            checked["roots"].append(what)
        if rerun.rows_out != child.row_count:
            return verdict(
                False,
                f"rows out: re-executed {rerun.rows_out}, claimed {child.row_count}",
                full=True,
            )
        checked.update(input_rows=rerun.rows_in, output_rows=rerun.rows_out)
        if child.private and not keyed:
            checked["output_rows"] = 0
            return verdict(
                True,
                f"re-executed {rerun.rows_in} rows: input and fate roots and counts reproduced; "
                "the private child's rows were not compared (no content key)",
            )
        scope = "every root (keyed output root of the private child)" if keyed else "every root"
        return verdict(True, f"re-executed {rerun.rows_in} rows: {scope} reproduced", full=True)


def _dispute_hint(
    claim_id: int,
    proof: dict[str, Any],
    fate_bytes: bytes,
    rerun: clean.CleanResult,
    child: Any,
    store: Any,
    tmp: Path,
) -> str:
    """For a claim whose proof records a judge program and whose rows are public, the
    dispute of a row the chain would uphold (datasoil.flows.row_disputes.winning_dispute),
    as the rest of a verdict's detail; empty otherwise."""
    from datasoil.flows import row_disputes

    if not (proof.get("judge") or {}).get("hash") or child.private:
        return ""
    honest_fates = rerun.fate_path.read_bytes()
    claimed_rows: list[bytes] = []
    honest_rows: list[bytes] = []
    if honest_fates == fate_bytes:  # the fates agree: look at the output rows
        schema = rows.Schema.from_json(rerun.proof["schema_out"])
        path, _ = materialize(child, store, tmp / "claimed-child")
        for source, found in ((path, claimed_rows), (rerun.data_path, honest_rows)):
            for batch in rows.read_batches(source, schema):
                found.extend(rows.encode_rows(batch, schema))
    winning = row_disputes.winning_dispute(fate_bytes, honest_fates, claimed_rows, honest_rows)
    if winning is None:
        return ""
    return f"; the chain judges it: `{row_disputes.dispute_command(claim_id, *winning)}` wins"


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
    checked: dict[str, Any],
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
    checked.update(
        input_rows=len(picks),
        output_rows=len(output_rows),
        sampled=picks,
        of_rows=len(fates),
    )
    problems = clean.check_sample(
        proof, recipe, input_rows, {i: fates[i] for i in wanted_in}, output_rows
    )
    if problems:
        return verdict(False, f"sampled rows {picks}: {problems[0]}")
    if child.private:
        what = (
            f"the fates of {len(picks)} sampled rows reproduced; "
            "output rows not compared (private child)"
        )
    else:
        what = (
            f"{len(picks)} sampled rows: every fate and {len(output_rows)} output rows reproduced"
        )
    return verdict(True, f"{what} (rows {picks} of {len(fates)})")


def child_content_key(
    proofs: ContractInstance,
    registry: Registry,
    claim_id: int,
    key_file: Path | None,
    from_block: int = 0,
) -> bytes | None:
    """The content key to verify a claim's private child with, or None.

    From ``key_file`` (the key as hex) when given, else from the local key store when it
    holds the child's key (its owner's machine); None for a public child or no key.

    Raises:
        CryptoError: ``key_file`` does not hold a 32-byte hex key.
    """
    from datasoil.flows.loader import content_key_for

    child = registry.get(claim_documents(proofs, claim_id, from_block)["child_id"])
    return content_key_for(child, key_file=key_file)


def _check_opens(child: Any, store: Any, content_key: bytes, scratch: Path) -> None:
    """Raise CryptoError unless ``content_key`` decrypts the private child's ciphertext.

    A wrong key makes the keyed output root differ too; it must be reported as the
    verifier's mistake, never recorded as the claim failing to reproduce.
    """
    with scratch.open("wb") as out:
        for chunk in store.cat(cid_to_tuple(child.content_cid).to_cid()):
            out.write(chunk)
    try:
        crypto.decrypt_file(scratch, scratch.with_suffix(".tar"), content_key)
    except CryptoError:
        raise CryptoError(
            f"expected the content key of dataset #{child.id}, found a key that does not "
            "decrypt its ciphertext"
        ) from None


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
    attestations: Attestations,
    verdict: Verdict,
    *,
    store: Any,
    sender: AccountAPI,
    child_id: int,
) -> str:
    """Pin the verifier's report and attest it under the claim's reproduction metric set.

    A full verdict goes under ``reproduction_metric_set(claim_id)``; anything less (a
    sample, a private child checked without its key) under the partial metric set, so
    a sampled or fate-only check never reads on chain as a full reproduction.

    Returns the report CID. ``attestations`` is a :class:`datasoil.flows.attest.Attestations`.
    """
    from datasoil.flows.attest import reproduction_metric_set

    report_cid = _pin_bytes(
        store, json.dumps(verdict.report, sort_keys=True, separators=(",", ":")).encode()
    )
    attestation = attestations.build(
        str(sender.address),
        child_id,
        reproduction_metric_set(verdict.claim_id, partial=not verdict.full),
        verdict.score,
        report_cid,
    )
    attestations.attest(attestation, sender)
    return report_cid
