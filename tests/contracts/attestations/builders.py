"""Datasets and attestation fields for the Attestations tests, on titanoboa (this folder)
or on ape alike (tests/e2e/test_attestations_client.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from datasoil.formats.cid import CidTuple

DAG_PB = 0x70
RAW = 0x55
METRIC = bytes.fromhex("aa" * 32)  # any 32 bytes serve as a metric-set id
FAR = 2**63  # a deadline far in the future


def root(seed: int) -> bytes:
    return hashlib.sha256(b"root%d" % seed).digest()


def vrs(sig: bytes) -> tuple[int, bytes, bytes]:
    """The contract's Signature struct from 65 bytes r ++ s ++ v, without any checks."""
    return (sig[64], sig[:32], sig[32:64])


def report(seed: int = 1) -> CidTuple:
    return CidTuple(1, RAW, hashlib.sha256(b"report%d" % seed).digest())


def register_datasets(registry: Any, owner: Any) -> int:
    """Registers dataset 1 (row root ``root(1)``) and 2 (``root(2)``); returns 1."""
    for seed in (1, 2):
        registry.register(
            ((1 << 64) | DAG_PB, hashlib.sha256(b"cid%d" % seed).digest()),
            root(seed),
            10,
            False,
            ((1 << 64) | 0x0129, hashlib.sha256(b"meta%d" % seed).digest()),
            "CC-BY-4.0",
            [],
            0,
            sender=owner,
        )
    return 1
