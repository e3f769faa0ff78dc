"""Training recorders record exactly the rows served and write the manifest: the plain
pyarrow/pandas path, PyTorch's Sampler and IterableDataset wrappers (skipped without
torch) and the Hugging Face wrapper (skipped without datasets); 1 M rows within budget."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from datasoil.errors import ManifestError
from datasoil.flows import train
from datasoil.formats import manifest as mf

ROOT = b"\x11" * 32
REF = train.DatasetRef(3, ROOT, 10)
TABLE = pa.table({"x": list(range(10)), "y": [i % 2 for i in range(10)]})


def test_recorder__epochs_count_each_row_once_and_match_build(tmp_path):
    r = train.Recorder([REF])
    r.record(3, [4, 1, 1, 7])
    r.record(3, np.array([7, 9]))
    r.record(3, 0)
    manifest = r.write(tmp_path / "m.json")
    expected = mf.build({3: (ROOT, 10, [0, 1, 4, 7, 9])})
    assert (manifest.root, manifest.size) == (expected.root, 5)
    assert mf.loads((tmp_path / "m.json").read_bytes()).root == expected.root


def test_recorder__unknown_dataset_or_row_past_the_count_is_refused():
    r = train.Recorder([REF])
    r.record(5, [1])
    with pytest.raises(ManifestError, match="among the recorder's datasets"):
        r.manifest()
    r = train.Recorder([REF])
    r.record(3, [10])
    with pytest.raises(ManifestError, match="below its row count"):
        r.manifest()
    with pytest.raises(ManifestError, match="non-negative"):
        r.record(3, [-1])


def test_select__pyarrow_and_pandas_record_what_they_return():
    r = train.Recorder([REF])
    got = train.select(TABLE, [2, 5], r, 3)
    assert got.column("x").to_pylist() == [2, 5]
    frame = train.select(TABLE.to_pandas(), [5, 8], r, 3)
    assert frame["x"].tolist() == [5, 8]
    assert r.indices(3).tolist() == [2, 5, 8]


def test_torch__sampler_and_iterable_record_exactly_what_was_served():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, RandomSampler

    r = train.Recorder([REF])
    g = torch.Generator().manual_seed(1)
    sampler = train.RecordingSampler(RandomSampler(range(10), generator=g), r, 3)
    assert isinstance(sampler, torch.utils.data.Sampler) and len(sampler) == 10
    loader = DataLoader(TABLE.column("x").to_pylist(), sampler=sampler, batch_size=4)
    first = next(iter(loader))  # an epoch stopped after one batch
    del loader
    import gc

    gc.collect()
    assert sorted(r.indices(3).tolist()) == sorted(first.tolist())
    r2 = train.Recorder([REF])
    ds = train.RecordingIterableDataset(TABLE, r2, 3, columns=["x"], order=[9, 3, 3])
    assert [row["x"] for row in ds] == [9, 3, 3]
    assert r2.indices(3).tolist() == [3, 9]


def test_hf__the_dataset_records_the_rows_it_returns():
    pytest.importorskip("datasets")
    r = train.Recorder([REF])
    ds = train.hf_dataset(TABLE, r, 3)
    assert ds[4]["x"] == 4
    assert ds[6:8]["x"] == [6, 7]
    assert "__datasoil_row" not in ds[0]
    assert r.indices(3).tolist() == [0, 4, 6, 7]  # ds[0] was read too


def test_recorder__a_million_rows_within_budget():
    n = 1_000_000
    order = np.random.default_rng(0).permutation(n)
    r = train.Recorder([train.DatasetRef(1, ROOT, n)])
    t0 = time.perf_counter()
    for start in range(0, n, 65536):
        r.record(1, order[start : start + 65536])
    manifest = r.manifest()
    elapsed = time.perf_counter() - t0
    assert manifest.size == n
    assert elapsed < 4.0, f"{elapsed:.2f} s (budget 2 s, asserted at 4 s for loaded CI)"
