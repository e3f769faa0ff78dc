"""Kubo-identical UnixFS CIDs: vectors from Kubo, cross-checks against aleph-cid.

Sources of the expected values:
- ISSUE: the well-known Kubo CIDs quoted in issue 3 (`ipfs add` of the empty file,
  of "hello world\\n" and `ipfs object new unixfs-dir`), which anyone can reproduce
  with `ipfs add --only-hash [--cid-version=1]`.
- KUBO: ipfs/kubo test/cli/cid_profiles_test.go (commits 00fb95d6 and c626ee94), with
  the deterministic data of test/cli/testutils/random_deterministic.go (ChaCha20 with
  key SHA-256(seed) and an all-zero nonce, keystream used as data) and the file names
  of createDeterministicFiles in test/cli/add_test.go (one keystream byte per
  character, modulo the 39-character AlphabetEasy, each file holding "x").
- aleph-cid (PyPI, a Rust implementation of Kubo's default importer) for files of
  many sizes and directories without hidden files or empty directories.
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import aleph_cid
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from multiformats import CID

from datasoil.app.cli import cli
from datasoil.errors import CidMismatch, DatasoilError, StoreError
from datasoil.formats.unixfs import (
    DEFAULT_PROFILE,
    PROFILES,
    Profile,
    ProfileError,
    UnreadableInput,
    add_bytes,
    add_path,
    add_stream,
    cat,
    export,
    links,
    profile_for,
    walk,
)

KIB = 1024
MIB = 1024 * KIB
V0 = PROFILES["unixfs-v0-2015"]
V1 = PROFILES["unixfs-v1-2025"]
KUBO_V1 = PROFILES["kubo-cidv1"]


class KuboDeterministicReader(io.RawIOBase):
    """Kubo's testutils.DeterministicRandomReaderBytes(size, seed), streamed."""

    def __init__(self, size: int, seed: str) -> None:
        key = hashlib.sha256(seed.encode()).digest()
        self._enc = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        return self._enc.update(bytes(n))


def kubo_names(seed: str, count: int, name_len: int, last_len: int) -> list[str]:
    """createDeterministicFiles' file names (Kubo test/cli/add_test.go)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz01234567890-_"
    stream = KuboDeterministicReader(MIB, seed)
    out = []
    for i in range(count):
        raw = stream.read(last_len if i == count - 1 else name_len)
        out.append("".join(alphabet[b % len(alphabet)] for b in raw))
    return out


class Store:
    """A dict block store that records what the importer hands to its sink."""

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    def sink(self, cid: CID, block: bytes) -> None:
        assert hashlib.sha256(block).digest() == cid.raw_digest
        self.blocks[bytes(cid)] = block

    def get(self, cid: CID) -> bytes:
        return self.blocks[bytes(cid)]


# ----------------------------------------------------------------------------- ISSUE


@pytest.mark.parametrize(
    ("data", "v0", "v1"),
    [
        (
            b"",
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        ),
        (
            b"hello world\n",
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
            "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        ),
    ],
)
def test_add_bytes__issue_vectors(data: bytes, v0: str, v1: str) -> None:
    assert str(add_bytes(data, V0).cid) == v0
    assert str(add_bytes(data, V1).cid) == v1
    assert str(add_bytes(data, KUBO_V1).cid) == v1


def test_add_path__empty_directory_issue_vector(tmp_path: Path) -> None:
    assert str(add_path(tmp_path, V0).cid) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert (
        str(add_path(tmp_path, V1).cid)
        == "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    )


# ----------------------------------------------------------------------------- KUBO

KUBO_FILE_VECTORS = [
    # (profile, size, seed, CID) from cid_profiles_test.go
    (V0, 262144, "chunk-v0-seed", "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE"),
    (V0, 262145, "chunk-v0-seed", "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ"),
    (V0, 174 * 256 * KIB, "v0-seed", "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2"),
    (V0, 174 * 256 * KIB + 1, "v0-seed", "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW"),
    (V0, 175 * 256 * KIB, "v0-seed", "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf"),
    (V1, 1 * MIB, "chunk-v1-seed", "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta"),
    (
        V1,
        1 * MIB + 1,
        "chunk-v1-seed",
        "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64",
    ),
]
KUBO_BIG_FILE_VECTORS = [
    (V1, 1024 * MIB, "v1-2025-seed", "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm"),
    (
        V1,
        1024 * MIB + 1,
        "v1-2025-seed",
        "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe",
    ),
    (V1, 1025 * MIB, "v1-2025-seed", "bafybeihmzokxxjqwxjcryerhp5ezpcog2wcawfryb2xm64xiakgm4a5jue"),
]


def test_add_bytes__kubo_small_file_vectors() -> None:
    assert (
        str(add_bytes(b"hello world", V0).cid) == "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    )
    assert (
        str(add_bytes(b"hello world", V1).cid)
        == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    )


@pytest.mark.parametrize(("profile", "size", "seed", "expected"), KUBO_FILE_VECTORS)
def test_add_stream__kubo_chunk_and_max_links_vectors(
    profile: Profile, size: int, seed: str, expected: str
) -> None:
    added = add_stream(KuboDeterministicReader(size, seed), profile)
    assert str(added.cid) == expected
    assert added.file_size == size


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "size", "seed", "expected"), KUBO_BIG_FILE_VECTORS)
def test_add_stream__kubo_v1_max_links_vectors_1gib(
    profile: Profile, size: int, seed: str, expected: str
) -> None:
    assert str(add_stream(KuboDeterministicReader(size, seed), profile).cid) == expected


@pytest.mark.parametrize(
    ("profile", "seed", "count", "name_len", "last_len", "expected", "hamt"),
    [
        # links estimation: 4096 * (30 + 34) == 262144 stays basic; 4033 * 65 == 262145 shards
        (
            V0,
            "hamt-unixfs-v0-2015",
            4096,
            30,
            30,
            "QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN",
            0,
        ),
        (
            V0,
            "hamt-unixfs-v0-2015",
            4033,
            31,
            31,
            "QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP",
            1,
        ),
        # block estimation: a 262144-byte directory block stays basic, 262145 shards
        (
            V1,
            "hamt-unixfs-v1-2025",
            4766,
            11,
            21,
            "bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4",
            0,
        ),
        (
            V1,
            "hamt-unixfs-v1-2025",
            4766,
            11,
            22,
            "bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu",
            1,
        ),
    ],
)
def test_add_path__kubo_hamt_threshold_vectors(
    tmp_path: Path,
    profile: Profile,
    seed: str,
    count: int,
    name_len: int,
    last_len: int,
    expected: str,
    hamt: int,
) -> None:
    names = kubo_names(seed, count, name_len, last_len)
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    store = Store()
    added = add_path(tmp_path, profile, store.sink)
    assert str(added.cid) == expected
    root = store.get(added.cid)
    if not hamt and profile is V1:
        assert len(root) == 262144  # exactly at the threshold
    # The directory reads back, HAMT or not, with every name.
    listed = {path: (c, is_dir) for path, c, is_dir in walk(store.get, added.cid)}
    assert sorted(listed) == sorted(names)
    root_links = links(root, added.cid)
    if hamt:
        assert len(root_links) <= 256
        assert b"\x0a\x02\x08\x05" not in root[:4] and root.find(b"\x08\x05\x12") > 0
    else:
        assert len(root_links) == count
        assert root.endswith(b"\x0a\x02\x08\x01")  # UnixFS Directory, Data after Links


# ----------------------------------------------------------------------------- aleph-cid

SIZES = sorted(
    {
        0,
        1,
        1000,
        256 * KIB - 1,
        256 * KIB,
        256 * KIB + 1,
        2 * 256 * KIB,
        1 * MIB - 1,
        1 * MIB,
        1 * MIB + 1,
        3 * MIB + 12345,
        173 * 256 * KIB,
        174 * 256 * KIB - 1,
        174 * 256 * KIB,
        174 * 256 * KIB + 1,
        176 * 256 * KIB + 7,
    }
)


@pytest.fixture(scope="module")
def pattern() -> bytes:
    seed = KuboDeterministicReader(3 * MIB, "datasoil-unixfs-sizes").read()
    return seed * 16  # 48 MiB; repeated chunks are fine, they are still hashed per position


@pytest.mark.parametrize("size", SIZES)
def test_add_bytes__matches_aleph_cid_v0_and_cidv1(pattern: bytes, size: int) -> None:
    data = pattern[:size]
    assert str(add_bytes(data, V0).cid) == aleph_cid.compute_cid(data)
    hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    hasher.update(data)
    assert str(add_bytes(data, KUBO_V1).cid) == hasher.finalize()


def test_add_path__matches_aleph_cid_hash_folder(tmp_path: Path, pattern: bytes) -> None:
    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_bytes(pattern[:1000])
    (root / "B.bin").write_bytes(pattern[: 600 * KIB])
    (root / "sub" / "b b é").write_bytes(b"")
    (root / "sub" / "deeper" / "z").write_bytes(pattern[5:300000])
    for name in ("f1", "f10", "f2", "f_", "f-"):  # bytewise, not natural, order
        (root / "sub" / name).write_bytes(name.encode())
    assert str(add_path(root, V0).cid) == aleph_cid.hash_folder(str(root), cid_version=0)
    assert str(add_path(root, KUBO_V1).cid) == aleph_cid.hash_folder(str(root), cid_version=1)


def test_add_path__hidden_files_left_out_and_empty_dirs_kept(tmp_path: Path) -> None:
    plain, with_extras = tmp_path / "plain", tmp_path / "extras"
    for root in (plain, with_extras):
        root.mkdir()
        (root / "f").write_bytes(b"data")
    (with_extras / ".hidden").write_bytes(b"secret")
    (with_extras / ".git").mkdir()
    assert add_path(plain, V1).cid == add_path(with_extras, V1).cid
    (with_extras / "empty").mkdir()
    store = Store()
    added = add_path(with_extras, V0, store.sink)
    entries = {p: c for p, c, _ in walk(store.get, added.cid)}
    assert str(entries["empty"]) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert ".hidden" not in entries


# ----------------------------------------------------------------------------- layout


def reference_balanced_shape(n_leaves: int, max_links: int) -> object:
    """boxo's balanced.Layout, top down (fillNodeRec), as nested lists of leaf indices."""
    counter = iter(range(n_leaves))
    remaining = [n_leaves]

    def leaf() -> int:
        remaining[0] -= 1
        return next(counter)

    def fill(node: list[object], depth: int) -> list[object]:
        while len(node) < max_links and remaining[0] > 0:
            node.append(leaf() if depth == 1 else fill([], depth - 1))
        return node

    root: object = leaf()
    depth = 1
    while remaining[0] > 0:
        root = fill([root], depth)
        depth += 1
    return root


def dag_shape(store: Store, cid: CID, leaf_index: dict[CID, int]) -> object:
    if cid.codec.name == "raw":
        return leaf_index[cid]
    return [dag_shape(store, c, leaf_index) for c in links(store.get(cid), cid)]


@pytest.mark.parametrize("max_links", [2, 3, 5])
def test_add_bytes__balanced_layout_matches_boxo_algorithm(max_links: int) -> None:
    profile = Profile("tiny", 1, True, 1, max_links, 256 * KIB, "block")
    leaf_index = {add_bytes(bytes([i]), profile).cid: i for i in range(130)}
    for n in range(1, 130):
        data = bytes(range(n))
        store = Store()
        added = add_bytes(data, profile, store.sink)
        assert dag_shape(store, added.cid, leaf_index) == reference_balanced_shape(n, max_links)
        assert b"".join(cat(store.get, added.cid)) == data
        # Tsize of the root covers every block of the (duplicate-free) DAG exactly once.
        assert added.size == sum(len(b) for b in store.blocks.values())


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize("profile", [V0, V1, KUBO_V1])
def test_cat__round_trips_and_verifies(profile: Profile, pattern: bytes) -> None:
    data = pattern[: 2 * MIB + 3]
    store = Store()
    added = add_bytes(data, profile, store.sink)
    assert b"".join(cat(store.get, added.cid)) == data
    # Every link the store would pin is there.
    for key, block in store.blocks.items():
        for child in links(block, CID.decode(key)):
            assert bytes(child) in store.blocks


def test_cat__tampered_leaf_raises_cid_mismatch(pattern: bytes) -> None:
    store = Store()
    added = add_bytes(pattern[: 3 * MIB], V1, store.sink)
    leaf = next(k for k in store.blocks if k != bytes(added.cid))
    store.blocks[leaf] = b"tampered" + store.blocks[leaf][8:]
    with pytest.raises(CidMismatch, match="expected a block hashing to"):
        b"".join(cat(store.get, added.cid))


def test_export__directory_round_trip_with_hamt_symlink_and_empty_dir(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "big").mkdir(parents=True)
    for i in range(5000):  # enough names to shard
        (src / "big" / f"file-{i:05d}-with-a-longer-name").write_bytes(str(i).encode())
    (src / "empty").mkdir()
    (src / "note.txt").write_bytes(b"hello world\n")
    os.symlink("note.txt", src / "link")
    store = Store()
    added = add_path(src, V1, store.sink)
    big = next(c for p, c, _ in walk(store.get, added.cid) if p == "big")
    assert store.get(big)[-5:-1] == b"\x28\x22\x30\x80"  # a murmur3 HAMT shard, fanout 256
    dest = tmp_path / "out"
    export(store.get, added.cid, dest)
    assert add_path(dest, V1).cid == added.cid
    assert os.readlink(dest / "link") == "note.txt"
    assert (dest / "big" / "file-04999-with-a-longer-name").read_bytes() == b"4999"


def test_export__tampered_block_leaves_nothing_behind(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"first")
    (src / "b").write_bytes(b"second")
    store = Store()
    added = add_path(src, V1, store.sink)
    b_cid = bytes(add_bytes(b"second", V1).cid)
    store.blocks[b_cid] = b"SECOND"
    out = tmp_path / "out"
    with pytest.raises(CidMismatch):
        export(store.get, added.cid, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_export__existing_destination_refused(tmp_path: Path) -> None:
    store = Store()
    added = add_bytes(b"x", V1, store.sink)
    (tmp_path / "taken").write_bytes(b"")
    with pytest.raises(StoreError, match="not to exist"):
        export(store.get, added.cid, tmp_path / "taken")


# ----------------------------------------------------------------------------- memory


def test_add_stream__memory_bounded_by_a_few_chunks() -> None:
    tracemalloc.start()
    try:
        added = add_stream(KuboDeterministicReader(96 * MIB, "memory"), V1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert added.file_size == 96 * MIB
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB for a 96 MiB stream"


# ----------------------------------------------------------------------------- profiles, CLI


def test_profile_for__cli_semantics() -> None:
    assert profile_for() is PROFILES[DEFAULT_PROFILE] is V1
    assert profile_for(cid_version=0) is V0
    assert profile_for(cid_version=1) is KUBO_V1
    assert profile_for("unixfs-v0-2015", 0) is V0
    with pytest.raises(ProfileError, match="produces CIDv1"):
        profile_for("unixfs-v1-2025", 0)
    with pytest.raises(ProfileError, match="expected an import profile"):
        profile_for("unixfs-v9")
    with pytest.raises(ProfileError, match="expected CID version 0 or 1"):
        profile_for(cid_version=2)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
        (["--cid-version", "0"], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
        (["--cid-version", "1"], "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
        (["--profile", "unixfs-v0-2015"], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    ],
)
def test_cid_command__prints_only_the_cid(tmp_path: Path, args: list[str], expected: str) -> None:
    path = tmp_path / "hello"
    path.write_bytes(b"hello world\n")
    result = CliRunner().invoke(cli, ["cid", str(path), *args])
    assert result.exit_code == 0, result.output
    assert result.output == expected + "\n"


def test_cid_command__directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cid", str(tmp_path), "--cid-version", "0"])
    assert result.output == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\n"


def test_cid_command__missing_path_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cid", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "cannot read" in result.output and "No such file" in result.output


def test_cid_command__conflicting_options_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cid", str(tmp_path), "--profile", "unixfs-v0-2015",
                                      "--cid-version", "1"])  # fmt: skip
    assert result.exit_code == 1
    assert "produces CIDv0" in result.output


def test_add_path__special_file_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableInput, match="expected a regular file"):
        add_path(tmp_path, V1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_add_path__unreadable_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(UnreadableInput, match="cannot read"):
        add_path(path, V1)


def test_errors_are_datasoil_errors() -> None:
    assert issubclass(UnreadableInput, DatasoilError) and issubclass(UnreadableInput, OSError)
    assert issubclass(ProfileError, ValueError)
