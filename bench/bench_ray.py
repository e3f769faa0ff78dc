"""Benchmark: shards on Ray against one process (issue 16's budget: with 2 workers at
least 1.7x faster than one process, at most 2 GiB peak RSS per worker, same roots).

    .venv/bin/python bench/bench_ray.py [--rows 10000000] [--shard-rows 1048576,4194304]
        [--one-core] [--one-worker]
    make bench-ray                      # --one-core

With ``--one-core`` also one process held to CPU 0 (``taskset -c 0``): a worker's share of
the machine, the run two workers are compared with in the "over one core" column (one
process free on every core already spreads over them: docs/decisions.md); with
``--one-worker`` also a running cluster of one worker.

Not part of ``make bench`` (minutes). On bench_outofcore's generated Parquet file, each in
its own process, one after another: ``datasoil root FILE`` and ``datasoil clean FILE
--recipe R`` (bench_clean's five steps), then the same with ``--ray`` (a local cluster of
this machine's CPUs, started by the command and counted in its wall time) for each shard
size. Peak RSS per Ray worker is the largest VmHWM of any ``default_worker.py`` process
under the command, sampled from /proc every 50 ms; the driver's is the command's own.
Ray's start and stop alone (``ray.init(); ray.shutdown()``) are measured apart. Checks
that every run gives the same roots (and for clean the same three files). Writes
bench/ray.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import RECIPE
from bench_outofcore import TMP, make_data
from bench_outofcore import measure as outofcore_measure

HERE = Path(__file__).parent


def _children(pid: int) -> dict[int, str]:
    """Every descendant of ``pid``: its command line."""
    parents: dict[int, int] = {}
    lines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        lines[int(entry.name)] = cmd
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found[child] = lines[child]
                frontier.append(child)
    return found


def _hwm(pid: int) -> int:
    """VmHWM of ``pid`` in bytes (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(argv: list[str], cluster: int | None = None) -> dict[str, Any]:
    """:func:`bench_outofcore.measure`, with the largest peak RSS of a Ray worker (any
    ``default_worker.py`` process under the command, or under the process ``cluster``)
    and the number of workers seen. Its CPU seconds are the command's and what it waits
    for, not Ray's daemons and workers."""
    workers: set[int] = set()
    peak = {"worker": 0, "ticks": 0}

    def watch(pid: int) -> None:
        if peak["ticks"] % 10 == 0:  # the process tree every 0.5 s, known workers every tick
            tree = _children(pid if cluster is None else cluster)
            workers.update(p for p, cmd in tree.items() if "default_worker.py" in cmd)
        peak["worker"] = max([peak["worker"], *(_hwm(p) for p in workers)])
        peak["ticks"] += 1

    result = outofcore_measure(argv, watch)
    return {**result, "driver": result["rss"], "worker": peak["worker"], "workers": len(workers)}


def ray_start() -> float:
    code = (
        "import time, ray; t = time.perf_counter(); "
        "ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False); "
        "ray.shutdown(); print(time.perf_counter() - t)"
    )
    return float(measure([sys.executable, "-c", code])["out"].strip().splitlines()[-1])


@contextlib.contextmanager
def running_cluster(cpus: int | None = None) -> Iterator[tuple[str, int]]:
    """A Ray head node of this machine's CPUs (or ``cpus`` of them: that many workers),
    started here in a process group of its own and stopped by that group's id (``ray
    stop`` would stop every Ray on the machine): its address and the pid of ``ray
    start``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = str(Path(sys.executable).parent / "ray")
    # its own temp dir: `ray start` records the cluster's address there, where a later
    # ray.init() without an address (a test's local cluster) would otherwise find it
    temp = Path(tempfile.mkdtemp(prefix="ds-ray-", dir="/tmp"))
    start = [ray, "start", "--head", f"--port={port}", "--include-dashboard=false"]
    if cpus is not None:
        start.append(f"--num-cpus={cpus}")
    head = subprocess.Popen(
        [*start, f"--temp-dir={temp}", "--block"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        address = f"127.0.0.1:{port}"
        for _ in range(240):  # until a driver can connect
            probe = subprocess.run(
                [sys.executable, "-c", f"import ray; ray.init(address='{address}')"],
                capture_output=True,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.5)
        yield address, head.pid
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shard-rows", default="1048576,4194304")
    parser.add_argument("--out", type=Path, default=HERE / "ray.md")
    parser.add_argument(
        "--one-core",
        action="store_true",
        help="also one process held to one core (taskset -c 0): a worker's CPUs",
    )
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="also a running cluster of one worker (ray start --num-cpus=1)",
    )
    args = parser.parse_args()
    data = make_data(args.rows)
    recipe = TMP / "ray-recipe.yaml"
    recipe.write_text(RECIPE)
    load_start = os.getloadavg()
    started = ray_start()
    runs: list[dict[str, Any]] = []
    files: dict[str, tuple[str, ...]] = {}
    sizes = [int(s) for s in args.shard_rows.split(",")]
    runs.append(run(data, recipe, None, None, 0, files))
    if args.one_core:
        runs.append(run(data, recipe, None, "one core", 0, files))
    runs.extend(run(data, recipe, shard, "local", 0, files) for shard in sizes)
    clusters = [None, 1] if args.one_worker else [None]
    for cpus in clusters:  # started after: their idle daemons cost CPU
        with running_cluster(cpus) as (address, head):
            runs.extend(run(data, recipe, shard, address, head, files, cpus) for shard in sizes)
    load_end = os.getloadavg()
    same_roots = len({r["root"]["root"] for r in runs}) == 1
    same_files = len(set(files.values())) == 1
    write_table(args, runs, started, load_start, load_end, same_roots, same_files)


def run(
    data: Path,
    recipe: Path,
    shard: int | None,
    where: str | None,
    head: int,
    files: dict[str, tuple[str, ...]],
    cpus: int | None = None,
) -> dict[str, Any]:
    """``datasoil root`` and ``datasoil clean`` in one process (``where`` None, or
    ``"one core"``: held to CPU 0 by ``taskset``), on a local cluster started by the
    command (``"local"``) or on the running cluster at ``where`` (of ``cpus`` workers,
    None: every CPU); the clean's three files' digests go to ``files``."""
    datasoil = str(Path(sys.executable).parent / "datasoil")
    sharded = where not in (None, "one core")
    ray = ["--ray", str(where), "--shard-rows", str(shard)] if sharded else []
    cluster = head if where not in (None, "one core", "local") else None
    pin = ["taskset", "-c", "0"] if where == "one core" else []
    if where is None:
        name = "one process"
    elif where == "one core":
        name = "one process, held to one core (`taskset -c 0`)"
    elif where == "local":
        name = f"Ray, a cluster started by the command, shards of {shard:,}"
    else:
        workers = f"{cpus} worker" if cpus == 1 else f"{os.cpu_count()} workers"
        name = f"Ray, a running cluster of {workers}, shards of {shard:,}"
    root = measure([*pin, datasoil, "root", str(data), "--no-progress", *ray], cluster)
    root["root"] = json.loads(root["out"])["root"]
    out = TMP / f"ray-out-{shard}-{cluster}"
    cleaned = measure(
        [
            *pin,
            datasoil,
            "clean",
            str(data),
            "--recipe",
            str(recipe),
            "--out",
            str(out),
            "--quiet",
            *ray,
        ],
        cluster,
    )
    proof = json.loads(cleaned["out"])
    files[name] = tuple(digest(out / f) for f in ("data.parquet", "fate.bin", "proof.json"))
    shutil.rmtree(out)
    print(name, f"root {root['wall']:.1f} s, clean {cleaned['wall']:.1f} s", flush=True)
    return {
        "name": name,
        "shard": shard,
        "one_core": where == "one core",
        "cpus": cpus,
        "root": root,
        "clean": cleaned,
        "proof": proof,
    }


def write_table(
    args: Any,
    runs: list[dict[str, Any]],
    started: float,
    load_start: Any,
    load_end: Any,
    same_roots: bool,
    same_files: bool,
) -> None:
    cmd = f".venv/bin/python bench/bench_ray.py --rows {args.rows} --shard-rows {args.shard_rows}"
    cmd += " --one-core" if args.one_core else ""
    cmd += " --one-worker" if args.one_worker else ""
    if args.out != HERE / "ray.md":
        cmd += f" --out {os.path.relpath(args.out, HERE.parent)}"
    base = runs[0]
    lines = [
        f"# `{cmd}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (so a local Ray cluster of "
        f"{os.cpu_count()} workers), shared with other workers: 1-min load average "
        f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end. One run each, in "
        "turn, each in its own process. Input: bench_outofcore's generated Parquet "
        f"({args.rows:,} rows); clean: bench_clean's five steps. `--ray local` starts a "
        f"cluster for the command: its start and stop alone take {started:.1f} s here, "
        "counted in those rows' wall time; `--ray ADDRESS` uses a head node started "
        "beforehand (`ray start --head`, the same CPUs), as on a real cluster.",
        "",
        "| command | engine | wall s | CPU s | speed-up | speed-up over one core "
        "| driver peak RSS MiB | workers | largest worker peak RSS MiB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    core = next((r for r in runs if r["one_core"]), None)
    for what in ("root", "clean"):
        for r in runs:
            m = r[what]
            speed = float(base[what]["wall"]) / float(m["wall"])
            over = "" if core is None else f"{float(core[what]['wall']) / float(m['wall']):.2f}x"
            cpu = "" if r["shard"] is not None else f"{float(m['cpu']):.1f}"
            workers = "" if r["shard"] is None else str(m["workers"])
            worker = "" if r["shard"] is None else f"{float(m['worker']) / 2**20:,.0f}"
            lines.append(
                f"| `datasoil {what}` | {r['name']} | {float(m['wall']):.1f} | {cpu} "
                f"| {speed:.2f}x | {over} | {float(m['driver']) / 2**20:,.0f} | {workers} "
                f"| {worker} |"
            )
    p = base["proof"]
    lines += [
        "",
        f"Same row root in every run: **{'yes' if same_roots else 'NO'}**; same data.parquet, "
        f"fate.bin and proof.json from every clean: **{'yes' if same_files else 'NO'}** "
        f"(input `{p['input_root']}`, output `{p['output_root']}`, fate `{p['fate_root']}`).",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
