"""`ape run publish PATH`: content-address, commit, pin and register a dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context
from rich.console import Console

from datasoil.app.pin_remote import pin_or_exit
from datasoil.app.scripting import ChainCommand, friendly


@click.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--parent", "parents", type=int, multiple=True, help="A parent dataset id.")
@click.option("--version-of", type=int, default=0, help="The dataset id this one supersedes.")
@click.option("--private", is_flag=True, help="Encrypt before pinning; keyed row leaves.")
@click.option("--license", "license_", default="CC-BY-4.0", show_default=True)
@click.option("--name", default=None, help="Dataset name (default: the file name).")
@click.option("--description", default="")
@click.option("--profile", default=None, help="CID profile (default unixfs-v1-2025).")
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The schema to commit the rows under (JSON, as `datasoil root` prints it, edited); "
    "default: inferred by datasoil's rules.",
)
@click.option(
    "--subject",
    "subject_text",
    metavar="COLUMN:KIND",
    default=None,
    help="The column naming each row's subject, KIND address or commitment: recorded in the "
    "metadata and declared on chain, so subjects can withdraw their rows (docs/consent.md).",
)
@click.option("--allow-empty", is_flag=True, help="Publish a dataset with no rows.")
@click.option("--allow-duplicate", is_flag=True, help="Register data that is already registered.")
@click.option(
    "--pin-remote",
    "pin_remote",
    metavar="NAME",
    default=None,
    help="Also pin the data and metadata on the Pinning Service API configured as NAME "
    "(DATASOIL_PINNING_SERVICES; token from DATASOIL_PINNING_TOKEN_<NAME>).",
)
@friendly
def cli(
    cli_ctx,
    account,
    path,
    parents,
    version_of,
    private,
    license_,
    name,
    description,
    profile,
    schema_file,
    subject_text,
    allow_empty,
    allow_duplicate,
    pin_remote,
):
    """Publish the CSV, Parquet or JSONL file (or directory) at PATH and register it.

    Ctrl-C stops it with exit status 130 and one line saying what it left: nothing
    registered (and what stays pinned for a rerun), or, if the registration transaction
    had already been sent, the id it was registered as.

    With ``--pin-remote NAME`` the content and metadata CIDs are then pinned on that
    Pinning Service API and followed to ``pinned``; a refusal or failure there is one line
    and exit status 1, the dataset staying registered.
    """
    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows import publish
    from datasoil.formats import rows
    from datasoil.store import open_store

    schema = rows.load_schema(schema_file) if schema_file else None
    subject = None
    if subject_text is not None:
        column, _, kind = subject_text.rpartition(":")
        if not column or kind not in ("address", "commitment"):
            raise click.BadParameter(
                f"expected COLUMN:address or COLUMN:commitment, found {subject_text!r}",
                param_hint="--subject",
            )
        subject = (column, kind)
    contracts = chain.contracts(project)
    registry = Registry(contracts.registry, contracts.deployment.block)
    # A live status line for large inputs: rows committed so far, then the CIDs.
    try:
        with Console(stderr=True).status(f"publishing {path}…") as status:
            done = publish.publish(
                path,
                store=open_store(),
                registry=registry,
                sender=account,
                parents=parents,
                version_of=version_of,
                allow_duplicate=allow_duplicate,
                progress=status.update,
                profile=profile,
                name=name,
                description=description,
                license=license_,
                creator=str(account.address),
                private=private,
                allow_empty=allow_empty,
                schema=schema,
                subject=subject,
            )
    except publish.PublishInterrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(130)
    prepared = done.prepared
    for line in (
        f"schema: {len(prepared.schema.columns)} columns",
        f"rows: {prepared.row_count}",
        f"content: {prepared.content_cid}",
        f"metadata: {prepared.metadata_cid}",
    ):
        cli_ctx.logger.info(line)
    cli_ctx.logger.success(f"registered dataset #{done.dataset_id}")
    if subject is not None:
        from datasoil.chain.session import Session
        from datasoil.flows import consent

        declared = consent.declare(Session(contracts, account), done.dataset_id, store=open_store())
        cli_ctx.logger.success(
            f"subject column {declared.column!r} ({declared.kind_name}) declared on chain"
        )
    if pin_remote:
        cids = [prepared.content_cid, prepared.metadata_cid]
        pin_or_exit(cli_ctx.logger, pin_remote, cids, done.dataset_id)
    click.echo(json.dumps({"dataset_id": done.dataset_id, **prepared.summary()}, indent=2))
