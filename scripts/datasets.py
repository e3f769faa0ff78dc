"""`ape run datasets show ID` / `lineage ID` / `list`: read the registry."""

from __future__ import annotations

import json

import click
from ape import project
from ape.cli import ConnectedProviderCommand, ape_cli_context

from datasoil.scripting import friendly


def _registry():
    from datasoil import chain
    from datasoil.registry import Registry

    contracts = chain.contracts(project)
    return Registry(contracts.registry, contracts.deployment.block)


@click.group()
def cli():
    """Show registered datasets and their lineage."""


@cli.command(cls=ConnectedProviderCommand)
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


@cli.command(cls=ConnectedProviderCommand)
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


@cli.command(name="list", cls=ConnectedProviderCommand)
@ape_cli_context()
@friendly
def list_(cli_ctx):
    """List every dataset, one per line."""
    for d in _registry().all():
        flags = " private" if d.private else ""
        parents = ",".join(map(str, d.parents)) or "-"
        click.echo(f"#{d.id} {d.content_cid} rows={d.row_count} parents={parents}{flags}")
