"""Fixtures for the Attestations contract: a registered dataset, attestation builders
and EIP-712 signing with the roles' keys (through datasoil.flows.attest)."""

from __future__ import annotations

import hashlib

import pytest

from datasoil.flows.attest import Attestation, sign, split_signature, typed_data
from datasoil.formats.cid import CidTuple

DAG_PB = 0x70
RAW = 0x55
QUALITY = hashlib.sha3_256(b"unused").digest()  # any 32 bytes serve as a metric-set id
METRIC = bytes.fromhex("aa" * 32)
FAR = 2**63  # a deadline far in the future


def root(seed: int) -> bytes:
    return hashlib.sha256(b"root%d" % seed).digest()


def vrs(sig: bytes) -> tuple[int, bytes, bytes]:
    """The contract's Signature struct from 65 bytes r ++ s ++ v, without any checks."""
    return (sig[64], sig[:32], sig[32:64])


def report(seed: int = 1) -> CidTuple:
    return CidTuple(1, RAW, hashlib.sha256(b"report%d" % seed).digest())


@pytest.fixture
def attestations(project, deployer, registry):
    return deployer.deploy(project.Attestations, registry)


@pytest.fixture
def dataset(registry, owner):
    """Registers dataset 1 (row root ``root(1)``) and 2 (``root(2)``)."""
    for seed in (1, 2):
        registry.register(
            ((1 << 64) | DAG_PB, hashlib.sha256(b"cid%d" % seed).digest()),
            root(seed),
            10,
            False,
            ((1 << 64) | 0x0129, hashlib.sha256(b"meta%d" % seed).digest()),
            "CC-BY-4.0",
            [],
            0,
            sender=owner,
        )
    return 1


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
def signer(attestations, chain):
    """Signs an Attestation with a test account's key for this contract and chain; returns
    the contract's (v, r, s)."""

    def _sign(account, att, *, chain_id=None, contract=None):
        typed = typed_data(att, chain_id or chain.chain_id, contract or attestations.address)
        return split_signature(sign(typed, account.private_key))

    return _sign
