"""Gas of the registry's operations in the states their budgets assume.

Run by `make test` (the operations must succeed) and by `make bench`, which sets
DATASOIL_GAS_OUT so the figures land in bench/gas.md. No gas is asserted here.
"""

from __future__ import annotations

import hashlib

DAG_PB, RAW = 0x70, 0x55


def _args(seed: int, parents: list[int], version_of: int = 0) -> tuple:
    digest = hashlib.sha256(b"content%d" % seed).digest()
    meta = hashlib.sha256(b"meta%d" % seed).digest()
    root = hashlib.sha256(b"root%d" % seed).digest()
    return (
        ((1 << 64) | RAW, digest),
        root,
        1000 + seed,
        False,
        ((1 << 64) | DAG_PB, meta),
        "CC-BY-4.0",
        parents,
        version_of,
    )


def test_gas__register(registry, owner, other, gas_log):
    # The first registration ever writes the counter from zero; budgets are steady state.
    for seed in range(1, 9):
        registry.register(*_args(seed, []), sender=owner)
    log = gas_log
    log("registry: register, no parents", registry.register(*_args(9, []), sender=other))
    log("registry: register, two parents", registry.register(*_args(10, [1, 2]), sender=other))
    log(
        "registry: register, eight parents",
        registry.register(*_args(11, list(range(1, 9))), sender=other),
    )
    log("registry: register, new version", registry.register(*_args(12, [], 9), sender=other))
    log("registry: propose_owner", registry.propose_owner(9, owner, sender=other))
    log("registry: accept_owner", registry.accept_owner(9, sender=owner))
