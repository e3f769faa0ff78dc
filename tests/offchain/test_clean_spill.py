"""Dedupe through spill files gives exactly the in-memory dedupe's files
(datasoil.engine.clean._dedupe_spilled).

The spill path runs above ``DEDUPE_MEMORY_ROWS`` rows; here the thresholds are lowered so
that a few hundred rows meet many hash partitions and row-range buckets, buckets with no
duplicates, partitions with none, and duplicates whose first row is in another bucket.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datasoil.engine import clean as engine
from datasoil.formats.recipe import load_recipe

RECIPE = """version: 1
steps:
  - {kind: drop_nulls, columns: [id]}
  - {kind: normalise, columns: [mail], unicode: NFKC, case: lower}
  - {kind: dedupe, columns: [mail]}
  - {kind: outliers, columns: [x], action: drop, k: 1.0}
  - {kind: dedupe, columns: [tag, x]}
  - {kind: dedupe, columns: [id]}
"""


def _table(n: int, seed: int) -> pa.Table:
    """Keys repeated often (mixed case, nulls, signed zeros), a few null ids."""
    rng = np.random.default_rng(seed)
    mail = [f"{'AB'[i % 2]}{i}@x" for i in rng.integers(0, max(n // 4, 1), n)]
    x = rng.choice([0.0, -0.0, 1.5, 2.5, 3.0, 100.0], n)
    return pa.table(
        {
            "id": pa.array(rng.integers(0, n, n), mask=rng.random(n) < 0.05),
            "mail": pa.array(mail, mask=rng.random(n) < 0.1),
            "tag": pa.array(rng.choice(["a", "b"], n), mask=rng.random(n) < 0.2),
            "x": pa.array(x, mask=rng.random(n) < 0.1),
        }
    )


def _files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in ("data.parquet", "fate.bin", "proof.json")}


@pytest.mark.parametrize(("n", "partition", "bucket"), [(700, 64, 50), (900, 1000, 7), (5, 1, 1)])
def test_dedupe__spilled_files_are_in_memory_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int, partition: int, bucket: int
) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(_table(n, n + bucket), src, row_group_size=100)
    recipe = load_recipe(RECIPE)
    memory = engine.clean(src, recipe, tmp_path / "memory")
    monkeypatch.setattr(engine, "DEDUPE_MEMORY_ROWS", 0)
    monkeypatch.setattr(engine, "DEDUPE_PARTITION_ROWS", partition)
    monkeypatch.setattr(engine, "DEDUPE_BUCKET_ROWS", bucket)
    spilled = engine.clean(src, recipe, tmp_path / "spilled")
    assert _files(spilled.out_dir) == _files(memory.out_dir)
    assert memory.proof["steps"][2]["rows_dropped"] > 0 or n < 10
    assert 0 < memory.rows_out < n
