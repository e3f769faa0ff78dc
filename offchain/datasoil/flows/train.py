"""Recording what a training run used: ``datasoil.train``.

A :class:`Recorder` collects the row indices a run is served, per registered dataset,
and writes the training manifest (:mod:`datasoil.formats.manifest`) at the end: each row
once however many epochs served it. It records in numpy chunks (a 1 M-row epoch is a few
appends), so recording costs nothing next to training; the manifest's root is computed
once, at :meth:`Recorder.manifest`.

Three ways in, each recording exactly what it serves:

* :func:`select` — the plain pyarrow / pandas path: take rows by index from a table
  (``datasoil.load``'s) and record them;
* :class:`RecordingSampler` and :class:`RecordingIterableDataset` — PyTorch (the
  ``[torch]`` extra): a ``Sampler`` wrapper whose every yielded index is recorded, and an
  ``IterableDataset`` over a table that records the rows it yields;
* :func:`hf_dataset` — Hugging Face ``datasets``: a ``Dataset`` over the table whose
  ``__getitem__`` records what it returns (``datasets`` is not in datasoil's lock yet:
  this raises a one-line error until the ``[hf]`` extra is installed).

>>> r = Recorder()
>>> r.record(3, [4, 1, 1, 7])
>>> r.record(3, [7, 9])
>>> r.rows_used(3)
4
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from datasoil._fs import write_atomic
from datasoil.errors import DatasoilError, ManifestError
from datasoil.formats import manifest as mf

__all__ = [
    "DatasetRef",
    "Recorder",
    "RecordingIterableDataset",
    "RecordingSampler",
    "hf_dataset",
    "select",
]


@dataclass(frozen=True)
class DatasetRef:
    """A registered dataset as a manifest names it: id, row root and row count."""

    dataset_id: int
    row_root: bytes
    row_count: int

    @classmethod
    def of(cls, dataset: Any) -> DatasetRef:
        """From a :class:`datasoil.chain.registry.Dataset` (or anything with id, row_root,
        row_count)."""
        return cls(int(dataset.id), bytes(dataset.row_root), int(dataset.row_count))


class Recorder:
    """The row indices served to a training run, per dataset.

    ``datasets`` are the datasets the run may read (:class:`DatasetRef`); indices of an
    unknown dataset, negative or past its row count are refused when the manifest is
    built (ManifestError), never silently dropped.
    """

    def __init__(self, datasets: Iterable[DatasetRef] = ()) -> None:
        self._refs: dict[int, DatasetRef] = {}
        self._chunks: dict[int, list[np.ndarray[Any, Any]]] = {}
        for ref in datasets:
            self.add(ref)

    def add(self, ref: DatasetRef) -> None:
        """Name a dataset the run reads (its root and count go in the manifest)."""
        self._refs[ref.dataset_id] = ref
        self._chunks.setdefault(ref.dataset_id, [])

    def record(self, dataset_id: int, indices: int | Iterable[int] | np.ndarray[Any, Any]) -> None:
        """Record that rows ``indices`` of ``dataset_id`` were served (repeats are fine).
        Raises ManifestError for a negative or non-integer index."""
        if isinstance(indices, (int, np.integer)):
            arr = np.array([int(indices)], dtype=np.int64)
        elif isinstance(indices, np.ndarray):
            arr = indices.reshape(-1)
        else:
            arr = np.fromiter((int(i) for i in indices), dtype=np.int64)
        if arr.dtype.kind not in "iu":
            raise ManifestError(
                f"dataset {dataset_id}: expected integer row indices, found {arr.dtype}"
            )
        if arr.size and arr.dtype.kind == "i" and int(arr.min()) < 0:
            raise ManifestError(
                f"dataset {dataset_id}: expected non-negative row indices, found {int(arr.min())}"
            )
        self._chunks.setdefault(int(dataset_id), []).append(arr.astype(np.uint64, copy=False))

    def indices(self, dataset_id: int) -> np.ndarray[Any, Any]:
        """The distinct indices recorded for ``dataset_id``, sorted."""
        chunks = self._chunks.get(int(dataset_id), [])
        if not chunks:
            return np.empty(0, np.uint64)
        unique: np.ndarray[Any, Any] = np.unique(
            np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
        )
        self._chunks[int(dataset_id)] = [unique]
        return unique

    def rows_used(self, dataset_id: int) -> int:
        return len(self.indices(dataset_id))

    def manifest(self) -> mf.Manifest:
        """The training manifest of what was recorded. Raises ManifestError for indices
        of a dataset never named with :meth:`add`, or outside a dataset's rows."""
        selections: dict[int, tuple[bytes, int, np.ndarray[Any, Any]]] = {}
        for dataset_id in self._chunks:
            idx = self.indices(dataset_id)
            if not len(idx):
                continue
            ref = self._refs.get(dataset_id)
            if ref is None:
                raise ManifestError(
                    f"expected dataset {dataset_id} among the recorder's datasets "
                    f"{sorted(self._refs)}, found indices for it"
                )
            selections[dataset_id] = (ref.row_root, ref.row_count, idx)
        return mf.build(selections)

    def write(self, path: Path) -> mf.Manifest:
        """Build the manifest and write its canonical document to ``path`` (atomically)."""
        manifest = self.manifest()
        write_atomic(Path(path), manifest.dumps())
        return manifest


def select(
    table: pa.Table | Any,
    indices: Sequence[int] | np.ndarray[Any, Any],
    recorder: Recorder,
    dataset_id: int,
) -> Any:
    """Rows ``indices`` of ``table`` (a pyarrow Table or a pandas DataFrame in the
    dataset's row order), recorded as used. Returns the same kind it was given."""
    idx = np.asarray(indices, dtype=np.int64)
    recorder.record(dataset_id, idx)
    if isinstance(table, pa.Table):
        return table.take(pa.array(idx))
    return table.iloc[idx]


# -- PyTorch ----------------------------------------------------------------------------


def _torch() -> Any:
    try:
        import torch.utils.data
    except ImportError as exc:
        raise DatasoilError(
            "expected PyTorch for the torch recorders, found none: pip install 'datasoil[torch]'"
        ) from exc
    return torch.utils.data


def RecordingSampler(  # a factory: torch is imported on use
    sampler: Iterable[int], recorder: Recorder, dataset_id: int
) -> Any:
    """A ``torch.utils.data.Sampler`` yielding what ``sampler`` yields (any sampler or
    iterable of indices) and recording each index as served to ``dataset_id``.

    Indices are drawn in chunks of 65,536 and recorded once served: a chunk when it is
    used up, and exactly the part served when an epoch stops early.
    """
    data = _torch()

    class _Sampler(data.Sampler):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.sampler = sampler

        def __iter__(self) -> Iterator[int]:
            source = iter(self.sampler)
            while True:
                chunk = list(itertools.islice(source, 65536))
                if not chunk:
                    return
                served = iter(chunk)
                try:
                    yield from served
                finally:
                    # A list iterator knows exactly how many items it has left.
                    done = len(chunk) - operator.length_hint(served)
                    recorder.record(dataset_id, np.asarray(chunk[:done], dtype=np.int64))

        def __len__(self) -> int:
            return len(self.sampler)  # type: ignore[arg-type]

    return _Sampler()


def RecordingIterableDataset(  # a factory, as RecordingSampler
    table: pa.Table,
    recorder: Recorder,
    dataset_id: int,
    *,
    columns: Sequence[str] | None = None,
    order: Sequence[int] | np.ndarray[Any, Any] | None = None,
    batch_rows: int = 4096,
) -> Any:
    """A ``torch.utils.data.IterableDataset`` yielding ``table``'s rows as dicts of
    column values (``order``: the row indices to serve, default all in order), each
    recorded as served when it is yielded. One worker only (a recorder lives in one
    process); give each ``DataLoader`` worker its own shard and recorder otherwise."""
    data = _torch()
    names = list(columns) if columns is not None else table.column_names

    class _Iterable(data.IterableDataset):  # type: ignore[misc, name-defined]
        def __iter__(self) -> Iterator[dict[str, Any]]:
            idx = np.arange(table.num_rows) if order is None else np.asarray(order, np.int64)
            for start in range(0, len(idx), batch_rows):
                part = idx[start : start + batch_rows]
                rows = table.select(names).take(pa.array(part)).to_pylist()
                for k, row in enumerate(rows):
                    recorder.record(dataset_id, int(part[k]))
                    yield row

    return _Iterable()


# -- Hugging Face datasets ----------------------------------------------------------------


def hf_dataset(table: pa.Table, recorder: Recorder, dataset_id: int) -> Any:
    """A Hugging Face ``datasets.Dataset`` over ``table`` whose item and batch reads
    record the rows they return (the index is kept in a ``__datasoil_row`` column the
    transform strips). Raises DatasoilError when ``datasets`` is not installed."""
    try:
        import datasets
    except ImportError as exc:
        raise DatasoilError(
            "expected Hugging Face datasets for hf_dataset, found none: pip install 'datasoil[hf]'"
        ) from exc
    column = "__datasoil_row"
    ds = datasets.Dataset(table.append_column(column, pa.array(range(table.num_rows), pa.int64())))

    def transform(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        recorder.record(dataset_id, batch[column])
        return {k: v for k, v in batch.items() if k != column}

    ds.set_transform(transform)
    return ds
