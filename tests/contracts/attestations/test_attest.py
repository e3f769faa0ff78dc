from __future__ import annotations

import ape
import pytest

from datasoil.flows.attest import digest, typed_data

from .conftest import DAG_PB, FAR, METRIC, report, root, vrs

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _event(attestations, tx):
    (event,) = tx.decode_logs(attestations.Attested)
    return event


# --- direct ------------------------------------------------------------------------


def test_attest__direct_records_aggregate_nonce_and_event(attestations, attester, make):
    att = make(attester, score=7500, expiry=2**40)
    tx = attestations.attest(att.as_abi(), sender=attester)
    record = attestations.record(attester, 1, METRIC)
    assert (record.score, record.expiry, record.nonce) == (7500, 2**40, 1)
    assert record.active is True and record.revoked is False
    assert attestations.current_nonce(attester, 1, METRIC) == 1
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (1, 7500)
    event = _event(attestations, tx)
    assert event.attester == attester
    assert event.dataset_id == 1
    assert event.metric_set == METRIC
    assert event.score == 7500
    assert tuple(event.report) == report().as_struct()
    assert event.expiry == 2**40
    assert event.nonce == 0


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
    tx = attestations.attest(att.as_abi(), sender=attester)
    assert tuple(_event(attestations, tx).report) == (0, DAG_PB, report().digest)


def test_attest__sender_not_attester_reverts(attestations, attester, other, make):
    with ape.reverts("attestations: sender is not the attester"):
        attestations.attest(make(attester).as_abi(), sender=other)


def test_attest__score_above_maximum_reverts(attestations, attester, make):
    att = make(attester)
    fields = list(att.as_abi())
    fields[4] = 10001
    with ape.reverts("attestations: score above 10000"):
        attestations.attest(tuple(fields), sender=attester)
    fields[4] = 10000
    attestations.attest(tuple(fields), sender=attester)


def test_attest__deadline_passed_reverts(attestations, attester, make, chain):
    now = chain.pending_timestamp
    chain.pending_timestamp = now
    with ape.reverts("attestations: deadline passed"):
        attestations.attest(make(attester, deadline=now - 1).as_abi(), sender=attester)
    chain.pending_timestamp = now
    attestations.attest(make(attester, deadline=now).as_abi(), sender=attester)


def test_attest__expiry_in_the_past_reverts(attestations, attester, make, chain):
    now = chain.pending_timestamp
    chain.pending_timestamp = now
    with ape.reverts("attestations: expiry in the past"):
        attestations.attest(make(attester, expiry=now).as_abi(), sender=attester)
    chain.pending_timestamp = now
    attestations.attest(make(attester, expiry=now + 1).as_abi(), sender=attester)


def test_attest__zero_report_digest_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (1, 0x55, bytes(32))
    with ape.reverts("attestations: zero report digest"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__report_cid_version_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (2, 0x55, report().digest)
    with ape.reverts("attestations: report CID version not 0 or 1"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__report_cidv0_not_dag_pb_reverts(attestations, attester, make):
    fields = list(make(attester).as_abi())
    fields[5] = (0, 0x55, report().digest)
    with ape.reverts("attestations: report CIDv0 not dag-pb"):
        attestations.attest(tuple(fields), sender=attester)


def test_attest__row_root_not_the_datasets_reverts(attestations, attester, make):
    with ape.reverts("attestations: row root is not the dataset's"):
        attestations.attest(make(attester, row_root=root(2)).as_abi(), sender=attester)


def test_attest__unknown_dataset_reverts(attestations, registry, attester, make):
    # The registry answers a zero root for an unknown id, which no root matches. The id
    # is one past the registry's count, whatever earlier tests left registered.
    unknown = int(registry.dataset_count()) + 1
    with ape.reverts("attestations: row root is not the dataset's"):
        attestations.attest(make(attester, dataset_id=unknown).as_abi(), sender=attester)


def test_attest__zero_row_root_reverts(attestations, attester, make):
    with ape.reverts("attestations: zero row root"):
        attestations.attest(
            make(attester, dataset_id=3, row_root=b"\x00" * 32).as_abi(), sender=attester
        )


def test_attest__used_nonce_reverts(attestations, attester, make):
    attestations.attest(make(attester).as_abi(), sender=attester)
    with ape.reverts("attestations: nonce is not the current one"):
        attestations.attest(make(attester).as_abi(), sender=attester)


def test_attest__future_nonce_reverts(attestations, attester, make):
    with ape.reverts("attestations: nonce is not the current one"):
        attestations.attest(make(attester, nonce=1).as_abi(), sender=attester)


def test_attest__max_nonce_closes_the_slot(attestations, attester, make):
    attestations.bump_nonce(1, METRIC, 2**64 - 1, sender=attester)
    with ape.reverts():  # checked uint64 increment overflows
        attestations.attest(make(attester, nonce=2**64 - 1).as_abi(), sender=attester)


# --- relayed -----------------------------------------------------------------------


def test_attest_by_sig__relayed_by_anyone(attestations, attester, other, make, signer):
    att = make(attester, score=4200)
    tx = attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)
    event = _event(attestations, tx)
    assert event.attester == attester
    assert event.score == 4200
    assert attestations.current_nonce(attester, 1, METRIC) == 1
    agg = attestations.aggregate(1, METRIC)
    assert (agg.count, agg.sum) == (1, 4200)


def test_attest_by_sig__digest_matches_python(attestations, attester, make, chain):
    att = make(attester, expiry=123456789012, nonce=5, score=1)
    typed = typed_data(att, chain.chain_id, attestations.address)
    assert attestations.attestation_digest(att.as_abi()) == digest(typed)


def test_attest_by_sig__signature_of_another_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    with ape.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), signer(other, att), sender=other)


@pytest.mark.parametrize("bit", [0, 7, 100, 255, 256, 300, 511, 512])
def test_attest_by_sig__flipped_bit_reverts(attestations, attester, other, make, signer, bit):
    """Flip one bit of r ++ s ++ v (bits 0-255 r, 256-511 s, 512+ v)."""
    att = make(attester)
    v, r, s = signer(attester, att)
    raw = bytearray(r + s + bytes([v]))
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    # Either recovery fails or it yields another address; never a new attester.
    with ape.reverts() as info:
        attestations.attest_by_sig(att.as_abi(), vrs(bytes(raw)), sender=other)
    assert str(info.value.revert_message) in (
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
    with ape.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(tampered.as_abi(), sig, sender=other)


def test_attest_by_sig__high_s_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    v, r, s = signer(attester, att)
    # (r, n - s, v flipped) is the same point's other valid ECDSA signature.
    high = (55 - v, r, (N - int.from_bytes(s, "big")).to_bytes(32, "big"))
    with ape.reverts("ecdsa: invalid signature `s` value"):
        attestations.attest_by_sig(att.as_abi(), high, sender=other)


def test_attest_by_sig__bad_v_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    v, r, s = signer(attester, att)
    with ape.reverts("ecdsa: invalid signature"):
        attestations.attest_by_sig(att.as_abi(), (v - 27, r, s), sender=other)


def test_attest_by_sig__replay_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    sig = signer(attester, att)
    attestations.attest_by_sig(att.as_abi(), sig, sender=other)
    with ape.reverts("attestations: nonce is not the current one"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__cancelled_nonce_reverts(attestations, attester, other, make, signer):
    att = make(attester)
    sig = signer(attester, att)
    attestations.bump_nonce(1, METRIC, 1, sender=attester)
    with ape.reverts("attestations: nonce is not the current one"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__other_chain_id_reverts(attestations, attester, other, make, signer, chain):
    att = make(attester)
    sig = signer(attester, att, chain_id=chain.chain_id + 1)
    with ape.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__other_verifying_contract_reverts(
    attestations, attester, other, make, signer, registry
):
    att = make(attester)
    sig = signer(attester, att, contract=registry.address)
    with ape.reverts("attestations: signer is not the attester"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__expired_deadline_reverts(
    attestations, attester, other, make, signer, chain
):
    now = chain.pending_timestamp
    att = make(attester, deadline=now - 1)
    sig = signer(attester, att)
    chain.pending_timestamp = now
    with ape.reverts("attestations: deadline passed"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_attest_by_sig__row_root_not_the_datasets_reverts(
    attestations, attester, other, make, signer
):
    att = make(attester, row_root=root(2))
    with ape.reverts("attestations: row root is not the dataset's"):
        attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)


def test_attest_by_sig__score_above_maximum_reverts(
    attestations, attester, other, make, signer, chain
):
    att = make(attester)
    typed = typed_data(att, chain.chain_id, attestations.address)
    typed["message"]["score"] = "10001"
    from datasoil.flows.attest import sign

    sig = vrs(sign(typed, attester.private_key))
    fields = list(att.as_abi())
    fields[4] = 10001
    with ape.reverts("attestations: score above 10000"):
        attestations.attest_by_sig(tuple(fields), sig, sender=other)


def test_attest_by_sig__far_deadline_is_fine(attestations, attester, other, make, signer):
    att = make(attester, deadline=2**64 - 1)
    attestations.attest_by_sig(att.as_abi(), signer(attester, att), sender=other)
    assert FAR < 2**64
