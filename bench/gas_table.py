"""Assemble bench/gas.md from the per-module gas records of tests/gas (see bench/run.sh)."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

# Budgets from the issues: operation -> max gas. Operations without a budget are listed
# for reference; quoted figures (EAS, Ocean) are recorded by the gas tests themselves.
BUDGETS = {
    "registry: register, no parents": 80_000,
    "registry: register, two parents": 105_000,
    "attest: relayed, new attester, new (dataset, metric set)": 85_000,
    "attest: relayed, repeat by the same attester": 50_000,
    "market: buy (new buyer, existing listing, 1 ancestor, exact allowance)": 130_000,
    "market: deliver_key (new buyer, 269-byte envelope)": 110_000,
    "market: withdraw (market keeps a balance, receiver holds the token)": 60_000,
    "models: register_model (2 datasets, 1 receipt)": 150_000,
    "models: buy_model (owner + 2 datasets + 2 ancestors holding credits, new buyer)": 220_000,
    "disputes: answer_row, 16 columns through 6 steps, 4096 rows (depth 12)": 1_500_000,
    "consent: request_withdrawal (subject's signature, relayed; 4096 rows)": 120_000,
    "consent: answer (one row, 4096 rows; finalised claim)": 150_000,
}
# Figures published by others, for comparison (not measured here).
QUOTED = [
    ("Ocean: startOrder (published figure, plus the datatoken purchase)", "~112,000"),
]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def main(directory: str) -> None:
    records: dict[str, int] = {}
    for path in sorted(Path(directory).glob("*.json")):
        records.update(json.loads(path.read_text()))
    import subprocess

    try:
        anvil = subprocess.run(
            [".venv/bin/anvil", "--version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0]
    except OSError:
        anvil = "anvil ?"
    print("# Gas snapshot")
    print()
    print("Produced by `make bench` (bench/run.sh: `ape test tests/gas` with DATASOIL_GAS_OUT set,")
    print("then `python bench/gas_table.py bench/gas > bench/gas.md`). Anvil, hardfork prague,")
    print("base fee 0. Every figure is a transaction's `gas_used`")
    print("(21,000 base + calldata + execution).")
    print()
    print(
        f"Toolchain: vyper {_version('vyper')}, snekmate {_version('snekmate')}, "
        f"eth-ape {_version('eth-ape')}, ape-foundry {_version('ape-foundry')}, "
        f"{anvil}, python {platform.python_version()}."
    )
    print()
    print("| operation | gas | budget | within |")
    print("| --- | ---: | ---: | :---: |")
    for operation in sorted(records):
        gas = records[operation]
        budget = BUDGETS.get(operation)
        within = "" if budget is None else ("yes" if gas <= budget else "**no**")
        shown = "" if budget is None else f"{budget:,}"
        print(f"| {operation} | {gas:,} | {shown} | {within} |")
    print()
    print("Quoted for comparison (not measured here):")
    print()
    for name, figure in QUOTED:
        print(f"- {name}: {figure}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/gas")
