"""Gas of Consent's operations (bench/gas.md via make bench), on ape + anvil.

A public dataset of 4,096 real rows (datasoil-rows-v1, RFC 9162 depth 12) whose subject
column holds addresses; requests by a subject's relayed EIP-712 signature (eth-account),
by the subject itself, by the owner, and by a commitment's secret; the owner's answer
with a finalised cleaning claim (one fate opening, depth 12); a forward; and a market
buy of the answering version, whose parent is superseded. No gas is asserted here.
"""

from __future__ import annotations

import hashlib

from eth_account import Account
from eth_utils.crypto import keccak

from datasoil.formats import merkle, rows
from datasoil.formats.fate import FateRecord
from datasoil.protocol import consent as protocol
from tests.gas._consent import BOND, CHALLENGE, deploy_consent

ROWS = 4096
PRICE = 10**18
SUBJECT_KEY = keccak(b"datasoil gas subject")
SCHEMA = rows.Schema(
    (
        rows.Column("id", "int64", False),
        rows.Column("note", "string"),
        rows.Column("subject", "string"),
        rows.Column("holder", "bytes"),
    )
)
ZERO32 = b"\x00" * 32


def _cid(seed: int) -> tuple[int, bytes]:
    return ((1 << 64) | 0x55, hashlib.sha256(b"gas-consent%d" % seed).digest())


def _secret(i: int) -> bytes:
    return hashlib.sha256(b"gas secret %d" % i).digest()


def _register(registry, sender, seed, encoded, *, parents=(), private=False, version_of=0):
    leaves = [merkle.leaf_hash(r) for r in encoded]
    tx = registry.register(
        _cid(seed),
        merkle.root(leaves),
        len(encoded),
        private,
        _cid(1000 + seed),
        "CC-BY-4.0",
        list(parents),
        version_of,
        sender=sender,
    )
    return int(tx.decode_logs(registry.DatasetRegistered)[0].dataset_id), leaves


def test_gas__consent(project, chain, deployer, registry, token, accounts, gas_log):
    owner, relayer, buyer = accounts[1], accounts[2], accounts[5]
    consent, proofs = deploy_consent(project, deployer, registry, token)
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    market.set_consent(consent, sender=deployer)

    subject = Account.from_key(SUBJECT_KEY).address
    self_subject = str(accounts[3].address)
    values = [
        (
            i,
            f"row {i} of a table about people",
            subject if i % 2 == 0 else self_subject,
            protocol.commitment(_secret(i)),
        )
        for i in range(ROWS)
    ]
    encoded = [rows.encode_row(v, SCHEMA) for v in values]
    data, leaves = _register(registry, owner, 1, encoded)
    holders, _ = _register(registry, owner, 2, encoded)
    others, _ = _register(registry, owner, 7, encoded)

    gas_log(
        "consent: declare_subjects",
        consent.declare_subjects(data, 2, protocol.ADDRESS_SUBJECT, sender=owner),
    )
    consent.declare_subjects(holders, 3, protocol.COMMITMENT_SUBJECT, sender=owner)
    consent.declare_subjects(others, 2, protocol.ADDRESS_SUBJECT, sender=owner)

    def path(i):
        return list(merkle.inclusion_proof(leaves, i).path)

    deadline = 2**64
    row = 2048
    typed = protocol.typed_data(data, row, deadline, chain.chain_id, consent.address)
    v, r, s = protocol.split_signature(protocol.sign(typed, SUBJECT_KEY))
    tx = consent.request_withdrawal(
        data, row, (encoded[row], path(row), deadline, v, r, s, ZERO32), sender=relayer
    )
    gas_log("consent: request_withdrawal (subject's signature, relayed; 4096 rows)", tx)
    tx = consent.request_withdrawal(
        others, 1001, (encoded[1001], path(1001), 0, 0, ZERO32, ZERO32, ZERO32), sender=accounts[3]
    )
    gas_log("consent: request_withdrawal (subject sends it; 4096 rows)", tx)
    tx = consent.request_withdrawal(
        holders, 7, (encoded[7], path(7), 0, 0, ZERO32, ZERO32, _secret(7)), sender=relayer
    )
    gas_log("consent: request_withdrawal (commitment's secret; 4096 rows)", tx)
    no_proof = (b"", [], 0, 0, ZERO32, ZERO32, ZERO32)
    tx = consent.request_withdrawal(others, 3000, no_proof, sender=owner)
    gas_log("consent: request_withdrawal (by the owner)", tx)

    # The answer: a private new version without row 2048, its claim finalised.
    dropped = {row}
    kept_rows = [e for i, e in enumerate(encoded) if i not in dropped]
    new, _ = _register(registry, owner, 3, kept_rows, parents=[data], private=True, version_of=data)
    fates, kept = [], 0
    for i in range(ROWS):
        if i in dropped:
            fates.append(FateRecord(i, False, None, kept, 0, None).encode())
        else:
            fates.append(FateRecord(i, True, kept, kept, None, None).encode())
            kept += 1
    fate_leaves = [merkle.leaf_hash(f) for f in fates]
    token.approve(proofs, BOND, sender=owner)
    tx = proofs.submit_claim(data, new, _cid(4), _cid(5), merkle.root(fate_leaves), sender=owner)
    claim_id = int(tx.decode_logs(proofs.ClaimSubmitted)[0].claim_id)
    chain.mine(CHALLENGE + 1)
    proofs.finalize(claim_id, sender=owner)

    def opening(i):
        return (i, fates[i], list(merkle.inclusion_proof(fate_leaves, i).path))

    tx = consent.answer(data, claim_id, [opening(row)], sender=owner)
    gas_log("consent: answer (one row, 4096 rows; finalised claim)", tx)
    # Sales of a version descending from a superseded dataset: the walk reads both.
    republished, _ = _register(registry, owner, 6, kept_rows[:10], parents=[new], private=True)
    market.list_dataset(republished, token, PRICE, 3600, 1000, b"\x01" * 32, sender=owner)
    for account in (accounts[4], buyer):  # an earlier sale, then the measured one
        token.approve(market, PRICE, sender=account)
        tx = market.buy(republished, token, PRICE, 3600, b"\x42" * 32, sender=account)
    gas_log("market: buy (new buyer, 2 ancestors, the first superseded: Consent walks both)", tx)

    # A request made after the answer, forwarded to the row it became in the new version.
    consent.request_withdrawal(data, 3000, no_proof, sender=owner)
    tx = consent.forward(data, opening(3000), sender=relayer)
    assert tx.decode_logs(consent.WithdrawalForwarded)
    gas_log("consent: forward (kept row moves to the new version)", tx)
