"""``datasoil root PATH`` and ``datasoil prove PATH INDEX``: a dataset's row root and proofs.

Both print JSON. ``root`` gives the RFC 9162 row root, the row count and the schema
(inferred by datasoil's rules unless ``--schema FILE`` gives the recorded one); ``prove``
gives an inclusion proof that any RFC 9162 section 2.1.3.2 verifier checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from datasoil.app.progress import progress_options, shown
from datasoil.engine import progress as report
from datasoil.errors import SchemaError
from datasoil.formats import merkle, rows

__all__ = ["consistency", "prove", "root"]

_path_arg = click.argument("path", type=click.Path(exists=True, path_type=Path))
_schema_opt = click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON schema to read with (as `datasoil root` prints it); default: infer.",
)
_key_opt = click.option(
    "--key-hex",
    default=None,
    help="32-byte row-hash key (hex) of a private dataset: HMAC-SHA-256 leaves.",
)


ray_opts = (
    click.option(
        "--ray",
        "ray_address",
        is_flag=False,
        flag_value="local",
        default=None,
        metavar="[ADDRESS]",
        help="Work in shards on Ray: a local cluster started for the command, or the cluster "
        "at ADDRESS ('auto': the one running here). Same roots as without (docs/scale.md).",
    ),
    click.option(
        "--shard-rows",
        type=click.IntRange(min=1),
        default=None,
        help="Rows per Ray shard, a power of two (default 2**20).",
    ),
)
"""The ``--ray`` and ``--shard-rows`` options of the commands that can run in shards."""


def with_ray_opts(fn: Any) -> Any:
    """Add :data:`ray_opts` to a command."""
    for opt in reversed(ray_opts):
        fn = opt(fn)
    return fn


def sharded(ray_address: str, shard_rows: int | None) -> tuple[str | None, int]:
    """``--ray``'s cluster address (None: a local cluster) and the shard size."""
    from datasoil.engine.shards import SHARD_ROWS

    return (None if ray_address == "local" else ray_address), shard_rows or SHARD_ROWS


def _schema(path: Path, schema_file: Path | None) -> rows.Schema:
    return rows.infer_schema(path) if schema_file is None else rows.load_schema(schema_file)


def _key(key_hex: str | None) -> bytes | None:
    if key_hex is None:
        return None
    try:
        return bytes.fromhex(key_hex.removeprefix("0x"))
    except ValueError:
        raise click.BadParameter("expected hex digits", param_hint="--key-hex") from None


@click.command("root")
@_path_arg
@_schema_opt
@_key_opt
@click.option("--allow-empty", is_flag=True, help="Accept a dataset with no rows.")
@with_ray_opts
@progress_options
def root(
    path: Path,
    schema_file: Path | None,
    key_hex: str | None,
    allow_empty: bool,
    ray_address: str | None,
    shard_rows: int | None,
    progress: bool | None,
    quiet: bool,
) -> None:
    """Print the RFC 9162 row root of the dataset at PATH as JSON."""
    schema = _schema(path, schema_file)
    with shown(progress, quiet):
        if ray_address is None:
            digest, count = _root(path, schema, _key(key_hex))
        else:
            from datasoil.engine import shards

            address, size = sharded(ray_address, shard_rows)
            with shards.ray_session(address) as ray:
                digest, count = shards.dataset_root(
                    path, schema, _key(key_hex), shard_rows=size, ray=ray
                )
    if count == 0 and not allow_empty:
        raise SchemaError(f"{path}: expected at least one row, found none (use --allow-empty)")
    out = {
        "root": "0x" + digest.hex(),
        "rows": count,
        "encoding": rows.ENCODING_VERSION,
        "keyed": key_hex is not None,
        "schema": schema.to_json(),
    }
    click.echo(json.dumps(out, indent=2))


def _root(path: Path, schema: rows.Schema, key: bytes | None) -> tuple[bytes, int]:
    """:func:`datasoil.formats.rows.dataset_root`, batch by batch, told as progress."""
    report.begin(f"hashing {path.name}", rows.dataset_rows(path))
    builder = merkle.RootBuilder()
    for batch in rows.read_batches(path, schema, 65536):
        builder.extend_digests(rows.batch_leaf_digests(batch, schema, key))
        report.advance(batch.num_rows)
    return builder.root(), builder.size


@click.command("prove")
@_path_arg
@click.argument("index", type=click.IntRange(min=0))
@_schema_opt
@_key_opt
def prove(path: Path, index: int, schema_file: Path | None, key_hex: str | None) -> None:
    """Print an RFC 9162 inclusion proof for row INDEX (from 0) of the dataset at PATH."""
    schema = _schema(path, schema_file)
    key = _key(key_hex)
    size = 0
    for hashes in rows.dataset_leaf_hashes(path, schema, key):
        size += len(hashes)
    if index >= size:
        raise SchemaError(f"{path}: expected a row index below {size}, found {index}")
    leaves = (h for hashes in rows.dataset_leaf_hashes(path, schema, key) for h in hashes)
    proof = merkle.inclusion_proof_from_iter(leaves, index, size)
    merkle.verify_inclusion(proof)
    click.echo(json.dumps(proof.to_json(), indent=2))


@click.command("consistency")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@_schema_opt
@_key_opt
def consistency(old: Path, new: Path, schema_file: Path | None, key_hex: str | None) -> None:
    """Print an RFC 9162 consistency proof that dataset NEW extends dataset OLD.

    The proof names both roots and row counts; `ape run datasets consistency` checks it
    against two registered versions without their data. The schema is OLD's (inferred
    unless --schema gives the recorded one).
    """
    schema = _schema(old, schema_file)
    proof = rows.dataset_consistency(old, new, schema, _key(key_hex))
    proof.verify()
    click.echo(json.dumps(proof.to_json(), indent=2))
