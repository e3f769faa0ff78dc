"""The buyer, as its own process: own DATASOIL_HOME (store, keys), shares only the chain
URL (APE_FOUNDRY_HOST) and the gateways (DATASOIL_GATEWAYS) with the seller.

argv: registry market token dataset_id. Prints ``bought``, then waits for the seller's
keeper, fetches the ciphertext through the gateways (every block verified), decrypts,
checks the plaintext CID and keyed row root, and prints the rows as JSON.
"""

from __future__ import annotations

import json
import sys

from ape import accounts, networks, project

import datasoil
from datasoil import config
from datasoil.chain.registry import Registry
from datasoil.flows import access
from datasoil.store import open_store
from datasoil.store.gateway import open_gateways


def main() -> None:
    registry_address, market_address, token_address, dataset_id = sys.argv[1:5]
    with networks.parse_network_choice("ethereum:local:foundry"):
        buyer = accounts.test_accounts[5]
        market = project.AccessMarket.at(market_address)
        token = project.DemoToken.at(token_address)
        registry = Registry(project.DatasetRegistry.at(registry_address))
        chain_id = networks.provider.chain_id
        _secret, public = access.encryption_keypair(buyer, chain_id)
        access.buy(market, token, int(dataset_id), public, sender=buyer)
        print("bought", flush=True)
        warnings: list[str] = []
        store = open_gateways(cache=open_store(), warn=warnings.append)
        table = datasoil.load(
            int(dataset_id), registry=registry, store=store, account=buyer, market=market
        )
        print(
            json.dumps(
                {
                    "rows": table.to_pylist(),
                    "warnings": warnings,
                    "home": str(config.home().resolve()),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
