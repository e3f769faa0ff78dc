"""A third party with no account and no ape project: web3.py, an RPC URL and gateways.

argv: rpc_url registry dataset_id. Prints the verified rows, the gateways' warnings and
whether ape was ever imported, as JSON.
"""

from __future__ import annotations

import json
import logging
import sys

import datasoil


def main() -> None:
    rpc_url, registry_address, dataset_id = sys.argv[1:4]
    logging.basicConfig(level=logging.WARNING)
    table = datasoil.load(int(dataset_id), rpc_url=rpc_url, registry_address=registry_address)
    print(json.dumps({"rows": table.to_pylist(), "ape": "ape" in sys.modules}), flush=True)


if __name__ == "__main__":
    main()
