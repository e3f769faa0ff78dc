"""The store heals (issue 18 item 6): a put replaces a damaged block, `datasoil store
verify` drops bad blocks so the next import repairs them, `datasoil store gc` collects
what no pin reaches. Each: the command, its exit code, its one line, the state after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from multiformats import CID

from datasoil.app.cli import cli
from datasoil.errors import CidMismatch
from datasoil.store import LocalStore
from datasoil.store.car import export_car

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs", sync=False)


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(2 * MIB + 123))  # 3 raw leaves + a dag-pb root at 1 MiB chunks
    return path


def _run(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args))


def _leaf(store: LocalStore, root: CID) -> CID:
    leaves = [cid for cid, _ in store.walk(root) if cid.codec.name == "raw"]
    assert len(leaves) == 3
    return leaves[1]


def _damage(store: LocalStore, cid: CID) -> Path:
    path = store._path(cid)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_put_block__replaces_a_stored_copy_that_fails_verification(
    store: LocalStore, big: Path
) -> None:
    root = store.add_path(big)
    leaf = _leaf(store, root)
    good = store.get_block(leaf)
    _damage(store, leaf)
    with pytest.raises(CidMismatch):
        store.get_block(leaf)
    store.put_block(leaf, good)
    assert store.get_block(leaf) == good
    # a truncated copy (size differs) is replaced too, and a good copy is left alone
    store._path(leaf).write_bytes(good[:10])
    store.put_block(leaf, good)
    before = store._path(leaf).stat().st_mtime_ns
    store.put_block(leaf, good)
    assert store._path(leaf).stat().st_mtime_ns == before
    assert b"".join(store.cat(root)) == big.read_bytes()


def test_car_import__repairs_a_damaged_block(store: LocalStore, big: Path, tmp_path: Path) -> None:
    root = store.add_path(big)
    car = tmp_path / "big.car"
    export_car(store, [root], car)
    _damage(store, _leaf(store, root))

    result = _run("car", "import", str(car), "--store", str(store.root))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(root)]
    assert b"".join(store.cat(root)) == big.read_bytes()
    assert store.verify().ok


def test_store_verify__drops_the_bad_block_and_names_the_pin_then_import_repairs(
    store: LocalStore, big: Path, tmp_path: Path
) -> None:
    root = store.add_path(big, name="big.bin")
    car = tmp_path / "big.car"
    export_car(store, [root], car)
    leaf = _leaf(store, root)
    damaged = _damage(store, leaf)

    result = _run("store", "verify", "--store", str(store.root))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"corrupt {leaf} (dropped)",
        f"incomplete pin {root} (big.bin): 1 block missing",
    ]
    assert result.stderr.splitlines() == [
        "error: expected every block to match its CID and every pin to be whole, found 1 of 4 "
        "blocks corrupt (dropped) and 1 incomplete pin: `datasoil car import` a CAR holding the "
        "data, or add it again, to repair them"
    ]
    assert not damaged.exists() and store.pins() == [root]

    assert _run("car", "import", str(car), "--store", str(store.root)).exit_code == 0
    again = _run("store", "verify", "--store", str(store.root))
    assert again.exit_code == 0, again.stderr
    assert again.stdout == ""
    assert again.stderr.splitlines() == [
        "verified 4 blocks: every block matches its CID and every pin is whole"
    ]


def test_store_verify__a_rerun_add_repairs_what_verify_dropped(
    store: LocalStore, big: Path
) -> None:
    root = store.add_path(big)
    _damage(store, _leaf(store, root))
    assert len(store.verify().corrupt) == 1
    assert store.add_path(big) == root
    assert store.verify().ok and b"".join(store.cat(root)) == big.read_bytes()


def test_store_verify__keep_reports_without_deleting(store: LocalStore, big: Path) -> None:
    root = store.add_path(big, name="big.bin")
    damaged = _damage(store, _leaf(store, root))

    result = _run("store", "verify", "--keep", "--store", str(store.root))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("(kept)")
    assert "corrupt (kept)" in result.stderr and len(result.stderr.splitlines()) == 1
    assert damaged.exists()


def test_store_verify__a_missing_block_breaks_its_pin(store: LocalStore, big: Path) -> None:
    root = store.add_path(big, name="big.bin")
    leaf = _leaf(store, root)
    store.delete_block(leaf)

    result = _run("store", "verify", "--store", str(store.root))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"incomplete pin {root} (big.bin): 1 block missing"]
    assert "found 0 of 3 blocks corrupt (dropped) and 1 incomplete pin" in result.stderr
    verdict = store.verify()
    assert verdict.missing == (leaf,) and [b.root for b in verdict.broken_pins] == [root]


def test_store_verify__unpinned_bad_block_is_dropped_too(store: LocalStore) -> None:
    cid = store.add_bytes(b"loose block", pin=False)
    store._path(cid).write_bytes(b"loose blocK")
    result = store.verify()
    assert result.corrupt == (cid,) and result.broken_pins == () and not result.ok
    assert not store.has(cid)


def test_store_gc__removes_unpinned_blocks_and_prints_them(store: LocalStore, big: Path) -> None:
    kept = store.add_bytes(b"pinned")
    loose = store.add_path(big, pin=False)
    loose_blocks = {cid for cid, _ in store.walk(loose)}

    dry = _run("store", "gc", "--dry-run", "--store", str(store.root))
    assert dry.exit_code == 0, dry.stderr
    assert set(dry.stdout.split()) == {str(c) for c in loose_blocks}
    assert dry.stderr.splitlines() == [
        "would remove 4 unpinned blocks and 0 temporary files (2.1 MB)"
    ]
    assert all(store.has(c) for c in loose_blocks)

    result = _run("store", "gc", "--store", str(store.root))
    assert result.exit_code == 0, result.stderr
    assert set(result.stdout.split()) == {str(c) for c in loose_blocks}
    assert result.stderr.splitlines() == [
        "removed 4 unpinned blocks and 0 temporary files (2.1 MB)"
    ]
    assert not any(store.has(c) for c in loose_blocks)
    assert set(store.iter_blocks()) == {kept} and store.pins() == [kept]
    assert _run("store", "gc", "--store", str(store.root)).stderr.splitlines() == [
        "removed 0 unpinned blocks and 0 temporary files (0 B)"
    ]


@pytest.mark.parametrize("command", ["verify", "gc"])
def test_store_commands__refuse_a_kubo_node(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATASOIL_IPFS_API", "http://127.0.0.1:5001")
    result = _run("store", command, "--store", str(tmp_path / "ipfs"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: expected the embedded store for `datasoil store {command}`, found "
        f"DATASOIL_IPFS_API=http://127.0.0.1:5001: run `ipfs repo {command}` on that node, "
        "or unset it"
    ]
    assert not (tmp_path / "ipfs").exists()


def test_store_verify__no_store_there_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATASOIL_IPFS_PATH", raising=False)
    result = _run("store", "verify")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: expected a block store at .datasoil/ipfs, found none"
    ]
    assert not (tmp_path / ".datasoil").exists()
