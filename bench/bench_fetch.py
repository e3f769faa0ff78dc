"""Benchmark: `datasoil fetch` of a 256 MiB file through datasoil's gateway, against
`datasoil cid` on the same file.

Run from the repository root:

    .venv/bin/python bench/bench_fetch.py [--size-mib 256] [--repeat 3]

The file (the one bench/bench_cid.py hashes) is imported into a seller's store, which
a gateway (``datasoil.app.gateway``, the Trustless Gateway server) serves from its own
process on 127.0.0.1. Each fetch runs in a fresh process with an empty cache store and
a new ``--out``: every block crosses HTTP, is verified against its CID, lands in the
cache and is written out; the bytes written must equal the input. Wall time and peak
RSS come from ``os.wait4`` (the child's own rusage); the gateway's peak RSS is its
process's, over all fetches. Writes bench/fetch.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from bench_cid import PY, ROOT, TMP, drop_cache_hint, make_input, run_child

SERVER_CHILD = r"""
import sys
from pathlib import Path
from datasoil.app import gateway
from datasoil.store.local import LocalStore
store = LocalStore(Path(sys.argv[1]))
server = gateway.serve(gateway.Gateway(None, store, dist=Path(sys.argv[1]) / "no-page"), 0)
print(server.url, flush=True)
sys.stdin.read()  # serve until the bench closes stdin
server.shutdown()
"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 2**20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    path = make_input(args.size_mib)
    expected = _sha256(path)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "offchain"))
    env = {k: v for k, v in env.items() if not k.startswith("DATASOIL_")}
    datasoil_bin = str(Path(PY).parent / "datasoil")

    seller = TMP / "fetch-seller"
    shutil.rmtree(seller, ignore_errors=True)
    added = subprocess.run(
        [
            PY,
            "-c",
            "import sys; from pathlib import Path; from datasoil.store.local import "
            "LocalStore; print(LocalStore(Path(sys.argv[1])).add_path(Path(sys.argv[2])))",
            str(seller),
            str(path),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    cid = added.stdout.strip().splitlines()[-1]
    server = subprocess.Popen(
        [PY, "-c", SERVER_CHILD, str(seller)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    url = server.stdout.readline().strip()

    rows: list[tuple[str, list[float], list[float]]] = []

    def measure(label: str, argv_fn, check_out: bool | None) -> None:  # type: ignore[no-untyped-def]
        walls, rss = [], []
        for _ in range(args.repeat):
            work = Path(tempfile.mkdtemp(prefix="fetch-", dir=TMP))
            try:
                argv = argv_fn(work)
                drop_cache_hint(path)
                line, wall, peak = run_child(argv, env)
                if check_out:
                    got = _sha256(work / "out")
                    assert got == expected, f"{label}: fetched bytes differ ({got} != {expected})"
                elif check_out is False:
                    assert line == cid, (line, cid)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            walls.append(wall)
            rss.append(peak)
        rows.append((label, walls, rss))

    try:
        measure(
            "`datasoil cid FILE` (hash the local file, no network)",
            lambda _w: [datasoil_bin, "cid", str(path)],
            False,
        )
        curl = shutil.which("curl")
        if curl is not None:
            measure(
                "curl of `?format=car` to /dev/null (the gateway and loopback alone)",
                lambda _w: [curl, "-sf", "-o", "/dev/null", f"{url}/ipfs/{cid}?format=car"],
                None,
            )
        for mode, flag in (("one CAR (default)", "--car"), ("block by block", "--blocks")):
            measure(
                f"`datasoil fetch CID --gateway URL`, {mode}",
                lambda w, flag=flag: [
                    datasoil_bin,
                    "fetch",
                    cid,
                    "--gateway",
                    url,
                    "--out",
                    str(w / "out"),
                    "--store",
                    str(w / "cache"),
                    flag,
                ],
                True,
            )
    finally:
        server.stdin.close()
        _, status, usage = os.wait4(server.pid, 0)
    gateway_rss = usage.ru_maxrss / 1024

    def fmt(xs: list[float]) -> str:
        return f"{min(xs):.2f} / {sorted(xs)[len(xs) // 2]:.2f}"

    cid_best = min(rows[0][1])
    lines = [
        f"# Fetching {args.size_mib} MiB through the gateway vs `datasoil cid`",
        "",
        "```",
        f".venv/bin/python bench/bench_fetch.py --size-mib {args.size_mib} --repeat {args.repeat}",
        "```",
        "",
        f"- input: the {args.size_mib} MiB file of bench/cid.md (in page cache), CID `{cid}`; "
        f"{os.cpu_count()} cores shared with other workers",
        "- gateway: `datasoil.app.gateway` (aiohttp) over the seller's LocalStore in its own "
        f"process on 127.0.0.1; its peak RSS over all fetches: {gateway_rss:.1f} MiB",
        "- each run a fresh process with an empty cache store (`--store`) and a new `--out`; "
        "every block verified, the output's SHA-256 checked equal to the input's",
        f"- python {platform.python_version()}, aiohttp {metadata.version('aiohttp')}, "
        f"httpx {metadata.version('httpx')}",
        "",
        "| run | wall s (best / median) | MiB/s (best) | peak RSS MiB (max) "
        "| wall vs `datasoil cid` |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, walls, rss in rows:
        lines.append(
            f"| {label} | {fmt(walls)} | {args.size_mib / min(walls):.0f} | {max(rss):.1f} "
            f"| {min(walls) / cid_best:.2f}x |"
        )
    lines += [
        "",
        "A fetch hashes every block as `datasoil cid` does, and also takes it over HTTP from",
        "the gateway (which reads and verifies it from its store first), writes it to the cache",
        "store and writes the file out: the ratio is the price of delivery between two parties",
        "over the price of hashing alone. The curl row is the gateway and loopback without a",
        "verifying client: the difference to the fetch rows is the client's. Peak RSS is at",
        "least the bench process's own at the fork (Linux keeps the high-water mark across",
        "`exec`), so small tools read about the same.",
        "",
    ]
    out = "\n".join(lines)
    (ROOT / "bench" / "fetch.md").write_text(out)
    print(out)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the gateway exited with {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
