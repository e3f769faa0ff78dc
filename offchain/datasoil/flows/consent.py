"""Consent through the chain: declare a dataset's subject column, request a row's
withdrawal (as its subject, or as the owner), answer with a new version that drops the
rows, forward what an answer left open, and read where everything stands.

The pure half (the row's subject as the contract reads it, the EIP-712 ``Withdrawal``,
commitments) is :mod:`datasoil.protocol.consent`; the contract is ``Consent``
(docs/consent.md), reached through :class:`datasoil.chain.session.ConsentClient`.

The answer is an ordinary cleaning: a recipe of one ``drop_rows`` step over the open
rows (:class:`datasoil.formats.recipe.DropRows`), its output published as a new version of
the dataset, claimed on CleaningProofs and, once the claim is final, each answered row's
fate record opened against the claim's fate root on chain.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils.address import to_checksum_address

from datasoil.chain import event_logs
from datasoil.errors import ChainError, ConsentError, ProofError
from datasoil.flows.attest import sign_with_account
from datasoil.flows.loader import materialize, metadata
from datasoil.formats import merkle, rows
from datasoil.formats.croissant import subject_of
from datasoil.formats.fate import FATE_RECORD_SIZE
from datasoil.protocol import consent as protocol
from datasoil.protocol.audits import Status

if TYPE_CHECKING:
    from ape.api import AccountAPI
    from ape.contracts.base import ContractInstance

    from datasoil.chain.registry import Dataset
    from datasoil.chain.session import Session
    from datasoil.formats.manifest import Manifest

__all__ = [
    "Answer",
    "DatasetStatus",
    "Flagged",
    "RequestStatus",
    "Subjects",
    "answer",
    "answer_with_claim",
    "declare",
    "drop_recipe",
    "fate_openings",
    "forward",
    "model_withdrawals",
    "open_rows",
    "payload_signature",
    "public_rows",
    "request",
    "rows_of",
    "signed_request",
    "status",
    "subject_proof",
    "subjects_of",
]

Log = Callable[[str], None]
_NEVER = 2**64  # a signature deadline far in the future (uint256 on chain)


@dataclass(frozen=True)
class Subjects:
    """A dataset's subject column: its name, its position in the schema and its kind
    (:data:`datasoil.protocol.consent.ADDRESS_SUBJECT` or ``COMMITMENT_SUBJECT``)."""

    column: str
    position: int
    kind: int

    @property
    def kind_name(self) -> str:
        return protocol.KIND_NAMES[self.kind]


def _account(session: Session) -> AccountAPI:
    if session.account is None:
        raise ChainError("expected an account to send with, found none: pass --account")
    return session.account


def subjects_of(document: Mapping[str, Any]) -> Subjects | None:
    """The subject column a dataset's Croissant document declares, or None."""
    found = subject_of(dict(document))
    if found is None:
        return None
    name, position, kind = found
    return Subjects(name, position, protocol.kind_of(kind))


def declare(session: Session, dataset_id: int, *, store: Any) -> Subjects:
    """Declare on chain the subject column dataset ``dataset_id``'s metadata names (the
    session's account must own the dataset).

    Raises ConsentError when the metadata names none, and ChainError when the contract
    refuses (not the owner, already declared).
    """
    dataset = session.registry.get(dataset_id)
    subjects = subjects_of(metadata(store, dataset.metadata_cid))
    if subjects is None:
        raise ConsentError(
            f"expected dataset #{dataset_id}'s metadata to name a subject column "
            "(datasoil:subject on a field), found none: publish it with --subject COLUMN:KIND"
        )
    session.consent.declare_subjects(dataset_id, subjects.position, subjects.kind)
    return subjects


def public_rows(dataset: Dataset, store: Any) -> list[bytes]:
    """The encoded rows of a public dataset, fetched verified and checked against its row
    root (ProofError otherwise)."""
    with tempfile.TemporaryDirectory(prefix="datasoil-consent-") as tmp:
        path, schema = materialize(dataset, store, Path(tmp))
        encoded = [
            r for batch in rows.read_batches(path, schema) for r in rows.encode_rows(batch, schema)
        ]
    if merkle.root([merkle.leaf_hash(r) for r in encoded]) != dataset.row_root:
        raise ProofError(f"expected dataset #{dataset.id}'s rows to give its row root, they do not")
    return encoded


def rows_of(encoded: Sequence[bytes], subjects: Subjects, subject: int) -> list[int]:
    """The indices of the rows naming ``subject`` (an address as a number, or a
    commitment) in the subject column; rows without a readable subject are skipped."""
    found = []
    for i, row in enumerate(encoded):
        try:
            if protocol.subject_value(row, subjects.position, subjects.kind) == subject:
                found.append(i)
        except ConsentError:
            continue
    return found


def subject_proof(
    encoded: Sequence[bytes],
    row_index: int,
    subjects: Subjects,
    *,
    chain_id: int,
    consent_address: str,
    dataset_id: int,
    sender: str,
    signer: AccountAPI | None = None,
    key: bytes | None = None,
    signature: bytes | None = None,
    secret: bytes | None = None,
    deadline: int = _NEVER,
) -> tuple[Any, ...]:
    """The ``SubjectProof`` for row ``row_index``: the row, its path and, for an address
    subject, the subject's EIP-712 signature (made by ``signer``, an ape account, or with
    ``key``, a raw private key, or given as ``signature`` for ``deadline``; none when
    ``sender`` is the subject), or for a commitment the ``secret``. Checked here first, as
    the contract will check it.

    Raises ConsentError when the row names another subject, the signature is not the
    subject's, or the secret does not open the commitment.
    """
    if not 0 <= row_index < len(encoded):
        raise ConsentError(f"expected a row index below {len(encoded)}, found {row_index}")
    row = encoded[row_index]
    value = protocol.subject_value(row, subjects.position, subjects.kind)
    path = list(merkle.inclusion_proof([merkle.leaf_hash(r) for r in encoded], row_index).path)
    zero = b"\x00" * 32
    if subjects.kind == protocol.COMMITMENT_SUBJECT:
        if secret is None or protocol.commitment(secret) != value.to_bytes(32, "big"):
            raise ConsentError(
                f"expected the secret of row {row_index}'s commitment "
                f"{protocol.subject_text(value, subjects.kind)}, found "
                + ("none" if secret is None else "another secret")
            )
        return (row, path, 0, 0, zero, zero, secret)
    who = protocol.subject_text(value, subjects.kind)
    if sender.lower() == who.lower() and signer is None and key is None and signature is None:
        return (row, path, 0, 0, zero, zero, zero)
    typed = protocol.typed_data(dataset_id, row_index, deadline, chain_id, consent_address)
    if signature is not None:
        pass
    elif signer is not None:
        signature = sign_with_account(signer, typed)
    elif key is not None:
        signature = protocol.sign(typed, key)
    elif sender.lower() == who.lower():
        return (row, path, 0, 0, zero, zero, zero)
    else:
        raise ConsentError(
            f"expected row {row_index}'s subject {who} to send or sign the request, found "
            f"neither (sender {sender})"
        )
    signed_by = protocol.recover(typed, signature)
    if signed_by.lower() != who.lower():
        raise ConsentError(
            f"expected a signature by row {row_index}'s subject {who}, found one by {signed_by}"
        )
    v, r, s = protocol.split_signature(signature)
    return (row, path, deadline, v, r, s, zero)


def request(
    session: Session,
    dataset_id: int,
    row_index: int,
    *,
    store: Any,
    signer: AccountAPI | None = None,
    key: bytes | None = None,
    signature: bytes | None = None,
    secret: bytes | None = None,
    deadline: int = _NEVER,
) -> int:
    """Request the withdrawal of row ``row_index`` of ``dataset_id``, sent by the session's
    account: as the dataset's owner (no proof), or for the row's subject (the row opened,
    signed by ``signer``/``key``, or the subject's ``signature`` for ``deadline`` relayed,
    or sent by the subject; or the commitment's ``secret``).
    Returns how it was made (1 subject, 2 owner).

    Raises ConsentError before anything is sent when the dataset declares no subject
    column, is private, or the proof would not hold; ChainError when the contract refuses.
    """
    dataset = session.registry.get(dataset_id)
    sender = str(_account(session).address)
    if sender.lower() == dataset.owner.lower():
        session.consent.request_withdrawal(dataset_id, row_index)
        return 2
    facts = session.consent.dataset(dataset_id)
    if facts["kind"] == 0:
        raise ConsentError(
            f"expected dataset #{dataset_id} to declare a subject column on chain, found none: "
            "only its owner can withdraw its rows"
        )
    if dataset.private:
        raise ConsentError(
            f"expected a public dataset, found #{dataset_id} private: its rows cannot be "
            "opened on chain, ask its owner to withdraw the row"
        )
    encoded = public_rows(dataset, store)
    subjects = Subjects("", facts["column"], facts["kind"])
    proof = subject_proof(
        encoded,
        row_index,
        subjects,
        chain_id=session.chain_id,
        consent_address=str(session.consent.address),
        dataset_id=dataset_id,
        sender=sender,
        signer=signer,
        key=key,
        signature=signature,
        secret=secret,
        deadline=deadline,
    )
    session.consent.request_withdrawal(dataset_id, row_index, proof)
    return 1


def signed_request(
    session: Session, dataset_id: int, row_index: int, deadline: int
) -> dict[str, Any]:
    """The session's account (a row's subject) signs the withdrawal of row ``row_index``;
    returns the payload a relayer sends with :func:`request` (``eth_signTypedData_v4``'s
    input and output, and ``ethersTypes``): see :func:`payload_signature`."""
    typed = protocol.typed_data(
        dataset_id, row_index, deadline, session.chain_id, str(session.consent.address)
    )
    signature = sign_with_account(_account(session), typed)
    return {**typed, "ethersTypes": protocol.ETHERS_TYPES, "signature": "0x" + signature.hex()}


def payload_signature(
    payload: Mapping[str, Any], session: Session, dataset_id: int, row_index: int
) -> tuple[int, bytes]:
    """``(deadline, signature)`` of a signed withdrawal payload, checked to be for
    ``dataset_id``'s row ``row_index`` on this chain's Consent contract.

    Raises ConsentError for a payload of another row, contract or chain, or malformed.
    """
    try:
        message, domain = payload["message"], payload["domain"]
        deadline = int(message["deadline"])
        signature = bytes.fromhex(str(payload["signature"]).removeprefix("0x"))
        expected = protocol.typed_data(
            dataset_id, row_index, deadline, session.chain_id, str(session.consent.address)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConsentError(
            f"expected a signed withdrawal payload, found a malformed one ({exc})"
        ) from None
    if dict(message) != expected["message"] or dict(domain) != expected["domain"]:
        raise ConsentError(
            f"expected a withdrawal of row {row_index} of dataset #{dataset_id} on this chain's "
            f"Consent ({expected['domain']['verifyingContract']}), found {dict(message)} under "
            f"{dict(domain)}"
        )
    return deadline, signature


def _requested_rows(session: Session, dataset_id: int) -> list[tuple[int, Any]]:
    logs = event_logs(
        session.consent.contract.WithdrawalRequested, session.start_block, dataset_id=dataset_id
    )
    return [(int(log.row_index), log) for log in logs]


def open_rows(session: Session, dataset_id: int) -> list[int]:
    """The rows of ``dataset_id`` whose withdrawal request is open, in order."""
    consent = session.consent
    rows_ = sorted({i for i, _ in _requested_rows(session, dataset_id)})
    return [i for i in rows_ if consent.withdrawal_state(dataset_id, i) == protocol.OPEN]


def drop_recipe(row_indices: Sequence[int]) -> str:
    """The answering recipe: one ``drop_rows`` step over the rows (YAML is JSON)."""
    steps = [{"kind": "drop_rows", "rows": sorted(set(row_indices))}]
    return json.dumps({"version": 1, "steps": steps})


def fate_openings(fates: bytes, row_indices: Sequence[int]) -> list[tuple[int, bytes, list[bytes]]]:
    """The ``FateOpening``s of rows ``row_indices`` in a fate file: each record with its
    RFC 9162 path (O(log n) hashes) under the fate root."""
    records = [fates[k : k + FATE_RECORD_SIZE] for k in range(0, len(fates), FATE_RECORD_SIZE)]
    leaves = [merkle.leaf_hash(r) for r in records]
    return [(i, records[i], list(merkle.inclusion_proof(leaves, i).path)) for i in row_indices]


@dataclass(frozen=True)
class Answer:
    """An answer: the new version, its claim, the rows it closed; ``pending`` when the
    claim's challenge window has not passed (answer later with the claim id)."""

    dataset_id: int
    new_version: int
    claim_id: int
    rows: tuple[int, ...]
    pending: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "new_version": self.new_version,
            "claim_id": self.claim_id,
            "rows": list(self.rows),
            "pending": self.pending,
        }


def answer(
    session: Session,
    dataset_id: int,
    *,
    store: Any,
    work: Path,
    row_indices: Sequence[int] | None = None,
    log: Log | None = None,
) -> Answer:
    """Answer the open requests of a dataset the session's account owns: clean it with a
    ``drop_rows`` recipe over those rows (``row_indices``, default every open one),
    publish the result as a new version, claim the cleaning (bond posted) and, once the
    claim is final, answer on chain (:func:`answer_with_claim`). On the local chain the
    challenge window is mined through and the claim finalised; elsewhere the answer
    returns ``pending`` and ``answer_with_claim`` finishes it after the window.

    Raises ConsentError (nothing open, a private dataset), and what cleaning, publishing,
    claiming and the contract raise.
    """
    from datasoil import chain
    from datasoil.flows import claims

    say = log or (lambda _m: None)
    dataset = session.registry.get(dataset_id)
    if dataset.private:
        raise ConsentError(
            f"expected a public dataset, found #{dataset_id} private: answering needs its rows "
            "in the clear, which this flow does not fetch yet"
        )
    wanted = sorted(set(row_indices if row_indices is not None else open_rows(session, dataset_id)))
    if not wanted:
        raise ConsentError(
            f"expected an open withdrawal request on dataset #{dataset_id}, found none"
        )
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    recipe_path = work / f"withdraw-{dataset_id}.yaml"
    recipe_path.write_text(drop_recipe(wanted) + "\n")
    subjects = subjects_of(metadata(store, dataset.metadata_cid))
    shutil.rmtree(work / "answer", ignore_errors=True)
    say(f"cleaning #{dataset_id} without rows {', '.join(map(str, wanted))}")
    child = claims.clean_and_publish(
        dataset_id,
        recipe_path,
        registry=session.registry,
        store=store,
        sender=_account(session),
        work=work / "answer",
        name=f"#{dataset_id} without withdrawn rows",
        license=dataset.license,
        version_of=dataset_id,
        subject=None if subjects is None else (subjects.column, subjects.kind_name),
    )
    token = session.token_at(str(session.proofs.contract.bond_token()))
    claim_id = claims.submit_claim(session.proofs, token, child, sender=_account(session))
    say(f"new version #{child.child_id}, cleaning claim #{claim_id} (bond posted)")
    if not chain.is_local():
        return Answer(dataset_id, child.child_id, claim_id, tuple(wanted), pending=True)
    window_end = int(session.proofs.contract.claim(claim_id).window_end)
    head = int(chain.web3().eth.block_number)
    if head <= window_end:
        chain.mine(window_end - head + 1)
    fates = child.result.fate_path.read_bytes()
    return answer_with_claim(
        session, dataset_id, claim_id, store=store, row_indices=wanted, fates=fates
    )


def answer_with_claim(
    session: Session,
    dataset_id: int,
    claim_id: int,
    *,
    store: Any,
    row_indices: Sequence[int] | None = None,
    fates: bytes | None = None,
) -> Answer:
    """Answer open requests of ``dataset_id`` with cleaning claim ``claim_id`` (finalised
    here first when its window is over): each row's fate record, from ``fates`` or the
    claim's pinned bundle, opened under the claim's fate root. Up to the contract's
    MAX_ANSWERS rows go in the answer, the rest are forwarded (their records drop them too).

    Raises ConsentError when the claim keeps a row or cleans another dataset, ProofError
    when the fate file does not give the claim's fate root, ChainError when refused.
    """
    from datasoil.flows import audit
    from datasoil.flows.models import claim_fates

    claim = audit.read_claim(session.proofs.contract, claim_id)
    if claim.parent_id != dataset_id:
        raise ConsentError(
            f"expected claim #{claim_id} to clean dataset #{dataset_id}, it cleans "
            f"#{claim.parent_id}"
        )
    if claim.status not in (Status.FINALISED, Status.FAILED) and claim.open_audits == 0:
        session.proofs.finalize(claim_id, sender=_account(session))  # anyone may, once over
    wanted = sorted(set(row_indices if row_indices is not None else open_rows(session, dataset_id)))
    if not wanted:
        raise ConsentError(
            f"expected an open withdrawal request on dataset #{dataset_id}, found none"
        )
    if fates is None:
        fates = claim_fates(session.proofs.contract, store, claim_id, session.start_block)
    openings = fate_openings(fates, wanted)
    leaves = [
        merkle.leaf_hash(fates[k : k + FATE_RECORD_SIZE])
        for k in range(0, len(fates), FATE_RECORD_SIZE)
    ]
    if merkle.root(leaves) != claim.fate_root:
        raise ProofError(
            f"expected the fate file to give claim #{claim_id}'s fate root, it does not"
        )
    for i, record, _ in openings:
        if record[8] != 0:
            raise ConsentError(
                f"expected claim #{claim_id}'s fate record of row {i} to drop it, it keeps it"
            )
    batch = int(session.consent.contract.MAX_ANSWERS())
    session.consent.answer(dataset_id, claim_id, openings[:batch])
    for opening in openings[batch:]:
        session.consent.forward(dataset_id, opening)
    return Answer(dataset_id, claim.child_id, claim_id, tuple(wanted))


def forward(session: Session, dataset_id: int, row_index: int, *, store: Any) -> tuple[int, int]:
    """Forward the open request of row ``row_index`` of a superseded dataset through its
    answering claim's fate record; returns ``(state, moved_to)`` after it (ANSWERED, or
    MOVED to that row of the new version)."""
    from datasoil.flows.models import claim_fates

    facts = session.consent.dataset(dataset_id)
    if facts["answered_by"] == 0:
        raise ConsentError(f"expected dataset #{dataset_id} to be answered, it is not yet")
    fates = claim_fates(session.proofs.contract, store, facts["answer_claim"], session.start_block)
    (opening,) = fate_openings(fates, [row_index])
    session.consent.forward(dataset_id, opening)
    state, _via, moved_to = session.consent.request(dataset_id, row_index)
    return state, moved_to


@dataclass(frozen=True)
class RequestStatus:
    """One row's request, as its events and the contract's state give it."""

    row_index: int
    state: str
    via: str
    requester: str
    subject: str
    moved_to: int | None = None


@dataclass(frozen=True)
class DatasetStatus:
    """Where a dataset stands: its subject column, requests, answer, pause, descendants."""

    dataset_id: int
    subject_kind: str | None
    subject_column: int | None
    open_requests: int
    answered_by: int | None
    answer_claim: int | None
    paused: bool
    requests: tuple[RequestStatus, ...] = ()
    descendants: dict[int, bool] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "subject": None
            if self.subject_kind is None
            else {"kind": self.subject_kind, "column": self.subject_column},
            "open_requests": self.open_requests,
            "answered_by": self.answered_by,
            "answer_claim": self.answer_claim,
            "paused": self.paused,
            "requests": [r.__dict__ for r in self.requests],
            "descendants_paused": {str(k): v for k, v in self.descendants.items()},
        }


def status(session: Session, dataset_id: int) -> DatasetStatus:
    """Dataset ``dataset_id``'s consent status: declaration, each request (events and
    state), the answer, whether sales are paused, and each descendant's pause."""
    consent = session.consent
    facts = consent.dataset(dataset_id)
    kind = facts["kind"]
    found = []
    for i, log in _requested_rows(session, dataset_id):
        state, via, moved = consent.request(dataset_id, i)
        subject = bytes(log.subject)
        value = int.from_bytes(subject, "big")
        shown = "" if value == 0 else protocol.subject_text(value, kind or protocol.ADDRESS_SUBJECT)
        found.append(
            RequestStatus(
                i,
                protocol.STATE_NAMES[state],
                protocol.VIA_NAMES.get(via, str(via)),
                to_checksum_address(str(log.requester)),
                shown,
                moved if state == protocol.MOVED else None,
            )
        )
    descendants: dict[int, bool] = {}
    queue = session.registry.children(dataset_id)
    while queue:
        current = queue.pop(0)
        if current not in descendants:
            descendants[current] = consent.paused(current)
            queue.extend(session.registry.children(current))
    return DatasetStatus(
        dataset_id,
        protocol.KIND_NAMES.get(kind),
        facts["column"] if kind else None,
        facts["open_requests"],
        facts["answered_by"] or None,
        facts["answer_claim"] if facts["answered_by"] else None,
        consent.paused(dataset_id),
        tuple(found),
        descendants,
    )


@dataclass(frozen=True)
class Flagged:
    """A row a model's manifest includes whose withdrawal was requested, as ModelRegistry's
    ``row_withdrawal`` confirms it (state ``open``, ``answered`` or ``moved``)."""

    dataset_id: int
    row_index: int
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"dataset_id": self.dataset_id, "row_index": self.row_index, "state": self.state}


def model_withdrawals(
    models: ContractInstance,
    consent: ContractInstance,
    model_id: int,
    manifest: Manifest,
    from_block: int = 0,
) -> list[Flagged]:
    """The rows of model ``model_id``'s manifest with a withdrawal request: requested rows of
    its datasets (from Consent's events) that the manifest includes, each confirmed on chain
    by ``models.row_withdrawal`` with the manifest opening."""
    flagged = []
    for dataset_id in manifest.dataset_ids():
        logs = event_logs(consent.WithdrawalRequested, from_block, dataset_id=dataset_id)
        for row_index in sorted({int(log.row_index) for log in logs}):
            if manifest.position(dataset_id, row_index) is None:
                continue
            proof = manifest.prove_row(dataset_id, row_index)
            state = int(
                models.row_withdrawal(
                    model_id, dataset_id, row_index, proof.position, list(proof.path)
                )
            )
            if state:
                flagged.append(Flagged(dataset_id, row_index, protocol.STATE_NAMES[state]))
    return flagged
