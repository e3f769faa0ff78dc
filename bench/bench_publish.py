"""Benchmark: publish (prepare) of a large CSV — wall time, peak RSS, bytes read.

Run from the repository root:

    .venv/bin/python bench/bench_publish.py [--size-mib 1024]

Generates a CSV of about ``--size-mib`` MiB in a temporary directory (deleted at the
end) and prepares it for publishing twice, each in a fresh child process with a fresh
embedded store:

- ``before``: the multi-pass path publish took up to commit a8845a8, rebuilt here from
  the same component functions in the same order (schema inference, each file's UnixFS
  import and SHA-256, the row leaves, the store's import, the Croissant document);
- ``after``: :func:`datasoil.flows.publish.prepare` (inference, then one pass for the
  chunker, the store, the file hash and the row leaves).

Both must give the same content CID, row root and metadata CID. Bytes read come from
the child's ``/proc/self/io`` around the call: ``rchar`` counts every byte passed
through a read system call (the page cache hides none of them, so it counts passes),
``read_bytes`` what reached the block device. Before each measurement the CSV is
dropped from the page cache (``posix_fadvise(DONTNEED)``), so the first pass reads the
disk; later passes hit the cache, which is why ``read_bytes`` stays near one pass.
Each child first prepares a small CSV so that loading libraries (the polars-hash
plugin reads its 5 MB file once) is not counted. Peak RSS is the child's, from
``wait4``. Writes bench/publish.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GIB = 2**30


def make_csv(path: Path, size: int) -> int:
    """Write a CSV of at least ``size`` bytes (int, two strings, float, bool); its rows."""
    rnd = random.Random(11)
    letters = "abcdefghijklmnopqrstuvwxyz"
    suffixes = [
        f",{''.join(rnd.choices(letters, k=rnd.randint(8, 40)))},{rnd.random() * 1000:.4f},"
        f"{rnd.random() < 0.5},{''.join(rnd.choices(letters + ' ', k=rnd.randint(10, 40)))}\n"
        for _ in range(65536)
    ]
    written, row = 0, 0
    with open(path, "w") as out:
        written += out.write("id,name,score,flag,note\n")
        while written < size:
            ids = map(str, range(row, row + len(suffixes)))
            written += out.write("".join(map(str.__add__, ids, suffixes)))
            row += len(suffixes)
        out.flush()
        os.fsync(out.fileno())
    return row


def io_counters() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def drop_from_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def before(path: Path, store: Any) -> dict[str, Any]:
    """publish.prepare's public path as it was at a8845a8: five reads of the input."""
    from datasoil import config
    from datasoil.formats import merkle, rows, unixfs
    from datasoil.formats.croissant import FileEntry, build, canonical_bytes

    chosen = unixfs.profile_for(None)
    schema = rows.infer_schema(path)  # 1: inference
    files = []
    for file in rows.dataset_files(path):
        added = unixfs.add_path(file, chosen)  # 2: the file's CID
        digest = hashlib.sha256()
        with file.open("rb") as handle:  # 3: the file's SHA-256
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        files.append(
            FileEntry(file.name, str(added.cid), file.stat().st_size, digest.hexdigest(), "csv")
        )
    builder = merkle.RootBuilder()
    for hashes in rows.dataset_leaf_hashes(path, schema, None):  # 4: the row leaves
        builder.extend(hashes)
    content_cid = str(store.add_path(path, chosen, pin=True))  # 5: the store
    document = build(
        name=path.stem,
        description=f"{path.name}, published with datasoil",
        license="CC-BY-4.0",
        creator="unknown",
        content_cid=content_cid,
        files=files,
        schema=schema,
        row_root=builder.root(),
        row_count=builder.size,
        cid_profile=chosen.name,
        encoding_version=rows.ENCODING_VERSION,
        derived_from=(),
        private=False,
        http_gateway=config.http_gateway(),
    )
    metadata_cid = str(store.add_bytes(canonical_bytes(document), chosen, pin=True))
    return {
        "content_cid": content_cid,
        "row_root": builder.root().hex(),
        "rows": builder.size,
        "metadata_cid": metadata_cid,
    }


def after(path: Path, store: Any) -> dict[str, Any]:
    from datasoil.flows import publish

    prepared = publish.prepare(path, store=store)
    return {
        "content_cid": prepared.content_cid,
        "row_root": prepared.row_root.hex(),
        "rows": prepared.row_count,
        "metadata_cid": prepared.metadata_cid,
    }


MODES = {"before": before, "after": after}


def child(mode: str, csv: Path, work: Path) -> None:
    from datasoil.store.local import LocalStore

    mine = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=work))  # a fresh store each run
    try:
        warm = mine / "warm.csv"
        make_csv(warm, 64 * 1024)
        MODES[mode](warm, LocalStore(mine / "warm-store"))
        store = LocalStore(mine / "store")
        drop_from_cache(csv)
        io0, t0 = io_counters(), time.perf_counter()
        out = MODES[mode](csv, store)
        wall, io1 = time.perf_counter() - t0, io_counters()
    finally:
        shutil.rmtree(mine, ignore_errors=True)
    out.update(
        wall=wall,
        rchar=io1["rchar"] - io0["rchar"],
        read_bytes=io1["read_bytes"] - io0["read_bytes"],
    )
    print(json.dumps(out))


def run_child(mode: str, csv: Path, work: Path, src: Path = ROOT / "offchain") -> dict[str, Any]:
    """The child's JSON line (datasoil imported from ``src``), with its peak RSS (MiB)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    argv = [PY, __file__, "--child", mode, str(csv), str(work)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{mode} failed ({proc.returncode}):\n{err.read().decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "WORK"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "publish.md")
    parser.add_argument(
        "--old-tree",
        type=Path,
        help="also run publish.prepare from this offchain/ folder (e.g. `git archive "
        "a8845a8 offchain | tar -x -C DIR`, then DIR/offchain) as the row `prepare at DIR`",
    )
    args = parser.parse_args()
    if args.child:
        mode, csv, work = args.child
        child(mode, Path(csv), Path(work))
        return

    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="datasoil-bench-publish-") as tmp:
        work = Path(tmp)
        csv = work / "bench.csv"
        t = time.perf_counter()
        n_rows = make_csv(csv, args.size_mib * 2**20)
        size = csv.stat().st_size
        print(f"generated {size / GIB:.2f} GiB, {n_rows:,} rows in {time.perf_counter() - t:.1f} s")
        results = {}
        runs = [("before", "before", ROOT / "offchain"), ("after", "after", ROOT / "offchain")]
        if args.old_tree:
            runs.append((f"prepare at {args.old_tree}", "after", args.old_tree))
        for label, mode, src in runs:
            results[label] = run_child(mode, csv, work, src)
            r = results[label]
            print(
                f"{label}: {r['wall']:.1f} s, rchar {r['rchar'] / size:.2f}x the input, "
                f"read_bytes {r['read_bytes'] / GIB:.2f} GiB, peak RSS {r['rss_mib']:.0f} MiB"
            )
    keys = ("content_cid", "row_root", "rows", "metadata_cid")
    same = {k: results["before"][k] for k in keys}
    for r in results.values():
        assert same == {k: r[k] for k in keys}, results
    load_end = os.getloadavg()[0]

    command = f".venv/bin/python bench/bench_publish.py --size-mib {args.size_mib}"
    if args.old_tree:
        command += f" --old-tree {args.old_tree}"
    lines = [
        "# Publish of a large CSV: passes over the input (issue 11 item 3)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other workers "
        f"(1-min load average {load_start:.1f} at the start, {load_end:.1f} at the end); "
        f"Python {platform.python_version()}, pyarrow {metadata.version('pyarrow')}.",
        "",
        f"Input: {size:,} bytes ({size / GIB:.2f} GiB), {n_rows:,} rows of id (int64), name "
        "(string), score (float64), flag (bool), note (string). Fresh embedded store per "
        "run (fsync on), the CSV dropped from the page cache before each run.",
        "",
        "`before` is the public path of `publish.prepare` up to commit a8845a8, rebuilt from "
        "the same component functions (inference, UnixFS import, SHA-256, row leaves, "
        "store import: five reads); `after` is `publish.prepare` (inference, then one pass "
        "for all four). `rchar` counts every byte through read(2) (each pass, cached or "
        "not); `read_bytes` what came from the disk. Every row gives the same content CID "
        f"`{same['content_cid']}`, row root `0x{same['row_root'][:16]}...` and metadata "
        f"CID `{same['metadata_cid']}`."
        + (
            f" `prepare at {args.old_tree}` is `publish.prepare` imported from that folder."
            if args.old_tree
            else ""
        ),
        "",
        "`after` peaks higher in RSS: pyarrow's CSV reader holds its read-ahead (32 blocks "
        "of 4 MiB) in Python-allocated buffers when it reads a stream rather than a path. "
        "It is bounded whatever the input size (sampled: the same plateau at 384 MiB and "
        "1 GiB). Wall times move with the load of the shared cores.",
        "",
        "| path | wall s | peak RSS MiB | rchar GiB | rchar / input | read_bytes GiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode, r in results.items():
        lines.append(
            f"| {mode} | {r['wall']:.1f} | {r['rss_mib']:.0f} | {r['rchar'] / GIB:.2f} "
            f"| {r['rchar'] / size:.2f} | {r['read_bytes'] / GIB:.2f} |"
        )
    lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
