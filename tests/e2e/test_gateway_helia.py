"""datasoil's content against helia, the maintained JavaScript IPFS (tests/helia/).

- Two helia peers in separate node processes on loopback (TCP, bitswap): one takes the
  CAR datasoil exports for a dataset, the other retrieves every block from it over
  libp2p and hands them back as a CAR; datasoil verifies and exports it, and helia's
  own UnixFS reader cats the files: the bytes equal the originals.
- @helia/verified-fetch, with datasoil's gateway as its only trustless gateway, fetches
  a public file, a directory (by path and as a CAR) and a private ciphertext,
  verifying every block itself: byte-identical. A gateway that serves one damaged
  block makes it fail, never return a wrong file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasoil.app import gateway
from datasoil.formats import crypto
from datasoil.store.base import as_cid
from datasoil.store.car import export_car, import_car, iter_dag
from datasoil.store.local import LocalStore

NPM_DIR = Path(__file__).resolve().parents[1] / "helia"
DRIVER = NPM_DIR / "peer.mjs"


@pytest.fixture(scope="module")
def node_bin() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed: no helia to run")
    if not (NPM_DIR / "node_modules" / "helia").is_dir():
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            pytest.fail(f"npm ci failed in {NPM_DIR}: {run.stderr.strip()[-300:]}")
    return node


class Helia:
    """One helia process (tests/helia/peer.mjs), one JSON line per request and answer."""

    def __init__(self, node: str, log: Path, *args: str) -> None:
        self._start([node, str(DRIVER), *args], log, cwd=NPM_DIR)

    def _start(self, argv: list[str], log: Path, **popen: Any) -> None:
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            **popen,
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=5)
            raise AssertionError(f"helia exited: {Path(self._log.name).read_text()[-2000:]}")
        return dict(json.loads(line))

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def ok(self, **request: Any) -> Any:
        answer = self.ask(**request)
        assert "error" not in answer, answer["error"]
        return answer["ok"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def people_tree(base: Path, rows: int, blob_bytes: int) -> Path:
    """``base/people``: a CSV of ``rows`` rows, ``parts/blob.bin`` of random bytes, a README."""
    tree = base / "people"
    (tree / "parts").mkdir(parents=True)
    (tree / "people.csv").write_bytes(
        b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(rows))
    )
    (tree / "parts" / "blob.bin").write_bytes(os.urandom(blob_bytes))
    (tree / "README.md").write_text("# people\n")
    return tree


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict[str, Any]:
    """A dataset in a datasoil store: a directory of files over several blocks, a private
    ciphertext, and the CAR datasoil exports for the directory."""
    base = tmp_path_factory.mktemp("helia")
    store = LocalStore(base / "ipfs")
    tree = people_tree(base, 400_000, 2_500_000)
    root = store.add_path(tree)
    key = crypto.new_content_key()
    crypto.encrypt_file(tree / "people.csv", base / "people.csv.enc", key)
    private = store.add_path(base / "people.csv.enc")
    car = base / "people.car"
    export_car(store, [root], car)
    return {
        "base": base,
        "store": store,
        "tree": tree,
        "root": root,
        "car": car,
        "private": private,
        "ciphertext": base / "people.csv.enc",
    }


@pytest.fixture(scope="module")
def peers(node_bin, dataset) -> Iterator[tuple[Helia, Helia]]:
    base = dataset["base"]
    seeder = Helia(node_bin, base / "seeder.log", "peer")
    leecher = Helia(node_bin, base / "leecher.log", "peer")
    yield seeder, leecher
    seeder.stop()
    leecher.stop()


def _files(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()
    }


def test_helia_peers__every_block_over_bitswap_on_loopback_equals_the_original(
    peers, dataset, tmp_path
):
    seeder, leecher = peers
    assert all(
        a.startswith("/ip4/127.0.0.1/tcp/") for a in seeder.ready["addrs"] + leecher.ready["addrs"]
    )
    store, root = dataset["store"], dataset["root"]
    imported = seeder.ok(op="import", car=str(dataset["car"]))
    expected = list(iter_dag(store.get_block, [root]))
    assert imported == {"roots": [str(root)], "blocks": len(expected)}

    leecher.ok(op="dial", addr=seeder.ready["addrs"][0])
    got = leecher.ok(op="get", cid=str(root), car=str(tmp_path / "back.car"))
    assert got == {"blocks": len(expected), "heldBefore": False}

    # datasoil takes the blocks back from helia: each verified, the tree byte-identical.
    fresh = LocalStore(tmp_path / "fresh")
    assert import_car(fresh, tmp_path / "back.car") == (root,)
    fresh.get(root, tmp_path / "out")
    assert _files(tmp_path / "out") == _files(dataset["tree"])
    # and helia's own UnixFS reader agrees on a multi-block file.
    cat = leecher.ok(op="cat", cid=str(root), path="parts/blob.bin", out=str(tmp_path / "blob"))
    assert cat["bytes"] == 2_500_000
    assert (tmp_path / "blob").read_bytes() == (dataset["tree"] / "parts" / "blob.bin").read_bytes()


@pytest.fixture(scope="module")
def served(dataset) -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    gw = gateway.Gateway(None, dataset["store"], dist=dataset["base"] / "dist")
    server = gateway.serve(gw, 0, log=requests.append)
    yield server.url, requests
    server.shutdown()


@pytest.fixture(scope="module")
def verified_fetch(node_bin, dataset, served) -> Iterator[Helia]:
    client = Helia(node_bin, dataset["base"] / "fetch.log", "fetch", served[0])
    yield client
    client.stop()


def test_verified_fetch__public_file_directory_and_ciphertext_are_byte_identical(
    verified_fetch, dataset, served, tmp_path
):
    root, tree = dataset["root"], dataset["tree"]
    for rel in ("people.csv", "parts/blob.bin", "README.md"):
        out = tmp_path / rel.replace("/", "_")
        got = verified_fetch.ok(op="fetch", url=f"ipfs://{root}/{rel}", out=str(out))
        assert got["status"] == 200, got
        assert out.read_bytes() == (tree / rel).read_bytes()

    # The directory as a CAR that verified-fetch assembles from blocks it verified.
    got = verified_fetch.ok(
        op="fetch",
        url=f"ipfs://{root}",
        out=str(tmp_path / "dir.car"),
        accept="application/vnd.ipld.car",
    )
    assert got["status"] == 200, got
    fresh = LocalStore(tmp_path / "fresh")
    import_car(fresh, tmp_path / "dir.car")
    fresh.get(root, tmp_path / "dir")
    assert _files(tmp_path / "dir") == _files(tree)

    private = dataset["private"]
    got = verified_fetch.ok(op="fetch", url=f"ipfs://{private}", out=str(tmp_path / "enc"))
    assert got["status"] == 200, got
    assert (tmp_path / "enc").read_bytes() == dataset["ciphertext"].read_bytes()

    # It asked datasoil's gateway for verifiable blocks, never for a deserialized file.
    requests = served[1]
    assert requests and all(
        "format=raw" in r or "format=car" in r for r in requests if "/ipfs/" in r
    )


def _lying_gateway(store: LocalStore) -> gateway.Server:
    """A trustless gateway that answers block files as they are on disk, unverified."""
    from aiohttp import web

    async def raw(request: web.Request) -> web.Response:
        cid = as_cid(request.match_info["cid"])
        return web.Response(body=store._path(cid).read_bytes(), content_type=gateway.RAW_TYPE)

    app = web.Application()
    app.router.add_get("/ipfs/{cid}", raw)
    return gateway.Server(app, "127.0.0.1", 0)


@pytest.mark.parametrize("liar", [False, True], ids=["datasoil-refuses", "gateway-lies"])
def test_verified_fetch__a_damaged_block_fails_never_a_wrong_file(node_bin, tmp_path, liar):
    store = LocalStore(tmp_path / "ipfs")
    data = os.urandom(3_300_000)
    cid = store.add_bytes(data)
    leaf = list(iter_dag(store.get_block, [cid]))[3][0]
    path = store._path(leaf)
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0x01
    path.write_bytes(bytes(damaged))
    if liar:
        server = _lying_gateway(store)
    else:
        server = gateway.serve(gateway.Gateway(None, store, dist=tmp_path / "dist"), 0)
    client = Helia(node_bin, tmp_path / "fetch.log", "fetch", server.url)
    try:
        control = store.add_bytes(data[:1_500_000])  # sound blocks pass through either gateway
        good = client.ok(op="fetch", url=f"ipfs://{control}", out=str(tmp_path / "good"))
        assert good["status"] == 200 and (tmp_path / "good").read_bytes() == data[:1_500_000]
        answer = client.ask(
            op="fetch", url=f"ipfs://{cid}", out=str(tmp_path / "out"), timeout=3000
        )
    finally:
        client.stop()
        server.shutdown()
    assert "error" in answer or answer["ok"]["status"] != 200, answer
    assert not (tmp_path / "out").exists()
