"""EIP-712 attestations through the chain: sign with an account, attest, relay, revoke,
and aggregate from the contract's events; the quality-attestation flow.

The typed data, raw-key signing, recovery, relay payloads and aggregation are
:mod:`datasoil.protocol.attestations` (pure); this module adds the I/O: an ape account's
signature (:func:`sign_with_account`), the Attestations contract (:class:`Attestations`)
and scoring, pinning and attesting a dataset's quality (:func:`score_quality`,
:func:`attest_quality`). docs/attestations.md specifies the protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

from datasoil.chain import event_logs
from datasoil.errors import NotFound
from datasoil.formats.cid import CidTuple, cid_to_tuple
from datasoil.protocol.attestations import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    Attestation,
    AttestationError,
    AttestationEvent,
    RelayPayload,
    SignatureError,
    Summary,
    digest,
    latest_records,
    reproduction_metric_set,
    sign,
    signable,
    split_signature,
    summarize,
    typed_data,
)

# DOMAIN_NAME, DOMAIN_VERSION, digest, sign and reproduction_metric_set are
# datasoil.protocol.attestations', re-exported (with the errors and the types the client
# takes) until tests/contracts/attestations and flows/claims.py import them from there.
__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "Attestation",
    "AttestationError",
    "Attestations",
    "QualityAttestation",
    "RelayPayload",
    "SignatureError",
    "attest_quality",
    "digest",
    "reproduction_metric_set",
    "score_quality",
    "sign",
    "sign_with_account",
    "split_signature",
    "typed_data",
]


def sign_with_account(account: Any, typed: Mapping[str, Any]) -> bytes:
    """Sign with an ape account (test account, keystore, hardware wallet).

    Raises SignatureError if the account declines or cannot sign typed data.
    """
    sig = account.sign_message(signable(typed))
    if sig is None:
        raise SignatureError(f"expected account {account.address} to sign, it returned nothing")
    v = int(sig.v)
    v = v + 27 if v < 27 else v
    return bytes(sig.r).rjust(32, b"\0") + bytes(sig.s).rjust(32, b"\0") + bytes([v])


# --------------------------------------------------------------------------- chain


class Attestations:
    """An Attestations ape contract instance with Python-friendly calls.

    ``registry`` is the DatasetRegistry contract instance (row roots come from it).
    """

    def __init__(self, contract: Any, registry: Any, start_block: int = 0) -> None:
        self.contract = contract
        self.registry = registry
        self.start_block = start_block

    @property
    def chain_id(self) -> int:
        return int(self.contract.chain_manager.chain_id)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def typed_data(self, attestation: Attestation) -> dict[str, Any]:
        return typed_data(attestation, self.chain_id, self.address)

    def nonce(self, attester: str, dataset_id: int, metric_set: bytes) -> int:
        return int(self.contract.current_nonce(attester, dataset_id, metric_set))

    def build(
        self,
        attester: str,
        dataset_id: int,
        metric_set: bytes,
        score: int,
        report: str | CidTuple,
        *,
        expiry: int = 0,
        deadline: int | None = None,
        valid_for: int = 3600,
    ) -> Attestation:
        """An attestation with the registry's row root and the current nonce; the
        deadline defaults to ``valid_for`` seconds after the latest block.

        Raises NotFound for an unknown dataset, AttestationError for bad fields.
        """
        if not self.registry.exists(dataset_id):
            raise NotFound(f"expected a registered dataset id, found {dataset_id}")
        if deadline is None:
            deadline = int(self.contract.chain_manager.blocks.head.timestamp) + valid_for
        return Attestation(
            attester=attester,
            dataset_id=dataset_id,
            row_root=bytes(self.registry.row_root(dataset_id)),
            metric_set=metric_set,
            score=score,
            report=report if isinstance(report, CidTuple) else cid_to_tuple(report),
            expiry=expiry,
            deadline=deadline,
            nonce=self.nonce(attester, dataset_id, metric_set),
        )

    def sign(self, attestation: Attestation, account: Any) -> RelayPayload:
        """Sign with an ape account; the payload a relayer submits."""
        typed = self.typed_data(attestation)
        return RelayPayload(
            attestation, self.chain_id, self.address, sign_with_account(account, typed)
        )

    def _send(self, what: str, method: str, *args: Any, sender: Any) -> Any:
        from datasoil.chain import tx

        return tx.send(f"the {what} to be accepted", self.contract, method, *args, sender=sender)

    def attest(self, attestation: Attestation, sender: Any) -> Any:
        """Attest directly (``sender`` must be the attester). Raises ChainError on revert."""
        return self._send("attestation", "attest", attestation.as_abi(), sender=sender)

    def submit(self, payload: RelayPayload, sender: Any) -> Any:
        """Relay a signed attestation after checking it locally.

        Raises AttestationError if the payload is for another chain or contract,
        SignatureError if it is not the attester's, ChainError if the contract refuses.
        """
        if payload.chain_id != self.chain_id:
            raise AttestationError(
                f"expected a payload for chain {self.chain_id}, found chain {payload.chain_id}"
            )
        if payload.verifying_contract != to_checksum_address(self.address):
            raise AttestationError(
                f"expected a payload for contract {self.address}, "
                f"found {payload.verifying_contract}"
            )
        payload.verify()
        return self._send(
            "relayed attestation",
            "attest_by_sig",
            payload.attestation.as_abi(),
            split_signature(payload.signature),
            sender=sender,
        )

    def submit_batch(self, payloads: list[RelayPayload], sender: Any) -> Any:
        """Relay several signed attestations in one transaction (all or none)."""
        for payload in payloads:
            payload.verify()
        return self._send(
            "batch",
            "attest_batch",
            [p.attestation.as_abi() for p in payloads],
            [split_signature(p.signature) for p in payloads],
            sender=sender,
        )

    def revoke(self, dataset_id: int, metric_set: bytes, sender: Any) -> Any:
        return self._send("revocation", "revoke", dataset_id, metric_set, sender=sender)

    def bump_nonce(self, dataset_id: int, metric_set: bytes, new_nonce: int, sender: Any) -> Any:
        return self._send(
            "nonce bump", "bump_nonce", dataset_id, metric_set, new_nonce, sender=sender
        )

    def events(self, dataset_id: int | None = None) -> list[AttestationEvent]:
        """Every Attested and Revoked event (of ``dataset_id`` if given), chain order."""
        topics = {} if dataset_id is None else {"dataset_id": dataset_id}
        out: list[AttestationEvent] = []
        for kind, event in (
            ("attested", self.contract.Attested),
            ("revoked", self.contract.Revoked),
        ):
            for log in event_logs(event, self.start_block, **topics):
                extra: dict[str, Any] = {}
                if kind == "attested":
                    version, codec, digest = log.report
                    extra = {
                        "report_cid": str(CidTuple(int(version), int(codec), bytes(digest))),
                        "expiry": int(log.expiry),
                    }
                out.append(
                    AttestationEvent(
                        kind=kind,
                        attester=str(log.attester),
                        dataset_id=int(log.dataset_id),
                        metric_set=bytes(log.metric_set),
                        score=int(log.score),
                        nonce=int(log.nonce),
                        block=int(log.block_number),
                        log_index=int(log.log_index),
                        **extra,
                    )
                )
        return sorted(out, key=lambda e: (e.block, e.log_index))

    def summaries(
        self, dataset_id: int, *, trusted: Collection[str] | None = None, now: int | None = None
    ) -> list[Summary]:
        """One summary per metric set attested for ``dataset_id``."""
        if now is None:
            now = int(self.contract.chain_manager.blocks.head.timestamp)
        records = latest_records(self.events(dataset_id))
        metric_sets = sorted({k[2] for k in records})
        return [summarize(records, dataset_id, m, now=now, trusted=trusted) for m in metric_sets]


# -- the quality-attestation flow ---------------------------------------------------


def score_quality(
    dataset: Any,
    *,
    store: Any,
    work: Path,
    data_path: Path | None = None,
    content_key: bytes | None = None,
    label: str | None = None,
    key: Sequence[str] | None = None,
) -> Any:
    """The quality report of a registered dataset's data, checked to be that data.

    ``dataset`` is a :class:`datasoil.chain.registry.Dataset`. A public dataset is fetched from
    ``store`` (every block and the row root verified), or ``data_path``, a local copy,
    is scored only if its rows reproduce the registered root. A private dataset needs
    ``data_path`` (the decrypted file, e.g. from ``ape run market fetch``) and its
    ``content_key`` (a buyer's delivered key, or the owner's): the copy must reproduce
    the registered *keyed* root. Returns a :class:`datasoil.engine.quality.QualityReport`.

    Raises:
        AttestationError: a private dataset without a local copy or its key.
        ProofError: the local copy is not the registered data.
        and what fetching and reading raise.
    """
    from datasoil.engine.quality import compute_report
    from datasoil.flows.loader import load_local, materialize, metadata, read_verified
    from datasoil.formats import crypto
    from datasoil.formats.croissant import schema_of

    if dataset.private:
        if data_path is None or content_key is None:
            raise AttestationError(
                f"expected a decrypted local copy (--data) and the content key of private "
                f"dataset #{dataset.id}, found "
                + ("neither" if data_path is None and content_key is None else "only one")
                + ": buy access and `ape run market fetch` it first"
            )
        schema = schema_of(metadata(store, dataset.metadata_cid))
        read_verified(
            Path(data_path),
            schema,
            bytes(dataset.row_root),
            int(dataset.row_count),
            key=crypto.row_hmac_key(content_key),
        )
        return compute_report(data_path, label=label, key=key)
    fetched, schema = materialize(dataset, store, Path(work), verify_rows=data_path is None)
    if data_path is not None:
        load_local(data_path, schema, bytes(dataset.row_root), int(dataset.row_count))
    return compute_report(data_path or fetched, label=label, key=key)


@dataclass(frozen=True)
class QualityAttestation:
    """A scored, pinned and signed quality attestation (submitted unless relay-only)."""

    report: Any
    report_cid: str
    payload: RelayPayload
    receipt: Any = None


def attest_quality(
    client: Attestations,
    dataset_id: int,
    report: Any,
    *,
    store: Any,
    account: Any,
    expiry: int = 0,
    submit: bool = True,
    relayer: Any = None,
) -> QualityAttestation:
    """Pin ``report``, sign its attestation with ``account`` and (unless ``submit`` is
    false) record it: relayed by ``relayer`` when given, else sent by ``account``.

    Raises AttestationError / SignatureError / ChainError as the client's calls do.
    """
    from datasoil.engine.quality import metric_set_id

    cid = str(store.add_bytes(report.to_json_bytes(), pin=True))
    attestation = client.build(
        str(account.address), dataset_id, metric_set_id(), report.score, cid, expiry=expiry
    )
    payload = client.sign(attestation, account)
    receipt = None
    if submit:
        if relayer is not None:
            receipt = client.submit(payload, sender=relayer)
        else:
            receipt = client.attest(attestation, account)
    return QualityAttestation(report, cid, payload, receipt)
