"""`ape run audit open|reveal|respond|watch|finalize|status|key|dispute-row|answer`:
structural audits of cleaning claims, and disputes of single rows judged on chain.

Thin over :mod:`datasoil.flows.audit` and :mod:`datasoil.flows.row_disputes`: parse, call,
print.
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


def _row_disputes():
    """The deployment's RowDisputes and RowJudge, or None for a deployment without them."""
    from datasoil import chain

    c = chain.contracts(project)
    if c.row_disputes is None or c.row_judge is None:
        return None
    return c.row_disputes, c.row_judge


def _program(data_dir: Path) -> bytes | None:
    """The judge program the cleaning's proof.json records (None: its rows are not judged)."""
    from datasoil.engine.clean import load_proof
    from datasoil.flows import row_disputes

    found = row_disputes.judge_program_of(load_proof(data_dir / "proof.json"))
    return None if found is None else found[0]


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
    """Answer CLAIM_ID's audits as they are revealed, and its row disputes as they are
    opened, until the claim is settled."""
    from datasoil.flows import audit

    proofs, registry, _ = _contracts()
    from datasoil.flows import row_disputes

    data = _data(proofs, registry, claim_id, data_dir, input_path, key_file, input_key_file)
    rows = _row_disputes()
    program = _program(data_dir)
    while True:
        audit.answer_open_audits(proofs, registry, claim_id, data, account, cli_ctx.logger.info)
        if rows is not None and program is not None:
            row_disputes.answer_open_row_disputes(
                *rows, claim_id, data, program, account, cli_ctx.logger.info
            )
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


@cli.command(name="dispute-row", cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@click.argument("index", type=click.IntRange(min=0))
@click.option(
    "--earlier",
    type=click.IntRange(min=0),
    default=None,
    help="An earlier input row the row repeats (for a row kept by a dedupe step).",
)
@friendly
def dispute_row(cli_ctx, account, claim_id, index, earlier):
    """Dispute input row INDEX of CLAIM_ID (takes a bond): the chain judges it with the
    claim's judge program once answered, and upholds the dispute if nobody answers."""
    from datasoil import chain
    from datasoil.flows import row_disputes

    rows = _row_disputes()
    if rows is None:
        raise click.UsageError("this deployment has no RowDisputes contract: run `ape run deploy`")
    token = chain.contracts(project).token
    number = row_disputes.dispute_row(rows[0], token, claim_id, index, earlier, account)
    deadline = int(rows[0].row_dispute(claim_id, number).deadline)
    cli_ctx.logger.success(
        f"disputed row {index} of claim {claim_id} (dispute {number}); an answer is due by "
        f"block {deadline}, and none by then upholds the dispute"
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("claim_id", type=int)
@click.option(
    "--dispute", "number", type=int, default=None, help="One dispute (default: all open)."
)
@data_options
@friendly
def answer(cli_ctx, account, claim_id, number, data_dir, input_path, key_file, input_key_file):
    """Answer CLAIM_ID's open row disputes with openings built from the claim's data
    (checked first with a free call of the judge)."""
    from datasoil.flows import row_disputes

    rows = _row_disputes()
    program = _program(data_dir)
    if rows is None or program is None:
        raise click.UsageError(
            "nothing to answer: the deployment has no RowDisputes contract or the cleaning's "
            "proof records no judge program"
        )
    proofs, registry, _ = _contracts()
    data = _data(proofs, registry, claim_id, data_dir, input_path, key_file, input_key_file)
    if number is not None:
        row_disputes.answer_row(*rows, claim_id, number, data, program, account)
        cli_ctx.logger.success(f"answered row dispute {number} of claim {claim_id}")
        return
    done = row_disputes.answer_open_row_disputes(
        *rows, claim_id, data, program, account, cli_ctx.logger.info
    )
    if not done:
        cli_ctx.logger.info(f"claim {claim_id}: no open row dispute")
