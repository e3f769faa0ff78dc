"""``datasoil model prove-row MODEL DATASET ROW --bundle FILE``: was a row in a model?

The ``datasoil`` command stays off chain, so the proofs come in a bundle that
``ape run model prove`` writes after reading the model's manifest root and size, the
dataset's row root and count (and a claim's fate root) from the chain and checking the
openings with ModelRegistry's views. This command re-checks every proof in the bundle
with datasoil's RFC 9162 verifier, prints them and the verdict, and exits with the
verdict: 0 the row was in the model, 1 it was not, 2 the bundle does not prove either.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from datasoil.errors import DatasoilError

__all__ = ["model"]


@click.group("model")
def model() -> None:
    """Check model proofs: whether a row was in a model, from a proof bundle."""


@model.command("prove-row")
@click.argument("model_id", type=click.IntRange(min=1))
@click.argument("dataset_id", type=click.IntRange(min=1))
@click.argument("row", type=click.IntRange(min=0))
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The bundle `ape run model prove MODEL DATASET ROW --out FILE` wrote.",
)
@click.option("--quiet", is_flag=True, help="Print only the verdict.")
def prove_row(model_id: int, dataset_id: int, row: int, bundle_path: Path, quiet: bool) -> None:
    """Print both proofs that ROW of DATASET was (or was not) in MODEL and the verdict.

    Exit status: 0 the row was in the model, 1 it was not, 2 the bundle proves neither.
    """
    from datasoil.flows.models import RowProof

    try:
        bundle = RowProof.loads(bundle_path.read_bytes())
    except DatasoilError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if (bundle.model_id, bundle.dataset_id, bundle.row_index) != (model_id, dataset_id, row):
        click.echo(
            f"error: the bundle is for row {bundle.row_index} of dataset {bundle.dataset_id} "
            f"in model {bundle.model_id}, not row {row} of {dataset_id} in {model_id}",
            err=True,
        )
        sys.exit(2)
    problem = bundle.verify()
    if problem is not None:
        click.echo(f"error: the bundle does not verify: {problem}", err=True)
        sys.exit(2)
    if not quiet:
        click.echo(json.dumps(bundle.to_json(), indent=2, sort_keys=True))
    click.echo(bundle.describe())
    sys.exit(0 if bundle.used else 1)
