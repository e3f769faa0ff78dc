"""Consent off chain: the EIP-712 Withdrawal against ethers v6 and MetaMask's eth-sig-util
(node, tests/npm-eip712), the subject reader's refusals, the Croissant subject column
(validated by mlcroissant), and the pure parts of datasoil.flows.consent (the answering
recipe, fate openings, a subject's rows and proof)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from datasoil.errors import ConsentError, SchemaError
from datasoil.flows import consent as flow
from datasoil.flows import publish
from datasoil.formats import croissant, merkle, rows
from datasoil.formats.fate import FateRecord
from datasoil.formats.recipe import DropRows, load_recipe
from datasoil.protocol import consent as protocol
from datasoil.store.local import LocalStore
from tests.offchain.test_attest import npm_verify  # noqa: F401 (the node oracle fixture)

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KEY = keccak(b"datasoil consent test key")
ADDR = Account.from_key(KEY).address
SCHEMA = rows.Schema((rows.Column("id", "int64"), rows.Column("who", "string")))


def _payload(dataset_id, row_index, deadline, chain_id=31337, key=KEY):
    typed = protocol.typed_data(dataset_id, row_index, deadline, chain_id, CONTRACT)
    signature = protocol.sign(typed, key)
    return {**typed, "ethersTypes": protocol.ETHERS_TYPES, "signature": "0x" + signature.hex()}


def test_npm__ethers_and_metamask_recover_withdrawals_and_agree_on_the_digest(npm_verify):  # noqa: F811
    cases = [(1, 0, 2**64), (2**256 - 1, 2**256 - 1, 2**256 - 1), (7, 3, 0)]
    payloads = [_payload(*c) for c in cases] + [_payload(5, 5, 5, chain_id=11155111)]
    for p, result in zip(payloads, npm_verify(payloads), strict=True):
        assert result["ethers"] == ADDR
        assert result["metamask"].lower() == ADDR.lower()
        assert result["digest"] == "0x" + protocol.digest(p).hex()


def test_typed_data__refuses_values_that_are_not_uint256():
    with pytest.raises(ConsentError, match="row_index: expected a uint256"):
        protocol.typed_data(1, -1, 0, 1, CONTRACT)
    with pytest.raises(ConsentError, match="deadline: expected a uint256"):
        protocol.typed_data(1, 1, 2**256, 1, CONTRACT)


def test_kinds_commitments_and_texts():
    assert protocol.kind_of("address") == protocol.kind_of(1) == 1
    with pytest.raises(ConsentError, match="expected a subject kind"):
        protocol.kind_of("email")
    with pytest.raises(ConsentError, match="expected a 32-byte secret"):
        protocol.commitment(b"short")
    assert protocol.subject_text(int(ADDR, 16), protocol.ADDRESS_SUBJECT) == ADDR


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (bytes([0xA1, 0x01, 0x02]), 0, "row is not a datasoil row"),  # a map, not an array
        (bytes([0x81, 0xF6]), 0, "row has no subject"),
        (bytes([0x81, 0x01]), 1, "subject column past the row's values"),
        (bytes([0x82, 0x9F, 0x00]), 1, "row is not a datasoil row"),  # an indefinite array
        (bytes([0x81, 0x54]) + b"\x01" * 19, 0, "row is not a datasoil row"),  # runs short
        (bytes([0x81, 0x1C]), 0, "row is not a datasoil row"),  # reserved head
    ],
)
def test_subject_value__refusals_say_the_contracts_reason(row, column, message):
    with pytest.raises(ConsentError, match=message):
        protocol.subject_value(row, column, protocol.ADDRESS_SUBJECT)


def test_croissant__subject_column_recorded_read_back_and_validated(tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    data = tmp_path / "people.csv"
    data.write_text(f"id,who\n1,{ADDR}\n2,\n")
    store = LocalStore(tmp_path / "ipfs", sync=False)
    prepared = publish.prepare(data, store=store, subject=("who", "address"))
    fields = prepared.metadata["recordSet"][0]["field"]
    assert [f.get("datasoil:subject") for f in fields] == [None, "address"]
    assert croissant.subject_of(prepared.metadata) == ("who", 1, "address")
    assert flow.subjects_of(prepared.metadata) == flow.Subjects("who", 1, protocol.ADDRESS_SUBJECT)
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(prepared.metadata))
    mlc.Dataset(jsonld=str(path))  # validates the document, datasoil:subject included
    plain = publish.prepare(data, store=store)
    assert croissant.subject_of(plain.metadata) is None and flow.subjects_of(plain.metadata) is None


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        (("name", "address"), "expected one of the schema's columns"),
        (("id", "address"), "expected a string or bytes column, found int64"),
        (("who", "email"), "expected a kind among address, commitment"),
    ],
)
def test_croissant__subject_refusals(tmp_path, subject, message):
    data = tmp_path / "people.csv"
    data.write_text(f"id,who\n1,{ADDR}\n")
    store = LocalStore(tmp_path / "ipfs", sync=False)
    with pytest.raises(SchemaError, match=message):
        publish.prepare(data, store=store, subject=subject)


def test_subject_of__two_subject_columns_are_refused():
    field = {"name": "a", "datasoil:subject": "address"}
    document = {"recordSet": [{"field": [field, {**field, "name": "b"}]}]}
    with pytest.raises(SchemaError, match="at most one subject column"):
        croissant.subject_of(document)


def test_drop_recipe__one_drop_rows_step_over_the_rows():
    recipe = load_recipe(flow.drop_recipe([9, 2, 2]))
    assert recipe.steps == (DropRows((2, 9)),)


def test_fate_openings__open_under_the_fate_root():
    fates = b"".join(
        FateRecord(
            i, i != 3, None if i == 3 else i - (i > 3), i - (i > 3), 0 if i == 3 else None, None
        ).encode()
        for i in range(7)
    )
    leaves = [merkle.leaf_hash(fates[k : k + 34]) for k in range(0, len(fates), 34)]
    (opening,) = flow.fate_openings(fates, [3])
    index, record, path = opening
    assert (index, record) == (3, fates[3 * 34 : 4 * 34])
    proof = merkle.InclusionProof(3, 7, merkle.leaf_hash(record), tuple(path), merkle.root(leaves))
    merkle.verify_inclusion(proof)


def test_rows_of_and_subject_proof():
    other = Account.from_key(keccak(b"another")).address
    encoded = [
        rows.encode_row(v, SCHEMA) for v in [(0, ADDR), (1, other), (2, None), (3, ADDR.lower())]
    ]
    subjects = flow.Subjects("who", 1, protocol.ADDRESS_SUBJECT)
    assert flow.rows_of(encoded, subjects, int(ADDR, 16)) == [0, 3]
    common = dict(chain_id=1, consent_address=CONTRACT, dataset_id=4, sender=other)
    row, _path, deadline, v, r, s, _secret = flow.subject_proof(
        encoded, 3, subjects, key=KEY, **common
    )
    assert row == encoded[3] and v in (27, 28) and deadline == 2**64
    typed = protocol.typed_data(4, 3, deadline, 1, CONTRACT)
    assert protocol.recover(typed, r + s + bytes([v])) == ADDR
    # the subject sending it needs no signature
    assert flow.subject_proof(encoded, 1, subjects, **common)[3] == 0
    with pytest.raises(ConsentError, match="expected a signature by row 1's subject"):
        flow.subject_proof(encoded, 1, subjects, key=KEY, **{**common, "sender": ADDR})
    with pytest.raises(ConsentError, match=r"expected row 0's subject .* to send or sign"):
        flow.subject_proof(encoded, 0, subjects, **common)
    with pytest.raises(ConsentError, match="row has no subject"):
        flow.subject_proof(encoded, 2, subjects, key=KEY, **common)
    commitments = flow.Subjects("who", 1, protocol.COMMITMENT_SUBJECT)
    held = [rows.encode_row((0, "0x" + protocol.commitment(b"\x05" * 32).hex()), SCHEMA)]
    assert (
        flow.subject_proof(held, 0, commitments, secret=b"\x05" * 32, **common)[6] == b"\x05" * 32
    )
    with pytest.raises(ConsentError, match="found another secret"):
        flow.subject_proof(held, 0, commitments, secret=b"\x06" * 32, **common)
