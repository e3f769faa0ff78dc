"""`ape run audit open|reveal|respond|watch|finalize|status|key`: structural audits of
cleaning claims.

Thin over :mod:`datasoil.flows.audit`: parse, call, print.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _contracts():
    from datasoil import chain

    c = chain.contracts(project)
    return c.require("proofs"), c.registry, c.token


def _data(proofs, registry, claim_id: int, data_dir, input_path, key_file, input_key_file):
    """The claim's data with each side's own row-hash key (datasoil.flows.audit.claim_data_for)."""
    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows import audit

    start = chain.contracts(project).deployment.block
    return audit.claim_data_for(
        proofs,
        Registry(registry, start),
        claim_id,
        data_dir,
        input_path,
        key_file=key_file,
        input_key_file=input_key_file,
    )


_data_options = [
    click.option(
        "--data",
        "data_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=True,
        help="The `datasoil clean` output directory (proof.json, data.parquet, fate.bin).",
    ),
    click.option(
        "--input",
        "input_path",
        type=click.Path(exists=True, path_type=Path),
        required=True,
        help="The parent dataset's data (file or directory).",
    ),
    click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Hex content key of a private child (`ape run audit key CHILD` prints it); "
        "default: the local key store.",
    ),
    click.option(
        "--input-key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Hex content key of a private parent; default: the local key store.",
    ),
]


def data_options(func):
    for option in reversed(_data_options):
        func = option(func)
    return func


@click.group()
def cli():
    """Open, answer, watch and finalise structural audits of cleaning claims."""


@cli.command(name="open", cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@friendly
def open_(cli_ctx, account, claim_id):
    """Open an audit of CLAIM_ID (takes the audit deposit), wait a block and reveal."""
    from datasoil.flows import audit

    proofs, _, token = _contracts()
    number = audit.open_audit(proofs, token, claim_id, account, log=cli_ctx.logger.info)
    cli_ctx.logger.success(f"opened and revealed audit {number} of claim {claim_id}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@click.argument("number", metavar="AUDIT", type=int)
@click.option("--secret", required=True, help="The 0x-hex secret `open` logged.")
@friendly
def reveal(cli_ctx, account, claim_id, number, secret):
    """Reveal audit AUDIT of CLAIM_ID (after an interrupted `open`)."""
    from datasoil.flows import audit

    try:
        raw = bytes.fromhex(secret.removeprefix("0x"))
    except ValueError:
        raise click.BadParameter(f"expected 32 hex bytes, found {secret[:20]!r}") from None
    if len(raw) != 32:
        raise click.BadParameter(f"expected 32 bytes, found {len(raw)}")
    proofs, _, _ = _contracts()
    seed = audit.reveal(proofs, claim_id, number, raw, account)
    cli_ctx.logger.success(f"revealed audit {number} of claim {claim_id}: seed 0x{seed.hex()}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@click.option("--audit", "number", type=int, default=None, help="One audit (default: all open).")
@data_options
@friendly
def respond(cli_ctx, account, claim_id, number, data_dir, input_path, key_file, input_key_file):
    """Answer the open audits of CLAIM_ID with openings built from the claim's data."""
    from datasoil.flows import audit

    proofs, registry, _ = _contracts()
    data = _data(proofs, registry, claim_id, data_dir, input_path, key_file, input_key_file)
    if number is not None:
        audit.respond(proofs, registry, claim_id, number, data, account)
        cli_ctx.logger.success(f"answered audit {number} of claim {claim_id}")
        return
    done = audit.answer_open_audits(proofs, registry, claim_id, data, account, cli_ctx.logger.info)
    if not done:
        cli_ctx.logger.info(f"claim {claim_id}: no open audit with a revealed seed")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@data_options
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between polls."
)
@click.option("--once", is_flag=True, help="Poll once and exit.")
@friendly
def watch(
    cli_ctx, account, claim_id, data_dir, input_path, key_file, input_key_file, interval, once
):
    """Answer CLAIM_ID's audits as they are revealed, until the claim is settled."""
    from datasoil.flows import audit

    proofs, registry, _ = _contracts()
    data = _data(proofs, registry, claim_id, data_dir, input_path, key_file, input_key_file)
    while True:
        audit.answer_open_audits(proofs, registry, claim_id, data, account, cli_ctx.logger.info)
        status = audit.read_claim(proofs, claim_id).status
        if once or status in (audit.Status.FINALISED, audit.Status.FAILED):
            cli_ctx.logger.info(f"claim {claim_id}: {status.name.lower()}")
            return
        time.sleep(interval)


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@friendly
def finalize(cli_ctx, account, claim_id):
    """Finalise CLAIM_ID after its challenge window (credits the bond; `withdraw` sends it)."""
    from datasoil.flows import audit

    proofs, _, _ = _contracts()
    audit.finalize(proofs, claim_id, account)
    cli_ctx.logger.success(f"finalised claim {claim_id}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("claim_id", type=int)
@friendly
def status(cli_ctx, claim_id):
    """Print CLAIM_ID's status and audit history as JSON."""
    from datasoil.flows import audit

    proofs, _, _ = _contracts()
    click.echo(json.dumps(audit.read_claim(proofs, claim_id).to_json(), indent=2))


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def key(cli_ctx, dataset_id):
    """Print the hex content key of private DATASET_ID from the local key store (what
    --key-file / --input-key-file take)."""
    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows import access

    c = chain.contracts(project)
    dataset = Registry(c.registry, c.deployment.block).get(dataset_id)
    if not dataset.private:
        raise click.UsageError(f"dataset {dataset_id} is public: its rows need no key")
    click.echo("0x" + access.load_content_key(dataset.content_cid).key.hex())
