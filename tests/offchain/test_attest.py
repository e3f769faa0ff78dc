"""datasoil.protocol.attestations (the pure half of datasoil.flows.attest): typed data,
signatures checked by independent EIP-712 implementations (ethers v6 and MetaMask's
eth-sig-util, run with node from tests/npm-eip712/), relay payloads, reproduction ids,
aggregates from events."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from datasoil.errors import NotFound
from datasoil.formats.cid import CidTuple
from datasoil.protocol.attestations import (
    ETHERS_TYPES,
    MAX_SCORE,
    TYPES,
    Attestation,
    AttestationError,
    AttestationEvent,
    RelayPayload,
    SignatureError,
    digest,
    latest_records,
    load_trusted,
    recover,
    reproduction_metric_set,
    sign,
    split_signature,
    summarize,
    typed_data,
)

NPM_DIR = Path(__file__).resolve().parents[1] / "npm-eip712"
# Well-known throwaway keys (anvil's dev accounts 0 and 1); never hold value.
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR = Account.from_key(KEY).address
OTHER = Account.from_key(OTHER_KEY).address
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
REPORT = CidTuple(1, 0x55, hashlib.sha256(b"report").digest())


def att(**kw) -> Attestation:
    fields = dict(
        attester=ADDR,
        dataset_id=7,
        row_root=hashlib.sha256(b"root").digest(),
        metric_set=keccak(text="datasoil.quality.v1"),
        score=8125,
        report=REPORT,
        expiry=1_900_000_000,
        deadline=2**64 - 1,
        nonce=3,
    )
    fields.update(kw)
    return Attestation(**fields)


def payload(a: Attestation, key: str = KEY, chain_id: int = 31337) -> RelayPayload:
    return RelayPayload(a, chain_id, CONTRACT, sign(typed_data(a, chain_id, CONTRACT), key))


# --- the npm oracle ----------------------------------------------------------------


@pytest.fixture(scope="module")
def npm_verify():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed: no independent EIP-712 implementation to run")
    if not (NPM_DIR / "node_modules" / "ethers").is_dir():
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            pytest.skip(f"npm ci failed in {NPM_DIR}: {run.stderr.strip()[-300:]}")

    def verify(payloads: list[dict]) -> list[dict]:
        run = subprocess.run(
            [node, str(NPM_DIR / "verify.cjs")],
            input=json.dumps(payloads),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(run.stdout)

    return verify


def test_npm__ethers_and_metamask_recover_python_signatures(npm_verify):
    cases = [
        payload(att()),
        payload(att(score=0, expiry=0, nonce=0, dataset_id=1)),
        payload(att(score=MAX_SCORE, deadline=1, nonce=2**64 - 1, dataset_id=2**256 - 1)),
        payload(
            att(report=CidTuple(0, 0x70, REPORT.digest), metric_set=reproduction_metric_set(9))
        ),
        payload(att(attester=OTHER), key=OTHER_KEY, chain_id=11155111),
    ]
    results = npm_verify([p.to_json() for p in cases])
    for p, result in zip(cases, results, strict=True):
        assert result["ethers"] == p.attestation.attester
        assert result["metamask"].lower() == p.attestation.attester.lower()
        assert result["digest"] == "0x" + digest(p.typed_data()).hex()


def test_npm__payload_file_is_taken_as_is_by_ethers_and_metamask(npm_verify, tmp_path):
    """The written file needs no editing: ethers reads ``ethersTypes``, eth-sig-util the
    eth_signTypedData_v4 fields (the verifier script deletes nothing)."""
    path = tmp_path / "payload.json"
    payload(att()).write(path)
    data = json.loads(path.read_text())
    assert "EIP712Domain" in data["types"] and "EIP712Domain" not in data["ethersTypes"]
    (result,) = npm_verify([data])
    assert result["ethers"] == ADDR
    assert result["metamask"].lower() == ADDR.lower()


def test_npm__ethers_signed_payload_is_accepted_and_recovered(npm_verify):
    """A payload signed and written by ethers (types without EIP712Domain) is read by the
    relay parser and recovers the ethers signer."""
    a = att()
    typed = typed_data(a, 31337, CONTRACT)
    request = {"privateKey": KEY, "domain": typed["domain"], "message": typed["message"]}
    request["types"] = ETHERS_TYPES
    run = subprocess.run(
        [shutil.which("node") or "node", str(NPM_DIR / "sign.cjs")],
        input=json.dumps([request]),
        capture_output=True,
        text=True,
        check=True,
    )
    (signed,) = json.loads(run.stdout)
    parsed = RelayPayload.from_json(signed)
    parsed.verify()
    assert parsed.attestation == a
    assert parsed.signature == payload(a).signature  # RFC 6979: the same signature


def test_relay_payload__foreign_ethers_types_are_refused():
    data = payload(att()).to_json()
    data["ethersTypes"] = {"Attestation": []}
    with pytest.raises(AttestationError, match="ethersTypes"):
        RelayPayload.from_json(data)


def test_npm__tampered_message_recovers_someone_else(npm_verify):
    data = payload(att()).to_json()
    data["message"]["score"] = "8126"
    (result,) = npm_verify([data])
    assert result["ethers"] != ADDR
    assert result["metamask"].lower() != ADDR.lower()


# --- typed data and signatures -----------------------------------------------------


def test_typed_data__shape_is_eth_sign_typed_data_v4():
    t = typed_data(att(), 31337, CONTRACT)
    assert set(t) == {"types", "primaryType", "domain", "message"}
    assert t["primaryType"] == "Attestation"
    assert t["domain"] == {
        "name": "datasoil Attestations",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": CONTRACT,
    }
    assert t["types"] == TYPES
    assert t["message"]["report"] == {
        "version": "1",
        "codec": "85",
        "digest": "0x" + REPORT.digest.hex(),
    }


def test_digest__matches_hand_computed_eip712():
    from eth_abi import encode

    a = att()
    cid_type = "Cid(uint8 version,uint64 codec,bytes32 digest)"
    att_type = (
        "Attestation(address attester,uint256 dataset_id,bytes32 row_root,bytes32 metric_set,"
        "uint16 score,Cid report,uint64 expiry,uint64 deadline,uint64 nonce)" + cid_type
    )
    cid_hash = keccak(
        encode(
            ["bytes32", "uint8", "uint64", "bytes32"],
            [keccak(text=cid_type), 1, 0x55, REPORT.digest],
        )
    )
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "uint256", "bytes32", "bytes32", "uint16", "bytes32"]
            + ["uint64"] * 3,
            [
                keccak(text=att_type),
                a.attester,
                7,
                a.row_root,
                a.metric_set,
                8125,
                cid_hash,
                *[1_900_000_000, 2**64 - 1, 3],
            ],
        )
    )
    domain_hash = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                keccak(text="datasoil Attestations"),
                keccak(text="1"),
                31337,
                CONTRACT,
            ],
        )
    )
    assert digest(typed_data(a, 31337, CONTRACT)) == keccak(b"\x19\x01" + domain_hash + struct_hash)


def test_recover__round_trip_and_compact_form():
    p = payload(att())
    assert recover(p.typed_data(), p.signature) == ADDR
    v, r, s = split_signature(p.signature)
    compact = r + (int.from_bytes(s, "big") | ((v - 27) << 255)).to_bytes(32, "big")
    assert recover(p.typed_data(), compact) == ADDR
    p.verify()


def test_recover__high_s_rejected():
    p = payload(att())
    v, r, s = split_signature(p.signature)
    high = r + (N - int.from_bytes(s, "big")).to_bytes(32, "big") + bytes([55 - v])
    with pytest.raises(SignatureError, match="low s"):
        recover(p.typed_data(), high)


def test_recover__bad_length_and_v_rejected():
    p = payload(att())
    with pytest.raises(SignatureError, match="65- or 64-byte"):
        recover(p.typed_data(), p.signature[:63])
    with pytest.raises(SignatureError, match="v of 27 or 28"):
        recover(p.typed_data(), p.signature[:64] + b"\x01")


def test_verify__other_signer_and_flipped_bit_fail():
    bad = RelayPayload(att(), 31337, CONTRACT, payload(att(), OTHER_KEY).signature)
    with pytest.raises(SignatureError, match="expected a signature by"):
        bad.verify()
    sig = bytearray(payload(att()).signature)
    sig[5] ^= 1
    flipped = RelayPayload(att(), 31337, CONTRACT, bytes(sig))
    with pytest.raises(SignatureError):
        flipped.verify()


# --- payload files -----------------------------------------------------------------


def test_payload__json_round_trip(tmp_path):
    p = payload(att(dataset_id=2**200, nonce=2**64 - 1))
    path = tmp_path / "p.json"
    p.write(path)
    back = RelayPayload.read(path)
    assert back == p
    back.verify()
    data = json.loads(path.read_text())
    assert set(data) == {"domain", "types", "ethersTypes", "primaryType", "message", "signature"}
    assert data["message"]["nonce"] == str(2**64 - 1)


def test_payload__numbers_as_json_numbers_accepted():
    data = payload(att()).to_json()
    data["message"]["score"] = 8125
    data["message"]["report"]["version"] = 1
    assert RelayPayload.from_json(data).attestation == att()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.pop("signature"), "missing"),
        (lambda d: d.update(primaryType="Attest"), "primaryType"),
        (lambda d: d["types"]["Cid"].pop(), "types"),
        (lambda d: d["domain"].update(name="EAS"), "domain"),
        (lambda d: d["message"].update(score="10001"), "score"),
        (lambda d: d["message"].update(extra=1), "message fields"),
        (lambda d: d["message"].update(row_root="0x12"), "row_root"),
        (lambda d: d.update(signature="0xzz"), "hex"),
    ],
)
def test_payload__malformed_rejected(edit, match):
    data = payload(att()).to_json()
    edit(data)
    with pytest.raises(AttestationError, match=match):
        RelayPayload.from_json(data)


def test_payload__missing_file(tmp_path):
    with pytest.raises(NotFound):
        RelayPayload.read(tmp_path / "nope.json")


def test_attestation__field_checks():
    with pytest.raises(AttestationError, match="score"):
        att(score=MAX_SCORE + 1)
    with pytest.raises(AttestationError, match="expiry"):
        att(expiry=2**64)
    with pytest.raises(AttestationError, match="attester"):
        att(attester="0x123")
    assert att(report=str(REPORT)).report == REPORT


# --- reproduction ids --------------------------------------------------------------


def test_reproduction_metric_set__byte_layout():
    assert reproduction_metric_set(1) == keccak(
        b"datasoil.reproduction.v1" + b"\x00" * 31 + b"\x01"
    )
    assert reproduction_metric_set(1) != reproduction_metric_set(2)
    with pytest.raises(AttestationError):
        reproduction_metric_set(-1)


# --- aggregates from events --------------------------------------------------------

M = b"\x11" * 32
A, B, C = (f"0x{i:040x}" for i in (0xA, 0xB, 0xC))


def ev(kind, attester, score, block, *, expiry=0, dataset=1, metric=M, nonce=0):
    from eth_utils import to_checksum_address

    return AttestationEvent(
        kind=kind,
        attester=to_checksum_address(attester),
        dataset_id=dataset,
        metric_set=metric,
        score=score,
        nonce=nonce,
        block=block,
        log_index=0,
        report_cid=str(REPORT),
        expiry=expiry,
    )


def test_summarize__latest_unrevoked_unexpired_trusted():
    events = [
        ev("attested", A, 9000, 1),
        ev("attested", A, 7000, 5),  # A's latest
        ev("attested", B, 100, 2, expiry=50),  # expired at now=100
        ev("attested", C, 5000, 3),
        ev("revoked", C, 5000, 4),
        ev("attested", B, 8000, 6, dataset=2),  # another dataset
    ]
    records = latest_records(events)
    s = summarize(records, 1, M, now=100)
    assert (s.count, s.sum, s.min, s.max) == (1, 7000, 7000, 7000)
    assert (s.expired, s.revoked, s.untrusted) == (1, 1, 0)
    s = summarize(records, 1, M, now=49)
    assert (s.count, s.sum, s.min, s.max, s.mean) == (2, 7100, 100, 7000, 3550)
    s = summarize(records, 1, M, now=49, trusted=[B])
    assert (s.count, s.sum, s.untrusted) == (1, 100, 2)
    assert summarize(records, 1, M, now=0, trusted=[]).count == 0


def test_summarize__reattest_after_revoke_counts():
    events = [ev("attested", A, 10, 1), ev("revoked", A, 10, 2), ev("attested", A, 20, 3)]
    s = summarize(latest_records(events), 1, M, now=0)
    assert (s.count, s.sum) == (1, 20)


def test_load_trusted__json_and_text(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps([A.lower(), B]))
    (tmp_path / "t.txt").write_text(f"# trusted\n{A}  # lab\n\n{C}\n")
    assert load_trusted(tmp_path / "t.json")[0].lower() == A.lower()
    assert len(load_trusted(tmp_path / "t.txt")) == 2
    (tmp_path / "bad.txt").write_text("nope\n")
    with pytest.raises(AttestationError):
        load_trusted(tmp_path / "bad.txt")
