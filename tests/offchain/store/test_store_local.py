"""The embedded LocalStore: round trips, pins, gc, CAR, tampering, crash safety."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import libipld
import pytest
from click.testing import CliRunner
from multiformats import CID

from datasoil.app.cli import cli
from datasoil.errors import CidMismatch, NotFound, StoreError
from datasoil.formats import unixfs
from datasoil.store import LocalStore, Store, open_store
from datasoil.store.car import CarError, export_car, import_car, read_car, write_car

PROFILES = sorted(unixfs.PROFILES)
# Vectors from issue 3 (Kubo's own outputs).
HELLO = b"hello world\n"
HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
HELLO_V1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def _data(n: int, seed: int = 1) -> bytes:
    """Deterministic incompressible-looking bytes."""
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        out += x.to_bytes(8, "little")
    return bytes(out[:n])


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "a.txt").write_bytes(HELLO)
    (root / "sub" / "big.bin").write_bytes(_data(600_000))  # 3 chunks at 256 KiB
    (root / ".hidden").write_bytes(b"left out")
    return root


def _block_file(store: LocalStore, cid: CID) -> Path:
    return store._path(cid)


def test_local_store__satisfies_the_store_protocol(store: LocalStore) -> None:
    assert isinstance(store, Store)


@pytest.mark.parametrize(
    ("profile", "expected"),
    [("unixfs-v0-2015", HELLO_V0), ("kubo-cidv1", HELLO_V1), ("unixfs-v1-2025", HELLO_V1)],
)
def test_add_bytes__gives_kubo_cid_and_cats_back(
    store: LocalStore, profile: str, expected: str
) -> None:
    cid = store.add_bytes(HELLO, unixfs.PROFILES[profile])
    assert str(cid) == expected
    assert b"".join(store.cat(cid)) == HELLO
    assert cid in store.pins() or cid.set(version=1, base="base32") in store.pins()


@pytest.mark.parametrize("profile", PROFILES)
def test_add_path__directory_round_trips_through_get(
    store: LocalStore, tree: Path, tmp_path: Path, profile: str
) -> None:
    cid = store.add_path(tree, profile)
    assert cid == unixfs.add_path(tree, unixfs.PROFILES[profile]).cid
    out = tmp_path / "out"
    store.get(cid, out)
    assert (out / "a.txt").read_bytes() == HELLO
    assert (out / "sub" / "big.bin").read_bytes() == (tree / "sub" / "big.bin").read_bytes()
    assert (out / "sub" / "empty").is_dir()
    assert not (out / ".hidden").exists()
    assert store.pin_names()[cid.set(version=1, base="base32")] == "tree"


def test_put_block__refuses_data_not_matching_the_cid(store: LocalStore) -> None:
    cid = CID.decode(HELLO_V1)
    with pytest.raises(CidMismatch):
        store.put_block(cid, b"hello world?")
    assert not store.has(cid)


def test_get_block__absent_is_not_found(store: LocalStore) -> None:
    with pytest.raises(NotFound):
        store.get_block(CID.decode(HELLO_V1))


def test_get_block__tampered_block_on_disk_is_detected(store: LocalStore, tmp_path: Path) -> None:
    cid = store.add_bytes(_data(300_000), "kubo-cidv1")
    leaf = [c for c, _ in store.walk(cid) if c.codec.name == "raw"][1]
    path = _block_file(store, leaf)
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(CidMismatch):
        store.get_block(leaf)
    with pytest.raises(CidMismatch):
        b"".join(store.cat(cid))
    out = tmp_path / "out.bin"
    with pytest.raises(CidMismatch):
        store.get(cid, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.bin")] == []


def test_get__missing_block_leaves_nothing(store: LocalStore, tree: Path, tmp_path: Path) -> None:
    cid = store.add_path(tree, "kubo-cidv1")
    victim = next(c for c, _ in store.walk(cid) if c.codec.name == "raw")
    store.delete_block(victim)
    with pytest.raises(NotFound):
        store.get(cid, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ipfs", "tree"]


def test_pin__incomplete_dag_is_refused(store: LocalStore) -> None:
    cid = store.add_bytes(_data(600_000), "kubo-cidv1", pin=False)
    victim = next(c for c, _ in store.walk(cid) if c.codec.name == "raw")
    store.delete_block(victim)
    with pytest.raises(NotFound):
        store.pin(cid)
    assert store.pins() == []


def test_unpin__not_pinned_is_not_found(store: LocalStore) -> None:
    with pytest.raises(NotFound):
        store.unpin(CID.decode(HELLO_V1))


def test_gc__removes_exactly_the_unpinned_blocks(store: LocalStore, tree: Path) -> None:
    kept = store.add_path(tree, "unixfs-v1-2025")
    dropped = store.add_bytes(_data(700_000, seed=7), "kubo-cidv1")
    shared = store.add_bytes(HELLO, "kubo-cidv1")  # also a block inside `kept`
    store.unpin(dropped)
    store.unpin(shared)
    dropped_blocks = {c for c, _ in store.walk(dropped)}
    kept_blocks = {c.set(base="base32") for c, _ in store.walk(kept)}
    result = store.gc()
    assert set(result.removed) == dropped_blocks
    assert result.bytes_freed >= 700_000
    assert set(store.iter_blocks()) == kept_blocks
    assert store.has(shared)  # reachable from `kept`
    assert store.gc().removed == ()


def test_gc__with_no_pins_empties_the_store(store: LocalStore) -> None:
    cid = store.add_bytes(HELLO, "kubo-cidv1")
    store.unpin(cid)
    assert store.gc().removed == (cid,)
    assert list(store.iter_blocks()) == []


def test_crash_mid_write__temp_file_is_ignored_and_rerun_completes(
    store: LocalStore, tree: Path
) -> None:
    cid = unixfs.add_path(tree, unixfs.PROFILES["unixfs-v1-2025"]).cid
    # Simulate a crash: some blocks written, one half-written temp file, no pin yet.
    blocks: list[tuple[CID, bytes]] = []
    unixfs.add_path(
        tree, unixfs.PROFILES["unixfs-v1-2025"], sink=lambda c, d: blocks.append((c, d))
    )
    for c, d in blocks[:2]:
        store.put_block(c, d)
    victim_cid, victim_data = blocks[2]
    shard = _block_file(store, victim_cid).parent
    shard.mkdir(exist_ok=True)
    (shard / ".tmp-crash").write_bytes(victim_data[: len(victim_data) // 2])
    assert not store.has(victim_cid)
    assert store.pins() == []
    # The rerun completes the add and gives the same root.
    assert store.add_path(tree, "unixfs-v1-2025") == cid
    assert all(store.has(c) for c, _ in blocks)
    assert {str(c) for c in store.pins()} == {str(cid)}
    result = store.gc()
    assert result.temp_files == 1
    assert result.removed == ()


def test_pins_file__is_replaced_atomically(store: LocalStore) -> None:
    a = store.add_bytes(b"a", "kubo-cidv1")
    b = store.add_bytes(b"b", "kubo-cidv1")
    assert set(store.pins()) == {a, b}
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".tmp-")] == []
    reopened = LocalStore(store.root)
    assert set(reopened.pins()) == {a, b}


def test_pins_file__corrupt_is_a_clear_error(store: LocalStore) -> None:
    (store.root / "pins.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"pins\.json"):
        store.pins()


# -- CAR ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_car__export_import_into_fresh_store_gives_same_root(
    store: LocalStore, tree: Path, tmp_path: Path, profile: str
) -> None:
    cid = store.add_path(tree, profile)
    car = tmp_path / "x.car"
    store.export_car([cid], car)
    fresh = LocalStore(tmp_path / "fresh")
    assert fresh.import_car(car) == (cid,)
    assert [str(c) for c in fresh.pins()] == [str(cid.set(version=1, base="base32"))]
    out = tmp_path / "out"
    fresh.get(cid, out)
    assert (out / "sub" / "big.bin").read_bytes() == (tree / "sub" / "big.bin").read_bytes()


def test_car__readable_by_ipld_car_with_every_reachable_block(
    store: LocalStore, tree: Path, tmp_path: Path, car_reader: Path
) -> None:
    # @ipld/car (JS) parses it and re-hashes each block independently.
    cid = store.add_path(tree, "unixfs-v0-2015")
    car = tmp_path / "x.car"
    export_car(store, [cid], car)
    out = subprocess.run(
        ["node", str(car_reader), str(car)], capture_output=True, text=True, check=True
    )
    info = json.loads(out.stdout)
    assert info["roots"] == [str(cid.set(version=1, base="base32"))]
    ours = [(str(c.set(version=1, base="base32")), len(d)) for c, d in store.walk(cid)]
    assert [(b["cid"], b["size"]) for b in info["blocks"]] == ours
    assert all(b["hash_ok"] for b in info["blocks"])
    # DAG order: every block is named by an earlier block's links (or is the root).
    seen = {info["roots"][0]}
    for b in info["blocks"]:
        assert b["cid"] in seen
        seen.update(b["links"])


def test_car__framing_readable_by_libipld(tmp_path: Path) -> None:
    # libipld.decode_car only decodes DAG-CBOR blocks, so check the header and
    # framing with DAG-CBOR blocks under CIDv1 and a CIDv0-shaped root list.
    from multiformats import multihash

    docs = [{"n": i, "s": "x" * i} for i in range(5)]
    blocks = []
    for doc in docs:
        data = libipld.encode_dag_cbor(doc)
        blocks.append((CID("base32", 1, "dag-cbor", multihash.digest(data, "sha2-256")), data))
    buf = io.BytesIO()
    write_car([blocks[0][0], blocks[3][0]], iter(blocks), buf)
    header, decoded = libipld.decode_car(buf.getvalue())
    assert header == {"version": 1, "roots": [bytes(blocks[0][0]), bytes(blocks[3][0])]}
    assert {bytes(k): v for k, v in decoded.items()} == {
        bytes(c): d for c, (d) in zip([c for c, _ in blocks], docs, strict=True)
    }
    buf.seek(0)
    h, frames = read_car(buf)
    assert h.roots == (blocks[0][0], blocks[3][0])
    assert list(frames) == blocks


def test_car__blocks_come_in_dag_order_each_once(store: LocalStore, tmp_path: Path) -> None:
    d = tmp_path / "dup"
    d.mkdir()
    (d / "x").write_bytes(HELLO)
    (d / "y").write_bytes(HELLO)  # the same leaf twice
    cid = store.add_path(d, "kubo-cidv1")
    buf = io.BytesIO()
    export_car(store, [cid], buf)
    buf.seek(0)
    _header, frames = read_car(buf)
    order = [c for c, _ in frames]
    assert order[0] == cid  # parents first
    assert len(order) == len(set(order)) == 2


def test_car__tampered_block_in_file_is_refused_and_nothing_pinned(
    store: LocalStore, tmp_path: Path
) -> None:
    cid = store.add_bytes(_data(300_000), "kubo-cidv1")
    car = tmp_path / "x.car"
    store.export_car([cid], car)
    raw = bytearray(car.read_bytes())
    raw[-10] ^= 0x01
    car.write_bytes(bytes(raw))
    fresh = LocalStore(tmp_path / "fresh")
    with pytest.raises(CidMismatch):
        fresh.import_car(car)
    assert fresh.pins() == []


def test_car__truncated_file_is_a_car_error(store: LocalStore, tmp_path: Path) -> None:
    cid = store.add_bytes(_data(1000), "kubo-cidv1")
    car = tmp_path / "x.car"
    store.export_car([cid], car)
    car.write_bytes(car.read_bytes()[:-5])
    with pytest.raises(CarError, match="truncated"):
        import_car(LocalStore(tmp_path / "fresh"), car)


def test_car__root_missing_from_car_is_not_pinned(tmp_path: Path) -> None:
    root = CID.decode(HELLO_V1)
    buf = io.BytesIO()
    write_car([root], iter([]), buf)
    buf.seek(0)
    fresh = LocalStore(tmp_path / "fresh")
    with pytest.raises(NotFound):
        import_car(fresh, buf)
    assert fresh.pins() == []


def test_car__reads_a_carv2_payload(store: LocalStore, tmp_path: Path) -> None:
    cid = store.add_bytes(HELLO, "kubo-cidv1")
    v1 = io.BytesIO()
    export_car(store, [cid], v1)
    payload = v1.getvalue()
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    offset = len(pragma) + 40 + 7  # 7 bytes of padding
    header = bytes(16) + offset.to_bytes(8, "little") + len(payload).to_bytes(8, "little")
    carv2 = pragma + header + bytes(8) + bytes(7) + payload + b"index-would-follow"
    fresh = LocalStore(tmp_path / "fresh")
    assert import_car(fresh, io.BytesIO(carv2)) == (cid,)
    assert b"".join(fresh.cat(cid)) == HELLO


# -- open_store and the CLI --------------------------------------------------------


def test_open_store__uses_datasoil_ipfs_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "s"))
    s = open_store()
    assert isinstance(s, LocalStore) and s.root == tmp_path / "s"
    assert isinstance(open_store(tmp_path / "t"), LocalStore)


def test_open_store__api_variable_selects_kubo(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasoil.store import KuboStore

    monkeypatch.setenv("DATASOIL_IPFS_API", "http://127.0.0.1:9")
    s = open_store()
    assert isinstance(s, KuboStore) and s.url == "http://127.0.0.1:9"


def test_cli_car__export_then_import_into_another_store(
    store: LocalStore, tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    cid = store.add_path(tree, "unixfs-v1-2025")
    car = tmp_path / "t.car"
    runner = CliRunner()
    res = runner.invoke(cli, ["car", "export", str(cid), str(car), "--store", str(store.root)])
    assert res.exit_code == 0, res.output
    other = tmp_path / "other"
    res = runner.invoke(cli, ["car", "import", str(car), "--store", str(other)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(cid)
    assert LocalStore(other).pins() == [cid]


def test_cli_car__unknown_cid_is_one_line_error(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    out = tmp_path / "x.car"
    res = CliRunner().invoke(cli, ["car", "export", HELLO_V1, str(out), "--store", str(store.root)])
    assert res.exit_code == 1
    assert "not in the local store" in res.output
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_car__bad_cid_is_one_line_error(store: LocalStore, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["car", "export", "nope", str(tmp_path / "x.car"), "--store", str(store.root)]
    )
    assert res.exit_code == 1
    assert "expected a CID" in res.output


def test_block_files__are_sharded_like_flatfs(store: LocalStore) -> None:
    cid = store.add_bytes(HELLO, "kubo-cidv1")
    path = _block_file(store, cid)
    assert path.exists()
    assert path.parent.name == str(cid)[-3:-1]
    assert os.path.basename(path) == f"{cid}.data"
