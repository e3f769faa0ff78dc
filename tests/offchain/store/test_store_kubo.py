"""KuboStore against a real IPFS daemon (js-ipfs 0.66.1) on loopback."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from multiformats import CID

from datasoil.errors import BackendUnavailable, CidMismatch, NotFound
from datasoil.formats import unixfs
from datasoil.store import KuboStore, LocalStore, Store
from datasoil.store.car import export_car, import_car

HELLO = b"hello world\n"


def _data(n: int, seed: int = 3) -> bytes:
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        out += x.to_bytes(8, "little")
    return bytes(out[:n])


def _v1(cid: CID) -> str:
    return str(cid.set(version=1, base="base32"))


@pytest.fixture
def kubo(jsipfs_api: str) -> Iterator[KuboStore]:
    with KuboStore(jsipfs_api, timeout=20) as store:
        yield store


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "a.txt").write_bytes(HELLO)
    (root / "sub" / "big.bin").write_bytes(_data(700_000))
    return root


def _node_add(api: str, path: Path, profile: str) -> str:
    """js-ipfs's own `add` of one file under a legacy profile's options."""
    params = {"only-hash": "true"}
    if profile == "kubo-cidv1":  # js-ipfs cannot print a CIDv0 in base32
        params.update({"cid-version": "1", "raw-leaves": "true", "cid-base": "base32"})
    with path.open("rb") as fh:
        r = httpx.post(
            f"{api}/api/v0/add", params=params, files={"file": (path.name, fh)}, timeout=60
        )
    r.raise_for_status()
    return str(json.loads(r.text.splitlines()[-1])["Hash"])


def test_kubo_store__satisfies_the_store_protocol(kubo: KuboStore) -> None:
    assert isinstance(kubo, Store)
    assert kubo.version()


@pytest.mark.parametrize("profile", ["unixfs-v0-2015", "kubo-cidv1"])
def test_add_bytes__legacy_profiles_match_the_nodes_own_add(
    kubo: KuboStore, jsipfs_api: str, tmp_path: Path, profile: str
) -> None:
    # js-ipfs predates IPIP-499, so only the legacy profiles are cross-checked with it.
    f = tmp_path / "f.bin"
    f.write_bytes(_data(600_000, seed=11))  # 3 chunks of 256 KiB
    cid = kubo.add_path(f, profile)
    node_cid = _node_add(jsipfs_api, f, profile)
    assert _v1(cid) == _v1(CID.decode(node_cid))
    assert b"".join(kubo.cat(cid)) == f.read_bytes()


@pytest.mark.parametrize("profile", sorted(unixfs.PROFILES))
def test_add_path__directory_is_pinned_and_round_trips(
    kubo: KuboStore, tree: Path, tmp_path: Path, profile: str
) -> None:
    cid = kubo.add_path(tree, profile)
    assert cid == unixfs.add_path(tree, unixfs.PROFILES[profile]).cid
    assert _v1(cid) in {_v1(c) for c in kubo.pins()}
    assert kubo.has(cid)
    out = tmp_path / "out"
    kubo.get(cid, out)
    assert (out / "sub" / "big.bin").read_bytes() == (tree / "sub" / "big.bin").read_bytes()
    assert (out / "sub" / "empty").is_dir()
    # The node walks the DAG itself: its `ls` names the same entries.
    r = httpx.post(f"{kubo.url}/api/v0/ls", params={"arg": str(cid)}, timeout=20)
    names = sorted(link["Name"] for link in r.json()["Objects"][0]["Links"])
    assert names == ["a.txt", "sub"]


def test_unpin__removes_the_pin_and_second_time_is_not_found(kubo: KuboStore) -> None:
    cid = kubo.add_bytes(_data(5000, seed=5), "unixfs-v1-2025")
    assert _v1(cid) in {_v1(c) for c in kubo.pins()}
    kubo.unpin(cid)
    assert _v1(cid) not in {_v1(c) for c in kubo.pins()}
    with pytest.raises(NotFound):
        kubo.unpin(cid)


def test_add_bytes__unpinned_add_is_stored_but_not_pinned(kubo: KuboStore) -> None:
    cid = kubo.add_bytes(_data(3000, seed=9), "unixfs-v1-2025", pin=False)
    assert kubo.has(cid)
    assert _v1(cid) not in {_v1(c) for c in kubo.pins()}


def test_put_and_get_block__round_trip_and_mismatch(kubo: KuboStore) -> None:
    added = unixfs.add_bytes(b"one block", unixfs.PROFILES["kubo-cidv1"])
    kubo.put_block(added.cid, b"one block")
    assert kubo.get_block(added.cid) == b"one block"
    with pytest.raises(CidMismatch):
        kubo.put_block(added.cid, b"another block")


def test_get_block__absent_is_not_found(kubo: KuboStore) -> None:
    absent = unixfs.add_bytes(b"never added to the node", unixfs.PROFILES["kubo-cidv1"]).cid
    quick = KuboStore(kubo.url, timeout=3, retries=0)
    assert not quick.has(absent)
    with pytest.raises(NotFound):
        quick.get_block(absent)


def test_car__local_export_imports_into_the_node(
    kubo: KuboStore, tree: Path, tmp_path: Path
) -> None:
    local = LocalStore(tmp_path / "local")
    cid = local.add_path(tree, "unixfs-v1-2025")
    car = tmp_path / "t.car"
    export_car(local, [cid], car)
    assert import_car(kubo, car) == (cid,)
    assert _v1(cid) in {_v1(c) for c in kubo.pins()}
    # And the node's own dag/export reads back into a fresh local store.
    r = httpx.post(f"{kubo.url}/api/v0/dag/export", params={"arg": str(cid)}, timeout=30)
    r.raise_for_status()
    back = tmp_path / "back.car"
    back.write_bytes(r.content)
    fresh = LocalStore(tmp_path / "fresh")
    assert fresh.import_car(back) == (cid,)
    assert (
        b"".join(fresh.cat(unixfs.add_path(tree / "a.txt", unixfs.PROFILES["unixfs-v1-2025"]).cid))
        == HELLO
    )


# -- a node that is down, and one that lies ----------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_node_down__backend_unavailable_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    store = KuboStore(url, timeout=2, retries=1, backoff=0.01)
    with pytest.raises(BackendUnavailable, match=url.replace(".", r"\.")):
        store.add_bytes(HELLO)
    with pytest.raises(BackendUnavailable, match="not reachable"):
        store.get_block(CID.decode("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"))


class _LyingNode(http.server.BaseHTTPRequestHandler):
    """A fake RPC endpoint that accepts every import and reports another root."""

    other_root = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is not None:
            self.rfile.read(int(length))
        elif self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        if self.path.startswith("/api/v0/version"):
            body = {"Version": "lying-0.0"}
        elif self.path.startswith("/api/v0/dag/import"):
            body = {"Root": {"Cid": {"/": self.other_root}, "PinErrorMsg": ""}}
        elif self.path.startswith("/api/v0/block/get"):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"wrong")
            return
        else:
            body = {}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lying_node() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_node_reports_another_root__cid_mismatch(lying_node: str) -> None:
    store = KuboStore(lying_node, timeout=5)
    with pytest.raises(CidMismatch, match="reports root"):
        store.add_bytes(_data(2000), "unixfs-v1-2025")


def test_node_returns_other_bytes__cid_mismatch_and_nothing_written(
    lying_node: str, tmp_path: Path
) -> None:
    store = KuboStore(lying_node, timeout=5)
    cid = CID.decode("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")
    with pytest.raises(CidMismatch):
        store.get_block(cid)
    with pytest.raises(CidMismatch):
        store.get(cid, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
