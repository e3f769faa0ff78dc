"""Row-commit throughput: encode (datasoil-rows-v1) + RFC 9162 leaf hash + tree, 100-byte rows.

Usage:  .venv/bin/python bench/bench_rows.py [--rows N] [--out bench/rows.md]

Rows are (id int64, text string, score float64, flag bool), 100 bytes encoded each, built
as Arrow batches of 2**16 rows (building them is cheap and included). Measured:
one thread (rows.batch_leaf_digests + RootBuilder.extend_digests: vectorised encoding, leaf
hashes and tree levels through merkle's native path, merkle.backend()), two threads of one
process and two
processes, each committing whole shards of 2**16 rows composed with merkle.combine_shards
(checked equal to the one-thread root), and the per-row hashlib reference path for
comparison. Peak RSS is reported per row count to show memory is flat.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import importlib.metadata
import itertools
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "offchain"))

from datasoil.formats import merkle, rows

SHARD = 1 << 16
SCHEMA = rows.Schema(
    (
        rows.Column("id", "int64"),
        rows.Column("text", "string"),
        rows.Column("score", "float64"),
        rows.Column("flag", "bool"),
    )
)
_TEXT = pa.array([f"row text {i:06d} " + "x" * 66 for i in range(SHARD)], pa.string())
_SCORE = pa.array(np.random.default_rng(1).random(SHARD))
_FLAG = pa.array(np.arange(SHARD) % 2 == 0)


def make_batch(shard: int, n: int = SHARD) -> pa.RecordBatch:
    ids = pa.array(np.arange(shard * SHARD + 10**9, shard * SHARD + 10**9 + n, dtype=np.int64))
    return pa.RecordBatch.from_arrays(
        [ids, _TEXT.slice(0, n), _SCORE.slice(0, n), _FLAG.slice(0, n)], schema=SCHEMA.to_arrow()
    )


def _root(shard: int, n: int) -> bytes:
    builder = merkle.RootBuilder()
    builder.extend_digests(rows.batch_leaf_digests(make_batch(shard, n), SCHEMA))
    return builder.root()


def shard_root(shard: int, n: int) -> tuple[bytes, float]:
    c0 = time.process_time()
    root = _root(shard, n)
    return root, time.process_time() - c0


def _sizes(total: int) -> list[int]:
    return [min(SHARD, total - s * SHARD) for s in range(-(-total // SHARD))]


def one_process(total: int) -> tuple[bytes, float, float]:
    t0 = time.perf_counter()
    c0 = time.process_time()
    builder = merkle.RootBuilder()
    for shard, n in enumerate(_sizes(total)):
        builder.extend_digests(rows.batch_leaf_digests(make_batch(shard, n), SCHEMA))
    root = builder.root()
    return root, time.perf_counter() - t0, time.process_time() - c0


def reference(total: int) -> tuple[bytes, float, float]:
    """The path before the native one (commit c088272): hashlib per leaf over the encoded
    Arrow buffer, and per interior node level by level in Python."""
    sha = hashlib.sha256
    t0 = time.perf_counter()
    c0 = time.process_time()
    builder = merkle.RootBuilder()
    for shard, n in enumerate(_sizes(total)):
        encoded = rows.encode_batch(make_batch(shard, n), SCHEMA, b"\x00")
        bounds = np.frombuffer(encoded.buffers()[1], np.int32)[: n + 1].tolist()
        data = memoryview(encoded.buffers()[2])
        level = [sha(data[a:b]).digest() for a, b in itertools.pairwise(bounds)]
        if n == SHARD:
            while len(level) > 1:
                pairs = zip(level[::2], level[1::2], strict=True)
                level = [sha(b"\x01" + a + b).digest() for a, b in pairs]
            builder.append_subtree(level[0], SHARD.bit_length() - 1)
        else:
            for leaf in level:
                builder.append(leaf)
    root = builder.root()
    return root, time.perf_counter() - t0, time.process_time() - c0


def two_threads(total: int) -> tuple[bytes, float, float]:
    sizes = _sizes(total)
    with cf.ThreadPoolExecutor(2) as pool:
        t0 = time.perf_counter()
        c0 = time.process_time()
        roots = list(pool.map(_root, range(len(sizes)), sizes))
        root = merkle.combine_shards(roots, SHARD, total)
        return root, time.perf_counter() - t0, time.process_time() - c0


def two_processes(total: int) -> tuple[bytes, float, float]:
    sizes = _sizes(total)
    with cf.ProcessPoolExecutor(2) as pool:
        list(pool.map(shard_root, [0, 1], [1, 1]))  # start the workers before timing
        t0 = time.perf_counter()
        results = list(pool.map(shard_root, range(len(sizes)), sizes, chunksize=4))
        root = merkle.combine_shards([r for r, _ in results], SHARD, total)
        return root, time.perf_counter() - t0, sum(c for _, c in results)


def _rss_run(total: int) -> int:
    """Peak RSS (KiB) of a fresh one-process run over ``total`` rows."""
    code = (
        "import sys, resource; sys.argv=['x']; sys.path.insert(0, 'bench');"
        f"import bench_rows as b; b.one_process({total});"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--out", type=Path, default=Path("bench/rows.md"))
    args = ap.parse_args()
    total = args.rows
    load_start = os.getloadavg()
    sample = rows.encode_rows(make_batch(0, 4), SCHEMA)
    row_bytes = len(sample[0])

    root0, t0, c0 = reference(min(total, 1 << 20))
    root1, t1, c1 = one_process(total)
    root3, t3, c3 = two_threads(total)
    root2, t2, c2 = two_processes(total)
    assert root1 == root2 == root3, "sharded root differs from the flat root"
    if total <= 1 << 20:
        assert root0 == root1, "fast path differs from the reference path"
    else:
        assert root0 == one_process(1 << 20)[0], "fast path differs from the reference path"
    n0 = min(total, 1 << 20)
    rss = {n: _rss_run(n) for n in (total // 4, total)}
    load = os.getloadavg()

    lines = [
        "# Row commit throughput (encode + leaf hash + RFC 9162 tree)",
        "",
        f"Command: `.venv/bin/python bench/bench_rows.py --rows {total}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other workers; "
        f"1-min load average {load_start[0]:.1f} at the start, {load[0]:.1f} at the end), "
        f"Python {platform.python_version()}, pyarrow {pa.__version__}, numpy {np.__version__}, "
        f"polars-hash {importlib.metadata.version('polars-hash')}.",
        "",
        f"Rows: {row_bytes} bytes encoded each (int64, 82-char string, float64, bool), "
        f"{total:,} rows, batches of {SHARD:,}. Root 0x{root1.hex()[:16]}... "
        "(the two runs agree).",
        "",
        "Wall-clock rows/s depends on what else runs on the shared cores; CPU seconds (the",
        "processes' own, summed over threads and workers) hardly do: rows per CPU-second times",
        "2 estimates the two-worker modes on an idle 2-core machine (an estimate, not a",
        "measurement).",
        "",
        f"The native path (`{merkle.backend()}`): rows.batch_leaf_digests (vectorised",
        "DAG-CBOR encoding with the 0x00 prefix written by the encoder, SHA-256 of every row",
        "in one call) and RootBuilder.extend_digests (a tree level per call). The C module",
        "(datasoil.formats._sha256) hashes on the CPU's SHA extensions with the GIL released;",
        "without it the same calls go to the polars-hash plugin. The reference row is",
        "hashlib per leaf and per node (same encoder). Issue 16 measured 1.48 M rows/s on",
        "one core through polars-hash (commit d9714f8); its budget is 2 M rows/s.",
        "",
        "Threads: the C module releases the GIL while hashing (polars-hash did not run in",
        "parallel within one process), so two threads can overlap their hashing; the",
        "encoding's NumPy and pyarrow calls release it in part. Two processes over 2^16-row",
        "shards use both cores when they are free.",
        "",
        "| mode | rows | wall s | rows/s (wall) | CPU s | rows per CPU-second |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| reference: per-row hashlib, one thread | {n0:,} | {t0:.2f} | {n0 / t0:,.0f} | "
        f"{c0:.2f} | {n0 / c0:,.0f} |",
        f"| one thread | {total:,} | {t1:.2f} | {total / t1:,.0f} | {c1:.2f} | {total / c1:,.0f} |",
        f"| two threads, shards of 2^16 + combine_shards | {total:,} | {t3:.2f} | "
        f"{total / t3:,.0f} | {c3:.2f} | {total / c3:,.0f} |",
        f"| two processes, shards of 2^16 + combine_shards | {total:,} | {t2:.2f} | "
        f"{total / t2:,.0f} | {c2:.2f} | {total / c2:,.0f} |",
        "",
        "| rows (one process) | peak RSS |",
        "| ---: | ---: |",
        *(f"| {n:,} | {kib / 1024:.0f} MiB |" for n, kib in rss.items()),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
