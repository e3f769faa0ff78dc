"""publish.prepare reads its input at most twice (issue 11 item 3), and gives what the
multi-pass path gave: the same CIDs, row roots, file entries and private tar bytes.

Bytes read are the process's ``rchar`` (/proc/self/io): every byte passed through a read
system call, page cache or not, so it counts passes. A first prepare in each test
process loads the libraries the passes use (the polars-hash plugin reads its own 5 MB
file once), so that the counts below are the data's alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import string
import tarfile
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasoil.errors import DatasoilError, SchemaError
from datasoil.flows import access, publish
from datasoil.flows._streams import IterReader, Pipe
from datasoil.formats import crypto, rows, unixfs
from datasoil.formats.croissant import FileEntry
from datasoil.store.base import as_cid
from datasoil.store.local import LocalStore

SLACK = 256 * 1024  # header lines, the pin set, the metadata: far below one pass
PROFILE = unixfs.profile_for(None)


def rchar() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def write_csv(path: Path, n: int, seed: int = 3) -> Path:
    rnd = random.Random(seed)
    with path.open("w") as out:
        out.write("id,name,score,flag\n")
        for i in range(n):
            name = "".join(rnd.choices(string.ascii_letters, k=rnd.randint(5, 60)))
            out.write(f"{i},{name},{rnd.random() * 100:.5f},{rnd.random() < 0.5}\n")
    return path


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory):
    """Load what the passes use once (public and private), outside every measurement."""
    tmp = tmp_path_factory.mktemp("warm")
    home = tmp / "home"
    path = write_csv(tmp / "warm.csv", 3000)
    store = LocalStore(tmp / "ipfs")
    publish.prepare(path, store=store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATASOIL_HOME", str(home))
        publish.prepare(path, store=store, private=True)


@pytest.fixture
def big(tmp_path) -> Path:
    """About 4 MiB of CSV: four 1 MiB chunks, several row batches."""
    return write_csv(tmp_path / "big.csv", 110_000)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def reads_of(fn):  # type: ignore[no-untyped-def]
    before = rchar()
    result = fn()
    return result, rchar() - before


def old_entries(path: Path) -> list[FileEntry]:
    """The file entries as the multi-pass path computed them (one import, one hash each)."""
    base = path if path.is_dir() else path.parent
    return [
        FileEntry(
            f.relative_to(base).as_posix(),
            str(unixfs.add_path(f, PROFILE).cid),
            f.stat().st_size,
            hashlib.sha256(f.read_bytes()).hexdigest(),
            f.suffix.lstrip(".").lower().replace("ndjson", "jsonl"),
        )
        for f in rows.dataset_files(path)
    ]


def assert_as_the_component_functions_give(
    prepared: publish.Prepared, path: Path, row_count: int
) -> None:
    """The schema, row root, content CID and file entries the multi-pass path computed."""
    schema = rows.infer_schema(path)
    assert prepared.schema == schema
    assert (prepared.row_root, prepared.row_count) == rows.dataset_root(path, schema)
    assert prepared.row_count == row_count
    assert prepared.content_cid == str(unixfs.add_path(path, PROFILE).cid)
    assert list(prepared.files) == old_entries(path)


def test_rchar__counts_every_pass_even_from_the_page_cache(big):
    size = big.stat().st_size
    _, one = reads_of(lambda: unixfs.add_path(big, PROFILE))
    _, three = reads_of(lambda: [unixfs.add_path(big, PROFILE) for _ in range(3)])
    assert size <= one < size + SLACK
    assert 3 * size <= three < 3 * size + SLACK


def test_public_csv__inference_and_one_pass(big, tmp_path):
    size = big.stat().st_size
    store = LocalStore(tmp_path / "ipfs")
    prepared, read = reads_of(lambda: publish.prepare(big, store=store))
    assert 2 * size <= read <= 2 * size + SLACK

    assert_as_the_component_functions_give(prepared, big, 110_000)
    (content,) = [c for c in store.pins() if str(c) == prepared.content_cid]
    assert b"".join(store.cat(content)) == big.read_bytes()


def test_public_csv__with_a_schema_one_pass(big, tmp_path):
    size = big.stat().st_size
    schema = rows.infer_schema(big)
    store = LocalStore(tmp_path / "ipfs")
    prepared, read = reads_of(lambda: publish.prepare(big, store=store, schema=schema))
    assert size <= read <= size + SLACK
    assert (prepared.row_root, prepared.row_count) == rows.dataset_root(big, schema)
    assert prepared.content_cid == str(unixfs.add_path(big, PROFILE).cid)


@pytest.mark.parametrize("given_schema", [False, True], ids=["inferred", "given"])
def test_private_csv__two_passes_and_the_same_tar(big, tmp_path, home, given_schema):
    size = big.stat().st_size
    schema = rows.infer_schema(big)
    store = LocalStore(tmp_path / "ipfs")
    options = {"schema": schema} if given_schema else {}
    prepared, read = reads_of(lambda: publish.prepare(big, store=store, private=True, **options))
    assert 2 * size <= read <= 2 * size + SLACK

    saved = access.load_content_key(prepared.content_cid)
    key, manifest = saved.key, saved.manifest
    assert manifest["plaintext_cid"] == str(unixfs.add_path(big, PROFILE).cid)
    assert manifest["files"] == [e.__dict__ for e in old_entries(big)]
    assert manifest["schema"] == schema.to_json()
    assert (prepared.row_root, prepared.row_count) == rows.dataset_root(
        big, schema, crypto.row_hmac_key(key)
    )
    # the ciphertext decrypts to exactly the tar the multi-pass path wrote
    cipher = tmp_path / "data.enc"
    cipher.write_bytes(b"".join(store.cat(as_cid(prepared.content_cid))))
    crypto.decrypt_file(cipher, tmp_path / "got.tar", key)
    publish._deterministic_tar(
        [("big.csv", big)], json.dumps(manifest, sort_keys=True).encode(), tmp_path / "want.tar"
    )
    assert (tmp_path / "got.tar").read_bytes() == (tmp_path / "want.tar").read_bytes()


def mixed_dir(root: Path) -> tuple[Path, int]:
    """A directory of CSV, JSONL and Parquet parts under the same columns, a nested one,
    a README (not rows) and a hidden file; returns it and the bytes of its data files."""
    root.mkdir()
    (root / "sub").mkdir()
    write_csv(root / "a.csv", 30_000, seed=1)
    write_csv(root / "sub" / "c.csv", 20_000, seed=2)
    rnd = random.Random(4)
    with (root / "b.jsonl").open("w") as out:
        for i in range(8_000):
            row = {"id": i, "name": f"n{i}", "score": rnd.random(), "flag": i % 3 == 0}
            out.write(json.dumps(row) + "\n")
    table = pa.table(
        {
            "id": pa.array(range(5_000), pa.int64()),
            "name": [f"p{i}" for i in range(5_000)],
            "score": [rnd.random() for _ in range(5_000)],
            "flag": [i % 2 == 0 for i in range(5_000)],
        }
    )
    pq.write_table(table, root / "d.parquet")
    (root / "README.md").write_text("not rows\n" * 1000)
    (root / ".hidden.csv").write_text("id\n1\n")
    return root, sum(f.stat().st_size for f in rows.dataset_files(root))


def test_directory__same_cids_rows_and_entries_as_the_component_functions(tmp_path):
    path, data_bytes = mixed_dir(tmp_path / "mixed")
    other = (path / "README.md").stat().st_size
    store = LocalStore(tmp_path / "ipfs")
    prepared, read = reads_of(lambda: publish.prepare(path, store=store))
    assert read <= 2 * data_bytes + other + SLACK

    assert_as_the_component_functions_give(prepared, path, 63_000)
    out = tmp_path / "out"
    store.get(unixfs.add_path(path, PROFILE).cid, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "README.md",
        "a.csv",
        "b.jsonl",
        "d.parquet",
        "sub",
        "sub/c.csv",
    ]


def test_bad_row__refused_with_nothing_pinned(big, tmp_path):
    schema = rows.infer_schema(big)
    bad = tmp_path / "bad.csv"
    lines = big.read_text().splitlines(keepends=True)
    lines[90_000] = "90000,x,not-a-number,true\n"
    bad.write_text("".join(lines))
    store = LocalStore(tmp_path / "ipfs")
    with pytest.raises(SchemaError, match="expected float64, found 'not-a-number'"):
        publish.prepare(bad, store=store, schema=schema)
    assert store.pins() == []
    assert not [t for t in threading.enumerate() if t.name == "datasoil-parser"]
    store.gc()
    assert list(store.iter_blocks()) == []


def test_private__a_file_changed_between_the_passes_is_refused(big, tmp_path, home):
    store = LocalStore(tmp_path / "ipfs")

    def progress(message: str) -> None:  # after the facts pass, before the tar's
        if message.startswith("schema:"):
            with big.open("r+b") as f:
                f.seek(1000)
                f.write(b"9")

    with pytest.raises(DatasoilError, match="changed while it was being published"):
        publish.prepare(big, store=store, private=True, progress=progress)
    assert store.pins() == []


def test_empty_rows__refused_before_anything_is_pinned(tmp_path, home):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    store = LocalStore(tmp_path / "ipfs")
    schema = rows.Schema((rows.Column("id", "int64"),))
    for private in (False, True):
        with pytest.raises(SchemaError, match="at least one row"):
            publish.prepare(path, store=store, schema=schema, private=private)
    assert store.pins() == []


# -- the pieces ---------------------------------------------------------------------


names = st.text(alphabet=string.ascii_letters + "-_./", min_size=1, max_size=150).filter(
    lambda s: not s.startswith("/") and "//" not in s and not s.endswith("/")
)


@settings(max_examples=30, deadline=None)
@given(
    members=st.lists(
        st.tuples(names, st.integers(0, 3 * 512 + 7)),
        min_size=0,
        max_size=4,
        unique_by=lambda m: m[0],
    ),
    manifest_size=st.integers(0, 1100),
)
def test_tar_stream__the_bytes_of_deterministic_tar(tmp_path_factory, members, manifest_size):
    tmp = tmp_path_factory.mktemp("tar")
    manifest = bytes(random.Random(manifest_size).randbytes(manifest_size))
    files, entries = [], []
    for i, (name, size) in enumerate(members):
        file = tmp / f"m{i}"
        file.write_bytes(random.Random(i).randbytes(size))
        files.append((name, file))
        entries.append(
            (FileEntry(name, "", size, hashlib.sha256(file.read_bytes()).hexdigest(), ""), file)
        )
    try:
        publish._deterministic_tar(files, manifest, tmp / "want.tar")
    except ValueError:  # a name ustar cannot hold: the stream refuses it too
        with pytest.raises(ValueError):
            b"".join(publish._tar_stream(entries, manifest, None, None))
        return
    got = b"".join(publish._tar_stream(entries, manifest, None, None))
    assert got == (tmp / "want.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(got)) as tar:
        assert [m.name for m in tar.getmembers()] == [publish.MANIFEST_NAME] + [
            n for n, _ in members
        ]


def test_add_path_known__the_root_of_add_path(tmp_path):
    path, _ = mixed_dir(tmp_path / "mixed")
    for profile in unixfs.PROFILES.values():
        blocks: dict[str, bytes] = {}
        known = {
            f.relative_to(path).as_posix(): unixfs.add_path(f, profile)
            for f in rows.dataset_files(path)
        }
        got = unixfs.add_path_known(path, profile, blocks.__setitem__, known=known)
        assert got == unixfs.add_path(path, profile)
        assert str(known["a.csv"].cid) not in map(str, blocks)  # linked, not imported again
        assert len(blocks) == 3  # README.md, sub/ and the root directory


def test_read_stream__the_batches_of_read_batches(tmp_path):
    path, _ = mixed_dir(tmp_path / "mixed")
    schema = rows.infer_schema(path)
    pairs = [
        (f, f.open("rb") if rows.reads_as_stream(f) else None) for f in rows.dataset_files(path)
    ]
    assert rows.infer_schema_from(pairs) == schema
    for f in rows.dataset_files(path):
        want = pa.Table.from_batches(list(rows.read_batches(f, schema)), schema.to_arrow())
        if not rows.reads_as_stream(f):
            with pytest.raises(ValueError, match="CSV or JSONL"):
                next(rows.read_stream(f, io.BytesIO(), schema))
            continue
        with f.open("rb") as stream:
            got = pa.Table.from_batches(
                list(rows.read_stream(f, stream, schema)), schema.to_arrow()
            )
        assert got.equals(want)


def test_pipe__bounded_ended_and_shut():
    pipe = Pipe(capacity=4)
    assert pipe.put(b"abcd")
    blocked = threading.Event()
    done = threading.Event()

    def writer() -> None:
        blocked.set()
        pipe.put(b"ef")  # waits: the pipe holds its capacity
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    blocked.wait()
    assert not done.wait(0.2)
    reader = io.BufferedReader(pipe, 16)
    assert reader.read(3) == b"abc"
    assert done.wait(5)
    thread.join()
    pipe.end()
    assert reader.read() == b"def"

    shut = Pipe()
    failed: list[BaseException] = []

    def blocked_reader() -> None:
        try:
            shut.readinto(bytearray(8))
        except Exception as exc:
            failed.append(exc)

    thread = threading.Thread(target=blocked_reader)
    thread.start()
    shut.shut()
    thread.join(5)
    assert not thread.is_alive() and failed
    assert shut.put(b"x") is False


def test_iter_reader__reads_across_pieces():
    reader = IterReader(iter([b"ab", b"", b"cdef", b"g"]))
    assert [reader.read(3), reader.read(1), reader.read(-1), reader.read(2)] == [
        b"abc",
        b"d",
        b"efg",
        b"",
    ]
