"""Fixtures for the Attestations contract on titanoboa: a registered dataset, attestation
builders and EIP-712 signing with the roles' keys (through datasoil.flows.attest)."""

from __future__ import annotations

import pytest

from datasoil.flows.attest import Attestation, sign, split_signature, typed_data
from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import deploy

from .builders import FAR, METRIC, register_datasets, report, root


@pytest.fixture(scope="session")
def attestations(registry):
    return deploy("Attestations", registry.address)


@pytest.fixture
def dataset(registry, owner):
    """Registers dataset 1 (row root ``root(1)``) and 2 (``root(2)``)."""
    return register_datasets(registry, owner)


@pytest.fixture
def make(attestations, dataset):
    """Builds an Attestation for dataset 1 with defaults; keywords override them."""

    def _make(attester, **kw):
        fields = dict(
            attester=str(attester.address if hasattr(attester, "address") else attester),
            dataset_id=dataset,
            row_root=root(dataset),
            metric_set=METRIC,
            score=7500,
            report=report(),
            expiry=0,
            deadline=FAR,
            nonce=0,
        )
        fields.update(kw)
        return Attestation(**fields)

    return _make


@pytest.fixture
def signer(attestations, chain_id):
    """Signs an Attestation with a test account's key for this contract and chain; returns
    the contract's (v, r, s)."""
    this_chain = chain_id

    def _sign(account, att, *, chain_id=None, contract=None):
        typed = typed_data(att, chain_id or this_chain, contract or attestations.address)
        return split_signature(sign(typed, account.private_key))

    return _sign
