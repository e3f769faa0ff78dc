from __future__ import annotations

import boa

from tests.contracts._boa import event, events

from .builders import METRIC, root

OTHER_METRIC = bytes.fromhex("bb" * 32)
DIRECT = (0, b"\0" * 32, b"\0" * 32)  # v = 0: the caller attests


# --- attest_batch ------------------------------------------------------------------


def test_attest_batch__mixed_direct_and_relayed(
    attestations, attester, other, auditor, make, signer
):
    a = make(attester, score=100)
    b = make(other, score=300, metric_set=OTHER_METRIC)
    c = make(auditor, score=500, dataset_id=2, row_root=root(2))
    attestations.attest_batch(
        [a.as_abi(), b.as_abi(), c.as_abi()],
        [signer(attester, a), signer(other, b), DIRECT],
        sender=auditor,
    )
    assert [(e.attester, e.score) for e in events(attestations, "Attested")] == [
        (attester, 100),
        (other, 300),
        (auditor, 500),
    ]
    assert tuple(attestations.aggregate(1, METRIC)) == (1, 100)
    assert tuple(attestations.aggregate(1, OTHER_METRIC)) == (1, 300)
    assert tuple(attestations.aggregate(2, METRIC)) == (1, 500)


def test_attest_batch__empty(attestations, auditor):
    attestations.attest_batch([], [], sender=auditor)
    assert events(attestations, "Attested") == []


def test_attest_batch__lengths_differ_reverts(attestations, attester, make, signer):
    a = make(attester)
    with boa.reverts("attestations: lengths differ"):
        attestations.attest_batch([a.as_abi()], [], sender=attester)


def test_attest_batch__direct_entry_of_another_reverts(attestations, attester, other, make):
    with boa.reverts("attestations: sender is not the attester"):
        attestations.attest_batch([make(attester).as_abi()], [DIRECT], sender=other)


def test_attest_batch__one_bad_entry_reverts_all(attestations, attester, other, make, signer):
    a = make(attester)
    b = make(other)
    with boa.reverts("attestations: signer is not the attester"):
        attestations.attest_batch(
            [a.as_abi(), b.as_abi()], [signer(attester, a), signer(attester, b)], sender=other
        )
    assert attestations.aggregate(1, METRIC).count == 0


def test_attest_batch__same_attester_twice_needs_consecutive_nonces(
    attestations, attester, make, signer
):
    a = make(attester, score=1, nonce=0)
    b = make(attester, score=2, nonce=1)
    attestations.attest_batch(
        [a.as_abi(), b.as_abi()], [signer(attester, a), signer(attester, b)], sender=attester
    )
    assert tuple(attestations.aggregate(1, METRIC)) == (1, 2)
    assert attestations.current_nonce(attester, 1, METRIC) == 2


# --- revoke ------------------------------------------------------------------------


def test_revoke__leaves_aggregate_bumps_nonce_and_logs(attestations, attester, other, make):
    attestations.attest(make(attester, score=7000).as_abi(), sender=attester)
    attestations.attest(make(other, score=1000).as_abi(), sender=other)
    attestations.revoke(1, METRIC, sender=attester)
    revoked = event(attestations, "Revoked")
    assert tuple(attestations.aggregate(1, METRIC)) == (1, 1000)
    record = attestations.record(attester, 1, METRIC)
    assert (record.active, record.revoked, record.nonce, record.score) == (False, True, 2, 7000)
    assert (revoked.attester, revoked.dataset_id, revoked.metric_set) == (attester, 1, METRIC)
    assert (revoked.score, revoked.nonce) == (7000, 2)


def test_revoke__old_signature_cannot_revive(attestations, attester, other, make, signer):
    att = make(attester, nonce=1)
    attestations.attest(make(attester).as_abi(), sender=attester)
    sig = signer(attester, att)  # signed before the revocation, for the then-current nonce
    attestations.revoke(1, METRIC, sender=attester)
    with boa.reverts("attestations: nonce is not the current one"):
        attestations.attest_by_sig(att.as_abi(), sig, sender=other)


def test_revoke__then_attest_again_counts_again(attestations, attester, make):
    attestations.attest(make(attester, score=7000).as_abi(), sender=attester)
    attestations.revoke(1, METRIC, sender=attester)
    attestations.attest(make(attester, score=9000, nonce=2).as_abi(), sender=attester)
    assert tuple(attestations.aggregate(1, METRIC)) == (1, 9000)
    record = attestations.record(attester, 1, METRIC)
    assert (record.active, record.revoked) == (True, False)


def test_revoke__at_max_nonce_saturates(attestations, attester, make):
    attestations.bump_nonce(1, METRIC, 2**64 - 2, sender=attester)
    attestations.attest(make(attester, nonce=2**64 - 2).as_abi(), sender=attester)
    attestations.revoke(1, METRIC, sender=attester)
    assert attestations.current_nonce(attester, 1, METRIC) == 2**64 - 1
    assert attestations.aggregate(1, METRIC).count == 0


def test_revoke__nothing_active_reverts(attestations, attester, make):
    with boa.reverts("attestations: no active attestation"):
        attestations.revoke(1, METRIC, sender=attester)
    attestations.attest(make(attester).as_abi(), sender=attester)
    attestations.revoke(1, METRIC, sender=attester)
    with boa.reverts("attestations: no active attestation"):
        attestations.revoke(1, METRIC, sender=attester)


# --- bump_nonce --------------------------------------------------------------------


def test_bump_nonce__sets_nonce_keeps_record_and_logs(attestations, attester, make):
    attestations.attest(make(attester, score=5000).as_abi(), sender=attester)
    attestations.bump_nonce(1, METRIC, 10, sender=attester)
    bumped = event(attestations, "NonceBumped")
    record = attestations.record(attester, 1, METRIC)
    assert (record.nonce, record.score, record.active) == (10, 5000, True)
    assert tuple(attestations.aggregate(1, METRIC)) == (1, 5000)
    assert (bumped.attester, bumped.dataset_id, bumped.metric_set, bumped.nonce) == (
        attester,
        1,
        METRIC,
        10,
    )
    attestations.attest(make(attester, nonce=10).as_abi(), sender=attester)


def test_bump_nonce__not_above_reverts(attestations, attester):
    with boa.reverts("attestations: nonce not above the current one"):
        attestations.bump_nonce(1, METRIC, 0, sender=attester)
    attestations.bump_nonce(1, METRIC, 3, sender=attester)
    with boa.reverts("attestations: nonce not above the current one"):
        attestations.bump_nonce(1, METRIC, 3, sender=attester)
