"""``datasoil clean`` and ``datasoil verify``: verifiable cleaning from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from datasoil.app.commands.rows import sharded, with_ray_opts
from datasoil.app.progress import progress_options, shown
from datasoil.engine.clean import clean as run_clean
from datasoil.engine.clean import load_proof, proof_bytes
from datasoil.engine.clean import verify as run_verify
from datasoil.formats.recipe import load_recipe

__all__ = ["clean", "verify"]


@click.command("clean")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--recipe",
    "recipe_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML cleaning recipe.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for data.parquet, fate.bin and proof.json (replaced atomically).",
)
@with_ray_opts
@progress_options
def clean(
    path: Path,
    recipe_path: Path,
    out_dir: Path,
    ray_address: str | None,
    shard_rows: int | None,
    progress: bool | None,
    quiet: bool,
) -> None:
    """Clean PATH with a recipe; write the data, fate file and proof; print the proof."""
    recipe = load_recipe(recipe_path)
    with shown(progress, quiet):
        if ray_address is None:
            result = run_clean(path, recipe, out_dir)
        else:
            from datasoil.engine import shards

            address, size = sharded(ray_address, shard_rows)
            with shards.ray_session(address) as ray:
                result = shards.clean(path, recipe, out_dir, shard_rows=size, ray=ray)
    click.echo(proof_bytes(result.proof).decode("utf-8"))
    summary = ", ".join(
        f"{i}:{s['kind']} -{s['rows_dropped']}" for i, s in enumerate(result.proof["steps"])
    )
    click.echo(
        f"rows in {result.rows_in}, out {result.rows_out} ({summary}); wrote {out_dir}",
        err=True,
    )


@click.command("verify")
@click.argument("proof_path", metavar="PROOF_JSON", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The raw input dataset the proof claims to start from.",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The cleaned data the proof claims (data.parquet).",
)
@click.option(
    "--recipe",
    "recipe_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipe to hold the proof to (default: the recipe embedded in the proof).",
)
@click.option(
    "--fate",
    "fate_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Fate file to check record by record (default: fate.bin next to the output, if any).",
)
@progress_options
def verify(
    proof_path: Path,
    input_path: Path,
    output_path: Path,
    recipe_path: Path | None,
    fate_path: Path | None,
    progress: bool | None,
    quiet: bool,
) -> None:
    """Re-execute a cleaning proof; exit 0 only when everything reproduces."""
    if fate_path is None:
        sibling = output_path.parent / "fate.bin"
        fate_path = sibling if sibling.is_file() else None
    claimed = load_proof(proof_path)
    with shown(progress, quiet):
        result = run_verify(claimed, input_path, output_path, recipe=recipe_path, fate=fate_path)
    if claimed.get("engine") != result.proof["engine"]:
        click.echo(
            f"note: the proof was made with {claimed.get('engine')}, re-executed with "
            f"{result.proof['engine']}; the roots reproduce",
            err=True,
        )
    checked = "output, fate file" if fate_path else "output"
    click.echo(
        f"verified: {result.rows_in} rows in, {result.rows_out} out; input, output and fate "
        f"roots reproduce; {checked} match"
    )
    sys.stdout.flush()
