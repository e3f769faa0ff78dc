"""Consent: `request_withdrawal` by a row's subject (signature, sender, secret) and by the
dataset's owner, every refusal, and the subject reader held to datasoil.protocol.consent."""

from __future__ import annotations

import boa
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from datasoil.errors import ConsentError
from datasoil.formats import rows
from datasoil.protocol import consent as protocol

from .conftest import (
    COMMITMENT_SCHEMA,
    NO_PROOF,
    SUBJECT_COLUMN,
    bare,
    event,
    people_rows,
    secret_of,
    timestamp,
)


def _requested(consent):
    return event(consent, "WithdrawalRequested")


def test_request__relayed_signature_of_the_subject_opens_it(
    consent, people, signed, subjects, other
):
    row = 1  # a lowercase address in the row: the subject is the same account
    consent.request_withdrawal(
        people.dataset_id, row, signed(people, row, subjects[1]), sender=other
    )
    requested = _requested(consent)
    assert (requested.dataset_id, requested.row_index, requested.requester) == (
        people.dataset_id,
        row,
        other,
    )
    assert requested.via == 1
    assert requested.subject == int(subjects[1], 16).to_bytes(32, "big")
    assert consent.withdrawal_state(people.dataset_id, row) == protocol.OPEN
    assert consent.request(people.dataset_id, row) == (protocol.OPEN, 1, 0)
    assert consent.dataset(people.dataset_id).open_requests == 1


def test_request__subject_sending_it_needs_no_signature(consent, people, subjects):
    consent.request_withdrawal(people.dataset_id, 2, bare(people, 2), sender=subjects[2])
    assert _requested(consent).requester == subjects[2]
    assert consent.withdrawal_state(people.dataset_id, 2) == protocol.OPEN


def test_request__by_the_owner_needs_no_proof(consent, people, owner):
    consent.request_withdrawal(people.dataset_id, 5, NO_PROOF, sender=owner)  # row 5: no subject
    requested = _requested(consent)
    assert (requested.requester, requested.via, requested.subject) == (owner, 2, b"\x00" * 32)
    assert consent.request(people.dataset_id, 5).via == 2


def test_request__by_the_owner_on_an_undeclared_private_dataset(consent, publish, owner, subjects):
    data = publish(people_rows(subjects), private=True)
    consent.request_withdrawal(data.dataset_id, 0, NO_PROOF, sender=owner)
    assert consent.withdrawal_state(data.dataset_id, 0) == protocol.OPEN


def test_request__commitment_opened_by_its_secret(consent, holders, other):
    consent.request_withdrawal(
        holders.dataset_id, 4, bare(holders, 4, secret=secret_of(4)), sender=other
    )
    requested = _requested(consent)
    assert requested.subject == protocol.commitment(secret_of(4))
    assert consent.withdrawal_state(holders.dataset_id, 4) == protocol.OPEN


def test_request__commitment_in_hex_text(consent, publish, owner, other):
    schema = rows.Schema((rows.Column("holder", "string"),))
    values = [("0x" + protocol.commitment(secret_of(i)).hex().upper(),) for i in range(3)]
    data = publish(values, schema)
    consent.declare_subjects(data.dataset_id, 0, protocol.COMMITMENT_SUBJECT, sender=owner)
    consent.request_withdrawal(data.dataset_id, 2, bare(data, 2, secret=secret_of(2)), sender=other)
    assert consent.withdrawal_state(data.dataset_id, 2) == protocol.OPEN


def test_request__address_in_raw_bytes(consent, publish, owner, subjects):
    schema = rows.Schema((rows.Column("who", "bytes"), rows.Column("x", "int64")))
    data = publish([(bytes.fromhex(s[2:]), -i) for i, s in enumerate(subjects)], schema)
    consent.declare_subjects(data.dataset_id, 0, protocol.ADDRESS_SUBJECT, sender=owner)
    consent.request_withdrawal(data.dataset_id, 3, bare(data, 3), sender=subjects[3])
    assert consent.withdrawal_state(data.dataset_id, 3) == protocol.OPEN


def test_request__forged_signature_reverts(consent, people, signed, subjects, other):
    # row 1 is subjects[1]'s; subjects[0] signs it
    with boa.reverts("consent: signer is not the row's subject"):
        consent.request_withdrawal(
            people.dataset_id, 1, signed(people, 1, subjects[0]), sender=other
        )


def test_request__signature_for_another_row_reverts(consent, people, signed, subjects, other):
    # subjects[1] owns rows 1 and 5 + 4 = 9; a signature for row 9 does not withdraw row 1
    proof = signed(people, 1, subjects[1], index=9)
    with boa.reverts("consent: signer is not the row's subject"):
        consent.request_withdrawal(people.dataset_id, 1, proof, sender=other)


def test_request__expired_signature_reverts(consent, people, signed, subjects, other):
    proof = signed(people, 1, subjects[1], deadline=timestamp() - 1)
    with boa.reverts("consent: signature expired"):
        consent.request_withdrawal(people.dataset_id, 1, proof, sender=other)


def test_request__malformed_signature_reverts_in_snekmate(consent, people, subjects, other):
    row, path = people.rows[1], people.path(1)
    with boa.reverts("ecdsa: invalid signature"):
        consent.request_withdrawal(
            people.dataset_id,
            1,
            (row, path, 2**64, 27, b"\x00" * 32, b"\x01" * 32, b"\x00" * 32),
            sender=other,
        )


def test_request__proof_for_another_row_reverts(consent, people, subjects):
    # subjects[2]'s valid proof of row 2, offered as row 6 (also subjects[2]'s)
    with boa.reverts("consent: row proof does not verify"):
        consent.request_withdrawal(people.dataset_id, 6, bare(people, 2), sender=subjects[2])


def test_request__row_with_a_path_of_another_row_reverts(consent, people, subjects):
    proof = (people.rows[2], people.path(6), 0, 0, b"\x00" * 32, b"\x00" * 32, b"\x00" * 32)
    with boa.reverts("consent: row proof does not verify"):
        consent.request_withdrawal(people.dataset_id, 2, proof, sender=subjects[2])


def test_request__dataset_without_a_subject_column_reverts(consent, publish, subjects):
    data = publish(people_rows(subjects))
    with boa.reverts("consent: dataset declares no subject column"):
        consent.request_withdrawal(data.dataset_id, 2, bare(data, 2), sender=subjects[2])


def test_request__subject_of_a_private_dataset_reverts(consent, publish, owner, subjects):
    data = publish(people_rows(subjects), private=True)
    consent.declare_subjects(data.dataset_id, SUBJECT_COLUMN, 1, sender=owner)
    with boa.reverts("consent: private rows cannot be opened on chain"):
        consent.request_withdrawal(data.dataset_id, 2, bare(data, 2), sender=subjects[2])


def test_request__row_past_the_count_reverts(consent, people, owner):
    with boa.reverts("consent: row index past the dataset's count"):
        consent.request_withdrawal(people.dataset_id, 10, NO_PROOF, sender=owner)


def test_request__unknown_dataset_reverts_with_the_registrys_reason(consent, owner):
    with boa.reverts("registry: unknown dataset"):
        consent.request_withdrawal(999, 0, NO_PROOF, sender=owner)


def test_request__twice_for_a_row_reverts(consent, people, signed, subjects, owner, other):
    consent.request_withdrawal(people.dataset_id, 1, signed(people, 1, subjects[1]), sender=other)
    with boa.reverts("consent: row already has a request"):
        consent.request_withdrawal(
            people.dataset_id, 1, signed(people, 1, subjects[1]), sender=other
        )
    with boa.reverts("consent: row already has a request"):
        consent.request_withdrawal(people.dataset_id, 1, NO_PROOF, sender=owner)


def test_request__null_subject_reverts(consent, people, subjects):
    with boa.reverts("consent: row has no subject"):
        consent.request_withdrawal(people.dataset_id, 5, bare(people, 5), sender=subjects[1])


def test_request__wrong_secret_reverts(consent, holders, other):
    with boa.reverts("consent: secret does not open the row's commitment"):
        consent.request_withdrawal(
            holders.dataset_id, 4, bare(holders, 4, secret=secret_of(3)), sender=other
        )


def test_request__commitment_column_read_as_addresses_reverts(consent, publish, owner, other):
    values = [(i, protocol.commitment(secret_of(i))) for i in range(2)]
    data = publish(values, COMMITMENT_SCHEMA)
    consent.declare_subjects(data.dataset_id, 1, protocol.ADDRESS_SUBJECT, sender=owner)
    with boa.reverts("consent: subject value has the wrong length"):
        consent.request_withdrawal(data.dataset_id, 1, bare(data, 1), sender=other)


def test_request__subject_column_that_is_not_text_or_bytes_reverts(
    consent, publish, owner, subjects
):
    data = publish(people_rows(subjects))
    consent.declare_subjects(data.dataset_id, 0, protocol.ADDRESS_SUBJECT, sender=owner)  # `id`
    with boa.reverts("consent: subject value is not bytes or text"):
        consent.request_withdrawal(data.dataset_id, 2, bare(data, 2), sender=subjects[2])


def test_request__subject_column_past_the_row_reverts(consent, publish, owner, subjects):
    data = publish(people_rows(subjects))
    consent.declare_subjects(data.dataset_id, 5, protocol.ADDRESS_SUBJECT, sender=owner)
    with boa.reverts("consent: subject column past the row's values"):
        consent.request_withdrawal(data.dataset_id, 2, bare(data, 2), sender=subjects[2])


def test_request__text_that_is_not_hex_reverts(consent, publish, owner, subjects):
    schema = rows.Schema((rows.Column("who", "string"),))
    data = publish([("0x" + "g" * 40,), ("1x" + "a" * 40,)], schema)
    consent.declare_subjects(data.dataset_id, 0, protocol.ADDRESS_SUBJECT, sender=owner)
    with boa.reverts("consent: subject text is not hex"):
        consent.request_withdrawal(data.dataset_id, 0, bare(data, 0), sender=subjects[0])
    with boa.reverts("consent: subject text does not start with 0x"):
        consent.request_withdrawal(data.dataset_id, 1, bare(data, 1), sender=subjects[0])


def test_withdrawal_digest__is_eth_accounts(consent, chain_id):
    typed = protocol.typed_data(7, 3, 12345, chain_id, consent.address)
    assert consent.withdrawal_digest(7, 3, 12345) == protocol.digest(typed)


def test_domain_separator__is_the_eip712_domain_hash(consent, chain_id):
    domain_type = (
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(domain_type),
                keccak(b"datasoil Consent"),
                keccak(b"1"),
                chain_id,
                consent.address,
            ],
        )
    )
    assert consent.domain_separator() == expected


def test_withdrawal_signature__recovers_with_eth_account(consent, chain_id):
    key = b"\x07" * 32
    typed = protocol.typed_data(1, 2, 3, chain_id, consent.address)
    signature = protocol.sign(typed, key)
    assert protocol.recover(typed, signature) == Account.from_key(key).address


# --- the subject reader: the contract against datasoil.protocol.consent ----------------

VARIETY = rows.Schema(
    (
        rows.Column("i", "int64"),
        rows.Column("f", "float64"),
        rows.Column("b", "bool"),
        rows.Column("s", "string"),
        rows.Column("raw", "bytes"),
        rows.Column("who", "string"),
    )
)
WHO = "0x" + "ab" * 20


@pytest.mark.parametrize(
    "values",
    [
        (0, 0.0, True, "", b"", WHO),
        (23, -1.5, False, "x" * 23, b"y" * 23, WHO.upper().replace("0X", "0x")),
        (24, 1e300, None, "x" * 24, b"y" * 24, WHO),
        (-25, None, True, "é" * 200, b"y" * 256, WHO),
        (2**32, 3.25, False, "x" * 300, b"\x00" * 1024, WHO),
        (-(2**63), None, None, None, None, WHO),
        (2**63 - 1, 2.0, True, "z", b"q", None),
        (1, 1.0, True, "a", b"b", "0x" + "ab" * 19),
    ],
)
def test_subject_reader__contract_and_python_agree(consent, publish, owner, other, values):
    data = publish([values], VARIETY)
    consent.declare_subjects(data.dataset_id, 5, protocol.ADDRESS_SUBJECT, sender=owner)
    who = int(WHO, 16)
    try:
        expected = protocol.subject_value(data.rows[0], 5, protocol.ADDRESS_SUBJECT)
    except ConsentError as exc:
        with boa.reverts(str(exc)):
            consent.request_withdrawal(data.dataset_id, 0, bare(data, 0), sender=other)
        return
    assert expected == who
    consent.request_withdrawal(data.dataset_id, 0, bare(data, 0), sender=WHO)
    assert _requested(consent).subject == who.to_bytes(32, "big")
