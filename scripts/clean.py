"""`ape run clean DATASET --recipe FILE`: clean a registered dataset, publish the child,
submit the bonded cleaning claim."""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.pin_remote import pin_or_exit
from datasoil.app.progress import progress_options, shown
from datasoil.app.scripting import ChainCommand, friendly


@click.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--recipe", "recipe_path", type=click.Path(path_type=Path), required=True)
@click.option("--private", is_flag=True, help="Encrypt the cleaned child (keyed row leaves).")
@click.option("--name", default=None, help="Name of the cleaned dataset.")
@click.option("--work", type=click.Path(path_type=Path), default=None, help="Work directory.")
@click.option("--no-claim", is_flag=True, help="Publish the child but do not submit a claim.")
@click.option(
    "--pin-remote",
    "pin_remote",
    metavar="NAME",
    default=None,
    help="Also pin the child's data, metadata, recipe and proof on the Pinning Service API "
    "configured as NAME (DATASOIL_PINNING_SERVICES; token from DATASOIL_PINNING_TOKEN_<NAME>).",
)
@progress_options
@friendly
def cli(
    cli_ctx,
    account,
    dataset_id,
    recipe_path,
    private,
    name,
    work,
    no_claim,
    pin_remote,
    progress,
    quiet,
):
    """Clean DATASET_ID with the recipe, publish the result as its child, and claim it.

    With ``--pin-remote NAME`` the child's CIDs are then pinned on that Pinning Service API
    and followed to ``pinned``; a failure there is one line and exit status 1, the child
    staying registered (and claimed).
    """
    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows import claims
    from datasoil.store import open_store

    contracts = chain.contracts(project)
    registry = Registry(contracts.registry, contracts.deployment.block)
    work = work or Path(".datasoil") / "clean" / f"dataset-{dataset_id}"
    with shown(progress, quiet):
        child = claims.clean_and_publish(
            dataset_id,
            recipe_path,
            registry=registry,
            store=open_store(),
            sender=account,
            work=work,
            private=private,
            name=name,
        )
    result = child.result
    cli_ctx.logger.info(f"{result.rows_in} rows in, {result.rows_out} rows out")
    for step in result.proof.get("steps", []):
        if step.get("rows_dropped"):
            cli_ctx.logger.info(f"  {step.get('kind')}: dropped {step['rows_dropped']}")
    cli_ctx.logger.success(f"published the cleaned dataset as #{child.child_id}")
    summary = {
        "parent_id": child.parent_id,
        "child_id": child.child_id,
        "recipe_cid": child.recipe_cid,
        "proof_cid": child.proof_cid,
        "fate_root": "0x" + result.fate_root.hex(),
        "private": child.private,
    }
    if not no_claim:
        from datasoil.flows import row_disputes

        proofs, token = contracts.require("proofs"), contracts.require("token")
        claim_id = row_disputes.submit_judged_claim(
            proofs, contracts.row_disputes, token, child, sender=account
        )
        summary["claim_id"] = claim_id
        cli_ctx.logger.success(f"submitted cleaning claim #{claim_id} (bond posted)")
        judge = result.proof.get("judge") or {}
        if judge.get("hash") and contracts.row_disputes is not None:
            cli_ctx.logger.info(f"committed judge program {judge['hash']}: rows can be judged")
        elif judge.get("reason"):
            cli_ctx.logger.info(f"rows are not judged on chain: {judge['reason']}")
    if pin_remote:
        registered = registry.get(child.child_id)
        cids = [registered.content_cid, registered.metadata_cid, child.recipe_cid, child.proof_cid]
        pin_or_exit(cli_ctx.logger, pin_remote, cids, child.child_id)
    click.echo(json.dumps(summary, indent=2))
