"""`ape run verify CLAIM [--sample K] [--attest]`: re-execute a cleaning claim; the exit
status is the verdict; `--attest` records it as a reproduction attestation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.progress import progress_options, shown
from datasoil.app.scripting import ChainCommand, friendly


@click.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Check K (>= 1) random rows only; recorded as a partial reproduction.",
)
@click.option("--seed", type=int, default=None, help="Seed of the sample (default: random).")
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Hex content key of a private child (default: the local key store, if it has it).",
)
@click.option("--attest", "do_attest", is_flag=True, help="Record the verdict on chain.")
@progress_options
@friendly
def cli(cli_ctx, account, claim_id, sample, seed, key_file, do_attest, progress, quiet):
    """Re-execute CLAIM_ID; exit 0 only if it reproduced.

    A full re-execution of a public child, or of a private child with its content key,
    compares every root; a sample, or a private child without the key, is partial and
    is attested under the partial reproduction metric set.
    """
    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows import claims
    from datasoil.flows.attest import Attestations
    from datasoil.store import open_store

    contracts = chain.contracts(project)
    registry = Registry(contracts.registry, contracts.deployment.block)
    store = open_store()
    content_key = claims.child_content_key(
        contracts.require("proofs"), registry, claim_id, key_file, contracts.deployment.block
    )
    with shown(progress, quiet):
        verdict = claims.verify_claim(
            claim_id,
            proofs=contracts.require("proofs"),
            registry=registry,
            store=store,
            sample=sample,
            seed=seed,
            from_block=contracts.deployment.block,
            content_key=content_key,
        )
    click.echo(json.dumps(verdict.report, indent=2))
    if do_attest:
        client = Attestations(
            contracts.require("attestations"), contracts.registry, contracts.deployment.block
        )
        child_id = claims.claim_documents(
            contracts.require("proofs"), claim_id, contracts.deployment.block
        )["child_id"]
        cid = claims.attest_verdict(client, verdict, store=store, sender=account, child_id=child_id)
        kind = "full" if verdict.full else "partial"
        cli_ctx.logger.success(
            f"attested score {verdict.score} ({kind} reproduction), report {cid}"
        )
    if verdict.reproduced:
        cli_ctx.logger.success(f"claim {claim_id} reproduced: {verdict.detail}")
    else:
        cli_ctx.logger.error(f"claim {claim_id} did not reproduce: {verdict.detail}")
        sys.exit(1)
