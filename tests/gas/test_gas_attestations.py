"""Gas of the operations whose budgets issue 4 names, and of EAS measured the same way.

Nothing is asserted about gas: each receipt's ``gas_used`` goes to ``gas_log`` (written
to bench/gas/ under ``make bench``). Budgets: a relayed attestation by a new attester on
a new (dataset, metric set), row-root check included, <= 85,000; a repeat attestation
by the same attester <= 50,000.

EAS is deployed on the same anvil from the compiled artifacts of the npm package
``@ethereum-attestation-service/eas-contracts`` (tests/npm-eip712/, installed with
``npm ci`` when missing): SchemaRegistry, then EAS; a five-field schema is registered
and attested directly, by delegation (EIP-712) and revoked.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data

from datasoil.formats.cid import CidTuple
from datasoil.protocol.attestations import Attestation, sign, split_signature, typed_data

NPM_DIR = Path(__file__).resolve().parents[1] / "npm-eip712"
EAS_DIR = NPM_DIR / "node_modules/@ethereum-attestation-service/eas-contracts"
DAG_PB, RAW = 0x70, 0x55
QUALITY = hashlib.sha256(b"datasoil.quality.v1").digest()
FAR = 2**63
SCHEMA = "uint256 datasetId,bytes32 rowRoot,bytes32 metricSet,uint16 score,bytes reportCid"


def _h(tag: str, i: int = 0) -> bytes:
    return hashlib.sha256(f"{tag}{i}".encode()).digest()


@pytest.fixture(scope="module")
def eas_artifacts():
    if not (NPM_DIR / "node_modules").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot fetch the EAS artifacts")
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            pytest.skip(f"npm ci failed in {NPM_DIR}: {run.stderr.strip()[-300:]}")
    arts = {}
    for name in ("SchemaRegistry", "EAS"):
        path = EAS_DIR / f"artifacts/contracts/{name}.sol/{name}.json"
        arts[name] = json.loads(path.read_text())
    arts["version"] = json.loads((EAS_DIR / "package.json").read_text())["version"]
    return arts


def _container(artifact):
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

    return ContractContainer(
        ContractType.model_validate(
            {
                "contractName": artifact["contractName"],
                "abi": artifact["abi"],
                "deploymentBytecode": {"bytecode": artifact["bytecode"]},
                "runtimeBytecode": {"bytecode": artifact["deployedBytecode"]},
            }
        )
    )


def _register(registry, owner, seed):
    registry.register(
        ((1 << 64) | DAG_PB, _h("cid", seed)),
        _h("root", seed),
        1000,
        False,
        ((1 << 64) | 0x0129, _h("meta", seed)),
        "CC-BY-4.0",
        [],
        0,
        sender=owner,
    )


def test_gas__datasoil_attestations(
    project, deployer, registry, owner, accounts, attester, other, chain, gas_log
):
    attestations = deployer.deploy(project.Attestations, registry)
    for seed in (1, 2, 3):
        _register(registry, owner, seed)

    now = chain.pending_timestamp
    year = now + 365 * 86400  # realistic timestamps: 4 non-zero calldata bytes each

    def att(account, dataset, score, nonce=0, expiry=year):
        return Attestation(
            attester=str(account.address),
            dataset_id=dataset,
            row_root=_h("root", dataset),
            metric_set=QUALITY,
            score=score,
            report=CidTuple(1, RAW, _h("report", score)),
            expiry=expiry,
            deadline=now + 3600,
            nonce=nonce,
        )

    def sig(account, a):
        return split_signature(
            sign(typed_data(a, chain.chain_id, attestations.address), account.private_key)
        )

    a = att(attester, 1, 7321)
    gas_log(
        "attest: relayed, new attester, new (dataset, metric set)",
        attestations.attest_by_sig(a.as_abi(), sig(attester, a), sender=other),
    )
    a = att(attester, 1, 8123, nonce=1)
    gas_log(
        "attest: relayed, repeat by the same attester",
        attestations.attest_by_sig(a.as_abi(), sig(attester, a), sender=other),
    )
    relayer = accounts[7]
    a = att(deployer, 1, 6400)
    gas_log(
        "attest: relayed, new attester, existing (dataset, metric set)",
        attestations.attest_by_sig(a.as_abi(), sig(deployer, a), sender=relayer),
    )
    a = att(attester, 2, 7321)
    gas_log(
        "attest: direct, new attester, new (dataset, metric set)",
        attestations.attest(a.as_abi(), sender=attester),
    )
    a = att(attester, 2, 8123, nonce=1)
    gas_log(
        "attest: direct, repeat by the same attester",
        attestations.attest(a.as_abi(), sender=attester),
    )
    gas_log("revoke", attestations.revoke(2, QUALITY, sender=attester))
    gas_log("bump_nonce", attestations.bump_nonce(1, QUALITY, 10, sender=attester))
    batch = [att(accounts[i], 3, 5000 + i) for i in range(8)]
    receipt = attestations.attest_batch(
        [b.as_abi() for b in batch],
        [sig(accounts[i], b) for i, b in enumerate(batch)],
        sender=other,
    )
    gas_log("attest_batch: 8 relayed, new attesters, new (dataset, metric set)", receipt)
    assert attestations.aggregate(3, QUALITY).count == 8


def test_gas__eas_same_chain(eas_artifacts, deployer, attester, other, chain, gas_log):
    schemas = deployer.deploy(_container(eas_artifacts["SchemaRegistry"]))
    eas = deployer.deploy(_container(eas_artifacts["EAS"]), schemas.address)
    tx = schemas.register(SCHEMA, "0x" + "00" * 20, True, sender=deployer)
    schema_uid = tx.return_value if tx.return_value else tx.decode_logs()[0].uid

    def data(i):
        return encode(
            ["uint256", "bytes32", "bytes32", "uint16", "bytes"],
            [1, _h("root", 1), QUALITY, 7000 + i, b"\x01\x55\x12\x20" + _h("report", i)],
        )

    request = (schema_uid, ("0x" + "00" * 20, 2**40, True, b"\x00" * 32, data(1), 0))
    receipt = eas.attest(request, sender=attester)
    gas_log(f"EAS: attest (eas-contracts {eas_artifacts['version']}, five-field schema)", receipt)
    uid = receipt.decode_logs(eas.Attested)[0].uid

    _, name, version, chain_id, verifying, _, _ = eas.eip712Domain()
    nonce = eas.getNonce(attester.address)
    payload = ("0x" + "00" * 20, 2**40, True, b"\x00" * 32, data(2), 0)
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Attest": [
                {"name": "attester", "type": "address"},
                {"name": "schema", "type": "bytes32"},
                {"name": "recipient", "type": "address"},
                {"name": "expirationTime", "type": "uint64"},
                {"name": "revocable", "type": "bool"},
                {"name": "refUID", "type": "bytes32"},
                {"name": "data", "type": "bytes"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint64"},
            ],
        },
        "primaryType": "Attest",
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": str(verifying),
        },
        "message": {
            "attester": str(attester.address),
            "schema": bytes(schema_uid),
            "recipient": payload[0],
            "expirationTime": payload[1],
            "revocable": True,
            "refUID": payload[3],
            "data": payload[4],
            "value": 0,
            "nonce": nonce,
            "deadline": FAR,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), attester.private_key)
    delegated = (
        schema_uid,
        payload,
        (signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")),
        attester.address,
        FAR,
    )
    gas_log(
        f"EAS: attest by delegation (eas-contracts {eas_artifacts['version']}, five-field schema)",
        eas.attestByDelegation(delegated, sender=other),
    )
    gas_log(
        f"EAS: revoke (eas-contracts {eas_artifacts['version']})",
        eas.revoke((schema_uid, (uid, 0)), sender=attester),
    )
