"""Sales pause and resume: AccessMarket asks Consent (`set_consent`, `buy`), and
`paused` over a dataset's lineage (open requests, superseded datasets, the answering
version's cut, merges, the lineage bound)."""

from __future__ import annotations

import boa

from .conftest import NO_PROOF, ZERO, deploy, event, people_rows


def test_set_consent__binds_once_and_logs(registry, consent, deployer):
    market = deploy("AccessMarket", registry, 600, 300, 200)
    assert market.consent() == ZERO
    market.set_consent(consent, sender=deployer)
    assert event(market, "ConsentSet").consent == consent.address
    assert market.consent() == consent.address
    with boa.reverts("market: consent already set"):
        market.set_consent(consent, sender=deployer)


def test_set_consent__not_the_owner_reverts(registry, consent, other):
    market = deploy("AccessMarket", registry, 600, 300, 200)
    with boa.reverts("ownable: caller is not the owner"):
        market.set_consent(consent, sender=other)


def test_set_consent__zero_reverts(registry, deployer):
    market = deploy("AccessMarket", registry, 600, 300, 200)
    with boa.reverts("market: zero consent"):
        market.set_consent(ZERO, sender=deployer)


def test_set_consent__consent_of_another_registry_reverts(consent, deployer):
    market = deploy("AccessMarket", deploy("DatasetRegistry"), 600, 300, 200)
    with boa.reverts("market: consent uses another registry"):
        market.set_consent(consent, sender=deployer)


def test_buy__private_dataset_with_an_open_request_is_paused(
    consent, publish, listed, buy, owner, subjects
):
    data = publish(people_rows(subjects), private=True)
    listed(data.dataset_id, owner)
    other_data = listed(publish(people_rows(subjects), private=True).dataset_id, owner)
    buy(data.dataset_id)  # sells before the request
    consent.request_withdrawal(data.dataset_id, 3, NO_PROOF, sender=owner)
    with boa.reverts("market: sales paused by a withdrawal"):
        buy(data.dataset_id)
    assert buy(other_data) > 0  # an unrelated dataset still sells


def test_sales__paused_for_descendants_and_resumed_on_the_new_version(
    consent, people, clean, listed, buy, signed, subjects, owner, cleaner, other
):
    # C: a private cleaning of the public people by someone else, on sale
    c = clean(people, {0}, sender=cleaner, private=True).child.dataset_id
    listed(c, cleaner)
    buy(c)
    consent.request_withdrawal(people.dataset_id, 1, signed(people, 1, subjects[1]), sender=other)
    assert consent.paused(people.dataset_id) and consent.paused(c)
    with boa.reverts("market: sales paused by a withdrawal"):
        buy(c)

    # the owner answers with D', a private new version without row 1
    answer = clean(people, {1}, private=True)
    new = answer.child.dataset_id
    listed(new, owner)
    assert consent.paused(new)  # still: the request is open on its parent
    consent.answer(people.dataset_id, answer.claim_id, [answer.opening(1)], sender=owner)
    assert not consent.paused(new)
    assert buy(new) > 0  # sales resume on D'
    assert consent.paused(people.dataset_id)  # D is superseded for ever
    with boa.reverts("market: sales paused by a withdrawal"):
        buy(c)  # C still descends from D by another edge: it must republish

    # C's owner republishes from D'
    republished = clean(answer.child, {0}, sender=cleaner, private=True).child.dataset_id
    listed(republished, cleaner)
    assert not consent.paused(republished)
    assert buy(republished) > 0


def test_paused__merge_of_the_answer_and_the_superseded_dataset(
    consent, people, clean, publish, owner, subjects
):
    consent.request_withdrawal(people.dataset_id, 4, NO_PROOF, sender=owner)
    answer = clean(people, {4})
    consent.answer(people.dataset_id, answer.claim_id, [answer.opening(4)], sender=owner)
    merged = publish(people_rows(subjects, 2), parents=(people.dataset_id, answer.child.dataset_id))
    assert consent.paused(merged.dataset_id)  # it reads D directly, not only through D'
    through = publish(people_rows(subjects, 2), parents=(answer.child.dataset_id,))
    assert not consent.paused(through.dataset_id)


def test_paused__a_second_answer_moves_the_cut(consent, people, clean, owner):
    consent.request_withdrawal(people.dataset_id, 4, NO_PROOF, sender=owner)
    first = clean(people, {4})
    consent.answer(people.dataset_id, first.claim_id, [first.opening(4)], sender=owner)
    consent.request_withdrawal(first.child.dataset_id, 0, NO_PROOF, sender=owner)
    second = clean(first.child, {0})
    assert consent.paused(second.child.dataset_id)
    consent.answer(first.child.dataset_id, second.claim_id, [second.opening(0)], sender=owner)
    assert not consent.paused(second.child.dataset_id)
    assert consent.paused(first.child.dataset_id)


def test_paused__lineage_bound(consent, publish, owner, subjects):
    chain = [publish(people_rows(subjects, 1)).dataset_id]
    for _ in range(17):
        chain.append(publish(people_rows(subjects, 1), parents=(chain[-1],)).dataset_id)
    consent.request_withdrawal(chain[0], 0, NO_PROOF, sender=owner)
    # 16 datasets are walked (the one sold and 15 ancestors) and their parents' edges
    # checked: an ancestor 16 generations up pauses, one 17 up is beyond the bound
    assert consent.paused(chain[16])
    assert not consent.paused(chain[17])


def test_paused__unknown_dataset_reverts_with_the_registrys_reason(consent):
    with boa.reverts("registry: unknown dataset"):
        consent.paused(999)
