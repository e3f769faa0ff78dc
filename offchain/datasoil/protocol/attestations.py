"""EIP-712 attestations, the pure half: typed data, signing and recovery, relay payloads,
and the latest records and aggregates that a contract's events give.

An attestation says that a registered dataset (bound by its row root) scores ``score``
out of 10,000 under a metric set, with a report (a CID) behind it. The typed data is
what ``eth_signTypedData_v4`` takes (``domain``, ``types``, ``primaryType``,
``message``); the relay payload adds the ``signature`` it returns. The format, the
nonce rules and the aggregate semantics are specified in docs/attestations.md.

Reproductions of cleaning claims use the metric set
``keccak256(b"datasoil.reproduction.v1" + claim_id.to_bytes(32, "big"))`` (see
:func:`reproduction_metric_set`), score 10,000 (reproduced) or 0 (did not), when every
root was recomputed; a check of less (a sample, or a private child's fate root without
its key) is recorded under ``b"datasoil.reproduction.partial.v1"`` instead
(``reproduction_metric_set(claim_id, partial=True)``), see docs/attestations.md.

Pure: no chain or network access (signing with a raw key is computation; an account's
signature and the contract's calls are :mod:`datasoil.flows.attest`'s).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, _hash_eip191_message, encode_typed_data
from eth_keys.datatypes import Signature as _EcdsaSignature
from eth_utils.address import is_address, to_checksum_address

from datasoil.errors import DatasoilError, NotFound
from datasoil.formats.cid import CidTuple, cid_to_tuple
from datasoil.protocol import metric_sets

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "ETHERS_TYPES",
    "MAX_SCORE",
    "NOT_REPRODUCED",
    "PARTIAL_REPRODUCTION_PREFIX",
    "PRIMARY_TYPE",
    "REPRODUCED",
    "REPRODUCTION_PREFIX",
    "TYPES",
    "Attestation",
    "AttestationError",
    "AttestationEvent",
    "LatestRecord",
    "RelayPayload",
    "SignatureError",
    "Summary",
    "digest",
    "domain",
    "latest_records",
    "load_trusted",
    "recover",
    "reproduction_metric_set",
    "sign",
    "signable",
    "split_signature",
    "summarize",
    "typed_data",
]

DOMAIN_NAME = "datasoil Attestations"
DOMAIN_VERSION = "1"
MAX_SCORE = 10_000
REPRODUCED = 10_000
NOT_REPRODUCED = 0
PRIMARY_TYPE = "Attestation"
REPRODUCTION_PREFIX = metric_sets.REPRODUCTION_PREFIX
PARTIAL_REPRODUCTION_PREFIX = metric_sets.PARTIAL_REPRODUCTION_PREFIX

_U64 = (1 << 64) - 1
_U256 = (1 << 256) - 1
# secp256k1 group order; signatures with s above half of it are rejected (EIP-2).
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

#: The EIP-712 types, exactly as eth_signTypedData_v4 takes them.
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Attestation": [
        {"name": "attester", "type": "address"},
        {"name": "dataset_id", "type": "uint256"},
        {"name": "row_root", "type": "bytes32"},
        {"name": "metric_set", "type": "bytes32"},
        {"name": "score", "type": "uint16"},
        {"name": "report", "type": "Cid"},
        {"name": "expiry", "type": "uint64"},
        {"name": "deadline", "type": "uint64"},
        {"name": "nonce", "type": "uint64"},
    ],
    "Cid": [
        {"name": "version", "type": "uint8"},
        {"name": "codec", "type": "uint64"},
        {"name": "digest", "type": "bytes32"},
    ],
}

#: The same types as ethers v6 takes them: without ``EIP712Domain`` (ethers derives it
#: from the domain's fields and rejects types that name it).
ETHERS_TYPES: dict[str, list[dict[str, str]]] = {
    name: fields for name, fields in TYPES.items() if name != "EIP712Domain"
}


class AttestationError(DatasoilError, ValueError):
    """An attestation or relay payload is malformed or does not fit the contract's rules."""


class SignatureError(AttestationError):
    """A signature is malformed, high-s, or not the named attester's."""


def reproduction_metric_set(claim_id: int, *, partial: bool = False) -> bytes:
    """:func:`datasoil.protocol.metric_sets.reproduction_metric_set`, raising
    AttestationError (a ValueError) for a claim id that is not a uint256.

    >>> reproduction_metric_set(1).hex()[:16]
    '1dc67af0f9035e7d'
    """
    try:
        return metric_sets.reproduction_metric_set(claim_id, partial=partial)
    except metric_sets.MetricSetError as exc:
        raise AttestationError(str(exc)) from None


def _bytes32(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise AttestationError(f"expected {what} as 32 bytes of hex, found {text!r}") from None
    if len(value) != 32:
        raise AttestationError(f"expected {what} of 32 bytes, found {len(value)}")
    return bytes(value)


def _uint(value: Any, bits: int, what: str) -> int:
    if isinstance(value, bool):
        raise AttestationError(f"expected {what} as an integer, found {value!r}")
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise AttestationError(f"expected {what} as an integer, found {value!r}") from None
    if not 0 <= number < 1 << bits:
        raise AttestationError(f"expected {what} in 0..2^{bits}-1, found {number}")
    return number


@dataclass(frozen=True)
class Attestation:
    """The signed statement (EIP-712 primary type ``Attestation``).

    ``report`` is the report's CID (string or :class:`~datasoil.formats.cid.CidTuple`), kept as
    the on-chain triple (version, codec, SHA-256 digest). ``expiry`` is the end of
    validity (unix seconds, 0 for none); ``deadline`` the last moment the signature may
    be submitted; ``nonce`` must equal the contract's nonce for (attester, dataset,
    metric set) when it is submitted.

    Raises AttestationError (in construction) for out-of-range fields.
    """

    attester: str
    dataset_id: int
    row_root: bytes
    metric_set: bytes
    score: int
    report: CidTuple
    deadline: int
    nonce: int = 0
    expiry: int = 0

    def __post_init__(self) -> None:
        if not is_address(self.attester):
            raise AttestationError(f"expected an attester address, found {self.attester!r}")
        object.__setattr__(self, "attester", to_checksum_address(self.attester))
        object.__setattr__(self, "row_root", _bytes32(self.row_root, "row_root"))
        object.__setattr__(self, "metric_set", _bytes32(self.metric_set, "metric_set"))
        report = self.report
        if not isinstance(report, CidTuple):
            report = cid_to_tuple(str(report))
        if report.version not in (0, 1) or len(report.digest) != 32:
            raise AttestationError(f"expected a CIDv0/v1 with a SHA-256 digest, found {report}")
        object.__setattr__(self, "report", report)
        _uint(self.dataset_id, 256, "dataset_id")
        for name in ("expiry", "deadline", "nonce"):
            _uint(getattr(self, name), 64, name)
        if not 0 <= self.score <= MAX_SCORE:
            raise AttestationError(f"expected a score in 0..{MAX_SCORE}, found {self.score}")

    @property
    def report_cid(self) -> str:
        """The report's CID as a string."""
        return str(self.report)

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``message``: addresses checksummed, bytes32 as 0x-hex, integers as
        decimal strings (exact in JavaScript too)."""
        return {
            "attester": self.attester,
            "dataset_id": str(self.dataset_id),
            "row_root": "0x" + self.row_root.hex(),
            "metric_set": "0x" + self.metric_set.hex(),
            "score": str(self.score),
            "report": {
                "version": str(self.report.version),
                "codec": str(self.report.codec),
                "digest": "0x" + self.report.digest.hex(),
            },
            "expiry": str(self.expiry),
            "deadline": str(self.deadline),
            "nonce": str(self.nonce),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Attestation:
        """Parse an EIP-712 ``message`` (numbers or decimal/hex strings accepted).

        Raises AttestationError for a missing, extra or malformed field.
        """
        expected = {f["name"] for f in TYPES["Attestation"]}
        if set(message) != expected:
            raise AttestationError(
                f"expected message fields {sorted(expected)}, found {sorted(message)}"
            )
        report = message["report"]
        if not isinstance(report, Mapping) or set(report) != {"version", "codec", "digest"}:
            raise AttestationError(f"expected report {{version, codec, digest}}, found {report!r}")
        return cls(
            attester=str(message["attester"]),
            dataset_id=_uint(message["dataset_id"], 256, "dataset_id"),
            row_root=_bytes32(message["row_root"], "row_root"),
            metric_set=_bytes32(message["metric_set"], "metric_set"),
            score=_uint(message["score"], 16, "score"),
            report=CidTuple(
                _uint(report["version"], 8, "report.version"),
                _uint(report["codec"], 64, "report.codec"),
                _bytes32(report["digest"], "report.digest"),
            ),
            expiry=_uint(message["expiry"], 64, "expiry"),
            deadline=_uint(message["deadline"], 64, "deadline"),
            nonce=_uint(message["nonce"], 64, "nonce"),
        )

    def as_abi(self) -> tuple[Any, ...]:
        """The contract's ``Attestation`` struct as a tuple."""
        return (
            self.attester,
            self.dataset_id,
            self.row_root,
            self.metric_set,
            self.score,
            self.report.as_struct(),
            self.expiry,
            self.deadline,
            self.nonce,
        )


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of the Attestations contract at ``verifying_contract``."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": int(chain_id),
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def typed_data(attestation: Attestation, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full typed data (``types``, ``primaryType``, ``domain``, ``message``)."""
    return {
        "types": json.loads(json.dumps(TYPES)),
        "primaryType": PRIMARY_TYPE,
        "domain": domain(chain_id, verifying_contract),
        "message": attestation.message(),
    }


def signable(typed: Mapping[str, Any]) -> SignableMessage:
    """The EIP-712 message of typed data ``typed``, as an eth-account signer takes it."""
    return encode_typed_data(full_message=dict(typed))


def digest(typed: Mapping[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest ``keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)``."""
    return bytes(_hash_eip191_message(signable(typed)))


def sign(typed: Mapping[str, Any], private_key: bytes | str) -> bytes:
    """Sign with a raw private key; return the 65-byte r ‖ s ‖ v signature (v 27/28)."""
    signed = Account.sign_message(signable(typed), private_key)
    return bytes(signed.signature)


def _parse_signature(signature: bytes) -> tuple[int, int, int]:
    """(v, r, s) from a 65-byte r ‖ s ‖ v or a 64-byte EIP-2098 r ‖ vs signature."""
    if len(signature) == 65:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        v = signature[64]
    elif len(signature) == 64:
        r = int.from_bytes(signature[:32], "big")
        vs = int.from_bytes(signature[32:], "big")
        s, v = vs & ((1 << 255) - 1), 27 + (vs >> 255)
    else:
        raise SignatureError(f"expected a 65- or 64-byte signature, found {len(signature)} bytes")
    if v not in (27, 28):
        raise SignatureError(f"expected v of 27 or 28, found {v}")
    if not 0 < r < _N or not 0 < s <= _N // 2:
        raise SignatureError("expected r in 1..n-1 and a low s (at most n/2), found otherwise")
    return v, r, s


def split_signature(signature: bytes) -> tuple[int, bytes, bytes]:
    """The contract's ``Signature`` struct (v, r, s) from a 65-byte r ‖ s ‖ v or a 64-byte
    EIP-2098 signature.

    Raises SignatureError for another length, a v other than 27/28, or a high s.
    """
    v, r, s = _parse_signature(bytes(signature))
    return v, r.to_bytes(32, "big"), s.to_bytes(32, "big")


def recover(typed: Mapping[str, Any], signature: bytes) -> str:
    """The address that signed ``typed``; the contract's rules (low s, v 27/28, 65 or 64
    bytes) apply.

    Raises SignatureError for a malformed or high-s signature.
    """
    v, r, s = _parse_signature(bytes(signature))
    try:
        public = _EcdsaSignature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest(typed))
    except Exception as exc:  # eth_keys raises BadSignature and others
        raise SignatureError(f"expected a recoverable signature, recovery failed: {exc}") from exc
    return str(public.to_checksum_address())


@dataclass(frozen=True)
class RelayPayload:
    """A signed attestation for a relayer: ``domain``, ``types``, ``primaryType``,
    ``message`` (eth_signTypedData_v4's input) and ``signature`` (its output, 0x-hex)."""

    attestation: Attestation
    chain_id: int
    verifying_contract: str
    signature: bytes

    def typed_data(self) -> dict[str, Any]:
        return typed_data(self.attestation, self.chain_id, self.verifying_contract)

    def to_json(self) -> dict[str, Any]:
        """The payload file's object: eth_signTypedData_v4's input and output, plus
        ``ethersTypes`` (the same types without ``EIP712Domain``, which ethers derives
        from the domain and refuses to be given), so ethers' ``verifyTypedData(domain,
        ethersTypes, message, signature)`` and eth-sig-util's ``recoverTypedSignature``
        both take the file as it is."""
        data = self.typed_data()
        return {
            "domain": data["domain"],
            "types": data["types"],
            "ethersTypes": ETHERS_TYPES,
            "primaryType": data["primaryType"],
            "message": data["message"],
            "signature": "0x" + self.signature.hex(),
        }

    def verify(self) -> None:
        """Raise SignatureError unless the signature is the named attester's."""
        signer = recover(self.typed_data(), self.signature)
        if signer != self.attestation.attester:
            raise SignatureError(
                f"expected a signature by {self.attestation.attester}, found one by {signer}"
            )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelayPayload:
        """Parse and check a payload (types and domain must be datasoil's).

        Raises AttestationError for a malformed payload (SignatureError for a bad
        signature encoding); does not check who signed (see :meth:`verify`).
        """
        if not isinstance(data, Mapping):
            raise AttestationError(f"expected a JSON object, found {type(data).__name__}")
        missing = {"domain", "types", "primaryType", "message", "signature"} - set(data)
        if missing:
            raise AttestationError(f"expected payload fields, missing {sorted(missing)}")
        if data["primaryType"] != PRIMARY_TYPE:
            raise AttestationError(
                f"expected primaryType {PRIMARY_TYPE!r}, found {data['primaryType']!r}"
            )
        # eth_signTypedData_v4 tools write the domain type, ethers-made payloads omit it
        if data["types"] not in (TYPES, ETHERS_TYPES):
            raise AttestationError("expected datasoil's Attestation types, found other types")
        if data.get("ethersTypes", ETHERS_TYPES) != ETHERS_TYPES:
            raise AttestationError("expected datasoil's Attestation ethersTypes, found others")
        dom = data["domain"]
        if not isinstance(dom, Mapping) or set(dom) != {
            "name",
            "version",
            "chainId",
            "verifyingContract",
        }:
            raise AttestationError(
                f"expected domain {{name, version, chainId, verifyingContract}}, found {dom!r}"
            )
        if (dom["name"], dom["version"]) != (DOMAIN_NAME, DOMAIN_VERSION):
            raise AttestationError(
                f"expected domain {DOMAIN_NAME!r} version {DOMAIN_VERSION!r}, "
                f"found {dom['name']!r} version {dom['version']!r}"
            )
        if not is_address(dom["verifyingContract"]):
            raise AttestationError(
                f"expected a verifyingContract address, found {dom['verifyingContract']!r}"
            )
        sig_text = str(data["signature"])
        try:
            signature = bytes.fromhex(sig_text.removeprefix("0x"))
        except ValueError:
            raise SignatureError(f"expected the signature as hex, found {sig_text!r}") from None
        _parse_signature(signature)
        return cls(
            attestation=Attestation.from_message(data["message"]),
            chain_id=_uint(dom["chainId"], 256, "chainId"),
            verifying_contract=to_checksum_address(dom["verifyingContract"]),
            signature=signature,
        )

    def write(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path | str) -> RelayPayload:
        """Read a payload file. Raises NotFound, or AttestationError for bad JSON."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"expected a relay payload file at {path}, found nothing")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AttestationError(f"expected JSON in {path}, found: {exc}") from exc
        return cls.from_json(data)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class AttestationEvent:
    """An ``Attested`` or ``Revoked`` event, normalised (``kind`` is "attested"/"revoked")."""

    kind: str
    attester: str
    dataset_id: int
    metric_set: bytes
    score: int
    nonce: int
    block: int
    log_index: int
    report_cid: str | None = None
    expiry: int = 0


@dataclass(frozen=True)
class LatestRecord:
    """An attester's latest attestation of a (dataset, metric set) and whether it was
    revoked since."""

    attester: str
    dataset_id: int
    metric_set: bytes
    score: int
    report_cid: str
    expiry: int
    nonce: int
    block: int
    revoked: bool = False

    def expired(self, now: int) -> bool:
        return self.expiry != 0 and self.expiry <= now

    def to_json(self) -> dict[str, Any]:
        return {
            "attester": self.attester,
            "dataset_id": self.dataset_id,
            "metric_set": "0x" + self.metric_set.hex(),
            "score": self.score,
            "report_cid": self.report_cid,
            "expiry": self.expiry,
            "nonce": self.nonce,
            "block": self.block,
            "revoked": self.revoked,
        }


def latest_records(
    events: Iterable[AttestationEvent],
) -> dict[tuple[str, int, bytes], LatestRecord]:
    """Replay events in chain order into each attester's latest record per
    (attester, dataset, metric set), as the contract holds it."""
    records: dict[tuple[str, int, bytes], LatestRecord] = {}
    for ev in sorted(events, key=lambda e: (e.block, e.log_index)):
        key = (ev.attester, ev.dataset_id, ev.metric_set)
        if ev.kind == "attested":
            records[key] = LatestRecord(
                attester=ev.attester,
                dataset_id=ev.dataset_id,
                metric_set=ev.metric_set,
                score=ev.score,
                report_cid=ev.report_cid or "",
                expiry=ev.expiry,
                nonce=ev.nonce,
                block=ev.block,
            )
        elif ev.kind == "revoked" and key in records:
            old = records[key]
            records[key] = LatestRecord(**{**old.__dict__, "revoked": True})
    return records


@dataclass(frozen=True)
class Summary:
    """Aggregate of the latest unrevoked, unexpired scores of trusted attesters."""

    dataset_id: int
    metric_set: bytes
    count: int
    sum: int
    min: int | None
    max: int | None
    records: tuple[LatestRecord, ...] = field(default=())
    expired: int = 0
    revoked: int = 0
    untrusted: int = 0

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "metric_set": "0x" + self.metric_set.hex(),
            "count": self.count,
            "sum": self.sum,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
            "excluded": {
                "expired": self.expired,
                "revoked": self.revoked,
                "untrusted": self.untrusted,
            },
            "attestations": [r.to_json() for r in self.records],
        }


def summarize(
    records: Mapping[tuple[str, int, bytes], LatestRecord] | Iterable[LatestRecord],
    dataset_id: int,
    metric_set: bytes,
    *,
    now: int,
    trusted: Collection[str] | None = None,
) -> Summary:
    """Count, sum, min and max over the latest records of (dataset, metric set) that are
    not revoked, not expired at ``now``, and (when ``trusted`` is given) by a trusted
    attester. ``trusted=None`` trusts everyone."""
    values = records.values() if isinstance(records, Mapping) else records
    trust = {to_checksum_address(a) for a in trusted} if trusted is not None else None
    kept: list[LatestRecord] = []
    expired = revoked = untrusted = 0
    for rec in values:
        if rec.dataset_id != dataset_id or rec.metric_set != metric_set:
            continue
        if trust is not None and rec.attester not in trust:
            untrusted += 1
        elif rec.revoked:
            revoked += 1
        elif rec.expired(now):
            expired += 1
        else:
            kept.append(rec)
    scores = [r.score for r in kept]
    return Summary(
        dataset_id=dataset_id,
        metric_set=metric_set,
        count=len(kept),
        sum=sum(scores),
        min=min(scores) if scores else None,
        max=max(scores) if scores else None,
        records=tuple(sorted(kept, key=lambda r: r.attester)),
        expired=expired,
        revoked=revoked,
        untrusted=untrusted,
    )


def load_trusted(path: Path | str) -> list[str]:
    """A trusted-attester list: a JSON array of addresses, or a text file with one
    address per line (``#`` comments allowed).

    Raises NotFound for a missing file, AttestationError for a bad address.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"expected a trusted-attester file at {path}, found nothing")
    text = path.read_text()
    if text.lstrip().startswith("["):
        items = [str(x) for x in json.loads(text)]
    else:
        items = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        items = [x for x in items if x]
    for item in items:
        if not is_address(item):
            raise AttestationError(f"expected an address in {path}, found {item!r}")
    return [to_checksum_address(x) for x in items]
