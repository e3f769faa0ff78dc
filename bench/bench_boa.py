"""Contract-call cost for tests: the same DatasetRegistry.register on titanoboa (py-evm in
process) and through ape on a fresh anvil, in one run, as a ratio.

Usage:  .venv/bin/python bench/bench_boa.py [--calls N] [--out bench/boa.md]

The anvil side starts its own node on a free port (never the persistent one) the way the
test suite does, and times `registry.register(...)` transactions (ape waits for each
receipt); the boa side times the same call on the same compiled source.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "offchain"))


def _args(i: int) -> tuple:
    digest = hashlib.sha256(i.to_bytes(8, "big")).digest()
    cid = ((1 << 64) | 0x55, digest)
    return (cid, digest, 1 + i, False, cid, "MIT", [], 0)


def time_boa(n: int) -> float:
    import boa

    registry = boa.load_partial(str(ROOT / "contracts" / "DatasetRegistry.vy")).deploy()
    registry.register(*_args(0))  # warm
    start = time.perf_counter()
    for i in range(1, n + 1):
        registry.register(*_args(i))
    return (time.perf_counter() - start) / n


def time_anvil(n: int) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ["APE_FOUNDRY_HOST"] = f"http://127.0.0.1:{s.getsockname()[1]}"
    os.chdir(ROOT)
    # anvil is linked into the venv's bin (make install); find it without activation
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    from ape import accounts, networks, project

    with networks.ethereum.local.use_provider("foundry"):
        sender = accounts.test_accounts[0]
        registry = sender.deploy(project.DatasetRegistry)
        registry.register(*_args(0), sender=sender)
        start = time.perf_counter()
        for i in range(1, n + 1):
            registry.register(*_args(i), sender=sender)
        return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "boa.md")
    args = parser.parse_args()
    boa_s = time_boa(args.calls)
    anvil_s = time_anvil(args.calls)
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("titanoboa", "eth-ape", "ape-foundry")
    )
    text = f"""# Contract calls for tests: titanoboa against ape + anvil

Produced by `.venv/bin/python bench/bench_boa.py --calls {args.calls}` (in `make bench`),
one run, same machine, same source (`contracts/DatasetRegistry.vy`, `register` with no
parents). {versions}. Machines here are noisy: read the ratio.

| runner | per `register` | calls |
| --- | ---: | ---: |
| ape + anvil (a transaction, receipt awaited) | {anvil_s * 1e3:.2f} ms | {args.calls} |
| titanoboa (py-evm in process) | {boa_s * 1e3:.2f} ms | {args.calls} |
| **ratio** | **{anvil_s / boa_s:.0f}x** | |

Why the state machines moved (tests/boa/): at this ratio the registry machine runs
48 examples x 30 steps on boa in less time than 12 x 12 took on anvil.
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
