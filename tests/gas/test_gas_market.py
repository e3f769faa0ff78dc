"""Gas of AccessMarket's budgeted operations, in the storage state each budget assumes.

Run by `make test` (the operations must succeed) and by `make bench`, which sets
DATASOIL_GAS_OUT so the figures land in bench/gas.md. No gas is asserted here.

States: every account involved already holds the token; the market already holds
escrow from an earlier purchase; `purchase_count` is non-zero; the market is bound to a
Consent contract (as deployed), with no withdrawal in the dataset's lineage. The envelope is a
real `x25519-xsalsa20-poly1305` envelope from datasoil.formats.crypto (canonical JSON).
"""

from __future__ import annotations

import hashlib

from datasoil.flows import access
from datasoil.formats import crypto
from tests.gas._consent import deploy_consent

PRICE = 10**18
DURATION = 30 * 86400


def _cid(registry, seed):
    digest = hashlib.sha256(b"gas%d" % seed).digest()
    (abi,) = [a for a in registry.contract_type.abi if getattr(a, "name", "") == "register"]
    return (1, 0x70, digest) if len(abi.inputs[0].components) == 3 else ((1 << 64) | 0x70, digest)


def _register(registry, sender, seed, parents=()):
    tx = registry.register(
        _cid(registry, seed),
        hashlib.sha256(b"root%d" % seed).digest(),
        100,
        True,
        _cid(registry, 1000 + seed),
        "CC-BY-4.0",
        list(parents),
        0,
        sender=sender,
    )
    return int(tx.decode_logs(registry.DatasetRegistered)[0].dataset_id)


def _envelope() -> bytes:
    secret = b"\x07" * 32
    return crypto.envelope_to_bytes(
        crypto.seal_key(crypto.encryption_public_key(secret), crypto.new_content_key())
    )


def test_gas__market(project, chain, deployer, registry, token, accounts, gas_log):
    ancestor_owner, seller, early, buyer = accounts[1], accounts[2], accounts[3], accounts[5]
    window = 60
    market = deployer.deploy(project.AccessMarket, registry, 600, window, window)
    market.set_token_allowed(token, True, sender=deployer)
    market.set_consent(deploy_consent(project, deployer, registry, token)[0], sender=deployer)
    root = _register(registry, ancestor_owner, 1)
    child = _register(registry, seller, 2, [root])
    commitment = access.key_commitment(b"\x07" * 32)
    market.list_dataset(child, token, PRICE, DURATION, 1000, commitment, sender=seller)
    key = b"\x42" * 32
    envelope = _envelope()

    def terms(pid):
        return access.purchase_terms(market, pid)[0].as_arg()

    # An earlier sale: the market holds tokens, seller and ancestor hold credits.
    token.approve(market, PRICE, sender=early)
    market.buy(child, token, PRICE, DURATION, key, sender=early)
    market.deliver_key(1, terms(1), envelope, sender=seller)
    chain.pending_timestamp += window
    market.settle(1, terms(1), sender=seller)
    token.approve(market, PRICE, sender=early)
    market.buy(child, token, PRICE, DURATION, key, sender=early)  # stays in escrow

    token.approve(market, PRICE, sender=buyer)
    receipt = market.buy(child, token, PRICE, DURATION, key, sender=buyer)
    gas_log("market: buy (new buyer, existing listing, 1 ancestor, exact allowance)", receipt)
    pid = int(receipt.decode_logs(market.Purchased)[0].purchase_id)

    receipt = market.deliver_key(pid, terms(pid), envelope, sender=seller)
    gas_log(f"market: deliver_key (new buyer, {len(envelope)}-byte envelope)", receipt)

    chain.pending_timestamp += window
    receipt = market.settle(pid, terms(pid), sender=seller)
    assert len(receipt.decode_logs(market.Credited)) == 2
    gas_log("market: settle (seller + 1 ancestor holding credits)", receipt)

    receipt = market.withdraw(token, sender=ancestor_owner)
    gas_log("market: withdraw (market keeps a balance, receiver holds the token)", receipt)
