"""`ape run datasets show ID` / `lineage ID` / `list`: read the registry.

Registrations come from the event index ($DATASOIL_HOME/index, synced from where it
stopped in bounded pages), never from a log scan; owners and roots from the contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import project
from ape.cli import ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _registry():
    from datasoil.chain.session import Session

    return Session.connect(project).indexed_registry


@click.group()
def cli():
    """Show registered datasets and their lineage."""


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def show(cli_ctx, dataset_id):
    """Print one dataset as JSON."""
    registry = _registry()
    data = registry.get(dataset_id).to_json()
    data["versions"] = registry.versions(dataset_id)
    data["children"] = registry.children(dataset_id)
    click.echo(json.dumps(data, indent=2))


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def lineage(cli_ctx, dataset_id):
    """Print the ancestor tree of a dataset."""
    registry = _registry()
    click.echo(registry.lineage(dataset_id).render())
    versions = registry.versions(dataset_id)
    if len(versions) > 1:
        click.echo("versions: " + " -> ".join(f"#{v}" for v in versions))


@cli.command(name="list", cls=ChainCommand)
@ape_cli_context()
@friendly
def list_(cli_ctx):
    """List every dataset, one per line."""
    for d in _registry().all():
        flags = " private" if d.private else ""
        parents = ",".join(map(str, d.parents)) or "-"
        click.echo(f"#{d.id} {d.content_cid} rows={d.row_count} parents={parents}{flags}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def consistency(cli_ctx, old_id, new_id, proof_file):
    """Check that dataset NEW_ID extends OLD_ID with a consistency proof (PROOF_FILE, as
    `datasoil consistency OLD NEW` prints it), against the registered roots alone."""
    from datasoil.chain.registry import check_consistency
    from datasoil.errors import ProofError
    from datasoil.formats.merkle import ConsistencyProof

    registry = _registry()
    try:
        proof = ConsistencyProof.from_json(json.loads(proof_file.read_text()))
    except ValueError as exc:
        raise ProofError(f"expected a consistency proof as JSON in {proof_file}: {exc}") from None
    check_consistency(registry.get(old_id), registry.get(new_id), proof)
    versions = registry.versions(new_id)
    linked = old_id in versions and versions.index(old_id) < versions.index(new_id)
    note = "" if linked else f" (#{new_id} is not registered as a later version of #{old_id})"
    cli_ctx.logger.success(
        f"#{new_id}'s {proof.new_size} rows extend #{old_id}'s {proof.old_size}{note}"
    )
