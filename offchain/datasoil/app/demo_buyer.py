"""The demo's buyer as a second party: ``python -m datasoil.app.demo_buyer``.

Run by the market stage of :mod:`datasoil.app.demo` in its own process with its own
``DATASOIL_HOME`` (its own store, keys and state), sharing only the chain (ape's local
network) and the seller's gateway (``DATASOIL_GATEWAYS``) with the seller. It buys the
dataset with a wallet-derived X25519 key, waits for the seller's keeper to deliver the
content key, fetches the ciphertext through the gateway (every block checked against its
CID), decrypts, checks the plaintext CID and the keyed row root, loads the rows and fits
the demo's small model on them.

argv: ``ACCOUNT_INDEX REGISTRY MARKET TOKEN DATASET_ID``. Prints what it does, one line
each, then a JSON line: ``purchase``, ``rows``, ``columns``, ``blocks`` (fetched into its
own store), ``warnings`` (from the gateway client) and ``home``.
"""

from __future__ import annotations

import json
import sys

__all__ = ["main"]


def main(argv: list[str]) -> None:
    """Buy, wait for the key, fetch through the gateways, verify, decrypt, load and train."""
    from ape import accounts, networks, project

    from datasoil import config
    from datasoil.app.demo import train_line
    from datasoil.chain.registry import Registry
    from datasoil.flows import access, loader
    from datasoil.store import open_store
    from datasoil.store.gateway import open_gateways

    index, registry_address, market_address, token_address, dataset = argv
    dataset_id = int(dataset)
    with networks.parse_network_choice("ethereum:local:foundry"):
        buyer = accounts.test_accounts[int(index)]
        market = project.AccessMarket.at(market_address)
        token = project.DemoToken.at(token_address)
        registry = Registry(project.DatasetRegistry.at(registry_address))
        _secret, public = access.encryption_keypair(buyer, int(networks.provider.chain_id))
        purchase = access.buy(market, token, dataset_id, public, sender=buyer)
        print(f"purchase #{purchase} pending; waiting for the seller's keeper", flush=True)
        warnings: list[str] = []
        store = open_gateways(cache=open_store(), warn=warnings.append)
        print(f"fetching through {', '.join(config.gateways())}", flush=True)
        table = loader.load(
            dataset_id, registry=registry, store=store, account=buyer, market=market
        )
        print(f"{table.num_rows} verified rows, columns {table.column_names}", flush=True)
        print(train_line(table), flush=True)
    blocks = config.ipfs_path() / "blocks"
    summary = {
        "purchase": purchase,
        "rows": table.num_rows,
        "columns": table.column_names,
        "blocks": sum(1 for p in blocks.rglob("*") if p.is_file()) if blocks.is_dir() else 0,
        "warnings": warnings,
        "home": str(config.home().resolve()),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
