"""`ape run consent declare|request|sign|answer|forward|status`: withdrawal requests.

Thin over datasoil.flows.consent: parse, call, print. Errors are one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _session(account=None):
    from datasoil.chain.session import Session

    return Session.connect(project, account)


def _hex32(text):
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise click.BadParameter(f"expected 32 bytes in hex (0x + 64 digits), found {text!r}")
    return value


@click.group()
def cli():
    """Withdraw rows from datasets: declare subjects, request, answer, see where it stands."""


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@friendly
def declare(cli_ctx, account, dataset_id):
    """Declare on chain the subject column DATASET_ID's metadata names (owner only)."""
    from datasoil.flows import consent
    from datasoil.store import open_store

    subjects = consent.declare(_session(account), dataset_id, store=open_store())
    cli_ctx.logger.success(
        f"dataset {dataset_id}: column {subjects.column!r} (position {subjects.position}) "
        f"holds each row's subject ({subjects.kind_name})"
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.argument("row_index", type=int, required=False)
@click.option(
    "--mine", is_flag=True, help="Every row naming the sender (or the secret's commitment)."
)
@click.option(
    "--signed",
    "signed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Relay a subject's signed withdrawal (from `ape run consent sign`).",
)
@click.option("--secret", default=None, help="The commitment's 32-byte secret, in hex.")
@friendly
def request(cli_ctx, account, dataset_id, row_index, mine, signed_path, secret):
    """Request the withdrawal of ROW_INDEX of DATASET_ID: as its owner, as the row's subject
    (the sender, or --signed by it), or with the --secret of the row's commitment."""
    from datasoil.flows import consent
    from datasoil.protocol import consent as protocol
    from datasoil.store import open_store

    if (row_index is None) == (not mine):
        raise click.UsageError("give exactly one of ROW_INDEX or --mine")
    if mine and signed_path:
        raise click.UsageError("--signed names one row: give its ROW_INDEX, not --mine")
    session, store = _session(account), open_store()
    key = _hex32(secret) if secret else None
    wanted = [row_index]
    if mine:
        facts = session.consent.dataset(dataset_id)
        if facts["kind"] == 0:
            raise click.UsageError(f"dataset {dataset_id} declares no subject column on chain")
        subjects = consent.Subjects("", facts["column"], facts["kind"])
        me = (
            int.from_bytes(protocol.commitment(key), "big")
            if key
            else int(str(account.address), 16)
        )
        encoded = consent.public_rows(session.registry.get(dataset_id), store)
        wanted = consent.rows_of(encoded, subjects, me)
        if not wanted:
            raise click.UsageError(f"no row of dataset {dataset_id} names you as its subject")
    signature, deadline = None, 2**64
    if signed_path:
        payload = json.loads(signed_path.read_text())
        deadline, signature = consent.payload_signature(payload, session, dataset_id, row_index)
    for i in wanted:
        if session.consent.withdrawal_state(dataset_id, i):
            cli_ctx.logger.info(f"row {i}: already requested")
            continue
        via = consent.request(
            session, dataset_id, i, store=store, signature=signature, secret=key, deadline=deadline
        )
        cli_ctx.logger.success(
            f"row {i} of dataset {dataset_id}: withdrawal requested "
            f"({protocol.VIA_NAMES[via]}); its sales and its descendants' are paused"
        )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.argument("row_index", type=int)
@click.option("--deadline", type=int, default=2**64, help="Unix time the signature expires.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@friendly
def sign(cli_ctx, account, dataset_id, row_index, deadline, out_path):
    """Sign, as ROW_INDEX's subject, its withdrawal for a relayer (EIP-712, no gas)."""
    from datasoil.flows import consent

    payload = consent.signed_request(_session(account), dataset_id, row_index, deadline)
    out_path.write_text(json.dumps(payload, indent=2) + "\n")
    cli_ctx.logger.success(f"signed withdrawal of row {row_index} written to {out_path}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option(
    "--rows", "rows_text", default=None, help="Rows to answer, e.g. 3,17 (default: all open)."
)
@click.option(
    "--claim",
    "claim_id",
    type=int,
    default=None,
    help="Answer with this finalised cleaning claim (its fates from its bundle).",
)
@click.option("--work", type=click.Path(path_type=Path), default=Path(".datasoil/consent"))
@friendly
def answer(cli_ctx, account, dataset_id, rows_text, claim_id, work):
    """Answer DATASET_ID's open requests: a new version without the rows, claimed, and the
    claim's fate records that drop them opened on chain (owner only)."""
    from datasoil.flows import consent
    from datasoil.store import open_store

    try:
        wanted = [int(r) for r in rows_text.split(",")] if rows_text else None
    except ValueError:
        raise click.BadParameter(
            f"expected row indices such as 3,17, found {rows_text!r}"
        ) from None
    session, store = _session(account), open_store()
    if claim_id is not None:
        done = consent.answer_with_claim(
            session, dataset_id, claim_id, store=store, row_indices=wanted
        )
    else:
        done = consent.answer(
            session, dataset_id, store=store, work=work, row_indices=wanted, log=cli_ctx.logger.info
        )
    if done.pending:
        cli_ctx.logger.info(
            f"claim {done.claim_id} is in its challenge window: once it is over, run "
            f"`ape run consent answer {dataset_id} --claim {done.claim_id}`"
        )
    else:
        cli_ctx.logger.success(
            f"dataset {dataset_id} answered by #{done.new_version} (claim {done.claim_id}): rows "
            f"{', '.join(map(str, done.rows))} dropped; sales resume on #{done.new_version}"
        )
    click.echo(json.dumps(done.to_json()))


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.argument("row_index", type=int)
@friendly
def forward(cli_ctx, account, dataset_id, row_index):
    """Forward an open request of a superseded dataset through its answer's fate record."""
    from datasoil.flows import consent
    from datasoil.protocol import consent as protocol
    from datasoil.store import open_store

    state, moved = consent.forward(_session(account), dataset_id, row_index, store=open_store())
    where = f" to row {moved} of the new version" if state == protocol.MOVED else ""
    cli_ctx.logger.success(f"row {row_index}: {protocol.STATE_NAMES[state]}{where}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def status(cli_ctx, dataset_id):
    """Print DATASET_ID's subject column, requests, answer, pause and descendants as JSON."""
    from datasoil.flows import consent

    click.echo(json.dumps(consent.status(_session(), dataset_id).to_json(), indent=2))
