"""Past one machine: row roots and cleanings in shards of ``2**k`` rows on Ray, with the
roots and files one process gives.

Rows are cut into consecutive shards of ``shard_rows`` rows (a power of two; the last
shard holds the rest). Each shard is read, encoded and hashed by a Ray task of its own
(:func:`datasoil.formats.rows.read_range`: Parquet inputs are entered by their footers,
CSV and JSON Lines read from their start); a full shard is a node of the flat RFC 9162
tree, so the shard roots compose into exactly the root of one process
(:func:`datasoil.formats.merkle.combine_shards`, docs/formats/merkle.md).

:func:`clean` runs :func:`datasoil.engine.clean.clean`'s recipe the same way. Each shard
carries its rows, their input row numbers and marks (``__ds_drop``, ``__ds_dup``,
``__ds_err``) through row-local steps in its own task, checkpointed to Arrow IPC files in
a scratch directory next to the output, which every worker must reach; a step that
measures the whole dataset (``outliers``) is measured by the driver over all shards' rows
at once, exactly as one process measures its one checkpoint (after a dedupe, from narrow
files of the columns it measures); ``dedupe`` hash-partitions the alive rows' (row, key
hash) pairs as the shards are checkpointed (floats normalised, so equal keys meet in one
partition), and a task per partition groups the rows whose hash is shared by their exact
key (gathered from the checkpoints) and sends each shard the (row, first) pairs of its
duplicates. Fate records carry global indices: the rows kept before each shard are the
prefix sums of the shards' kept counts. The output rows of a shard are a run of
consecutive output leaves, composed into the output root by their aligned subtrees
(:func:`datasoil.formats.merkle.aligned_subtrees`); the driver appends each shard's parts
to fate.bin and data.parquet (with the row groups of one process) as soon as the shards
before it are done, so ``data.parquet``, ``fate.bin`` and ``proof.json`` are
byte-identical.

Ray is an optional dependency (``pip install 'datasoil[ray]'``); without an address
:func:`ray_session` starts a local cluster for the command (docs/scale.md).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as _pq

from datasoil.engine import clean as engine
from datasoil.engine import progress
from datasoil.engine.clean import (
    BATCH_ROWS,
    DROP,
    DUP,
    ERR,
    ROW,
    CastFailed,
    CleanResult,
)
from datasoil.errors import DatasoilError, RecipeError
from datasoil.formats import merkle, rows
from datasoil.formats.fate import FATE_NONE, FATE_STEP_NONE, encode_fates, leaf_digests
from datasoil.formats.recipe import Recipe, recipe_from_json

pq: Any = _pq

__all__ = ["SHARD_ROWS", "ShardError", "clean", "dataset_root", "ray_session"]

SHARD_ROWS = 1 << 20
"""Rows per shard by default (2**20: about 100 MiB of working frame for 100-byte rows)."""


class ShardError(DatasoilError, ValueError):
    """A sharded run cannot start: Ray is missing or unreachable, or a bad shard size."""


# ---------------------------------------------------------------------------------------
# Ray


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """The ``ray`` module, connected: to the cluster at ``address`` (``"auto"`` finds a
    running one), or to a local cluster started here and stopped on exit when ``address``
    is None. A session already initialised in this process is used as it is.

    Raises ShardError when Ray is not installed or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise ShardError("--ray needs Ray: pip install 'datasoil[ray]'") from None
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ShardError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _gather(ray: Any, refs: Sequence[Any], what: str = "") -> list[Any]:
    """``ray.get`` that raises a task's own datasoil error (SchemaError, ...) as itself;
    with ``what``, the tasks are counted as they finish (:mod:`datasoil.engine.progress`)."""
    try:
        if what:
            progress.begin(what, len(refs), "shards")
            waiting = list(refs)
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1)
                progress.advance(len(done))
        return list(ray.get(list(refs)))
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, DatasoilError):
            raise exc.cause from None
        raise


def _in_order(ray: Any, refs: Sequence[Any], what: str) -> Iterator[Any]:
    """Each task's result in the order of ``refs``, as soon as it and those before it are
    done (counted under ``what``); a task's own datasoil error is raised as itself and the
    tasks not yet done are cancelled."""
    progress.begin(what, len(refs), "shards")
    try:
        for ref in refs:
            yield _gather(ray, [ref])[0]
            progress.advance(1)
    except BaseException:
        for ref in refs:
            ray.cancel(ref)
        raise


def _check_size(shard_rows: int) -> int:
    if shard_rows < 1 or shard_rows & (shard_rows - 1):
        raise ShardError(f"shard size: expected a power of two, found {shard_rows}")
    return shard_rows.bit_length() - 1


def _row_count(path: Path, schema: rows.Schema) -> int:
    """Rows of the dataset: Parquet footers, or one pass over CSV and JSON Lines."""
    known = rows.dataset_rows(path)
    if known is not None:
        return known
    return sum(b.num_rows for b in rows.read_batches(path, schema, BATCH_ROWS))


def _shards(total: int, shard_rows: int) -> list[tuple[int, int]]:
    return [(a, min(shard_rows, total - a)) for a in range(0, total, shard_rows)]


# ---------------------------------------------------------------------------------------
# Row roots


def _root_task(
    path: str, schema: dict[str, Any], key: bytes | None, start: int, count: int
) -> bytes:
    s = rows.Schema.from_json(schema)
    builder = merkle.RootBuilder()
    for batch in rows.read_range(Path(path), s, start, count, BATCH_ROWS):
        builder.extend_digests(rows.batch_leaf_digests(batch, s, key))
    if builder.size != count:
        raise AssertionError(f"shard at row {start}: read {builder.size} rows of {count}")
    return builder.root()


def dataset_root(
    path: Path,
    schema: rows.Schema | None = None,
    key: bytes | None = None,
    *,
    shard_rows: int = SHARD_ROWS,
    ray: Any,
) -> tuple[bytes, int]:
    """:func:`datasoil.formats.rows.dataset_root` in shards of ``shard_rows`` rows, each
    hashed by a task on ``ray`` (:func:`ray_session`): the same ``(root, row count)``.

    Raises ShardError on a shard size that is not a power of two, and what
    :func:`datasoil.formats.rows.read_batches` raises.
    """
    _check_size(shard_rows)
    path = Path(path)
    schema = schema or rows.infer_schema(path)
    total = _row_count(path, schema)
    task = ray.remote(_root_task)
    refs = [
        task.remote(str(path), schema.to_json(), key, a, n) for a, n in _shards(total, shard_rows)
    ]
    roots = _gather(ray, refs, f"hashing {path.name} in shards of {shard_rows:,} rows")
    return merkle.combine_shards(roots, shard_rows, total), total


# ---------------------------------------------------------------------------------------
# Cleaning: the shard tasks


@dataclass(frozen=True)
class _Op:
    """One recipe step to apply in a shard task: its index, what the driver measured for
    it, and for a dedupe the directory of the duplicates found by partition."""

    index: int
    measured: dict[str, Any]
    dups: str | None = None


def _types_before(recipe: Recipe, columns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The column types before each step (and after the last)."""
    after = recipe.check_columns(columns)
    return [dict(columns), *(dict(a) for a in after)]


def _input_frame(
    path: str, schema: rows.Schema, key: bytes | None, start: int, count: int
) -> tuple[pl.LazyFrame, bytes, int]:
    """A shard's input rows as the engine's first frame, numbered from ``start``; its root
    and its longest encoded row."""
    builder = merkle.RootBuilder()
    longest = 0
    frames = []
    n = start
    for batch in rows.read_range(Path(path), schema, start, count, BATCH_ROWS):
        digests, length = engine._leaves(batch, schema, key)
        builder.extend_digests(digests)
        longest = max(longest, length)
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        numbers = pl.Series(ROW, np.arange(n, n + batch.num_rows, dtype=np.uint64))
        frames.append(frame.insert_column(0, numbers))
        n += batch.num_rows
    if n - start != count:
        raise AssertionError(f"shard at row {start}: read {n - start} rows of {count}")
    empty = pl.from_arrow(pa.schema([pa.field(ROW, pa.uint64()), *schema.to_arrow()]).empty_table())
    assert isinstance(empty, pl.DataFrame)
    lf = pl.concat(frames) if frames else empty
    marks = lf.lazy().with_columns(
        pl.lit(None, pl.UInt8).alias(DROP),
        pl.lit(None, pl.UInt64).alias(DUP),
        pl.lit(None, pl.UInt8).alias(ERR),
    )
    return marks, builder.root(), longest


_Source = str | tuple[str, dict[str, Any], bytes | None, int, int]
"""A shard's rows: its checkpoint file, or ``(path, schema, key, start, count)`` of the input."""


@dataclass(frozen=True)
class _Steps:
    """The steps still to apply to a shard's last checkpoint (or input)."""

    recipe_json: dict[str, Any]
    columns: list[tuple[str, str]]
    ops: list[_Op]


@dataclass(frozen=True)
class _Keys:
    """A dedupe's keys to partition (:func:`_write_keys`) as a shard is checkpointed."""

    keys: list[str]
    types: dict[str, str]
    partitions: int
    out: str


def _advance_task(
    source: _Source, steps: _Steps, dest: str, shard: int, keys: _Keys | None = None
) -> tuple[bytes, int]:
    """Apply ``steps`` to a shard and checkpoint it to ``dest``; with ``keys``, partition
    the checkpointed rows' keys from the same frame in memory, rather than reading the
    checkpoint back in a task of its own. Returns the shard's input root and longest input
    row when it read the input."""
    lf, root, longest = _frame(source, steps, shard)
    if keys is None:
        lf.sink_ipc(dest, compression="uncompressed", maintain_order=True)
    else:
        frame = lf.collect()
        frame.write_ipc(dest, compression="uncompressed")
        _write_keys(frame.lazy(), keys, shard)
    return root, longest


def _frame(source: _Source, steps: _Steps, shard: int) -> tuple[pl.LazyFrame, bytes, int]:
    """A shard's frame with ``steps`` applied, lazily (its input root and longest input
    row when ``source`` is the input)."""
    recipe_json, columns, ops = steps.recipe_json, steps.columns, steps.ops
    recipe = recipe_from_json(recipe_json)
    types = _types_before(recipe, columns)
    root, longest = b"", 0
    if isinstance(source, str):
        lf = pl.scan_ipc(source)
    else:
        path, schema, key, start, count = source
        lf, root, longest = _input_frame(path, rows.Schema.from_json(schema), key, start, count)
    for op in ops:
        plan = recipe.steps[op.index].plan(types[op.index], op.measured)
        if op.dups is not None:
            found = sorted((Path(op.dups) / f"dups-{shard}").glob("*.arrow"))
            dups = pl.concat([pl.read_ipc(f) for f in found]).sort(ROW) if found else None
            if dups is not None:
                lf = engine._mark_duplicates(op.index, lf, dups)
        lf = engine._apply(op.index, plan, lf)
    return lf, root, longest


def _measure_task(source: str, steps: _Steps, dest: str, shard: int, columns: list[str]) -> None:
    """Write what a measuring step reads of the shard once ``steps`` are applied: the row
    numbers, the marks and ``columns``."""
    lf = _frame(source, steps, shard)[0]
    lf.select(ROW, DROP, DUP, ERR, *columns).sink_ipc(
        dest, compression="uncompressed", maintain_order=True
    )


def _write_keys(lf: pl.LazyFrame, keys: _Keys, shard: int) -> None:
    """Write the shard's alive rows' (row, key hash) to one file per hash partition
    (``keys-{part}/{shard}.arrow`` under ``keys.out``): 16 bytes a row, not the keys."""
    frame = (
        lf.filter(engine._alive)
        .select(ROW, engine._key_hash(keys.keys, keys.types))
        .with_columns((pl.col(engine._HASH) % keys.partitions).alias("__ds_part"))
        .collect()
    )
    for (part,), group in frame.partition_by("__ds_part", as_dict=True).items():
        group.drop("__ds_part").write_ipc(Path(keys.out) / f"keys-{part}" / f"{shard}.arrow")


def _partition_task(
    out: str, part: int, keys: list[str], shard_rows: int, files: list[str]
) -> None:
    """Find the duplicates among one partition's rows and write them per shard: only the
    rows whose key hash is shared within the partition can have an equal key, so only
    their keys are gathered from the shards' checkpoints ``files`` and grouped by their
    exact key (as one process does, datasoil.engine.clean). The partition's key files are
    deleted once read; shard s's duplicates go to ``dups-{s}/{part}.arrow``."""
    found = sorted((Path(out) / f"keys-{part}").glob("*.arrow"))
    if not found:
        return
    pairs = pl.concat([pl.read_ipc(f) for f in found])
    shutil.rmtree(Path(out) / f"keys-{part}")
    picked = np.sort(pairs.filter(pl.col(engine._HASH).is_duplicated())[ROW].to_numpy())
    del pairs
    if not len(picked):
        return
    dups = engine._duplicates(_gather_keys(files, keys, picked, shard_rows), keys)
    shard = (pl.col(ROW) // shard_rows).alias("__ds_shard")
    for (s,), group in dups.with_columns(shard).partition_by("__ds_shard", as_dict=True).items():
        group.drop("__ds_shard").write_ipc(Path(out) / f"dups-{s}" / f"{part}.arrow")


def _gather_keys(
    files: list[str], keys: list[str], picked: np.ndarray[Any, Any], shard_rows: int
) -> pl.DataFrame:
    """``(row, *keys)`` of the rows ``picked`` (ascending), gathered from the checkpoints
    of their shards (row ``i`` of shard s's checkpoint is input row ``s * shard_rows + i``:
    rows are marked, never removed)."""
    shard_of = picked // shard_rows
    cuts = (np.flatnonzero(np.diff(shard_of)) + 1).tolist()
    return pl.concat(
        engine._candidates(
            Path(files[int(shard_of[lo])]), keys, picked[lo:hi], int(shard_of[lo]) * shard_rows
        )
        for lo, hi in zip([0, *cuts], [*cuts, len(picked)], strict=True)
    )


def _count_task(
    source: str, steps: _Steps, shard: int
) -> tuple[tuple[int, int] | None, int, list[int]]:
    """The shard's first (row, step) that failed a strict cast, its kept rows and the
    rows each step index dropped, once ``steps`` are applied (only what the marks need
    of them is computed)."""
    lf = _frame(source, steps, shard)[0]
    failed = lf.filter(pl.col(ERR).is_not_null()).select(ROW, ERR).head(1).collect()
    drop = lf.select(pl.col(DROP).fill_null(FATE_STEP_NONE)).collect().to_series().to_numpy()
    counts = np.bincount(drop.astype(np.uint8), minlength=256)
    first = failed.row(0) if failed.height else None
    return first, int(counts[FATE_STEP_NONE]), [int(c) for c in counts]


def _write_task(
    source: str,
    steps: _Steps,
    shard: int,
    users: list[str],
    schema_out: dict[str, Any],
    key: bytes | None,
    kept_before: int,
    fate_dest: str,
    rows_dest: str,
) -> tuple[bytes, list[tuple[int, bytes]], int]:
    """Write the shard's fate records (global indices, ``kept_before`` rows kept before it)
    and its output rows (with their input row numbers, cast to the output schema); return
    the shard's fate root, its output rows' aligned subtrees and its longest output row."""
    s_out = rows.Schema.from_json(schema_out)
    target = s_out.to_arrow()
    frame = _frame(source, steps, shard)[0].select(ROW, DROP, DUP, *users).collect()
    row = frame[ROW].to_numpy().astype(np.uint64)
    drop = frame[DROP].fill_null(FATE_STEP_NONE).to_numpy().astype(np.uint8)
    dup = frame[DUP].fill_null(FATE_NONE).to_numpy().astype(np.uint64)
    data, _ = encode_fates(row, drop, dup, kept_before)
    Path(fate_dest).write_bytes(data)
    builder = merkle.RootBuilder()
    builder.extend_digests(leaf_digests(data))
    alive = drop == FATE_STEP_NONE
    values = frame.filter(pl.Series(alive)).select(users)
    table = values.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(target).combine_chunks()
    digests, longest = engine._leaves(table.to_batches()[0], s_out, key) if len(table) else (b"", 0)
    numbers = pa.array(row[alive], pa.uint64())
    pq_table = table.add_column(0, ROW, numbers)
    with pa.ipc.new_file(rows_dest, pq_table.schema) as writer:
        writer.write_table(pq_table)
    return builder.root(), merkle.aligned_subtrees(kept_before, digests), longest


# ---------------------------------------------------------------------------------------
# Cleaning: the driver


class _Driver:
    """The shards of one cleaning and the scratch files between their stages."""

    def __init__(
        self, ray: Any, recipe: Recipe, columns: list[tuple[str, str]], scratch: Path
    ) -> None:
        self.ray, self.recipe, self.columns, self.scratch = ray, recipe, columns, scratch
        self.stage = 0
        self.files: list[str] = []
        self.pending: list[_Op] = []
        self.input_roots: list[bytes] | None = None
        self.narrow: list[str] = []  # the narrow files of the last measuring step
        self.longest_in = 0

    def task(self, fn: Callable[..., Any]) -> Any:
        return self.ray.remote(fn)

    def steps(self, *, keep: bool = False) -> _Steps:
        """The pending ops, handed over (to a stage or to the final tasks), or with
        ``keep`` left pending as well."""
        steps = _Steps(self.recipe.to_json(), self.columns, list(self.pending))
        if not keep:
            self.pending = []
        return steps

    def measured_rows(
        self,
        path: Path,
        schema: rows.Schema,
        key: bytes | None,
        shards: list[tuple[int, int]],
        columns: Sequence[str] | None,
    ) -> pl.LazyFrame:
        """Every shard's rows as a step that measures ``columns`` sees them, in row order.

        When the only ops pending are dedupe markings (a lookup of each row's number),
        the shards write just the row numbers, marks and ``columns``, and the markings
        stay pending for the later tasks to apply again, cheaper than one more full
        checkpoint; otherwise the shards are checkpointed."""
        narrow = (
            self.input_roots is not None
            and columns is not None
            and bool(self.pending)
            and all(op.dups is not None for op in self.pending)
        )
        if not narrow:
            self.checkpoint(path, schema, key, shards)
            return self.all_rows()
        self.stage += 1
        dests = [
            str(self.scratch / f"measure-{self.stage}-{s}.arrow") for s in range(len(self.files))
        ]
        task = self.task(_measure_task)
        steps = self.ray.put(self.steps(keep=True))
        _gather(
            self.ray,
            [
                task.remote(src, steps, dest, s, list(columns or ()))
                for s, (src, dest) in enumerate(zip(self.files, dests, strict=True))
            ],
            f"stage {self.stage}: what step measures, in shards",
        )
        self.narrow = dests
        return pl.scan_ipc(dests)

    def measured(self) -> None:
        """The measuring step is done: delete its narrow files."""
        for f in self.narrow:
            Path(f).unlink(missing_ok=True)
        self.narrow = []

    def checkpoint(
        self,
        path: Path,
        schema: rows.Schema,
        key: bytes | None,
        shards: list[tuple[int, int]],
        *,
        force: bool = True,
        keys: _Keys | None = None,
    ) -> bool:
        """Bring every shard's checkpoint up to the pending ops: the first time, by reading
        (and hashing) the input (:attr:`input_roots`, :attr:`longest_in`). Once the input
        is read, ``force=False`` leaves the pending ops to the caller (the last ops are
        applied by the count and write tasks, each reading the last checkpoint, rather
        than written as one more). With ``keys``, a checkpoint written also partitions
        them; returns whether one was written."""
        if self.input_roots is None:
            sources = [(str(path), schema.to_json(), key, a, n) for a, n in shards]
            results = self._advance(sources, keys)
            self.input_roots = [r for r, _ in results]
            self.longest_in = max((n for _, n in results), default=0)
            return True
        if self.pending and force:
            self._advance(self.files, keys)
            return True
        return False

    def _advance(self, sources: Sequence[Any], keys: _Keys | None) -> list[tuple[bytes, int]]:
        self.stage += 1
        dests = [str(self.scratch / f"stage-{self.stage}-{s}.arrow") for s in range(len(sources))]
        task = self.task(_advance_task)
        steps = self.ray.put(self.steps())
        refs = [
            task.remote(src, steps, dest, s, keys)
            for s, (src, dest) in enumerate(zip(sources, dests, strict=True))
        ]
        results = _gather(self.ray, refs, f"stage {self.stage}: steps in shards")
        for old in self.files:
            Path(old).unlink(missing_ok=True)
        self.files = dests
        return results

    def all_rows(self) -> pl.LazyFrame:
        """Every shard's checkpoint as one frame, in row order."""
        return pl.scan_ipc(self.files)

    def dedupe(
        self,
        keys: list[str],
        types: dict[str, str],
        shard_rows: int,
        input: tuple[Path, rows.Schema, bytes | None, list[tuple[int, int]]],
    ) -> str:
        """Checkpoint the shards, partition their alive rows by key hash as they are
        checkpointed, find each partition's duplicates; the directory of the per-shard
        duplicate files.

        Partitions: one per :data:`engine.DEDUPE_PARTITION_ROWS` rows, at least two per
        CPU of the cluster (so that every CPU has one to take), at most one per shard."""
        path, schema, key, shards = input
        out = self.scratch / f"dedupe-{sum(1 for _ in self.scratch.glob('dedupe-*'))}"
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        rows_ = len(shards) * shard_rows
        parts = min(len(shards), max(2 * cpus, -(-rows_ // engine.DEDUPE_PARTITION_ROWS)))
        for p in range(parts):
            (out / f"keys-{p}").mkdir(parents=True)
        for s in range(len(shards)):
            (out / f"dups-{s}").mkdir()
        spec = _Keys(keys, types, parts, str(out))
        if not self.checkpoint(path, schema, key, shards, keys=spec):
            # never: the input is read here the first time, and later the step before
            # this one is always pending
            raise AssertionError("a dedupe found no op pending to checkpoint")
        part_task = self.task(_partition_task)
        _gather(
            self.ray,
            [part_task.remote(str(out), p, keys, shard_rows, self.files) for p in range(parts)],
        )
        return str(out)


def clean(
    input: Path,
    recipe: Recipe,
    out_dir: Path,
    *,
    key: bytes | None = None,
    output_key: bytes | None = None,
    shard_rows: int = SHARD_ROWS,
    ray: Any,
) -> CleanResult:
    """:func:`datasoil.engine.clean.clean` in shards of ``shard_rows`` rows, each stage of
    each shard a task on ``ray`` (:func:`ray_session`): the same data.parquet, fate.bin and
    proof.json, written the same atomic way.

    Raises what :func:`datasoil.engine.clean.clean` raises, and ShardError on a shard size
    that is not a power of two.
    """
    _check_size(shard_rows)
    input, out_dir = Path(input), Path(out_dir)
    schema_in = rows.infer_schema(input)
    columns = [(c.name, c.type) for c in schema_in.columns]
    for name, _ in columns:
        if name.startswith("__ds_"):
            raise RecipeError(f"input column {name!r} uses the reserved prefix '__ds_'")
    types_at = _types_before(recipe, columns)
    schema_out = recipe.output_schema(schema_in)
    total = _row_count(input, schema_in)
    shards = _shards(total, shard_rows) or [(0, 0)]  # no rows: one empty shard
    whole = len(_shards(total, shard_rows))  # the shard roots combine_shards takes
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        scratch, result_dir = work / "scratch", work / "result"
        scratch.mkdir()
        result_dir.mkdir()
        driver = _Driver(ray, recipe, columns, scratch)
        step_stats: list[dict[str, Any]] = []
        for index, step in enumerate(recipe.steps):
            types = types_at[index]
            measured: dict[str, Any] = {}
            if step.statistics_fields:
                seen = driver.measured_rows(
                    input, schema_in, key, shards, getattr(step, "columns", None)
                )
                engine._check_strict(seen, recipe)
                measured = step.statistics(seen.filter(engine._alive), types)
                driver.measured()
            plan = step.plan(types, measured)
            dups = None
            if plan.duplicates:
                dups = driver.dedupe(
                    list(plan.duplicates), types, shard_rows, (input, schema_in, key, shards)
                )
            driver.pending.append(_Op(index, measured, dups))
            step_stats.append({"kind": step.kind, **measured})
        driver.checkpoint(input, schema_in, key, shards, force=False)
        assert driver.input_roots is not None
        input_roots, longest_in = driver.input_roots, driver.longest_in
        users = list(types_at[-1])
        last = ray.put(driver.steps())
        counted = _gather(
            ray, [driver.task(_count_task).remote(f, last, s) for s, f in enumerate(driver.files)]
        )
        for failed, _, _ in counted:
            if failed is not None:
                row_nr, step_index = failed
                step = recipe.steps[step_index]
                raise CastFailed(f"step {step_index} ({step.kind}), {step.failure(row_nr)}")
        kept = [k for _, k, _ in counted]
        before = np.concatenate([[0], np.cumsum(kept)[:-1]]).astype(int).tolist() if kept else []
        drops = [sum(c[i] for _, _, c in counted) for i in range(256)]
        write = driver.task(_write_task)
        fate_parts = [str(scratch / f"fate-{s}.bin") for s in range(len(shards))]
        row_parts = [str(scratch / f"rows-{s}.arrow") for s in range(len(shards))]
        refs = [
            write.remote(f, last, s, users, schema_out.to_json(), output_key or key, b, fp, rp)
            for s, (f, b, fp, rp) in enumerate(
                zip(driver.files, before, fate_parts, row_parts, strict=True)
            )
        ]
        # The driver writes each shard's output rows and fate records as soon as the
        # shards before it are written, while the later shards' tasks still run.
        written: list[tuple[bytes, list[tuple[int, bytes]], int]] = []
        out_builder = merkle.RootBuilder()
        with open(result_dir / "fate.bin", "wb") as fate_file:

            def parts() -> Iterator[str]:
                results = _in_order(ray, refs, "fate records and output rows in shards")
                for result, fate_part, row_part in zip(results, fate_parts, row_parts, strict=True):
                    written.append(result)
                    for height, node in result[1]:
                        out_builder.append_subtree(node, height)
                    with open(fate_part, "rb") as f:
                        shutil.copyfileobj(f, fate_file)
                    Path(fate_part).unlink()
                    yield row_part
                    Path(row_part).unlink()

            rows_out = _write_data(parts(), schema_out, result_dir / "data.parquet")
        if rows_out != sum(kept) or out_builder.size != rows_out:
            raise AssertionError(f"kept {sum(kept)} rows but wrote {rows_out}")
        proof = engine._proof(
            recipe,
            (schema_in, schema_out),
            key,
            (
                merkle.combine_shards(input_roots[:whole], shard_rows, total),
                out_builder.root(),
                merkle.combine_shards([r for r, _, _ in written][:whole], shard_rows, total),
            ),
            (total, rows_out),
            step_stats,
            drops,
            max(longest_in, max((n for _, _, n in written), default=0)),
        )
        (result_dir / "proof.json").write_bytes(engine.proof_bytes(proof))
        shutil.rmtree(scratch)
        engine._replace_dir(result_dir, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return CleanResult(out_dir, proof)


def _write_data(parts: Iterable[str], schema_out: rows.Schema, dest: Path) -> int:
    """data.parquet from the shards' output rows, with one process's row groups (the
    output rows of each :data:`BATCH_ROWS` input rows); returns the rows written."""
    target = schema_out.to_arrow()
    written = 0
    held: list[pa.Table] = []
    group = 0

    def flush(writer: Any) -> None:
        nonlocal written, held
        if held:
            table = pa.concat_tables(held).combine_chunks()
            for batch in table.to_batches():
                writer.write_batch(batch)
                written += batch.num_rows
        held = []

    with pq.ParquetWriter(dest, target, compression="zstd") as writer:
        for part in parts:
            with pa.memory_map(part) as source:
                table = pa.ipc.open_file(source).read_all()
            if not len(table):
                continue
            numbers = table.column(0).to_numpy() // BATCH_ROWS
            values = table.drop_columns([ROW])
            cuts = np.flatnonzero(np.diff(numbers)) + 1
            for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(table)], strict=True):
                if int(numbers[lo]) != group:
                    flush(writer)
                    group = int(numbers[lo])
                held.append(values.slice(lo, hi - lo))
        flush(writer)
    return written
