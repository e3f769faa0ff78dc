"""Consent: `answer` (a finalised cleaning claim whose fate records drop the rows) and
`forward` (requests left open on a superseded dataset)."""

from __future__ import annotations

import boa

from datasoil.formats.fate import FateRecord
from datasoil.protocol import consent as protocol

from .conftest import NO_PROOF, event, events, fates_for, people_rows


def _open(consent, data, rows, owner):
    for i in rows:
        consent.request_withdrawal(data.dataset_id, i, NO_PROOF, sender=owner)


def test_answer__closes_the_request_and_supersedes_the_dataset(
    consent, people, clean, signed, subjects, owner, other
):
    consent.request_withdrawal(people.dataset_id, 1, signed(people, 1, subjects[1]), sender=other)
    cleaning = clean(people, {1})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(1)], sender=owner)
    answered = event(consent, "WithdrawalAnswered")
    assert (answered.dataset_id, answered.row_index) == (people.dataset_id, 1)
    assert (answered.new_version, answered.claim_id) == (
        cleaning.child.dataset_id,
        cleaning.claim_id,
    )
    superseded = event(consent, "DatasetSuperseded")
    assert (superseded.dataset_id, superseded.new_version) == (
        people.dataset_id,
        cleaning.child.dataset_id,
    )
    assert (superseded.claim_id, superseded.open_requests) == (cleaning.claim_id, 0)
    assert consent.withdrawal_state(people.dataset_id, 1) == protocol.ANSWERED
    facts = consent.dataset(people.dataset_id)
    assert (facts.open_requests, facts.answered_by, facts.answer_claim) == (
        0,
        cleaning.child.dataset_id,
        cleaning.claim_id,
    )
    assert (facts.kind, facts.column) == (1, 3)  # the declaration is kept


def test_answer__several_rows_at_once(consent, people, clean, owner):
    _open(consent, people, [2, 7, 9], owner)
    cleaning = clean(people, {2, 7, 9})
    consent.answer(
        people.dataset_id, cleaning.claim_id, [cleaning.opening(i) for i in (9, 2)], sender=owner
    )
    assert [e.row_index for e in events(consent, "WithdrawalAnswered")] == [9, 2]
    assert event(consent, "DatasetSuperseded").open_requests == 1
    assert [consent.withdrawal_state(people.dataset_id, i) for i in (2, 7, 9)] == [2, 1, 2]


def test_answer__fate_record_that_keeps_the_row_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {3})  # drops another row; row 4 is kept
    with boa.reverts("consent: fate record keeps the row"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)


def test_answer__not_the_owner_reverts(consent, people, clean, owner, other):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    with boa.reverts("consent: not the dataset owner"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=other)


def test_answer__claim_not_finalised_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4}, finalise=False)
    with boa.reverts("consent: claim not finalised"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)


def test_answer__claim_of_another_dataset_reverts(consent, people, publish, clean, owner, subjects):
    _open(consent, people, [4], owner)
    elsewhere = publish(people_rows(subjects))
    cleaning = clean(elsewhere, {4})
    with boa.reverts("consent: claim is not a cleaning of this dataset"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)


def test_answer__unknown_claim_reverts_with_the_proofs_reason(consent, people, owner):
    _open(consent, people, [4], owner)
    with boa.reverts("proofs: unknown claim"):
        consent.answer(people.dataset_id, 999, [(4, b"\x00" * 34, [])], sender=owner)


def test_answer__new_version_of_another_owner_reverts(consent, people, clean, owner, cleaner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4}, sender=cleaner)  # a descendant by someone else
    with boa.reverts("consent: new version owned by another account"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)


def test_answer__no_opening_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    with boa.reverts("consent: no request answered"):
        consent.answer(people.dataset_id, cleaning.claim_id, [], sender=owner)


def test_answer__row_without_an_open_request_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {3, 4})
    with boa.reverts("consent: no open request for the row"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(3)], sender=owner)
    with boa.reverts("consent: no open request for the row"):  # the same row twice
        consent.answer(
            people.dataset_id, cleaning.claim_id, [cleaning.opening(4)] * 2, sender=owner
        )


def test_answer__fate_path_of_another_row_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4, 6})
    _, record, path = cleaning.opening(4)
    with boa.reverts("consent: fate opening does not verify"):
        consent.answer(
            people.dataset_id,
            cleaning.claim_id,
            [(4, record, cleaning.opening(6)[2])],
            sender=owner,
        )
    with boa.reverts("consent: fate opening does not verify"):  # row 6's record offered as row 4's
        consent.answer(
            people.dataset_id, cleaning.claim_id, [(4, cleaning.fates[6], path)], sender=owner
        )


def test_answer__committed_record_breaking_the_fate_rules_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    fates = fates_for(10, {4})
    # dropped, but names no dropping step: committed under the root, yet against the rules
    fates[4] = FateRecord(4, False, None, 4, None, None).encode()
    cleaning = clean(people, {4}, fates=fates)
    with boa.reverts("consent: fate record breaks the fate rules"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)


def test_answer__twice_reverts(consent, people, clean, owner):
    _open(consent, people, [4, 6], owner)
    cleaning = clean(people, {4, 6})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    with boa.reverts("consent: dataset already answered"):
        consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(6)], sender=owner)


# --- forward -------------------------------------------------------------------------


def test_forward__row_the_answer_dropped_too_is_answered(consent, people, clean, owner, other):
    _open(consent, people, [4, 6], owner)
    cleaning = clean(people, {4, 6})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    consent.forward(people.dataset_id, cleaning.opening(6), sender=other)
    answered = event(consent, "WithdrawalAnswered")
    assert (answered.row_index, answered.new_version) == (6, cleaning.child.dataset_id)
    assert consent.withdrawal_state(people.dataset_id, 6) == protocol.ANSWERED
    assert consent.dataset(people.dataset_id).open_requests == 0


def test_forward__kept_row_moves_to_the_new_version(consent, people, clean, owner, other):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    consent.request_withdrawal(people.dataset_id, 8, NO_PROOF, sender=owner)  # after the answer
    consent.forward(people.dataset_id, cleaning.opening(8), sender=other)
    forwarded = event(consent, "WithdrawalForwarded")
    new = cleaning.child.dataset_id
    assert (forwarded.row_index, forwarded.new_version, forwarded.new_row) == (8, new, 7)
    requested = event(consent, "WithdrawalRequested")
    assert (requested.dataset_id, requested.row_index, requested.via) == (new, 7, 3)
    assert consent.request(people.dataset_id, 8) == (protocol.MOVED, 2, 7)
    assert consent.request(new, 7) == (protocol.OPEN, 3, 0)
    assert consent.dataset(people.dataset_id).open_requests == 0
    assert consent.dataset(new).open_requests == 1
    assert consent.paused(new)


def test_forward__onto_a_row_already_requested_opens_nothing_new(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    new = cleaning.child.dataset_id
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    consent.request_withdrawal(new, 7, NO_PROOF, sender=owner)
    consent.request_withdrawal(people.dataset_id, 8, NO_PROOF, sender=owner)
    consent.forward(people.dataset_id, cleaning.opening(8), sender=owner)
    assert events(consent, "WithdrawalRequested") == []
    assert consent.request(new, 7) == (protocol.OPEN, 2, 0)
    assert consent.dataset(new).open_requests == 1


def test_forward__dataset_not_answered_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    with boa.reverts("consent: dataset not answered yet"):
        consent.forward(people.dataset_id, cleaning.opening(4), sender=owner)


def test_forward__row_without_an_open_request_reverts(consent, people, clean, owner):
    _open(consent, people, [4], owner)
    cleaning = clean(people, {4})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    with boa.reverts("consent: no open request for the row"):
        consent.forward(people.dataset_id, cleaning.opening(4), sender=owner)
    with boa.reverts("consent: no open request for the row"):
        consent.forward(people.dataset_id, cleaning.opening(2), sender=owner)


def test_forward__fate_opening_that_does_not_verify_reverts(consent, people, clean, owner):
    _open(consent, people, [4, 6], owner)
    cleaning = clean(people, {4})
    consent.answer(people.dataset_id, cleaning.claim_id, [cleaning.opening(4)], sender=owner)
    with boa.reverts("consent: fate opening does not verify"):
        consent.forward(
            people.dataset_id, (6, cleaning.fates[7], cleaning.opening(6)[2]), sender=owner
        )
