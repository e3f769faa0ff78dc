"""Deterministic, verifiable cleaning: the engine, fate records, the proof, verification.

:func:`clean` runs a :class:`~datasoil.formats.recipe.Recipe` over a dataset with Polars and
writes, atomically, ``data.parquet`` (the cleaned rows), ``fate.bin`` (one fixed-width
fate record per input row, :mod:`datasoil.formats.fate`) and ``proof.json`` (the cleaning
proof binding input root, recipe CID, output root, fate root and counts). :func:`verify`
re-executes a proof and names the first difference; :func:`check_sample` judges sampled
rows alone.

Determinism: every row carries its input row number (``__ds_row``, uint64) through every
step; rows are never removed from the working frame but marked with the index of the step
that dropped them (``__ds_drop``) and, for duplicates, the earlier row they repeat
(``__ds_dup``); every sink keeps row order. Deduplication keeps the lowest row number per
key (``group_by(key).min(row)`` then a join back), and outlier fences come from exact order
statistics of the sorted column with a documented interpolation, so the output does not
depend on thread count, batch boundaries or machine. The format is in docs/cleaning.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.parquet as _pq
from polars.io.plugins import register_io_source

from datasoil.engine import progress
from datasoil.errors import DatasoilError, ProofError, RecipeError
from datasoil.formats import judge, merkle, rows
from datasoil.formats.fate import (
    FATE_NONE,
    FATE_RECORD_SIZE,
    FATE_STEP_NONE,
    FATE_VERSION,
    FateRecord,
    decode_fates,
    encode_fates,
    fate_root,
    leaf_digests,
)
from datasoil.formats.recipe import Plan, Recipe, Step, load_recipe, recipe_from_json

# pyarrow.parquet's and pyarrow.compute's hints are partial: use them untyped, as
# datasoil.formats.rows does.
pq: Any = _pq
pc: Any = _pc

# FateRecord, decode_fates and fate_root are datasoil.formats.fate's, re-exported here
# until flows/claims.py and tests/contracts/proofs import them from there.
__all__ = [
    "BATCH_ROWS",
    "ENGINE_NAME",
    "PROOF_VERSION",
    "CastFailed",
    "CleanError",
    "CleanResult",
    "FateRecord",
    "ProofError",
    "check_sample",
    "clean",
    "decode_fates",
    "engine_info",
    "fate_root",
    "load_proof",
    "proof_bytes",
    "unicode_version",
    "verify",
]

ENGINE_NAME = "polars"
PROOF_VERSION = "datasoil-clean-v1"
BATCH_ROWS = 1 << 16
"""Rows per batch when streaming rows through encoding and hashing."""

ROW = "__ds_row"
DROP = "__ds_drop"
DUP = "__ds_dup"
ERR = "__ds_err"
_FIRST = "__ds_first"
_HASH = "__ds_hash"
_INTERNAL = (ROW, DROP, DUP, ERR)
_U64 = npt.NDArray[np.uint64]

# Probes for the Unicode version of Polars' NFKC: a character first given a compatibility
# decomposition in that version, and its NFKC form (UnicodeData.txt).
_UNICODE_PROBES: tuple[tuple[str, str, str], ...] = (
    ("15.0.0", "\U0001e030", "\u0430"),  # MODIFIER LETTER CYRILLIC SMALL A -> a
    ("16.0.0", "\U0001ccd6", "A"),  # OUTLINED LATIN CAPITAL LETTER A -> A
    ("17.0.0", "\ua7f1", "S"),  # MODIFIER LETTER CAPITAL S -> S
    ("18.0.0", "\u209d", "\u0062"),  # LATIN SUBSCRIPT SMALL LETTER B -> b
)


class CleanError(DatasoilError, ValueError):
    """The data cannot be cleaned by this recipe (for instance a strict cast fails)."""


class CastFailed(CleanError):
    """A ``cast`` step with ``on_error: strict`` met a value it cannot convert."""


# ---------------------------------------------------------------------------------------
# Engine identity
# ---------------------------------------------------------------------------------------


def unicode_version() -> str:
    """The Unicode version of Polars' NFKC (``str.normalize``), probed at run time.

    Polars normalises with Rust's ``unicode-normalization`` crate (0.1.25 in Polars
    2.1.0, Unicode 17.0.0); the probe finds the newest version whose new compatibility
    decompositions Polars applies, so a different build is reported honestly.
    """
    found = "14.0.0"
    probes = pl.Series([p[1] for p in _UNICODE_PROBES]).str.normalize("NFKC").to_list()
    for (version, _, expected), got in zip(_UNICODE_PROBES, probes, strict=True):
        if got != expected:
            break
        found = version
    return found


def engine_info() -> dict[str, str]:
    """``{"name": "polars", "version": ...}`` for the proof."""
    return {"name": ENGINE_NAME, "version": pl.__version__}


# ---------------------------------------------------------------------------------------
# Schema helpers (datasoil.formats.rows types <-> recipe types)
# ---------------------------------------------------------------------------------------


def _columns_of(schema: rows.Schema) -> list[tuple[str, str]]:
    """``(name, type)`` pairs; recipe types are datasoil.formats.rows type names."""
    return [(c.name, c.type) for c in schema.columns]


# ---------------------------------------------------------------------------------------
# Step plans on the working frame
# ---------------------------------------------------------------------------------------


_alive = pl.col(DROP).is_null()


def _mark(cond: pl.Expr, index: int) -> pl.Expr:
    """Mark rows that are alive and satisfy ``cond`` as dropped by step ``index``."""
    return (
        pl.when(_alive & cond.fill_null(False))
        .then(pl.lit(index, pl.UInt8))
        .otherwise(pl.col(DROP))
        .alias(DROP)
    )


def _mark_failed(cond: pl.Expr, index: int) -> pl.Expr:
    """Mark rows that are alive, satisfy ``cond`` and failed no earlier step as failing
    step ``index`` (the recipe fails on them: :func:`_check_strict`)."""
    return (
        pl.when(_alive & cond & pl.col(ERR).is_null())
        .then(pl.lit(index, pl.UInt8))
        .otherwise(pl.col(ERR))
        .alias(ERR)
    )


def _apply(index: int, plan: Plan, lf: pl.LazyFrame) -> pl.LazyFrame:
    """Apply step ``index``'s plan to the working frame: its marks and new values (from
    the step's input, at once), then its renaming and selection. The plan's
    ``duplicates`` are the caller's to apply first (over the whole dataset in
    :func:`clean`, from the fate records in :func:`check_sample`)."""
    exprs = [e.alias(c) for c, e in plan.columns]
    if plan.fail is not None:
        exprs.insert(0, _mark_failed(plan.fail, index))
    if plan.drop is not None:
        exprs.insert(0, _mark(plan.drop, index))
    if exprs:
        lf = lf.with_columns(exprs)
    if plan.rename:
        lf = lf.rename(dict(plan.rename))
    if plan.select is not None:
        lf = lf.select([*_INTERNAL, *plan.select])
    return lf


def _claimed(step: Step, proof_step: Mapping[str, Any]) -> dict[str, Any]:
    """What a proof's step record claims the step measured (its statistics fields)."""
    return {f: proof_step[f] for f in step.statistics_fields if f in proof_step}


def _key_hash(keys: Sequence[str], types: Mapping[str, str]) -> pl.Expr:
    """A 64-bit hash of the dedupe key, equal for every pair of keys that group together.

    Only used to find candidate duplicates (rows whose hash is shared): floats are
    normalised (-0.0 as 0.0, NaN as null) so that the candidates are a superset of the
    rows with an equal key, whatever the hash does with those values. Collisions only
    add candidates; the exact grouping is done on the candidates' keys."""
    parts = []
    for k in keys:
        col = pl.col(k)
        if types.get(k) in ("float64", "float32"):
            col = pl.when(col == 0.0).then(pl.lit(0.0)).otherwise(col)
            col = pl.when(pl.col(k).is_nan()).then(None).otherwise(col)
        parts.append(col.alias(k))
    return pl.struct(parts).hash(seed=0x64617461736F696C).alias(_HASH)


#: Checkpoints of up to this many rows are deduplicated in memory (:func:`_dedupe_in_memory`,
#: 16 bytes a row); larger ones through spill files (:func:`_dedupe_spilled`).
DEDUPE_MEMORY_ROWS = 20_000_000
#: Rows a dedupe hash partition holds on average (spill path).
DEDUPE_PARTITION_ROWS = 1 << 22
#: Rows of a row-range bucket of (row, first) pairs, the unit the marking loads (spill path).
DEDUPE_BUCKET_ROWS = 1 << 22


def _apply_dedupe(
    index: int,
    keys: Sequence[str],
    lf: pl.LazyFrame,
    types: Mapping[str, str],
    checkpoint: Path,
) -> pl.LazyFrame:
    """Mark duplicates: alive rows whose key equals the key of an alive row with a lower
    row number; ``__ds_dup`` names the lowest such row (the plain ``group_by(key).min(row)``
    over all alive rows, nulls equal).

    ``lf`` must be the scan of the uncompressed Arrow IPC ``checkpoint``, whose row ``i``
    is input row ``i`` (rows are never removed). Up to :data:`DEDUPE_MEMORY_ROWS` rows in
    memory, beyond through spill files next to the checkpoint: the same marks."""
    n = lf.select(pl.len()).collect().item()
    if n <= DEDUPE_MEMORY_ROWS:
        return _dedupe_in_memory(index, list(keys), lf, types, checkpoint)
    return _dedupe_spilled(index, list(keys), lf, types, checkpoint, n)


def _candidates(checkpoint: Path, keys: list[str], picked: _U64, first: int = 0) -> pl.DataFrame:
    """The ``(row, *keys)`` of the checkpoint's rows ``picked`` (ascending row numbers),
    gathered by position from the memory-mapped file, whose position 0 holds row
    ``first``."""
    with pa.memory_map(str(checkpoint)) as source:
        mapped = pl.from_arrow(pa.ipc.open_file(source).read_all(), rechunk=False)
        assert isinstance(mapped, pl.DataFrame)
        candidates = mapped.select(pl.col(ROW, *keys).gather(picked - np.uint64(first)))
        del mapped
    if not np.array_equal(candidates[ROW].to_numpy(), picked):
        raise AssertionError("checkpoint rows are not in row order")  # never: see _Scratch
    return candidates


def _dedupe_in_memory(
    index: int,
    keys: list[str],
    lf: pl.LazyFrame,
    types: Mapping[str, str],
    checkpoint: Path,
) -> pl.LazyFrame:
    """Mark duplicates: alive rows whose key equals the key of an alive row with a lower
    row number; ``__ds_dup`` names the lowest such row.

    ``lf`` must be the scan of the uncompressed Arrow IPC ``checkpoint``, whose row ``i``
    is input row ``i`` (rows are never removed). The checkpoint is read once, and memory
    is 16 bytes per row plus what the rows with a shared key hash take, not the distinct
    keys themselves: (1) one streaming pass takes the 64-bit key hash of every alive row
    (null for the others: a row's number is its position), and the hashes seen more than
    once are found by sorting a copy;
    (2) only the rows carrying those hashes are gathered from the memory-mapped checkpoint
    by position and grouped by their exact key (``nulls_equal``), taking the minimum row
    number; (3) the rows named by the (row, first) pairs of the duplicates are marked
    (:func:`_mark_duplicates`). A row whose hash is unique has no equal key among the
    alive rows, so the result is the plain ``group_by(key).min(row)`` over all alive
    rows."""
    hashes = (
        lf.select(pl.when(_alive).then(_key_hash(keys, types)))
        .collect(engine="streaming")
        .to_series()
    )
    alive = len(hashes) - hashes.null_count()
    ordered = hashes.sort(nulls_last=True).slice(0, alive).to_numpy()
    shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    is_shared = hashes.is_in(pl.Series(_HASH, shared, pl.UInt64).implode()).fill_null(False)
    picked = is_shared.arg_true().cast(pl.UInt64).to_numpy()
    del hashes, is_shared
    return _mark_duplicates(index, lf, _duplicates(_candidates(checkpoint, keys, picked), keys))


def _dedupe_spilled(
    index: int,
    keys: list[str],
    lf: pl.LazyFrame,
    types: Mapping[str, str],
    checkpoint: Path,
    n: int,
) -> pl.LazyFrame:
    """:func:`_dedupe_in_memory`'s marks with memory bounded by the partition and bucket
    sizes, not the row count: (1) one streaming pass writes the alive rows' (row, key
    hash) to one Arrow IPC file per hash partition (``hash mod K``, so equal keys meet in
    one partition); (2) per partition, the rows whose hash is shared within it are
    gathered from the memory-mapped checkpoint and grouped by exact key
    (:func:`_duplicates`), and the (row, first) pairs are appended to row-range bucket
    files of :data:`DEDUPE_BUCKET_ROWS` rows; (3) the marking looks each batch's rows up
    in the buckets its rows fall in, loading a bucket when first needed
    (:func:`_mark_spilled`)."""
    spill = Path(tempfile.mkdtemp(prefix=f"dedupe-{index}-", dir=checkpoint.parent))
    k = max(1, -(-n // DEDUPE_PARTITION_ROWS))
    pairs = pa.schema([(ROW, pa.uint64()), (_HASH, pa.uint64())])
    parts = [spill / f"part-{p}.arrow" for p in range(k)]
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(pa.ipc.new_file(str(f), pairs)) for f in parts]
        hashed = lf.filter(_alive).select(ROW, _key_hash(keys, types))
        for batch in hashed.collect_batches(chunk_size=1 << 20):
            for (p,), piece in (
                batch.with_columns((pl.col(_HASH) % k).alias(_FIRST))
                .partition_by(_FIRST, include_key=False, as_dict=True)
                .items()
            ):
                writers[int(p)].write_table(piece.to_arrow().cast(pairs))
    buckets: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    firsts = pa.schema([(ROW, pa.uint64()), (_FIRST, pa.uint64())])
    with contextlib.ExitStack() as stack:
        for f in parts:
            part = _read_spill(f)
            f.unlink()
            picked = np.sort(part.filter(pl.col(_HASH).is_duplicated())[ROW].to_numpy())
            del part
            if not len(picked):
                continue
            dups = _duplicates(_candidates(checkpoint, keys, picked), keys)
            for (b,), piece in (
                dups.with_columns((pl.col(ROW) // DEDUPE_BUCKET_ROWS).alias(_HASH))
                .partition_by(_HASH, include_key=False, as_dict=True)
                .items()
            ):
                if b not in buckets:
                    path = spill / f"bucket-{b}.arrow"
                    buckets[int(b)] = stack.enter_context(pa.ipc.new_file(str(path), firsts))
                buckets[int(b)].write_table(piece.to_arrow().cast(firsts))
    return _mark_spilled(index, lf, spill, set(buckets))


def _duplicates(candidates: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``(row, first)`` of every candidate whose exact key (nulls equal) a candidate with a
    lower row number has, ``first`` the lowest such row, in row order. Exact when every
    row sharing a key with a candidate is a candidate (the rows of a key hash, or of a
    hash partition: datasoil.engine.shards)."""
    first = candidates.group_by(keys).agg(pl.col(ROW).min().alias(_FIRST))
    return (
        candidates.join(first, on=keys, how="inner", nulls_equal=True)
        .filter(pl.col(ROW) != pl.col(_FIRST))
        .select(ROW, _FIRST)
        .sort(ROW)
    )


def _mark_duplicates(index: int, lf: pl.LazyFrame, dups: pl.DataFrame) -> pl.LazyFrame:
    """Mark the alive rows of ``lf`` that ``dups`` (:func:`_duplicates`) names as dropped
    by step ``index``, duplicates of their ``first``.

    Each batch's row numbers are looked up in the sorted (row, first) pairs rather than
    joined: the lookup streams holding only the pairs, where a join that keeps the left
    side's order holds the whole frame."""
    numbers = dups[ROW].to_numpy()
    firsts = dups[_FIRST].to_numpy()

    def lookup(rows_: pl.Series) -> pl.Series:
        return _lookup(numbers, firsts, rows_.to_numpy())

    return _mark_by(index, lf, lookup)


def _lookup(numbers: _U64, firsts: _U64, mine: _U64) -> pl.Series:
    """``firsts[i]`` where ``numbers[i]`` (ascending) is a row of ``mine``, else null."""
    if not len(numbers):
        return pl.Series(ROW, [None] * len(mine), pl.UInt64)
    at = np.minimum(np.searchsorted(numbers, mine), len(numbers) - 1)
    found = pl.Series(ROW, firsts[at], pl.UInt64)
    return found.set(pl.Series(numbers[at] != mine), None)


def _read_spill(path: Path) -> pl.DataFrame:
    """A spill file read into memory (not mapped: it is deleted or replaced while in use)."""
    with pa.OSFile(str(path)) as f:
        frame = pl.from_arrow(pa.ipc.open_file(f).read_all())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _mark_spilled(index: int, lf: pl.LazyFrame, spill: Path, present: set[int]) -> pl.LazyFrame:
    """:func:`_mark_duplicates` with the (row, first) pairs in the row-range bucket files
    of :func:`_dedupe_spilled`: a batch loads the buckets its rows fall in (sorted on
    load: each holds one sorted run per hash partition) and drops those more than one
    bucket away, so batches in about row order load each bucket once."""
    held: dict[int, tuple[_U64, _U64]] = {}
    lock = threading.Lock()

    def bucket(b: int) -> tuple[_U64, _U64]:
        if b not in held:
            if b in present:
                pairs = _read_spill(spill / f"bucket-{b}.arrow").sort(ROW)
                held[b] = (pairs[ROW].to_numpy(), pairs[_FIRST].to_numpy())
            else:
                held[b] = (np.empty(0, np.uint64), np.empty(0, np.uint64))
        return held[b]

    def lookup(rows_: pl.Series) -> pl.Series:
        mine = rows_.to_numpy()
        if not len(mine):
            return pl.Series(ROW, [], pl.UInt64)
        lo, hi = int(mine.min()) // DEDUPE_BUCKET_ROWS, int(mine.max()) // DEDUPE_BUCKET_ROWS
        with lock:
            for b in [b for b in held if not lo - 1 <= b <= hi + 1]:
                del held[b]
            got = [bucket(b) for b in range(lo, hi + 1)]
        numbers = np.concatenate([g[0] for g in got])
        firsts = np.concatenate([g[1] for g in got])
        return _lookup(numbers, firsts, mine)

    return _mark_by(index, lf, lookup)


def _mark_by(
    index: int, lf: pl.LazyFrame, lookup: Callable[[pl.Series], pl.Series]
) -> pl.LazyFrame:
    """Mark the alive rows for which ``lookup`` of their row number is not null as
    dropped by step ``index``, duplicates of that row."""
    looked_up = pl.col(ROW).map_batches(lookup, return_dtype=pl.UInt64, is_elementwise=True)
    first = pl.col(_FIRST)  # the lookup runs once a batch, not once per use
    is_dup = _alive & first.is_not_null()
    return (
        lf.with_columns(looked_up.alias(_FIRST))
        .with_columns(
            pl.when(is_dup).then(first).otherwise(pl.col(DUP)).alias(DUP),
            pl.when(is_dup).then(pl.lit(index, pl.UInt8)).otherwise(pl.col(DROP)).alias(DROP),
        )
        .drop(_FIRST)
    )


# ---------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------


class _Scratch:
    """Checkpoint files under a scratch directory: Arrow IPC, uncompressed (written and
    read back at memory speed; a checkpoint is deleted once the next one is written)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0
        self._last: pl.LazyFrame | None = None

    @property
    def path(self) -> Path:
        """The last checkpoint's file."""
        return self.root / f"stage-{self.n}.arrow"

    def checkpoint(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        self.n += 1
        lf.sink_ipc(self.path, compression="uncompressed", maintain_order=True)
        (self.root / f"stage-{self.n - 1}.arrow").unlink(missing_ok=True)
        self._last = pl.scan_ipc(self.path)
        return self._last

    def fresh(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """``lf`` as a scan of a checkpoint: itself if it is the last checkpoint's scan
        (nothing to write again), else a new checkpoint."""
        return lf if lf is self._last else self.checkpoint(lf)


def _check_strict(lf: pl.LazyFrame, recipe: Recipe) -> None:
    failed = lf.filter(pl.col(ERR).is_not_null()).select(ROW, ERR).head(1).collect()
    if failed.height:
        row_nr, step_index = failed.row(0)
        step = recipe.steps[step_index]
        raise CastFailed(f"step {step_index} ({step.kind}), {step.failure(row_nr)}")


def _run(
    lf: pl.LazyFrame, recipe: Recipe, columns: list[tuple[str, str]], scratch: _Scratch
) -> tuple[pl.LazyFrame, list[dict[str, Any]], list[str]]:
    """Build the plan of every step, checkpointing to ``scratch`` before each step that
    measures or deduplicates the whole dataset; returns the frame, each step's record for
    the proof and the user columns at the end."""
    types = dict(columns)
    step_stats: list[dict[str, Any]] = []
    after = recipe.check_columns(columns)
    for index, step in enumerate(recipe.steps):
        measured: dict[str, Any] = {}
        if step.statistics_fields:
            lf = scratch.fresh(lf)
            progress.begin(f"step {index} ({step.kind})", None)
            _check_strict(lf, recipe)
            measured = step.statistics(lf.filter(_alive), types)
        plan = step.plan(types, measured)
        if plan.duplicates:
            lf = scratch.fresh(lf)
            progress.begin(f"step {index} ({step.kind})", None)
            lf = _apply_dedupe(index, plan.duplicates, lf, types, scratch.path)
        lf = _apply(index, plan, lf)
        types = dict(after[index])
        step_stats.append({"kind": step.kind, **measured})
    return lf, step_stats, list(types)


@dataclass(frozen=True)
class CleanResult:
    """What :func:`clean` wrote and committed to."""

    out_dir: Path
    proof: dict[str, Any]

    @property
    def data_path(self) -> Path:
        return self.out_dir / "data.parquet"

    @property
    def fate_path(self) -> Path:
        return self.out_dir / "fate.bin"

    @property
    def proof_path(self) -> Path:
        return self.out_dir / "proof.json"

    @property
    def input_root(self) -> bytes:
        return bytes.fromhex(self.proof["input_root"][2:])

    @property
    def output_root(self) -> bytes:
        return bytes.fromhex(self.proof["output_root"][2:])

    @property
    def fate_root(self) -> bytes:
        return bytes.fromhex(self.proof["fate_root"][2:])

    @property
    def rows_in(self) -> int:
        return int(self.proof["rows_in"])

    @property
    def rows_out(self) -> int:
        return int(self.proof["rows_out"])


def proof_bytes(proof: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a proof: sorted keys, no whitespace, UTF-8.

    Raises:
        ProofError: the proof holds a non-finite number (not representable in JSON).
    """
    try:
        return json.dumps(
            proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except ValueError as exc:
        raise ProofError(f"proof: {exc}") from None


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


class _InOrder:
    """Jobs run one after another, in order, on one worker thread, at most ``depth``
    waiting: the encoding and hashing of each batch, while the caller reads or writes the
    next (the C hashing module and most NumPy and pyarrow calls release the GIL). A job's
    error is raised by the :meth:`submit` or :meth:`drain` that meets it."""

    def __init__(self, depth: int = 4) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="datasoil-hash")
        self._pending: deque[Future[None]] = deque()
        self._depth = depth

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._depth:
            self._pending.popleft().result()

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Wait for the jobs still running, dropping their results."""
        for job in self._pending:
            job.cancel()
        self._pool.shutdown(wait=True)


class _Committer:
    """An RFC 9162 root over packed leaf hashes given batch by batch, in order.

    Leaf hashes are handed to the tree in runs of :data:`BATCH_ROWS` (aligned perfect
    subtrees, hashed level by level at once) whatever the batch sizes.
    """

    def __init__(self) -> None:
        self.builder = merkle.RootBuilder()
        self._buffer = bytearray()

    def add(self, digests: bytes) -> None:
        self._buffer += digests
        run = 32 * BATCH_ROWS
        whole = len(self._buffer) // run * run
        if whole:
            self.builder.extend_digests(self._buffer[:whole])
            del self._buffer[:whole]

    def root(self) -> bytes:
        self.builder.extend_digests(self._buffer)
        self._buffer.clear()
        return self.builder.root()


def _leaves(batch: pa.RecordBatch, schema: rows.Schema, key: bytes | None) -> tuple[bytes, int]:
    """The packed leaf hashes of a batch's rows (:func:`datasoil.formats.rows.batch_leaf_digests`)
    and the length of its longest encoded row (0 for none)."""
    prefix = merkle.leaf_input_prefix(key)
    encoded = rows.encode_batch(batch, schema, prefix)
    longest = pc.max(pc.binary_length(encoded)).as_py() if len(encoded) else None
    digests = merkle.leaf_digests(encoded, key, prefixed=True)
    return digests, 0 if longest is None else int(longest) - len(prefix)


class _Input:
    """The input as the engine's first frame, read once as the engine pulls it: each batch
    is typed by the recorded schema, numbered and hashed into the input root on its way in
    (no staged copy). Only a checkpoint or the output writer consume it, whole."""

    def __init__(self, path: Path, schema: rows.Schema, key: bytes | None) -> None:
        self.path, self.schema, self.key = path, schema, key
        self.committer = _Committer()
        self.rows = 0
        self.longest = 0
        self.error: Exception | None = None
        self._done = False
        self.counted = True  # tell progress the rows read (unless the output writer does)
        self.total = rows.dataset_rows(path)
        self._jobs = _InOrder()
        self._arrow = pa.schema([pa.field(ROW, pa.uint64(), nullable=False), *schema.to_arrow()])

    def frame(self) -> pl.LazyFrame:
        empty = pl.from_arrow(self._arrow.empty_table())
        assert isinstance(empty, pl.DataFrame)
        source = register_io_source(self._batches, schema=empty.schema)
        return source.with_columns(
            pl.lit(None, pl.UInt8).alias(DROP),
            pl.lit(None, pl.UInt64).alias(DUP),
            pl.lit(None, pl.UInt8).alias(ERR),
        )

    def _batches(
        self,
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        if self.rows or self._done:
            raise AssertionError("the engine read its input twice")  # never: see _run
        if self.counted:
            progress.begin(f"reading and hashing {self.path.name}", self.total)
        try:
            for batch in rows.read_batches(self.path, self.schema, BATCH_ROWS):
                self._jobs.submit(self._commit, batch)
                if self.counted:
                    progress.advance(batch.num_rows)
                n = self.rows
                numbers = pa.array(np.arange(n, n + batch.num_rows, dtype=np.uint64))
                self.rows += batch.num_rows
                frame = pl.from_arrow(
                    pa.RecordBatch.from_arrays([numbers, *batch.columns], schema=self._arrow)
                )
                assert isinstance(frame, pl.DataFrame)
                if predicate is not None:  # none before a checkpoint; honoured all the same
                    frame = frame.filter(predicate)
                yield frame if with_columns is None else frame.select(with_columns)
        except Exception as exc:
            self.error = exc
            raise
        self._done = True

    def _commit(self, batch: pa.RecordBatch) -> None:
        digests, length = _leaves(batch, self.schema, self.key)
        self.committer.add(digests)
        self.longest = max(self.longest, length)

    def close(self) -> None:
        self._jobs.close()

    def reraise(self) -> None:
        """Raise the input's own error (SchemaError, EncodingError, ...) if reading it is
        what failed: the engine reports it as its own."""
        if self.error is not None:
            raise self.error from None

    def root(self) -> bytes:
        """The input root, once the engine has read the whole input."""
        if not self._done:
            raise AssertionError("the input was not read to its end")
        self._jobs.drain()
        return self.committer.root()


def _input_batches(lf: pl.LazyFrame, columns: list[str]) -> Iterator[pl.DataFrame]:
    """The final frame's ``columns``, streamed, cut at every :data:`BATCH_ROWS`-th input row
    (rows are never removed, so row ``i`` of the stream is input row ``i``)."""
    pending: list[pl.DataFrame] = []
    held = 0
    for part in lf.select(columns).collect_batches(chunk_size=BATCH_ROWS, maintain_order=True):
        pending.append(part)
        held += part.height
        while held >= BATCH_ROWS:
            whole = pl.concat(pending, rechunk=True)
            yield whole.slice(0, BATCH_ROWS)
            rest = whole.slice(BATCH_ROWS)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending, rechunk=True)


def _write_outputs(
    final: pl.LazyFrame,
    recipe: Recipe,
    users: list[str],
    schema_out: rows.Schema,
    out: Path,
    key: bytes | None,
    total: int | None = None,
) -> tuple[bytes, int, bytes, int, list[int], int]:
    """Write data.parquet and fate.bin from the final frame in one streaming pass,
    committing the output rows and the fate records as they go; return
    (output root, rows out, fate root, rows in, drops per step index, longest encoded
    output row in bytes).

    Raises CastFailed on the first row a strict cast failed on (files written so far are
    left to the caller's scratch directory). The output rows are the final frame's alive
    rows cast to the declared output schema, exactly what reading data.parquet back under
    ``schema_out`` gives (tests check it). Row groups are the alive rows of each
    :data:`BATCH_ROWS` input rows, as before. ``total`` (the input rows, if known) is for
    the progress bar."""
    target = schema_out.to_arrow()
    out_commit = _Committer()
    fate_commit = _Committer()
    rows_out = 0
    kept = 0
    rows_in = 0
    drops = [0] * 256
    longest = 0
    oldest = pl.CompatLevel.oldest()
    jobs = _InOrder()

    def commit_fates(data: bytes) -> None:
        fate_commit.add(leaf_digests(data))

    def commit_rows(part: pa.RecordBatch) -> None:
        nonlocal longest
        digests, length = _leaves(part, schema_out, key)
        out_commit.add(digests)
        longest = max(longest, length)

    with (
        open(out / "fate.bin", "wb") as fate_file,
        pq.ParquetWriter(out / "data.parquet", target, compression="zstd") as writer,
        contextlib.closing(jobs),
    ):
        progress.begin("writing data.parquet and fate.bin", total)
        for batch in _input_batches(final, [ROW, DROP, DUP, ERR, *users]):
            failed = batch.filter(pl.col(ERR).is_not_null())
            if failed.height:
                row_nr, step_index = failed.select(ROW, ERR).row(0)
                step = recipe.steps[step_index]
                raise CastFailed(f"step {step_index} ({step.kind}), {step.failure(row_nr)}")
            row = batch[ROW].to_numpy().astype(np.uint64)
            drop = batch[DROP].fill_null(FATE_STEP_NONE).to_numpy().astype(np.uint8)
            dup = batch[DUP].fill_null(FATE_NONE).to_numpy().astype(np.uint64)
            if not np.array_equal(row, np.arange(rows_in, rows_in + len(row), dtype=np.uint64)):
                raise AssertionError("engine reordered rows")  # never: every sink keeps order
            data, kept = encode_fates(row, drop, dup, kept)
            fate_file.write(data)
            jobs.submit(commit_fates, data)
            counts = np.bincount(drop, minlength=256)
            drops = [a + int(b) for a, b in zip(drops, counts, strict=True)]
            rows_in += len(row)
            progress.advance(len(row))
            alive = drop == FATE_STEP_NONE
            if alive.any():
                values = batch.select(users)
                if not alive.all():
                    values = values.filter(pl.Series(alive))
                table = values.to_arrow(compat_level=oldest).cast(target).combine_chunks()
                for part in table.to_batches():
                    jobs.submit(commit_rows, part)
                    writer.write_batch(part)
                    rows_out += part.num_rows
        jobs.drain()
    if kept != rows_out:
        raise AssertionError(f"kept {kept} rows but wrote {rows_out}")
    return out_commit.root(), rows_out, fate_commit.root(), rows_in, drops, longest


def clean(
    input: Path,
    recipe: Recipe,
    out_dir: Path,
    *,
    key: bytes | None = None,
    output_key: bytes | None = None,
) -> CleanResult:
    """Clean ``input`` with ``recipe``; write data.parquet, fate.bin and proof.json.

    The three files are written in a fresh directory next to ``out_dir`` and renamed into
    place at the end, so ``out_dir`` holds either a complete result or what it held before.
    ``key`` makes the input and output roots keyed (private datasets, HMAC leaves); the
    fate root is never keyed. ``output_key`` keys the output root alone (defaults to
    ``key``): a public parent cleaned into a private child.

    Raises:
        RecipeError: the recipe does not fit the input's columns.
        CastFailed: a strict cast met a value it cannot convert.
        SchemaError / EncodingError: the input cannot be read under its schema.
    """
    input, out_dir = Path(input), Path(out_dir)
    schema_in = rows.infer_schema(input)
    columns = _columns_of(schema_in)
    for name, _ in columns:
        if name.startswith("__ds_"):
            raise RecipeError(f"input column {name!r} uses the reserved prefix '__ds_'")
    recipe.check_columns(columns)
    schema_out = recipe.output_schema(schema_in)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        scratch_dir = work / "scratch"
        result_dir = work / "result"
        scratch_dir.mkdir()
        result_dir.mkdir()
        source = _Input(input, schema_in, key)
        scratch = _Scratch(scratch_dir)
        try:
            lf, step_stats, users = _run(source.frame(), recipe, columns, scratch)
            source.counted = False  # from here on the writer counts the rows
            output_root, rows_out, froot, rows_in, drops, longest_out = _write_outputs(
                lf, recipe, users, schema_out, result_dir, output_key or key, source.total
            )
            input_root, longest_in = source.root(), source.longest
        except Exception:
            source.reraise()
            raise
        finally:
            source.close()
        if source.rows != rows_in:
            raise AssertionError(f"read {source.rows} input rows, the fates cover {rows_in}")
        proof = _proof(
            recipe,
            (schema_in, schema_out),
            key,
            (input_root, output_root, froot),
            (rows_in, rows_out),
            step_stats,
            drops,
            max(longest_in, longest_out),
        )
        (result_dir / "proof.json").write_bytes(proof_bytes(proof))
        shutil.rmtree(scratch_dir)
        _replace_dir(result_dir, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return CleanResult(out_dir, proof)


def _proof(
    recipe: Recipe,
    schemas: tuple[rows.Schema, rows.Schema],
    key: bytes | None,
    roots: tuple[bytes, bytes, bytes],
    counts: tuple[int, int],
    step_stats: list[dict[str, Any]],
    drops: list[int],
    longest: int,
) -> dict[str, Any]:
    """The proof of a cleaning: ``schemas`` in and out, ``roots`` input, output and fate,
    ``counts`` rows in and out, each step's record (its rows dropped are filled in from
    ``drops``, per step index) and the longest encoded row, in or out, for the judge."""
    (schema_in, schema_out), (input_root, output_root, froot) = schemas, roots
    for index, stats in enumerate(step_stats):
        stats["rows_dropped"] = drops[index]
    return {
        "version": PROOF_VERSION,
        "input_root": _hex(input_root),
        "output_root": _hex(output_root),
        "fate_root": _hex(froot),
        "fate_format": FATE_VERSION,
        "keyed": key is not None,
        "recipe_cid": recipe.cid,
        "recipe": recipe.to_json(),
        "rows_in": counts[0],
        "rows_out": counts[1],
        "engine": engine_info(),
        "unicode_version": unicode_version(),
        "encoding": rows.ENCODING_VERSION,
        "steps": step_stats,
        "schema_in": schema_in.to_json(),
        "schema_out": schema_out.to_json(),
        "judge": judge.judge_record(recipe, schema_in, step_stats, longest),
    }


def _replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing an existing ``dst`` with two renames."""
    if dst.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old.", dir=dst.parent))
        os.replace(dst, old / "d")
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


# ---------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------


def load_proof(source: Path | str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Read a proof from a path, JSON text/bytes or a mapping.

    Raises:
        ProofError: not JSON, not a ``datasoil-clean-v1`` proof, or a required field is missing.
    """
    if isinstance(source, Mapping):
        proof = dict(source)
    else:
        if isinstance(source, Path) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            try:
                source = Path(source).read_bytes()
            except OSError as exc:
                raise ProofError(f"cannot read proof {source!s}: {exc}") from None
        try:
            proof = json.loads(source)
        except ValueError as exc:
            raise ProofError(f"proof is not JSON: {exc}") from None
    if not isinstance(proof, dict) or proof.get("version") != PROOF_VERSION:
        found = proof.get("version") if isinstance(proof, dict) else type(proof).__name__
        raise ProofError(f"proof: expected version {PROOF_VERSION!r}, found {found!r}")
    for field in ("input_root", "output_root", "fate_root", "recipe_cid", "rows_in", "rows_out"):
        if field not in proof:
            raise ProofError(f"proof: required field {field!r} is missing")
    return proof


def _recipe_of(proof: Mapping[str, Any], recipe: Recipe | Path | str | None) -> Recipe:
    if recipe is None:
        if "recipe" not in proof:
            raise ProofError("proof carries no recipe; pass the recipe file")
        try:
            found = recipe_from_json(proof["recipe"])
        except RecipeError as exc:
            raise ProofError(f"proof's recipe is invalid: {exc}") from None
        what = "the recipe embedded in the proof"
    else:
        found = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
        what = "the given recipe"
    if found.cid != proof["recipe_cid"]:
        raise ProofError(
            f"recipe_cid: the proof claims {proof['recipe_cid']}, {what} has CID {found.cid}"
        )
    return found


_COMPARED = (
    "recipe_cid",
    "input_root",
    "rows_in",
    "schema_in",
    "steps",
    "rows_out",
    "schema_out",
    "output_root",
    "fate_root",
    "keyed",
    "encoding",
    "judge",
)


def verify(
    proof: Path | str | bytes | Mapping[str, Any],
    input: Path,
    output: Path,
    *,
    recipe: Recipe | Path | str | None = None,
    fate: Path | None = None,
    key: bytes | None = None,
) -> CleanResult:
    """Re-execute a cleaning proof and compare everything it claims.

    Checks, in order: the recipe's CID (the recipe embedded in the proof, or ``recipe``),
    then by re-running the recipe on ``input``: input root, counts, schemas, per-step
    statistics, output root and fate root; then that ``output`` holds exactly the
    re-executed rows and, with ``fate``, that the fate file holds exactly the re-executed
    records. Engine and Unicode versions are not compared (a different build that
    reproduces the roots is a reproduction).

    Raises:
        ProofError: naming the first difference.
        RecipeError / CastFailed: the recipe cannot run on the input at all.
    """
    claimed = load_proof(proof)
    the_recipe = _recipe_of(claimed, recipe)
    input, output = Path(input), Path(output)
    with tempfile.TemporaryDirectory(prefix=".datasoil-verify.") as tmp:
        redo = clean(input, the_recipe, Path(tmp) / "redo", key=key)
        for field in _COMPARED:
            if field not in claimed:
                continue
            if claimed[field] != redo.proof[field]:
                raise ProofError(_difference(field, claimed[field], redo.proof[field]))
        schema_out = rows.Schema.from_json(redo.proof["schema_out"])
        progress.begin(f"comparing {output.name}", redo.rows_out)
        _compare_rows(output, redo.data_path, schema_out)
        if fate is not None:
            _compare_fates(Path(fate), redo.fate_path)
        return CleanResult(Path(output).parent, redo.proof)


def _difference(field: str, claimed: Any, found: Any) -> str:
    if field == "steps" and isinstance(claimed, list):
        for i, (a, b) in enumerate(zip(claimed, found, strict=False)):
            if a != b:
                return f"steps[{i}] ({b.get('kind')}): the proof claims {a}, re-execution gives {b}"
        return f"steps: the proof lists {len(claimed)} steps, re-execution {len(found)}"
    return f"{field}: the proof claims {claimed!r}, re-execution gives {found!r}"


def _encoded_rows(path: Path, schema: rows.Schema, counted: bool = False) -> Iterator[bytes]:
    for batch in rows.read_batches(path, schema, BATCH_ROWS):
        yield from rows.encode_rows(batch, schema)
        if counted:
            progress.advance(batch.num_rows)


def _compare_rows(given: Path, expected: Path, schema: rows.Schema) -> None:
    sentinel = object()
    a_iter, b_iter = _encoded_rows(given, schema, counted=True), _encoded_rows(expected, schema)
    index = 0
    while True:
        a = next(a_iter, sentinel)
        b = next(b_iter, sentinel)
        if a is sentinel and b is sentinel:
            return
        if a is sentinel:
            raise ProofError(f"output: row {index} is missing (re-execution has more rows)")
        if b is sentinel:
            raise ProofError(f"output: row {index} is extra (re-execution has {index} rows)")
        if a != b:
            raise ProofError(
                f"output: row {index} differs: file has {rows.decode_row(a, schema)!r}, "  # type: ignore[arg-type]
                f"re-execution gives {rows.decode_row(b, schema)!r}"  # type: ignore[arg-type]
            )
        index += 1


def _compare_fates(given: Path, expected: Path) -> None:
    size = FATE_RECORD_SIZE * BATCH_ROWS
    base = 0
    with open(given, "rb") as fa, open(expected, "rb") as fb:
        while True:
            a, b = fa.read(size), fb.read(size)
            if a == b:
                if not a:
                    return
                base += len(a) // FATE_RECORD_SIZE
                continue
            for i in range(0, max(len(a), len(b)), FATE_RECORD_SIZE):
                ra, rb = a[i : i + FATE_RECORD_SIZE], b[i : i + FATE_RECORD_SIZE]
                if ra != rb:
                    index = base + i // FATE_RECORD_SIZE
                    if not rb:
                        raise ProofError(f"fate: record {index} is extra")
                    if len(ra) != FATE_RECORD_SIZE:
                        raise ProofError(f"fate: record {index} is missing or truncated")
                    raise ProofError(
                        f"fate: record {index} differs: file has {_describe(FateRecord.decode(ra))}"
                        f", re-execution gives {_describe(FateRecord.decode(rb))}"
                    )


def _describe(f: FateRecord) -> str:
    if f.kept:
        return f"kept as output row {f.output_index}"
    text = f"dropped by step {f.step}"
    return text + (f" as a duplicate of row {f.dup_of}" if f.dup_of is not None else "")


# ---------------------------------------------------------------------------------------
# Sampled verification
# ---------------------------------------------------------------------------------------


def _row_dict(row: Any, schema: rows.Schema) -> dict[str, Any]:
    names = [c.name for c in schema.columns]
    if isinstance(row, Mapping):
        return {n: row[n] for n in names}
    values = list(row)
    if len(values) != len(names):
        raise ProofError(f"row has {len(values)} values, schema has {len(names)} columns")
    return dict(zip(names, values, strict=True))


def _encode_dicts(dicts: Sequence[Mapping[str, Any]], schema: rows.Schema) -> list[bytes]:
    arrow = schema.to_arrow()
    batch = pa.RecordBatch.from_pylist([dict(d) for d in dicts], schema=arrow)
    return rows.encode_rows(batch, schema)


def check_sample(
    proof: Mapping[str, Any],
    recipe: Recipe,
    input_rows: Mapping[int, Any],
    fate_records: Mapping[int, FateRecord],
    output_rows: Mapping[int, Any],
) -> list[str]:
    """Judge sampled rows alone against a proof; return the problems found (empty: none).

    ``input_rows`` maps input indices to rows (mappings or sequences in ``schema_in``
    order), ``fate_records`` input indices to their fate records, ``output_rows`` output
    indices to rows in ``schema_out`` order. Every sampled input row is re-cleaned with the
    row-local steps; ``outliers`` uses the bounds recorded in the proof; ``dedupe`` is
    taken from the fate record (a claimed duplicate is checked against the earlier row
    when that row is sampled too: same key, and it survived to that step). A kept row's
    output must equal the re-cleaned row when that output row is given.

    What a sample cannot judge: that a row kept by ``dedupe`` has no earlier duplicate,
    and that the recorded outlier bounds are the true fences (both need the whole
    dataset; a full :func:`verify` does).

    Raises:
        ProofError: the proof's recipe CID does not match ``recipe``.
    """
    if recipe.cid != proof.get("recipe_cid"):
        raise ProofError(
            f"recipe_cid: the proof claims {proof.get('recipe_cid')}, the recipe has {recipe.cid}"
        )
    problems: list[str] = []
    schema_in = rows.Schema.from_json(proof["schema_in"])
    schema_out = rows.Schema.from_json(proof["schema_out"])
    for index, fate in sorted(fate_records.items()):
        problems.extend(fate.structural_problems(index))
    wanted = sorted(set(input_rows) & set(fate_records))
    if not wanted:
        return problems
    dicts = [_row_dict(input_rows[i], schema_in) for i in wanted]
    table = pa.Table.from_pylist(dicts, schema=schema_in.to_arrow())
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    lf = frame.lazy().with_columns(
        pl.Series(ROW, wanted, dtype=pl.UInt64),
        pl.lit(None, pl.UInt8).alias(DROP),
        pl.lit(None, pl.UInt64).alias(DUP),
        pl.lit(None, pl.UInt8).alias(ERR),
    )
    columns = _columns_of(schema_in)
    # At each dedupe step the fate records' claims stand in for the whole-dataset step.
    types = dict(columns)
    after = recipe.check_columns(columns)
    keys_at: dict[int, dict[int, tuple[Any, ...]]] = {}
    alive_at: dict[int, set[int]] = {}
    for index, step in enumerate(recipe.steps):
        claimed = _claimed(step, proof["steps"][index]) if step.statistics_fields else {}
        plan = step.plan(types, claimed)
        if plan.duplicates:
            snap = lf.select(ROW, DROP, *plan.duplicates).collect()
            keys_at[index] = {r[0]: tuple(r[2:]) for r in snap.iter_rows() if r[1] is None}
            alive_at[index] = {r[0] for r in snap.iter_rows() if r[1] is None}
            claims = {
                i: f.dup_of
                for i, f in fate_records.items()
                if f.step == index and i in alive_at[index]
            }
            if claims:
                lf = lf.with_columns(
                    pl.when(_alive & pl.col(ROW).is_in(list(claims)))
                    .then(pl.lit(index, pl.UInt8))
                    .otherwise(pl.col(DROP))
                    .alias(DROP)
                )
        lf = _apply(index, plan, lf)
        types = dict(after[index])
    result = lf.collect()
    users = list(types)
    by_row = {r[ROW]: r for r in result.iter_rows(named=True)}
    for i in wanted:
        fate = fate_records[i]
        got = by_row[i]
        if got[ERR] is not None:
            problems.append(f"input row {i}: strict cast at step {got[ERR]} fails on it")
            continue
        predicted = got[DROP]
        if predicted != fate.step and not (fate.kept and predicted is None):
            want = "kept" if predicted is None else f"dropped by step {predicted}"
            problems.append(f"input row {i}: fate says {_describe(fate)}, recipe gives {want}")
            continue
        if fate.step in keys_at and fate.dup_of is not None:
            j = fate.dup_of
            if j in keys_at[fate.step] and i in keys_at[fate.step]:
                if keys_at[fate.step][j] != keys_at[fate.step][i]:
                    problems.append(
                        f"input row {i}: claimed duplicate of row {j}, but their keys differ"
                    )
            elif j in input_rows and j in fate_records:
                problems.append(
                    f"input row {i}: claimed duplicate of row {j}, which did not reach "
                    f"step {fate.step}"
                )
        if fate.kept and fate.output_index is not None and fate.output_index in output_rows:
            mine = _encode_dicts([{c: got[c] for c in users}], schema_out)[0]
            theirs = _encode_dicts(
                [_row_dict(output_rows[fate.output_index], schema_out)], schema_out
            )[0]
            if mine != theirs:
                problems.append(
                    f"input row {i}: output row {fate.output_index} is {theirs!r}, "
                    f"re-cleaning gives {mine!r}"
                )
    return problems
