"""``datasoil quality PATH``: print a dataset's quality report (metric set datasoil.quality.v1)."""

from __future__ import annotations

from pathlib import Path

import click

from datasoil.app.progress import progress_options, shown
from datasoil.engine.quality import compute_report, render

__all__ = ["quality"]


@click.command("quality")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--label", "label", metavar="COL", help="Label column: report class balance.")
@click.option(
    "--key", "key", metavar="COL,...", help="Comma-separated key columns: report key duplicates."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the canonical JSON report instead of a summary."
)
@progress_options
def quality(
    path: Path,
    label: str | None,
    key: str | None,
    as_json: bool,
    progress: bool | None,
    quiet: bool,
) -> None:
    """Compute the quality report of the dataset file PATH (CSV, TSV, Parquet, JSONL)."""
    key_cols = [k.strip() for k in key.split(",") if k.strip()] if key else None
    if key is not None and not key_cols:
        raise click.BadParameter(
            "expected one or more column names, found none", param_hint="--key"
        )
    with shown(progress, quiet):
        report = compute_report(path, label=label, key=key_cols)
    if as_json:
        click.echo(report.to_json_bytes().decode("utf-8"))
    else:
        click.echo(render(report), nl=False)
