from __future__ import annotations

import hashlib

import pytest

from tests.contracts._boa import *  # noqa: F403

DAG_PB = 0x70
RAW = 0x55
EMPTY_ROOT = hashlib.sha256(b"").digest()


def prefix(version: int, codec: int) -> int:
    """The registry's CID prefix word: version in bits 64-71, codec in bits 0-63."""
    return (version << 64) | codec


def cid(seed: int, version: int = 1, codec: int = DAG_PB) -> tuple[int, bytes]:
    """A (prefix, digest) pair with a digest derived from ``seed``."""
    return (prefix(version, codec), hashlib.sha256(b"cid%d" % seed).digest())


def root(seed: int) -> bytes:
    return hashlib.sha256(b"root%d" % seed).digest()


@pytest.fixture
def register(registry, owner):
    """Registers a dataset with sensible defaults (keyword arguments override them);
    returns its id."""

    def _register(sender=None, *, seed=1, parents=(), version_of=0, **kw):
        args = dict(
            content_cid=cid(seed),
            row_root=root(seed),
            row_count=10 + seed,
            private=False,
            metadata_cid=cid(1000 + seed, 1, 0x0129),
            license="CC-BY-4.0",
            parents=list(parents),
            version_of=version_of,
        )
        args.update(kw)
        return registry.register(*args.values(), sender=sender or owner)

    return _register
