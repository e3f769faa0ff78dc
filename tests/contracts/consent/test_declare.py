"""Consent: deployment and `declare_subjects`."""

from __future__ import annotations

import boa

from datasoil.protocol import consent as protocol

from .conftest import SUBJECT_COLUMN, ZERO, deploy, event, people_rows


def test_init__binds_registry_proofs_and_domain(consent, registry, proofs, chain_id):
    assert consent.registry() == registry.address
    assert consent.proofs() == proofs.address
    _, name, version, chain, contract, _, _ = consent.eip712Domain()
    assert (name, version, chain, contract) == ("datasoil Consent", "1", chain_id, consent.address)
    assert consent.MAX_ANSWERS() == 8 and consent.MAX_LINEAGE() == 16
    assert (consent.ADDRESS_SUBJECT(), consent.COMMITMENT_SUBJECT()) == (1, 2)
    assert (consent.OPEN(), consent.ANSWERED(), consent.MOVED()) == (1, 2, 3)


def test_init__zero_registry_reverts(proofs):
    with boa.reverts("consent: zero registry"):
        deploy("Consent", ZERO, proofs)


def test_init__zero_proofs_reverts(registry):
    with boa.reverts("consent: zero proofs"):
        deploy("Consent", registry, ZERO)


def test_init__proofs_of_another_registry_reverts(proofs, token, attestations):
    other_registry = deploy("DatasetRegistry")
    with boa.reverts("consent: proofs use another registry"):
        deploy("Consent", other_registry, proofs)


def test_declare__records_kind_and_column_and_logs(consent, publish, owner, subjects):
    data = publish(people_rows(subjects))
    consent.declare_subjects(
        data.dataset_id, SUBJECT_COLUMN, protocol.ADDRESS_SUBJECT, sender=owner
    )
    declared = event(consent, "SubjectsDeclared")
    assert (declared.dataset_id, declared.owner) == (data.dataset_id, owner)
    assert (declared.column, declared.kind) == (SUBJECT_COLUMN, protocol.ADDRESS_SUBJECT)
    facts = consent.dataset(data.dataset_id)
    assert (facts.kind, facts.column, facts.open_requests, facts.answered_by) == (1, 3, 0, 0)


def test_declare__not_the_owner_reverts(consent, publish, other, subjects):
    data = publish(people_rows(subjects))
    with boa.reverts("consent: not the dataset owner"):
        consent.declare_subjects(data.dataset_id, SUBJECT_COLUMN, 1, sender=other)


def test_declare__unknown_dataset_reverts_with_the_registrys_reason(consent, owner):
    with boa.reverts("registry: unknown dataset"):
        consent.declare_subjects(999, 0, 1, sender=owner)


def test_declare__twice_reverts(consent, people, owner):
    with boa.reverts("consent: subjects already declared"):
        consent.declare_subjects(people.dataset_id, 0, protocol.COMMITMENT_SUBJECT, sender=owner)


def test_declare__unknown_kind_reverts(consent, publish, owner, subjects):
    data = publish(people_rows(subjects))
    for kind in (0, 3):
        with boa.reverts("consent: unknown subject kind"):
            consent.declare_subjects(data.dataset_id, SUBJECT_COLUMN, kind, sender=owner)


def test_declare__column_past_the_bound_reverts(consent, publish, owner, subjects):
    data = publish(people_rows(subjects))
    with boa.reverts("consent: column past the row's bound"):
        consent.declare_subjects(data.dataset_id, 4096, 1, sender=owner)
    consent.declare_subjects(data.dataset_id, 4095, 1, sender=owner)
    assert consent.dataset(data.dataset_id).column == 4095
