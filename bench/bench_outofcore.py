"""Benchmark: out of core. ``datasoil clean`` (which commits the input, output and fate
trees) and ``datasoil root`` on generated Parquet files of growing size, with each run's
peak RSS, to show that memory follows the batch size and the whole-dataset steps' few
bytes per row, not the dataset.

    .venv/bin/python bench/bench_outofcore.py [--rows 10000000,30000000,100000000]
    make bench-outofcore                     # the same, 10 M, 30 M and 100 M rows

Not part of ``make bench`` (the 100 M-row run takes minutes and ~25 GB of scratch disk).
Files are generated chunk by chunk (bench/bench_clean.py's distribution: names with stray
spaces, e-mails with ~5% repeats and ~1% nulls, scores with outliers) into
bench/tmp/ooc-N.parquet and kept for reruns. Each command runs alone in a child process;
CPU seconds and peak RSS are the child's own (wait4). Two recipes: bench_clean's five
steps (trim, normalise, drop_nulls, dedupe, outliers: the last two need the whole
dataset) and its three row-local steps alone. Writes bench/outofcore.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import CHILD, RECIPE

HERE = Path(__file__).parent
TMP = HERE / "tmp"
CHUNK = 1 << 20
LOCAL = "\n".join(RECIPE.splitlines()[:5]) + "\n"  # trim, normalise, drop_nulls


def make_data(n: int) -> Path:
    """bench_clean's rows, generated and written one chunk at a time (bounded memory)."""
    path = TMP / f"ooc-{n}.parquet"
    if path.exists():
        return path
    TMP.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    writer: Any = None
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        rng = np.random.default_rng([5, start])
        ids = np.arange(start, start + m, dtype=np.int64)
        person = np.where(rng.random(m) < 0.05, rng.integers(0, max(n // 2, 1), m), ids)
        emails = pl.Series("e", person).cast(pl.String)
        frame = pl.DataFrame(
            {"id": ids, "name": rng.choice(["  Ada", "bob ", "CHLOE", "dan\t"], m)}
        ).with_columns(
            pl.when(pl.Series(rng.random(m) < 0.01))
            .then(None)
            .when(pl.Series(rng.random(m) < 0.3))
            .then(pl.lit(" U") + emails + pl.lit("@EXAMPLE.COM"))
            .otherwise(pl.lit("u") + emails + pl.lit("@example.com"))
            .alias("email"),
            pl.Series(
                "score", np.round(rng.normal(50, 10, m) * np.where(rng.random(m) < 0.001, 40, 1), 3)
            ),
        )
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if writer is None:
            writer = pq.ParquetWriter(part, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=CHUNK)
    writer.close()
    part.rename(path)
    return path


def _status(pid: int) -> dict[str, int]:
    """VmHWM and RssAnon (KiB) of a running process, from /proc (empty once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = (line.split(":") for line in text.splitlines())
    return {k: int(v.split()[0]) for k, v in fields if k in ("VmHWM", "RssAnon")}


def measure(argv: list[str], watch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run ``argv`` alone: its stdout, wall seconds, CPU seconds (user + system, all
    threads, from wait4), peak RSS (the kernel's VmHWM: anonymous and file-backed pages,
    such as the memory-mapped Arrow checkpoints) and peak anonymous RSS, both in bytes,
    sampled from /proc every 50 ms. (``ru_maxrss`` would not do: Linux keeps it across
    ``execve``, so a child forked from this process would carry this process's RSS.)
    ``watch`` is called with the child's pid at every sample."""
    env = {"PYTHONPATH": str(HERE.parent / "offchain"), "PATH": os.environ["PATH"]}
    out = TMP / f"stdout-{os.getpid()}.txt"
    peak = {"VmHWM": 0, "RssAnon": 0}
    cpu_before = _children_cpu()
    start = time.perf_counter()
    with open(out, "w") as stdout, subprocess.Popen(argv, env=env, stdout=stdout) as child:
        while child.poll() is None:
            for k, v in _status(child.pid).items():
                peak[k] = max(peak[k], v)
            if watch is not None:
                watch(child.pid)
            time.sleep(0.05)
        wall = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"{argv[:3]} exited {child.returncode}")
    return {
        "out": out.read_text(),
        "wall": wall,
        "cpu": _children_cpu() - cpu_before,
        "rss": peak["VmHWM"] * 1024,
        "anon": peak["RssAnon"] * 1024,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000000,30000000,100000000")
    parser.add_argument("--out", type=Path, default=HERE / "outofcore.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",")]
    py = sys.executable
    datasoil = str(Path(py).parent / "datasoil")
    recipes = {"five steps": TMP / "ooc-recipe.yaml", "row-local": TMP / "ooc-local.yaml"}
    TMP.mkdir(parents=True, exist_ok=True)
    recipes["five steps"].write_text(RECIPE)
    recipes["row-local"].write_text(LOCAL)
    load_start = os.getloadavg()
    results: list[dict[str, Any]] = []
    for n in sizes:
        t = time.perf_counter()
        data = make_data(n)
        made = time.perf_counter() - t
        row: dict[str, Any] = {"rows": n, "mib": data.stat().st_size / 2**20, "made": made}
        root = measure([datasoil, "root", str(data), "--no-progress"])
        row["root"] = root
        row["root_hex"] = json.loads(str(root["out"]))["root"]
        for name, recipe in recipes.items():
            out = TMP / f"ooc-out-{n}"
            run = measure([py, "-c", CHILD, str(data), str(recipe), str(out)])
            run.update(json.loads(run["out"]))
            shutil.rmtree(out)
            assert run["proof"]["input_root"] == row["root_hex"], "clean and root disagree"
            row[name] = run
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "root"}, default=str)[:400])
    load_end = os.getloadavg()
    write_table(args, results, load_start, load_end)


def write_table(args: Any, results: list[dict[str, Any]], load_start: Any, load_end: Any) -> None:
    cmd = f".venv/bin/python bench/bench_outofcore.py --rows {args.rows}"
    lines = [
        f"# `{cmd}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, shared "
        f"with other workers (1-min load average {load_start[0]:.1f} at the start, "
        f"{load_end[0]:.1f} at the end); Python {platform.python_version()}, polars "
        f"{pl.__version__}. One run each, in its own process; peak RSS and anonymous RSS "
        "sampled from /proc.",
        "",
        "Input: generated Parquet (zstd), bench_clean's distribution. `clean` is "
        "`datasoil.engine.clean.clean` (input, output and fate trees, fate file, proof); "
        "`root` is `datasoil root FILE`.",
        "",
        "Peak RSS counts the pages of the memory-mapped checkpoints too (file-backed: the "
        "kernel drops them under pressure); peak anonymous RSS is the process's own memory.",
        "",
        "| rows | Parquet MiB | command | rows out | wall s | CPU s | rows/s (wall) "
        "| peak RSS MiB | peak anon MiB | anon bytes/row |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        n = r["rows"]
        for label, run, out in (
            ("`datasoil root`", r["root"], n),
            ("clean, five steps", r["five steps"], r["five steps"]["proof"]["rows_out"]),
            ("clean, row-local", r["row-local"], r["row-local"]["proof"]["rows_out"]),
        ):
            rss, anon = float(run["rss"]), float(run["anon"])
            lines.append(
                f"| {n:,} | {r['mib']:,.0f} | {label} | {int(out):,} | {float(run['wall']):.1f} "
                f"| {float(run['cpu']):.1f} | {n / float(run['wall']):,.0f} "
                f"| {rss / 2**20:,.0f} | {anon / 2**20:,.0f} | {anon / n:.1f} |"
            )
    if len(results) > 1:
        a, b = results[0], results[-1]
        growth = ", ".join(
            f"{label} {(float(b[k]['anon']) - float(a[k]['anon'])) / (b['rows'] - a['rows']):.1f}"
            for label, k in (
                ("root", "root"),
                ("five steps", "five steps"),
                ("row-local", "row-local"),
            )
        )
        lines += [
            "",
            f"Peak anonymous RSS grows, from {a['rows']:,} to {b['rows']:,} rows, by (bytes "
            f"per added row): {growth}.",
        ]
    lines += ["", "Roots (input root = `datasoil root`'s; clean's output and fate roots):", ""]
    for r in results:
        p = r["five steps"]["proof"]
        lines.append(
            f"- {r['rows']:,} rows: input `{r['root_hex']}`, five-step output "
            f"`{p['output_root']}`, fate `{p['fate_root']}`"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
