"""Consent, the pure half: subject kinds, the row's subject as the contract reads it,
the subject's EIP-712 withdrawal, commitments, and the states a request goes through.

A dataset may declare a *subject column* (docs/consent.md): each row's value there names
who the row is about, as an Ethereum address (a 20-byte ``bytes`` value, or a ``string``
``0x`` + 40 hex digits) or as a commitment ``keccak256(secret)`` to a 32-byte secret
(32 bytes, or ``0x`` + 64 hex digits). :func:`subject_value` reads it from the row's
``datasoil-rows-v1`` bytes exactly as ``Consent._subject_value`` does on chain, so a
request that passes here passes there (tests/contracts/consent holds the two together).

The subject of an address row signs ``Withdrawal(uint256 dataset_id,uint256 row_index,
uint256 deadline)`` under the domain ``{name: "datasoil Consent", version: "1", chainId,
verifyingContract}``; :func:`typed_data` is what ``eth_signTypedData_v4`` takes, and the
signing and recovery helpers are :mod:`datasoil.protocol.attestations`'s, which take any
typed data.

Pure: no chain or network access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from datasoil.errors import ConsentError
from datasoil.protocol import attestations
from datasoil.protocol.attestations import digest, recover, sign, split_signature

__all__ = [
    "ADDRESS_SUBJECT",
    "ANSWERED",
    "COMMITMENT_SUBJECT",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "ETHERS_TYPES",
    "KIND_NAMES",
    "MOVED",
    "OPEN",
    "PRIMARY_TYPE",
    "STATE_NAMES",
    "TYPES",
    "VIA_NAMES",
    "commitment",
    "digest",
    "kind_of",
    "recover",
    "sign",
    "split_signature",
    "subject_column",
    "subject_text",
    "subject_value",
    "typed_data",
]

DOMAIN_NAME = "datasoil Consent"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "Withdrawal"

ADDRESS_SUBJECT = 1
COMMITMENT_SUBJECT = 2
KIND_NAMES = {ADDRESS_SUBJECT: "address", COMMITMENT_SUBJECT: "commitment"}
"""Subject kinds by their on-chain code (``Consent.ADDRESS_SUBJECT`` ...)."""

OPEN, ANSWERED, MOVED = 1, 2, 3
STATE_NAMES = {0: "none", OPEN: "open", ANSWERED: "answered", MOVED: "moved"}
"""A row's request state by its on-chain code (``Consent.withdrawal_state``)."""
VIA_NAMES = {1: "subject", 2: "owner", 3: "forwarded"}
"""How a request was made, by its on-chain code (``RequestView.via``)."""

#: The EIP-712 types, exactly as eth_signTypedData_v4 takes them (the domain's fields are
#: the attestations', as snekmate's domain separator builds both).
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": attestations.TYPES["EIP712Domain"],
    "Withdrawal": [
        {"name": "dataset_id", "type": "uint256"},
        {"name": "row_index", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}

#: The same types as ethers v6 takes them (without ``EIP712Domain``).
ETHERS_TYPES = {name: fields for name, fields in TYPES.items() if name != "EIP712Domain"}

_U256 = (1 << 256) - 1
_MAX_ROW_BYTES = 4096  # rfc9162.MAX_ROW_BYTES: the longest row a request carries
_MAX_COLUMNS = 4096  # Consent.MAX_COLUMNS


def kind_of(name: str | int) -> int:
    """The on-chain code of a subject kind given by name (``address``, ``commitment``)
    or code.

    Raises ConsentError for anything else.

    >>> kind_of("commitment")
    2
    """
    for code, known in KIND_NAMES.items():
        if name in (code, known):
            return code
    raise ConsentError(f"expected a subject kind among address, commitment; found {name!r}")


def typed_data(
    dataset_id: int, row_index: int, deadline: int, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The EIP-712 typed data a subject signs to withdraw ``row_index`` of ``dataset_id``
    on the Consent contract ``verifying_contract`` of chain ``chain_id``.

    Raises ConsentError for a value that is not a uint256.
    """
    for what, value in (("dataset_id", dataset_id), ("row_index", row_index)):
        _check_uint(value, what)
    _check_uint(deadline, "deadline")
    return {
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": int(chain_id),
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "types": {name: [dict(f) for f in fields] for name, fields in TYPES.items()},
        "primaryType": PRIMARY_TYPE,
        # Decimal strings: JavaScript tools (ethers, wallets) read JSON numbers as doubles.
        "message": {
            "dataset_id": str(dataset_id),
            "row_index": str(row_index),
            "deadline": str(deadline),
        },
    }


def _check_uint(value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _U256:
        raise ConsentError(f"{what}: expected a uint256, found {value!r}")


def commitment(secret: bytes) -> bytes:
    """The commitment a row holds for a subject who keeps ``secret`` (32 bytes):
    ``keccak256(secret)``.

    Raises ConsentError for a secret that is not 32 bytes.
    """
    if len(secret) != 32:
        raise ConsentError(f"expected a 32-byte secret, found {len(secret)} bytes")
    return bytes(keccak(secret))


def subject_text(value: int, kind: int) -> str:
    """A subject as people write it: a checksummed address, or the commitment in hex.

    >>> subject_text(1, COMMITMENT_SUBJECT)[-4:]
    '0001'
    """
    if kind == ADDRESS_SUBJECT:
        return to_checksum_address(value.to_bytes(20, "big"))
    return "0x" + value.to_bytes(32, "big").hex()


def subject_value(row: bytes, column: int, kind: int) -> int:
    """The subject that value ``column`` of an encoded row names (an address as a number,
    or the commitment), read as the contract reads it.

    Raises ConsentError, with the contract's reason, for a row that is not a datasoil
    row, a column past its values, a null subject, or a value of the wrong type,
    length or spelling.

    >>> subject_value(bytes([0x82, 0x01, 0x42, 0xAB, 0xCD]), 1, ADDRESS_SUBJECT)
    Traceback (most recent call last):
    ...
    datasoil.errors.ConsentError: consent: subject value has the wrong length
    """
    kind = kind_of(kind)
    if len(row) > _MAX_ROW_BYTES:
        raise ConsentError(
            f"expected a row of at most {_MAX_ROW_BYTES} bytes to open on chain, "
            f"found {len(row)} bytes"
        )
    major, count, pos = _head(row, 0)
    if major != 4:
        raise ConsentError("consent: row is not a datasoil row")
    if not 0 <= column < count or column >= _MAX_COLUMNS:
        raise ConsentError("consent: subject column past the row's values")
    for _ in range(column):
        major, arg, pos = _head(row, pos)
        if not (major < 4 or major == 7):
            raise ConsentError("consent: row is not a datasoil row")
        if major in (2, 3):
            pos += arg
    major, arg, pos = _head(row, pos)
    if major == 7 and arg == 22:
        raise ConsentError("consent: row has no subject")
    if major not in (2, 3):
        raise ConsentError("consent: subject value is not bytes or text")
    if pos + arg > len(row):
        raise ConsentError("consent: row is not a datasoil row")
    size = 20 if kind == ADDRESS_SUBJECT else 32
    value = row[pos : pos + arg]
    if major == 2:
        if arg != size:
            raise ConsentError("consent: subject value has the wrong length")
        return int.from_bytes(value, "big")
    if arg != 2 + 2 * size:
        raise ConsentError("consent: subject value has the wrong length")
    if value[:2] != b"0x":
        raise ConsentError("consent: subject text does not start with 0x")
    digits = value[2:]
    if any(chr(c) not in "0123456789abcdefABCDEF" for c in digits):
        raise ConsentError("consent: subject text is not hex")
    return int(digits.decode("ascii"), 16)


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the CBOR head at ``pos``."""
    if pos >= len(data):
        raise ConsentError("consent: row is not a datasoil row")
    b = data[pos]
    info, start = b & 31, pos + 1
    if info < 24:
        return b >> 5, info, start
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None or start + width > len(data):
        raise ConsentError("consent: row is not a datasoil row")
    return b >> 5, int.from_bytes(data[start : start + width], "big"), start + width


def subject_column(names: Sequence[str], column: str | int) -> int:
    """The position of the subject column ``column`` (a name or a position) among the
    schema's column ``names``.

    Raises ConsentError for a column the schema does not have.
    """
    ordered = list(names)
    if isinstance(column, int) and not isinstance(column, bool):
        if 0 <= column < len(ordered):
            return column
    elif column in ordered:
        return ordered.index(column)
    raise ConsentError(
        f"expected a subject column among {', '.join(map(str, ordered))}, found {column!r}"
    )
