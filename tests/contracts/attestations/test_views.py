from __future__ import annotations

import boa
from eth_abi import encode
from eth_utils import keccak

from datasoil.flows.attest import DOMAIN_NAME, DOMAIN_VERSION, reproduction_metric_set
from tests.contracts._boa import deploy


def test_init__registry_and_domain(attestations, registry, chain_id):
    assert attestations.registry() == registry.address
    assert attestations.MAX_SCORE() == 10000
    assert attestations.MAX_BATCH() == 32
    domain = attestations.eip712Domain()
    assert domain[0] == b"\x0f"
    assert (domain[1], domain[2], domain[3], domain[4]) == (
        DOMAIN_NAME,
        DOMAIN_VERSION,
        chain_id,
        attestations.address,
    )
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                chain_id,
                attestations.address,
            ],
        )
    )
    assert attestations.domain_separator() == expected


def test_init__zero_registry_reverts():
    with boa.reverts("attestations: zero registry"):
        deploy("Attestations", "0x" + "00" * 20)


def test_reproduction_metric_set__matches_python_layout(attestations):
    for claim_id in (0, 1, 255, 2**64, 2**256 - 1):
        expected = keccak(b"datasoil.reproduction.v1" + claim_id.to_bytes(32, "big"))
        assert attestations.reproduction_metric_set(claim_id) == expected
        assert reproduction_metric_set(claim_id) == expected


def test_views__empty_state(attestations, attester):
    record = attestations.record(attester, 1, b"\x01" * 32)
    assert tuple(record) == (0, 0, 0, False, False)
    assert attestations.current_nonce(attester, 1, b"\x01" * 32) == 0
    assert tuple(attestations.aggregate(1, b"\x01" * 32)) == (0, 0)
