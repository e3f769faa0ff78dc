"""Structural audits of cleaning claims (the CleaningProofs contract) through the chain.

The protocol's pure half, sampling, openings and the verdict, is
:mod:`datasoil.protocol.audits`; this module adds the I/O: :func:`load_claim_data` reads
a claimant's :class:`~datasoil.protocol.audits.ClaimData` from a ``datasoil clean``
output directory and the parent's data (:func:`row_keys` finds the row-hash keys of
private parents and children, :func:`claim_data_for` both), and chain access goes
through ape contract objects (duck-typed): :func:`read_claim`, :func:`open_audit`
(commit, wait for the next block, :func:`reveal`), :func:`respond` (checked locally
first), :func:`finalize`, :func:`answer_open_audits`, :func:`settle_dispute`. The
protocol is written down in docs/proofs.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasoil.chain import tx
from datasoil.chain.session import ProofsClient, TokenClient
from datasoil.errors import ChainError, ProofError
from datasoil.formats import merkle
from datasoil.formats.fate import FATE_NONE, FATE_RECORD_SIZE, FATE_STEP_NONE, fate_rules
from datasoil.protocol.audits import (
    MAX_LONG_ROW_BYTES,
    MAX_ROW_BYTES,
    SAMPLES,
    AuditState,
    ClaimData,
    ClaimFacts,
    OutputOpening,
    Reason,
    Response,
    Status,
    build_response,
    check_response,
    commitment,
    compute_seed,
    sample_indices,
)
from datasoil.protocol.metric_sets import reproduction_metric_set

# The audit protocol is datasoil.protocol.audits' and the fate record datasoil.formats.fate's:
# the names of theirs listed here are re-exported until flows/models.py, tests/contracts/proofs,
# tests/stateful, tests/boa/test_proofs_machine.py and tests/gas import them from there.
FATE_SIZE = FATE_RECORD_SIZE

__all__ = [
    "FATE_NONE",
    "FATE_SIZE",
    "FATE_STEP_NONE",
    "MAX_LONG_ROW_BYTES",
    "MAX_ROW_BYTES",
    "SAMPLES",
    "AuditState",
    "AuditStatus",
    "ClaimData",
    "ClaimFacts",
    "ClaimStatus",
    "OutputOpening",
    "Reason",
    "Response",
    "Status",
    "answer_open_audits",
    "build_response",
    "check_response",
    "claim_data_for",
    "commitment",
    "compute_seed",
    "fate_rules",
    "finalize",
    "load_claim_data",
    "open_audit",
    "read_claim",
    "read_facts",
    "read_seed",
    "reproduction_metric_set",
    "respond",
    "reveal",
    "row_keys",
    "sample_indices",
    "settle_dispute",
]


def load_claim_data(
    clean_dir: Path,
    input_path: Path,
    *,
    key: bytes | None = None,
    input_key: bytes | None = None,
    output_key: bytes | None = None,
) -> ClaimData:
    """Read a ``datasoil clean`` output directory (``proof.json``, ``data.parquet``,
    ``fate.bin``) and the parent's data at ``input_path`` into :class:`ClaimData`.

    ``input_key`` is the row-hash key of a private parent, ``output_key`` that of a
    private child (a public parent cleaned into a private child has only the latter:
    :func:`row_keys` finds them); ``key`` sets both. Holds every row in memory.
    Raises :class:`~datasoil.errors.ProofError` when the files do not give the roots the
    proof names, and what :mod:`datasoil.formats.rows` raises for unreadable data.
    """
    from datasoil.formats import rows

    clean_dir = Path(clean_dir)
    try:
        proof = json.loads((clean_dir / "proof.json").read_text())
        fates = (clean_dir / "fate.bin").read_bytes()
    except (OSError, ValueError) as exc:
        raise ProofError(f"{clean_dir}: expected proof.json and fate.bin, found: {exc}") from exc
    schema_in = rows.Schema.from_json(proof["schema_in"])
    schema_out = rows.Schema.from_json(proof["schema_out"])
    encoded_in = [
        r
        for b in rows.read_batches(Path(input_path), schema_in)
        for r in rows.encode_rows(b, schema_in)
    ]
    encoded_out = [
        r
        for b in rows.read_batches(clean_dir / "data.parquet", schema_out)
        for r in rows.encode_rows(b, schema_out)
    ]
    data = ClaimData.from_rows(
        encoded_in, encoded_out, fates, input_key=input_key or key, output_key=output_key or key
    )
    facts = data.facts()
    for name, got in (
        ("input_root", facts.parent_root),
        ("output_root", facts.child_root),
        ("fate_root", facts.fate_root),
    ):
        if "0x" + got.hex() != proof[name]:
            raise ProofError(
                f"{name}: proof.json names {proof[name]}, the data gives 0x{got.hex()}"
            )
    return data


# ---------------------------------------------------------------------------------------
# Chain
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditStatus:
    """One audit of a claim, as ``CleaningProofs.audit`` returns it.

    ``revealed``, ``deadline`` and ``seed`` are 0 / zero bytes until the auditor reveals.
    """

    number: int
    auditor: str
    opened: int
    reveal_deadline: int
    revealed: int
    deadline: int
    state: AuditState
    reason: Reason
    seed: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "audit": self.number,
            "auditor": self.auditor,
            "opened": self.opened,
            "reveal_deadline": self.reveal_deadline,
            "revealed": self.revealed or None,
            "deadline": self.deadline or None,
            "state": self.state.name.lower(),
            "reason": self.reason.name.lower(),
            "seed": "0x" + self.seed.hex() if any(self.seed) else None,
        }


@dataclass(frozen=True)
class ClaimStatus:
    """A claim and its whole audit history (``CleaningProofs.claim`` and ``audit``)."""

    claim_id: int
    claimant: str
    parent_id: int
    child_id: int
    fate_root: bytes
    submitted: int
    window_end: int
    status: Status
    disputes: int
    open_audits: int
    audits: tuple[AuditStatus, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim_id,
            "status": self.status.name.lower(),
            "claimant": self.claimant,
            "parent": self.parent_id,
            "child": self.child_id,
            "fate_root": "0x" + self.fate_root.hex(),
            "submitted": self.submitted,
            "window_end": self.window_end,
            "disputes": self.disputes,
            "open_audits": self.open_audits,
            "audits": [a.to_json() for a in self.audits],
            "reproduction_metric_set": "0x" + reproduction_metric_set(self.claim_id).hex(),
        }


def _audit_status(number: int, a: Any) -> AuditStatus:
    return AuditStatus(
        number=number,
        auditor=str(a.auditor),
        opened=int(a.opened),
        reveal_deadline=int(a.reveal_deadline),
        revealed=int(a.revealed),
        deadline=int(a.deadline),
        state=AuditState(int(a.state)),
        reason=Reason(int(a.reason)),
        seed=bytes(a.seed),
    )


def read_claim(proofs: Any, claim_id: int) -> ClaimStatus:
    """The claim's status and every audit (the latest 16 come with the claim, older ones
    one call each).

    Raises :class:`~datasoil.errors.ChainError` for an unknown claim.
    """
    try:
        view = proofs.claim(claim_id)
    except Exception as exc:  # ape raises ContractLogicError subclasses
        raise tx.refusal(f"claim {claim_id} to be submitted", proofs, exc) from exc
    first = int(view.first_audit)
    older = [_audit_status(n, proofs.audit(claim_id, n)) for n in range(first)]
    latest = [_audit_status(first + k, a) for k, a in enumerate(view.audits)]
    return ClaimStatus(
        claim_id=claim_id,
        claimant=str(view.claimant),
        parent_id=int(view.parent_id),
        child_id=int(view.child_id),
        fate_root=bytes(view.fate_root),
        submitted=int(view.submitted),
        window_end=int(view.window_end),
        status=Status(int(view.status)),
        disputes=int(view.disputes),
        open_audits=int(view.open_audits),
        audits=tuple(older + latest),
    )


def read_facts(proofs: Any, registry: Any, claim_id: int) -> ClaimFacts:
    """The roots, sizes and flags the contract checks a claim's answers against."""
    claim = read_claim(proofs, claim_id)
    parent = registry.info(claim.parent_id)
    child = registry.info(claim.child_id)
    return ClaimFacts(
        parent_root=bytes(parent.row_root),
        child_root=bytes(child.row_root),
        fate_root=claim.fate_root,
        rows_in=int(parent.row_count),
        rows_out=int(child.row_count),
        parent_private=bool(parent.private),
        child_private=bool(child.private),
    )


def read_seed(proofs: Any, claim_id: int, audit: int) -> bytes | None:
    """An audit's seed, or None until its auditor reveals (the contract stores it then)."""
    stored = bytes(proofs.audit_seed(claim_id, audit))
    return None if stored == bytes(32) else stored


def _wait_for_block(number: int, timeout: float = 600.0) -> None:
    """Until block ``number`` exists: mined at once on a local anvil, polled elsewhere."""
    from datasoil import chain as dschain

    w3 = dschain.web3()
    if dschain.is_local():
        while int(w3.eth.block_number) < number:
            w3.provider.make_request("evm_mine", [])
        return
    end = time.monotonic() + timeout
    while int(w3.eth.block_number) < number:
        if time.monotonic() > end:
            raise ChainError(f"expected block {number} within {timeout:.0f} s, found none")
        time.sleep(2.0)


def open_audit(
    proofs: Any,
    token: Any,
    claim_id: int,
    sender: Any,
    *,
    secret: bytes | None = None,
    reveal_now: bool = True,
    log: Callable[[str], None] | None = None,
) -> int:
    """Approve the deposit, open an audit committed to ``secret`` (random by default) and,
    with ``reveal_now``, wait for the next block and reveal it; returns the audit number.

    ``log`` receives the secret before anything is sent, so an interrupted run can still
    :func:`reveal` (``ape run audit reveal``) within the reveal window.
    Raises :class:`~datasoil.errors.ChainError` when the contract refuses.
    """
    secret = os.urandom(32) if secret is None else secret
    if log is not None:
        log(f"claim {claim_id}: audit secret 0x{secret.hex()} (keep it until revealed)")
    receipt = ProofsClient(proofs).open_audit(
        claim_id, commitment(str(sender.address), secret), TokenClient(token), sender=sender
    )
    (event,) = receipt.decode_logs(proofs.AuditOpened)
    number = int(event.audit)
    if reveal_now:
        _wait_for_block(int(event.seed_block))
        reveal(proofs, claim_id, number, secret, sender)
    return number


def reveal(proofs: Any, claim_id: int, audit: int, secret: bytes, sender: Any) -> bytes:
    """Reveal an audit's secret (from the block after next of its opening); returns the
    seed. Raises :class:`~datasoil.errors.ChainError` when the contract refuses."""
    receipt = ProofsClient(proofs).reveal(claim_id, audit, secret, sender=sender)
    (event,) = receipt.decode_logs(proofs.AuditRevealed)
    return bytes(event.seed)


def respond(
    proofs: Any, registry: Any, claim_id: int, audit: int, data: ClaimData, sender: Any
) -> Any:
    """Build, check locally and send the answer to a revealed audit; returns the receipt.

    Rows over :data:`MAX_ROW_BYTES` go first, one ``open_row`` transaction each (skipped
    when the chain already holds that slot's leaf, so an interrupted answer resumes).
    Raises :class:`~datasoil.errors.ProofError` when the answer would fail the audit (so no
    bond is lost to a bug here) or the data does not match the claim, and
    :class:`~datasoil.errors.ChainError` when the contract refuses it.
    """
    facts = read_facts(proofs, registry, claim_id)
    mine = data.facts()
    if mine != facts:
        raise ProofError(
            f"claim {claim_id}: the data commits to {_describe_facts(mine)}, "
            f"the chain holds {_describe_facts(facts)}"
        )
    seed = read_seed(proofs, claim_id, audit)
    if seed is None:
        raise ChainError(
            f"audit {audit} of claim {claim_id}: expected a revealed seed, found none yet"
        )
    response = build_response(
        data, sample_indices(seed, facts.rows_in), sample_indices(seed, facts.rows_out, SAMPLES)
    )
    reason, at = check_response(facts, response, seed)
    if reason is not Reason.NONE:
        raise ProofError(f"answer would fail the audit: {reason.name.lower()} at opening {at}")
    inputs, outputs = response.as_args()
    client = ProofsClient(proofs)
    for slot, row in response.long_rows():
        if bytes(proofs.row_leaf(claim_id, audit, slot)) != merkle.leaf_hash(row):
            client.open_row(claim_id, audit, slot, row, sender=sender)
    return client.respond(claim_id, audit, inputs, outputs, sender=sender)


def answer_open_audits(
    proofs: Any,
    registry: Any,
    claim_id: int,
    data: ClaimData,
    sender: Any,
    log: Callable[[str], None] = print,
) -> list[int]:
    """Answer every open audit of a claim whose seed is revealed; returns their numbers."""
    answered = []
    for a in read_claim(proofs, claim_id).audits:
        if a.state is AuditState.OPEN and a.revealed:
            respond(proofs, registry, claim_id, a.number, data, sender)
            log(f"claim {claim_id}: answered audit {a.number}")
            answered.append(a.number)
    return answered


def finalize(proofs: Any, claim_id: int, sender: Any) -> Any:
    """Finalise a claim after its window; returns the receipt. Raises ChainError."""
    return ProofsClient(proofs).finalize(claim_id, sender=sender)


def settle_dispute(proofs: Any, claim_id: int, disputer: str, sender: Any) -> Any:
    """Settle a dispute of a finalised or failed claim; returns the receipt. Raises
    ChainError."""
    return ProofsClient(proofs).settle_dispute(claim_id, disputer, sender=sender)


def _key_from_file(path: Path) -> bytes:
    from datasoil.errors import CryptoError
    from datasoil.formats import crypto

    text = Path(path).read_text().strip().removeprefix("0x")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise CryptoError(f"expected a hex content key in {path}, found {text[:16]!r}") from None
    if len(key) != crypto.KEY_SIZE:
        raise CryptoError(
            f"expected a {crypto.KEY_SIZE}-byte content key in {path}, found {len(key)}"
        )
    return key


def row_keys(
    registry: Any,
    parent_id: int,
    child_id: int,
    *,
    input_key_file: Path | None = None,
    output_key_file: Path | None = None,
    root: Path | None = None,
) -> tuple[bytes | None, bytes | None]:
    """The row-hash keys ``(input_key, output_key)`` of a claim's parent and child, for
    :func:`load_claim_data`: None for a public side; for a private side the HMAC key
    derived (:func:`datasoil.formats.crypto.row_hmac_key`) from its content key, read from the
    key file (hex, as ``ape run audit key DATASET`` prints it) or else from the local
    key store (``root``, the cleaner's own ``.datasoil/keys``).

    ``registry`` is a :class:`datasoil.chain.registry.Registry`. Raises
    :class:`~datasoil.errors.NotFound` when a private side has no key here and
    :class:`~datasoil.errors.CryptoError` for a malformed key file.
    """
    from datasoil.errors import NotFound
    from datasoil.flows import access
    from datasoil.formats import crypto

    keys: list[bytes | None] = []
    for dataset_id, path, what in (
        (parent_id, input_key_file, "parent"),
        (child_id, output_key_file, "child"),
    ):
        dataset = registry.get(dataset_id)
        if not dataset.private:
            keys.append(None)
            continue
        if path is not None:
            content_key = _key_from_file(path)
        else:
            try:
                content_key = access.load_content_key(dataset.content_cid, root=root).key
            except NotFound:
                flag = "--input-key-file" if what == "parent" else "--key-file"
                raise NotFound(
                    f"expected the content key of the private {what} #{dataset_id} in the "
                    f"local key store or {flag}, found neither"
                ) from None
        keys.append(crypto.row_hmac_key(content_key))
    return keys[0], keys[1]


def claim_data_for(
    proofs: Any,
    registry: Any,
    claim_id: int,
    data_dir: Path,
    input_path: Path,
    *,
    key_file: Path | None = None,
    input_key_file: Path | None = None,
    root: Path | None = None,
) -> ClaimData:
    """A claim's :class:`ClaimData` as its claimant answers audits with it (what
    ``ape run audit respond|watch`` and the demo use): the clean output ``data_dir`` and
    the parent's data at ``input_path``, each private side keyed with its own row-hash key
    (:func:`row_keys`: ``key_file`` holds the child's content key, ``input_key_file`` the
    parent's, else the local key store under ``root``).

    ``registry`` is a :class:`datasoil.chain.registry.Registry`. Raises what :func:`read_claim`,
    :func:`row_keys` and :func:`load_claim_data` raise.
    """
    claim = read_claim(proofs, claim_id)
    input_key, output_key = row_keys(
        registry,
        claim.parent_id,
        claim.child_id,
        input_key_file=input_key_file,
        output_key_file=key_file,
        root=root,
    )
    return load_claim_data(data_dir, input_path, input_key=input_key, output_key=output_key)


def _describe_facts(f: ClaimFacts) -> str:
    return (
        f"parent 0x{f.parent_root.hex()[:12]}…/{f.rows_in} rows, "
        f"child 0x{f.child_root.hex()[:12]}…/{f.rows_out} rows, fate 0x{f.fate_root.hex()[:12]}…"
    )
