"""datasoil.flows.attest.Attestations (the library the `ape run attest` script calls) on
chain: it drives ape contracts, so it runs on ape + anvil (the contract's own unit tests
are in tests/contracts/attestations, on titanoboa)."""

from __future__ import annotations

import pytest

from datasoil.errors import ChainError, NotFound
from datasoil.flows.attest import AttestationError, Attestations, RelayPayload, SignatureError
from tests.contracts.attestations.builders import METRIC, register_datasets, report, root


@pytest.fixture
def client(project, deployer, owner):
    """A fresh registry (datasets 1 and 2, whatever other tests registered) and contract."""
    registry = deployer.deploy(project.DatasetRegistry)
    attestations = deployer.deploy(project.Attestations, registry)
    register_datasets(registry, owner)
    return Attestations(attestations, registry)


def test_client__relay_show_revoke(client, attester, other, auditor, chain, tmp_path):
    att = client.build(str(attester.address), 1, METRIC, 9000, str(report()), expiry=0)
    assert att.row_root == root(1) and att.nonce == 0
    payload = client.sign(att, attester)
    payload.write(tmp_path / "p.json")
    client.submit(RelayPayload.read(tmp_path / "p.json"), other)
    direct = client.build(str(auditor.address), 1, METRIC, 3000, report(2))
    client.attest(direct, auditor)
    (summary,) = client.summaries(1)
    assert (summary.count, summary.sum, summary.min, summary.max) == (2, 12000, 3000, 9000)
    (summary,) = client.summaries(1, trusted=[str(auditor.address)])
    assert (summary.count, summary.sum, summary.untrusted) == (1, 3000, 1)
    client.revoke(1, METRIC, attester)
    (summary,) = client.summaries(1)
    assert (summary.count, summary.revoked) == (1, 1)
    assert client.nonce(str(attester.address), 1, METRIC) == 2
    with pytest.raises(ChainError, match="no active attestation"):
        client.revoke(1, METRIC, attester)


def test_client__batch_and_bump(client, attester, other, auditor):
    a = client.sign(client.build(str(attester.address), 1, METRIC, 1, report()), attester)
    b = client.sign(client.build(str(auditor.address), 2, METRIC, 2, report()), auditor)
    client.submit_batch([a, b], other)
    assert [s.sum for s in client.summaries(1)] == [1]
    stale = client.sign(client.build(str(attester.address), 1, METRIC, 5, report()), attester)
    client.bump_nonce(1, METRIC, 5, attester)
    with pytest.raises(ChainError, match="nonce is not the current one"):
        client.submit(stale, other)


def test_client__refuses_wrong_payloads(client, attester, other, chain):
    att = client.build(str(attester.address), 1, METRIC, 1, report())
    good = client.sign(att, attester)
    with pytest.raises(AttestationError, match="chain"):
        client.submit(RelayPayload(att, chain.chain_id + 1, client.address, good.signature), other)
    with pytest.raises(AttestationError, match="contract"):
        client.submit(RelayPayload(att, chain.chain_id, "0x" + "11" * 20, good.signature), other)
    forged = client.sign(att, other)
    with pytest.raises(SignatureError):
        client.submit(forged, other)
    with pytest.raises(NotFound):
        client.build(str(attester.address), 99, METRIC, 1, report())
