"""The vectorised hashing paths give exactly the bytes of the per-row reference path.

Reference: :mod:`hashlib` / :mod:`hmac` one message at a time, an RFC 9162 Merkle Tree Hash
written out recursively here (section 2.1.1, nothing shared with datasoil.formats.merkle), and
pymerkle for a few sizes. Sizes include 0, 1 and 2**k +- 1 around the thresholds where the
native path takes over (256 messages, 512-leaf subtrees).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pymerkle
import pytest

from datasoil.engine import clean as clean_mod
from datasoil.errors import ProofError
from datasoil.formats import fate as fate_mod
from datasoil.formats import merkle, rows
from datasoil.formats.recipe import load_recipe

SIZES = [0, 1, 2, 3, 31, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097]
BIG = [65535, 65536, 65537]


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1, recursively, over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return _sha(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _messages(n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [rnd.randbytes(rnd.choice([0, 1, 31, 55, 56, 63, 64, 100, 119, 200])) for _ in range(n)]


@pytest.fixture(params=["c/sha-ni", "c/portable", "native", "hashlib"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run each test through the C module (on the SHA extensions and in portable C), the
    polars-hash path and the hashlib fallback."""
    if request.param.startswith("c/"):
        if merkle._ext is None:
            pytest.skip("datasoil.formats._sha256 was not built (no C compiler at install)")
        try:
            previous = merkle._ext.use(request.param[2:])
        except ValueError:
            pytest.skip(f"this CPU has no {request.param[2:]} SHA-256")
        assert merkle.backend() == request.param
        yield request.param
        merkle._ext.use(previous)
        return
    monkeypatch.setattr(merkle, "_ext", None)
    if request.param == "hashlib":
        monkeypatch.setattr(merkle, "_native", None)
    else:
        assert merkle._native_hasher() is not None, "polars-hash is not installed"
    assert merkle.backend() == ("polars-hash" if request.param == "native" else "hashlib")
    yield request.param


@pytest.mark.parametrize("n", SIZES + BIG[:1])
def test_sha256_many__equals_hashlib(n: int, path: str) -> None:
    msgs = _messages(n, n)
    for arr in (pa.array(msgs, pa.binary()), pa.array(msgs, pa.large_binary())):
        assert merkle.sha256_many(arr) == b"".join(_sha(m) for m in msgs)
    if n > 3:  # a sliced array (non-zero offset) hashes only its own items
        sliced = pa.array(msgs, pa.binary()).slice(2, n - 3)
        assert merkle.sha256_many(sliced) == b"".join(_sha(m) for m in msgs[2 : n - 1])


@pytest.mark.parametrize("width", [1, 32, 34, 55, 56, 64, 119, 120])
@pytest.mark.parametrize("keyed", [False, True])
def test_leaf_digests_fixed__equals_hashlib(width: int, keyed: bool, path: str) -> None:
    rnd = random.Random(width)
    leaves = [rnd.randbytes(width) for _ in range(300)]
    key = rnd.randbytes(32) if keyed else None
    expected = b"".join(
        hmac.digest(key, b"\x00" + m, "sha256") if key else _sha(b"\x00" + m) for m in leaves
    )
    assert merkle.leaf_digests_fixed(b"".join(leaves), width, key) == expected
    assert merkle.leaf_digests_fixed(b"", width, key) == b""


def test_leaf_digests_fixed__refuses_partial_leaves() -> None:
    with pytest.raises(ProofError, match="multiple of 34"):
        merkle.leaf_digests_fixed(b"\x00" * 35, 34)


def test_sha256_many__strings_and_empty_data_buffer(path: str) -> None:
    texts = ["", "é", "abc" * 30] * 100
    assert merkle.sha256_many(pa.array(texts, pa.large_string())) == b"".join(
        _sha(t.encode()) for t in texts
    )
    empties = pa.array([b""] * 300, pa.binary())
    assert merkle.sha256_many(empties) == _sha(b"") * 300


def test_sha256_many__hashes_raw_bytes_not_text() -> None:
    # invalid UTF-8 and NUL bytes must be hashed as they are
    msgs = [b"\xff\xfe\x00" * i for i in range(300)]
    assert merkle.sha256_many(pa.array(msgs, pa.binary())) == b"".join(_sha(m) for m in msgs)


def test_sha256_many__refuses_nulls() -> None:
    with pytest.raises(ProofError, match="null"):
        merkle.sha256_many(pa.array([b"a", None] * 200, pa.binary()))


@pytest.mark.parametrize("n", SIZES)
def test_leaf_digests__public_and_keyed(n: int, path: str) -> None:
    msgs = _messages(n, 1000 + n)
    arr = pa.array(msgs, pa.binary())
    assert merkle.leaf_digests(arr) == b"".join(_sha(b"\x00" + m) for m in msgs)
    assert merkle.leaf_digests(arr) == b"".join(merkle.leaf_hash(m) for m in msgs)
    key = random.Random(n).randbytes(32)
    expected = b"".join(hmac.digest(key, b"\x00" + m, "sha256") for m in msgs)
    assert merkle.leaf_digests(arr, key) == expected
    prefixed = pa.array([merkle.leaf_input_prefix(key) + m for m in msgs], pa.binary())
    assert merkle.leaf_digests(prefixed, key, prefixed=True) == expected


def test_leaf_digests__bad_key() -> None:
    with pytest.raises(ProofError, match="32 bytes"):
        merkle.leaf_digests(pa.array([b"a"], pa.binary()), b"short")


@pytest.mark.parametrize("n", SIZES + BIG)
def test_extend_digests__equals_recursive_mth(n: int, path: str) -> None:
    leaves = [_sha(i.to_bytes(4, "big")) for i in range(n)]
    builder = merkle.RootBuilder()
    builder.extend_digests(b"".join(leaves))
    assert builder.size == n
    expected = _mth(leaves)
    assert builder.root() == expected
    assert merkle.root(leaves) == expected  # RootBuilder.extend (list path)


@pytest.mark.parametrize("n", [1, 2, 3, 600, 1025, 3000])
def test_extend_digests__matches_pymerkle(n: int) -> None:
    tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
    data = [i.to_bytes(3, "big") for i in range(n)]
    for d in data:
        tree.append_entry(d)
    builder = merkle.RootBuilder()
    builder.extend_digests(merkle.leaf_digests(pa.array(data, pa.binary())))
    assert builder.root() == tree.get_root()


def test_extend_digests__in_unaligned_pieces(path: str) -> None:
    leaves = [_sha(i.to_bytes(4, "big")) for i in range(5000)]
    rnd = random.Random(7)
    builder = merkle.RootBuilder()
    pos = 0
    while pos < len(leaves):
        step = rnd.choice([1, 3, 255, 511, 513, 1024, 1500])
        chunk = leaves[pos : pos + step]
        if rnd.random() < 0.3:
            builder.extend(chunk)
        else:
            builder.extend_digests(b"".join(chunk))
        pos += step
        assert builder.root() == _mth(leaves[:pos])


@pytest.mark.parametrize("total", [1, 1024, 1025, 3 * 1024 - 1, 4096, 4097])
def test_shards_of_packed_leaves__combine_to_flat_root(total: int) -> None:
    leaves = [_sha(i.to_bytes(4, "big")) for i in range(total)]
    shard = 1024
    roots = []
    for start in range(0, total, shard):
        b = merkle.RootBuilder()
        b.extend_digests(b"".join(leaves[start : start + shard]))
        roots.append(b.root())
    assert merkle.combine_shards(roots, shard, total) == _mth(leaves)


def test_extend_digests__refuses_partial_hash() -> None:
    with pytest.raises(ProofError, match="multiple of 32"):
        merkle.RootBuilder().extend_digests(b"\x00" * 33)


# --------------------------------------------------------------------------- rows


SCHEMA = rows.Schema(
    (
        rows.Column("i", "int64"),
        rows.Column("f", "float64"),
        rows.Column("g", "float32"),
        rows.Column("b", "bool"),
        rows.Column("s", "string"),
        rows.Column("y", "bytes"),
        rows.Column("t", "timestamp"),
        rows.Column("d", "date"),
        rows.Column("m", "decimal"),
    )
)


def _typed_batch(n: int) -> pa.RecordBatch:
    rnd = random.Random(n)

    def maybe(v: object) -> object:
        return None if rnd.random() < 0.1 else v

    utc = dt.UTC
    cols = {
        "i": [maybe(rnd.randrange(-(2**63), 2**63)) for _ in range(n)],
        "f": [maybe(rnd.choice([-0.0, 0.0, 1.5, rnd.random() * 1e300])) for _ in range(n)],
        "g": [maybe(rnd.choice([-0.0, 0.25, 3.0])) for _ in range(n)],
        "b": [maybe(rnd.random() < 0.5) for _ in range(n)],
        "s": [maybe(" é\u0301 " * rnd.randrange(0, 40)) for _ in range(n)],
        "y": [maybe(rnd.randbytes(rnd.randrange(0, 300))) for _ in range(n)],
        "t": [
            maybe(dt.datetime(2024, 1, 1, tzinfo=utc) + dt.timedelta(microseconds=i))
            for i in range(n)
        ],
        "d": [maybe(dt.date(1970, 1, 1) + dt.timedelta(days=i - 50)) for i in range(n)],
        "m": [
            maybe(rows.canonical_decimal(decimal.Decimal(rnd.randrange(-9999, 9999)) / 100))
            for _ in range(n)
        ],
    }
    return pa.RecordBatch.from_pydict(cols, schema=SCHEMA.to_arrow())


@pytest.mark.parametrize("n", [0, 1, 2, 255, 256, 257, 1025])
def test_batch_leaf_digests__equal_per_row_encoding(n: int) -> None:
    batch = _typed_batch(n)
    encoded = rows.encode_rows(batch, SCHEMA)
    packed = rows.batch_leaf_digests(batch, SCHEMA)
    assert packed == b"".join(_sha(b"\x00" + e) for e in encoded)
    assert rows.batch_leaf_hashes(batch, SCHEMA) == [_sha(b"\x00" + e) for e in encoded]
    key = bytes(range(32))
    keyed = b"".join(hmac.digest(key, b"\x00" + e, "sha256") for e in encoded)
    assert rows.batch_leaf_digests(batch, SCHEMA, key) == keyed
    if n:  # the vectorised encoder against libipld, row by row
        values = batch.to_pylist()
        for i in (0, n // 2, n - 1):
            assert encoded[i] == rows.encode_row(list(values[i].values()), SCHEMA)


def test_dataset_root__equals_reference(tmp_path: Path) -> None:
    batch = _typed_batch(3000)
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_batches([batch]), path)
    leaves = [_sha(b"\x00" + e) for e in rows.encode_rows(batch, SCHEMA)]
    assert rows.dataset_root(path, SCHEMA) == (_mth(leaves), 3000)


# --------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize("n", [0, 1, 257, 1025])
def test_fate_digests__equal_hashlib(n: int, path: str) -> None:
    rnd = np.random.default_rng(n)
    drop = np.where(rnd.random(n) < 0.3, 2, 255).astype(np.uint8)
    dup = np.full(n, fate_mod.FATE_NONE, np.uint64)
    data, _ = fate_mod.encode_fates(np.arange(n, dtype=np.uint64), drop, dup, 0)
    size = fate_mod.FATE_RECORD_SIZE
    records = [data[i : i + size] for i in range(0, len(data), size)]
    expected = b"".join(_sha(b"\x00" + r) for r in records)
    assert fate_mod.leaf_digests(data) == expected
    assert fate_mod.fate_root(data) == _mth([_sha(b"\x00" + r) for r in records])


def test_clean__output_root_is_the_root_of_data_parquet(tmp_path: Path) -> None:
    """The output root is computed from the final frame, not by reading data.parquet back:
    it must equal the root of data.parquet read under the output schema."""
    batch = _typed_batch(2500)
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_batches([batch]), src)
    recipe = load_recipe(
        "version: 1\nsteps:\n"
        "  - {kind: trim, columns: [s]}\n"
        "  - {kind: drop_nulls, columns: [i]}\n"
        "  - {kind: dedupe, columns: [b, d]}\n"
        "  - {kind: outliers, columns: [f], action: clip}\n"
    )
    for key in (None, bytes(range(32))):
        result = clean_mod.clean(src, recipe, tmp_path / f"out-{key is None}", key=key)
        schema_out = rows.Schema.from_json(result.proof["schema_out"])
        root, count = rows.dataset_root(result.data_path, schema_out, key)
        assert (root, count) == (result.output_root, result.rows_out)
        assert 0 < result.rows_out < 2500
        fates = result.fate_path.read_bytes()
        size = fate_mod.FATE_RECORD_SIZE
        fate_leaves = [_sha(b"\x00" + fates[i : i + size]) for i in range(0, len(fates), size)]
        assert result.fate_root == _mth(fate_leaves)
        input_leaves = [
            hmac.digest(key, b"\x00" + e, "sha256") if key else _sha(b"\x00" + e)
            for e in rows.encode_rows(batch, rows.Schema.from_json(result.proof["schema_in"]))
        ]
        assert result.input_root == _mth(input_leaves)


def _dedupe_reference(frame: list[dict[str, object]], keys: list[str]) -> list[int | None]:
    """dup_of per row: the lowest earlier row with an equal key (nulls equal), else None."""
    first: dict[tuple[object, ...], int] = {}
    out: list[int | None] = []
    for i, r in enumerate(frame):
        k = tuple(r[c] for c in keys)
        out.append(first.get(k))
        first.setdefault(k, i)
    return out


@pytest.mark.parametrize("hashing", ["real", "constant", "two-buckets"])
def test_dedupe__candidates_by_hash_equal_plain_group_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashing: str
) -> None:
    """The low-memory dedupe (hash candidates, exact grouping) marks the same rows as a
    plain first-occurrence scan, also when every row collides (constant hash)."""
    import polars as pl

    if hashing != "real":
        real = clean_mod._key_hash

        def weak(keys: list[str], types: dict[str, str]) -> pl.Expr:
            h = real(keys, types)
            if hashing == "constant":
                return (h * 0).alias(clean_mod._HASH)
            return (h % 2).alias(clean_mod._HASH)

        monkeypatch.setattr(clean_mod, "_key_hash", weak)
    rnd = random.Random(11)
    n = 3000
    table = pa.table(
        {
            "s": [rnd.choice([None, "", "a", "b", "A", "a "]) for _ in range(n)],
            "i": [rnd.choice([None, 0, 1, -1, 2**62]) for _ in range(n)],
            "f": [rnd.choice([None, 0.0, 1.5, -2.25]) for _ in range(n)],
        }
    )
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    keys = ["s", "i", "f"]
    recipe = load_recipe("version: 1\nsteps:\n  - {kind: dedupe, columns: [s, i, f]}\n")
    result = clean_mod.clean(src, recipe, tmp_path / "out")
    fates = fate_mod.decode_fates(result.fate_path.read_bytes())
    expected = _dedupe_reference(table.to_pylist(), keys)
    assert [f.dup_of for f in fates] == expected
    assert [f.kept for f in fates] == [d is None for d in expected]
    assert result.rows_out == sum(d is None for d in expected)


def test_extension__refuses_layouts_outside_the_data() -> None:
    """The C module checks the offsets and widths it is handed before reading memory."""
    ext = merkle._ext
    if ext is None:
        pytest.skip("datasoil.formats._sha256 was not built (no C compiler at install)")
    wide = np.array([0, 5], np.int64).tobytes()
    with pytest.raises(ValueError, match="outside the data"):
        ext.items(b"abc", wide, True, 0, 1)
    with pytest.raises(ValueError, match="outside the data"):
        ext.items(b"abcdef", np.array([3, 1], np.int32).tobytes(), False, 0, 1)
    with pytest.raises(ValueError, match="do not cover"):
        ext.items(b"abc", wide, True, 1, 1)
    with pytest.raises(ValueError, match="whole items"):
        ext.fixed(b"abc", 2)
    assert ext.items(b"abc", np.array([0, 3], np.int32).tobytes(), False, 0, 1) == _sha(b"abc")


@pytest.mark.parametrize("total", [1, 2, 7, 1000, 1025, 4097])
def test_aligned_subtrees__ranges_of_any_sizes_compose_to_the_flat_root(total: int) -> None:
    """Consecutive ranges of leaves of random sizes, each hashed alone into its aligned
    subtrees, append to exactly the recursive MTH of all leaves."""
    leaves = [_sha(i.to_bytes(4, "big")) for i in range(total)]
    rnd = random.Random(total)
    builder = merkle.RootBuilder()
    pos = 0
    while pos < total:
        size = min(total - pos, rnd.choice([0, 1, 3, 64, 100, 511, 1024]))
        parts = merkle.aligned_subtrees(pos, b"".join(leaves[pos : pos + size]))
        assert sum(1 << h for h, _ in parts) == size
        for height, node in parts:
            builder.append_subtree(node, height)
        pos += size
        assert builder.root() == _mth(leaves[:pos])
