"""Recording 1 M used rows and writing their manifest (issue 13 budget: 2 s on one core).

Three paths: datasoil.flows.train.select over a pyarrow table in 1,024-row batches, a
PyTorch RandomSampler through RecordingSampler (when torch is installed), and the
Recorder fed one epoch of shuffled indices at once; each ends with Recorder.write.
Writes bench/train.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from datasoil.flows import train

N = 1_000_000
ROOT = b"\x11" * 32


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ref = train.DatasetRef(1, ROOT, N)
    rng = np.random.default_rng(0)
    order = rng.permutation(N)
    table = pa.table({"x": np.arange(N, dtype=np.float64)})
    out = Path(tempfile.mkdtemp()) / "manifest.json"
    rows = []

    def plain() -> None:
        r = train.Recorder([ref])
        r.record(1, order)
        r.write(out)

    def select() -> None:
        r = train.Recorder([ref])
        for start in range(0, N, 1024):
            train.select(table, order[start : start + 1024], r, 1)
        r.write(out)

    rows.append(("Recorder.record of one shuffled epoch, then write", _best(plain)))
    rows.append(("train.select over a pyarrow table, 1,024-row batches, then write", _best(select)))
    try:
        import torch

        def sampler() -> None:
            r = train.Recorder([ref])
            g = torch.Generator().manual_seed(0)
            for _ in train.RecordingSampler(
                torch.utils.data.RandomSampler(range(N), generator=g), r, 1
            ):
                pass
            r.write(out)

        def bare() -> None:
            g = torch.Generator().manual_seed(0)
            for _ in torch.utils.data.RandomSampler(range(N), generator=g):
                pass

        rows.append(
            (f"torch {torch.__version__} RandomSampler alone, no recording", _best(bare, 1))
        )
        rows.append(
            (
                f"torch {torch.__version__} RandomSampler through RecordingSampler, then write",
                _best(sampler, 1),
            )
        )
    except ImportError:
        rows.append(("torch RecordingSampler (torch not installed)", float("nan")))
    lines = [
        "# Training recorders: 1 M used rows recorded and the manifest written",
        "",
        "`bench/bench_train.py`, best of 3 (torch: 1 run), one process, on this machine",
        "(x86_64, 2 cores shared with other work). Budget (issue 13): 2 s for recording the",
        "manifest of 1 M used rows. The torch row is dominated by torch's own sampler",
        "(a Python loop yielding 1 M ints), which training pays with or without datasoil.",
        "Most of each row is `manifest.build` (1.2 s on an idle core, bench/manifest.md).",
        "",
        "| path | seconds | budget |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {secs:.2f} | 2.0 |" for name, secs in rows],
        "",
    ]
    Path(__file__).with_name("train.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
