"""Benchmark: N rows (default 10 million) through a five-step recipe, cleaned and committed.

    .venv/bin/python bench/bench_clean.py [--rows N]     # writes bench/clean.md

Generates bench/tmp/clean-N.parquet once (seeded NumPy: ids, names with stray spaces and
mixed case, e-mails with ~5% duplicates and ~1% nulls, scores with outliers), then runs
``datasoil.engine.clean.clean`` in a child process (so its peak RSS is measured alone) and records
wall time, the child's CPU seconds (user + system, all threads), peak RSS, the load average
at the start and the end, rows in/out and the roots. Target: < 60 s and < 2 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent
TMP = HERE / "tmp"
RECIPE = """version: 1
steps:
  - {kind: trim, columns: [name, email]}
  - {kind: normalise, columns: [email], unicode: NFKC, case: lower}
  - {kind: drop_nulls, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: outliers, columns: [score], action: clip, k: 1.5}
"""

CHILD = """
import json, sys, time
from pathlib import Path
from datasoil.engine.clean import clean
from datasoil.formats.recipe import load_recipe
t = time.perf_counter()
r = clean(Path(sys.argv[1]), load_recipe(Path(sys.argv[2])), Path(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - t, "proof": r.proof}))
"""


def make_data(n: int) -> Path:
    path = TMP / f"clean-{n}.parquet"
    if path.exists():
        return path
    TMP.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    ids = np.arange(n, dtype=np.int64)
    person = np.where(rng.random(n) < 0.05, rng.integers(0, max(n // 2, 1), n), ids)
    names = pl.Series(rng.choice(["  Ada", "bob ", "CHLOE", "dan\t"], n))
    emails = pl.Series("e", person).cast(pl.String)
    upper = pl.Series(rng.random(n) < 0.3)
    frame = (
        pl.DataFrame({"id": ids, "name": names})
        .with_columns(
            pl.when(upper)
            .then(pl.lit(" U") + emails + pl.lit("@EXAMPLE.COM"))
            .otherwise(pl.lit("u") + emails + pl.lit("@example.com"))
            .alias("email"),
            pl.Series(
                "score", np.round(rng.normal(50, 10, n) * np.where(rng.random(n) < 0.001, 40, 1), 3)
            ),
        )
        .with_columns(
            pl.when(pl.Series(rng.random(n) < 0.01))
            .then(None)
            .otherwise(pl.col("email"))
            .alias("email")
        )
    )
    frame.write_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    data = make_data(args.rows)
    recipe = TMP / "bench-recipe.yaml"
    recipe.write_text(RECIPE)
    env_path = str(HERE.parent / "offchain")
    load_start = os.getloadavg()
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(recipe), str(TMP / "clean-out")],
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    load_end = os.getloadavg()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = usage.ru_maxrss * 1024
    cpu = usage.ru_utime + usage.ru_stime
    result = json.loads(out.stdout)
    proof = result["proof"]
    cmd = f".venv/bin/python bench/bench_clean.py --rows {args.rows}"
    lines = [
        f"# `{cmd}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other workers "
        f"(1-min load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end: "
        "wall times vary run to run, CPU seconds much less); "
        f"Python {platform.python_version()}, polars {pl.__version__}, "
        f"polars-hash {importlib.metadata.version('polars-hash')}.",
        "",
        "Recipe: trim, normalise (NFKC + lower), drop_nulls, dedupe (e-mail), outliers (clip).",
        "",
        "| rows in | rows out | clean() s | process s | CPU s | rows in per CPU-second "
        "| peak RSS MiB | target |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {proof['rows_in']:,} | {proof['rows_out']:,} | {result['seconds']:.1f} | {wall:.1f} "
        f"| {cpu:.1f} | {proof['rows_in'] / cpu:,.0f} | {rss / 2**20:.0f} "
        "| < 60 s, < 2048 MiB |",
        "",
        "Dropped per step: "
        + ", ".join(f"{s['kind']} {s['rows_dropped']:,}" for s in proof["steps"]),
        "",
        f"input root `{proof['input_root']}`  ",
        f"output root `{proof['output_root']}`  ",
        f"fate root `{proof['fate_root']}`",
        "",
    ]
    (HERE / "clean.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
