from __future__ import annotations

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError

from datasoil.flows.attest import digest, typed_data
from tests.contracts._boa import event, timestamp

from .builders import DAG_PB, FAR, METRIC, report, root, vrs

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# --- direct ------------------------------------------------------------------------


def test_attest__direct_records_aggregate_nonce_and_event(attestations, attester, make):
    att = make(attester, score=7500, expiry=2**40)
    attestations.attest(att.as_abi(), sender=attester)
    attested = event(attestations, "Attested")
    record = attestations.record(attester, 1, METRIC)
    assert (record.score, record.expiry, record.nonce) == (7500, 2**40, 1)
    assert record.active is True and record.revoked is False
    assert attestations.current_nonce(attester, 1, METRIC) == 1
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (1, 7500)
    assert attested.attester == attester
    assert attested.dataset_id == 1
    assert attested.metric_set == METRIC
    assert attested.score == 7500
    assert tuple(attested.report) == report().as_struct()
    assert attested.expiry == 2**40
    assert attested.nonce == 0


def test_attest__repeat_replaces_score_and_keeps_count(attestations, attester, make):
    attestations.attest(make(attester, score=7500).as_abi(), sender=attester)
    attestations.attest(make(attester, score=2000, nonce=1).as_abi(), sender=attester)
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (1, 2000)
    assert attestations.record(attester, 1, METRIC).nonce == 2


def test_attest__two_attesters_sum(attestations, attester, other, make):
    attestations.attest(make(attester, score=10000).as_abi(), sender=attester)
    attestations.attest(make(other, score=0).as_abi(), sender=other)
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (2, 10000)
    assert attestations.aggregate(2, METRIC).count == 0


def test_attest__cidv0_report(attestations, attester, make):
    from datasoil.formats.cid import CidTuple

    att = make(attester, report=CidTuple(0, DAG_PB, report().digest))
    attestations.attest(att.as_abi(), sender=attester)
    assert tuple(event(attestations, "Attested").report) == (0, DAG_PB, report().digest)


def test_attest__sender_not_attester_reverts(attestations, attester, other, make):
    with boa.reverts("attestations: sender is not the attester"):
        attestations.attest(make(attester).as_abi(), sender=other)


def test_attest__score_above_maximum_reverts(attestations, attester, make):
    att = make(attester)
    fields = list(att.as_abi())
    fields[4] = 10001
    with boa.reverts("attestations: score above 10000"):
        attestations.attest(tuple(fields), sender=attester)
    fields[4] = 10000
    attestations.attest(tuple(fields), sender=attester)


def test_attest__deadline_passed_reverts(attestations, attester, make):
    now = timestamp()  # boa runs every call at this time until it is moved on
    with boa.reverts("attestations: deadline passed"):
        attestations.attest(make(attester, deadline=now - 1).as_abi(), sender=attester)
    attestations.attest(make(attester, deadline=now).as_abi(), sender=attester)


def test_attest__expiry_in_the_past_reverts(attestations, attester, make):
    now = timestamp()
    with boa.reverts("attestations: expiry in the past"):
        attestations.attest(make(attester, expiry=now).as_abi(), sender=attester)
    attestations.attest(make(attester, expiry=now + 1).as_abi(), sender=attester)


def test_attest__zero_report_digest_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (1, 0x55, bytes(32))
    with boa.reverts("attestations: zero report digest"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__report_cid_version_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (2, 0x55, report().digest)
    with boa.reverts("attestations: report CID version not 0 or 1"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__report_cidv0_not_dag_pb_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (0, 0x55, report().digest)
    with boa.reverts("attestations: report CIDv0 not dag-pb"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__row_root_not_the_datasets_reverts(attestations, attester, make):
    with boa.reverts("attestations: row root is not the dataset's"):
        attestations.attest(make(attester, row_root=root(2)).as_abi(), sender=attester)


def test_attest__unknown_dataset_reverts(attestations, registry, attester, make):
    # The registry answers a zero root for an unknown id, which no root matches. The id
    # is one past the registry's count, whatever earlier tests left registered.
    unknown = int(registry.dataset_count()) + 1
    with boa.reverts("attestations: row root is not the dataset's"):
        attestations.attest(make(attester, dataset_id=unknown).as_abi(), sender=attester)


def test_attest__zero_row_root_reverts(attestations, attester, make):
    with boa.reverts("attestations: zero row root"):
        attestations.attest(
            make(attester, dataset_id=3, row_root=b"\x00" * 32).as_abi(), sender=attester
        )


def test_attest__used_nonce_reverts(attestations, attester, make):
    attestations.attest(make(attester).as_abi(), sender=attester)
    with boa.reverts("attestations: nonce is not the current one"):
        attestations.attest(make(attester).as_abi(), sender=attester)


def test_attest__future_nonce_reverts(attestations, attester, make):
    with boa.reverts("attestations: nonce is not the current one"):
        attestations.attest(make(attester, nonce=1).as_abi(), sender=attester)


def test_attest__max_nonce_closes_the_slot(attestations, attester, make):
    attestations.bump_nonce(1, METRIC, 2**64 - 1, sender=attester)
    with boa.reverts(compiler="uint64 bounds check"):  # the checked nonce + 1 overflows
        attestations.attest(make(attester, nonce=2**64 - 1).as_abi(), sender=attester)


# --- relayed -----------------------------------------------------------------------


def test_attest_by_sig__relayed_by_anyone(attestations, attester, other, make, signer):
    att = make(attester, score=4200)
    attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)
    attested = event(attestations, "Attested")
    assert attested.attester == attester
    assert attested.score == 4200
    assert attestations.current_nonce(attester, 1, METRIC) == 1
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (1, 4200)


def test_attest_by_sig__digest_matches_python(attestations, attester, make, chain_id):
    att = make(attester, expiry=123456789012, nonce=5, score=1)
    typed = typed_data(att, chain_id, attestations.address)
    assert attestations.attestation_digest(att.as_abi()) == digest(typed)


def test_attest_by_sig__signature_of_another_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    with boa.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), signer(other, att), sender=other)


@pytest.mark.parametrize("bit", [0, 7, 100, 255, 256, 300, 511, 512])
def test_attest_by_sig__flipped_bit_reverts(attestations, attester, other, make, signer, bit):
    """Flip one bit of r ++ s ++ v (bits 0-255 r, 256-511 s, 512+ v)."""
    att = make(attester)
    v, r, s = signer(attester, att)
    raw = bytearray(r + s + bytes([v]))
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    # Either recovery fails or it yields another address; never a new attester.
    with pytest.raises(BoaError) as info:
        attestations.attest_by_sig(att.as_abi(), vrs(bytes(raw)), sender=other)
    assert info.value.stack_trace.last_frame.pretty_vm_reason in (
        "attestations: signer is not the attester",
        "ecdsa: invalid signature",
        "ecdsa: invalid signature `s` value",
    )
    assert attestations.aggregate(1, METRIC).count == 0
    assert attestations.current_nonce(attester, 1, METRIC) == 0


def test_attest_by_sig__flipped_message_bit_reverts(attestations, attester, other, make, signer):
    att = make(attester, score=7500)
    sig = signer(attester, att)
    tampered = make(attester, score=7501)
    with boa.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(tampered.as_abi(), sig, sender=other)


def test_attest_by_sig__high_s_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    v, r, s = signer(attester, att)
    # (r, n - s, v flipped) is the same point's other valid ECDSA signature.
    high = (55 - v, r, (N - int.from_bytes(s, "big")).to_bytes(32, "big"))
    with boa.reverts("ecdsa: invalid signature `s` value"):
        attestations.attest_by_sig(att.as_abi(), high, sender=other)


def test_attest_by_sig__bad_v_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    v, r, s = signer(attester, att)
    with boa.reverts("ecdsa: invalid signature"):
        attestations.attest_by_sig(att.as_abi(), (v - 27, r, s), sender=other)


def test_attest_by_sig__replay_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    sig = signer(attester, att)
    attestations.attest_by_sig(att.as_abi(), sig, sender=other)
    with boa.reverts("attestations: nonce is not the current one"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__cancelled_nonce_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    sig = signer(attester, att)
    attestations.bump_nonce(1, METRIC, 1, sender=attester)
    with boa.reverts("attestations: nonce is not the current one"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__other_chain_id_reverts(
    attestations, attester, other, make, signer, chain_id
):
    att = make(attester)
    sig = signer(attester, att, chain_id=chain_id + 1)
    with boa.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__other_verifying_contract_reverts(
    attestations, attester, other, make, signer, registry
):
    att = make(attester)
    sig = signer(attester, att, contract=registry.address)
    with boa.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__expired_deadline_reverts(attestations, attester, other, make, signer):
    att = make(attester, deadline=timestamp() - 1)
    sig = signer(attester, att)
    with boa.reverts("attestations: deadline passed"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__row_root_not_the_datasets_reverts(
    attestations, attester, other, make, signer
):
    att = make(attester, row_root=root(2))
    with boa.reverts("attestations: row root is not the dataset's"):
        attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)


def test_attest_by_sig__score_above_maximum_reverts(
    attestations, attester, other, make, signer, chain_id
):
    att = make(attester)
    typed = typed_data(att, chain_id, attestations.address)
    typed["message"]["score"] = "10001"
    from datasoil.flows.attest import sign

    sig = vrs(sign(typed, attester.private_key))
    fields = list(att.as_abi())
    fields[4] = 10001
    with boa.reverts("attestations: score above 10000"):
        attestations.attest_by_sig(tuple(fields), sig, sender=other)


def test_attest_by_sig__far_deadline_is_fine(attestations, attester, other, make, signer):
    att = make(attester, deadline=2**64 - 1)
    attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)
    assert FAR < 2**64
