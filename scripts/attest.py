"""`ape run attest quality|submit|show|revoke|bump`: EIP-712 dataset attestations."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _bytes32(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise click.BadParameter(f"expected 32 bytes of hex, found {text!r}")
    return value


def _client():
    from datasoil import chain
    from datasoil.flows.attest import Attestations

    contracts = chain.contracts(project)
    return Attestations(
        contracts.require("attestations"), contracts.registry, contracts.deployment.block
    )


@click.group()
def cli():
    """Attest to datasets (quality, reproductions), relay signed attestations, show them."""


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, path_type=Path),
    help="A local copy of the data (checked against the registered root); default: the "
    "store. For a private dataset: the decrypted copy `market fetch` wrote.",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Hex content key of a private dataset (default: the key store, or the key "
    "delivered to --account's purchase).",
)
@click.option("--label", help="The label column (class balance).")
@click.option("--relay-only", is_flag=True, help="Print the signed payload; do not submit.")
@click.option("--expiry", type=int, default=0, help="End of validity, unix seconds (0: none).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the payload to this file.")
@friendly
def quality(cli_ctx, account, dataset_id, data_path, key_file, label, relay_only, expiry, out):
    """Compute the quality report of DATASET_ID's data, pin it, sign and submit."""
    import tempfile

    from datasoil import chain
    from datasoil.chain.registry import Registry
    from datasoil.flows.attest import attest_quality, score_quality
    from datasoil.flows.loader import content_key_for
    from datasoil.store import open_store

    client = _client()
    registry = Registry(client.registry, client.start_block)
    dataset = registry.get(dataset_id)
    store = open_store()
    key = content_key_for(
        dataset, key_file=key_file, account=account, market=chain.contracts(project).market
    )
    with tempfile.TemporaryDirectory(prefix="datasoil-attest-") as tmp:
        report = score_quality(
            dataset, store=store, work=Path(tmp), data_path=data_path, content_key=key, label=label
        )
    done = attest_quality(
        client,
        dataset_id,
        report,
        store=store,
        account=account,
        expiry=expiry,
        submit=not relay_only,
    )
    cli_ctx.logger.info(f"report {done.report_cid}: score {report.score} / 10000")
    if relay_only:
        text = json.dumps(done.payload.to_json(), indent=2)
        if out:
            Path(out).write_text(text + "\n")
            cli_ctx.logger.success(f"signed payload written to {out}")
        else:
            click.echo(text)
        return
    cli_ctx.logger.success(
        f"attested dataset {dataset_id}: score {report.score} ({done.receipt.txn_hash})"
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@friendly
def submit(cli_ctx, account, files):
    """Relay signed attestation payloads (one transaction; a batch for several FILES)."""
    from datasoil.protocol.attestations import RelayPayload

    payloads = [RelayPayload.read(f) for f in files]
    client = _client()
    if len(payloads) == 1:
        receipt = client.submit(payloads[0], account)
    else:
        receipt = client.submit_batch(payloads, account)
    cli_ctx.logger.success(f"relayed {len(payloads)} attestation(s) ({receipt.txn_hash})")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@click.option("--trusted", type=click.Path(path_type=Path), help="Trusted attesters file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def show(cli_ctx, dataset_id, trusted, as_json):
    """Aggregates of DATASET_ID per metric set, over (trusted) unrevoked unexpired scores."""
    from datasoil.protocol.attestations import load_trusted

    client = _client()
    trust = load_trusted(trusted) if trusted else None
    summaries = client.summaries(dataset_id, trusted=trust)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    if not summaries:
        click.echo(f"dataset {dataset_id}: no attestations")
    for s in summaries:
        onchain = client.contract.aggregate(dataset_id, s.metric_set)
        mean = f"{s.mean:.0f}" if s.mean is not None else "-"
        click.echo(
            f"metric set 0x{s.metric_set.hex()[:16]}…  count {s.count}  mean {mean}  "
            f"min {s.min if s.min is not None else '-'}  max {s.max if s.max is not None else '-'}"
            f"  (excluded: {s.expired} expired, {s.revoked} revoked, {s.untrusted} untrusted;"
            f" on chain, all attesters incl. expired: count {onchain.count} sum {onchain.sum})"
        )
        for r in s.records:
            expiry = time.strftime("%Y-%m-%d", time.gmtime(r.expiry)) if r.expiry else "never"
            click.echo(f"  {r.attester}  {r.score:>5}  report {r.report_cid}  expires {expiry}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--metric-set", required=True, help="The metric-set id (0x + 64 hex).")
@friendly
def revoke(cli_ctx, account, dataset_id, metric_set):
    """Revoke your latest attestation of DATASET_ID under a metric set."""
    receipt = _client().revoke(dataset_id, _bytes32(metric_set), account)
    cli_ctx.logger.success(f"revoked ({receipt.txn_hash})")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--metric-set", required=True, help="The metric-set id (0x + 64 hex).")
@click.option("--to", "new_nonce", type=int, help="The new nonce (default: current + 1).")
@friendly
def bump(cli_ctx, account, dataset_id, metric_set, new_nonce):
    """Cancel your outstanding signatures for DATASET_ID by raising the nonce."""
    client = _client()
    ms = _bytes32(metric_set)
    if new_nonce is None:
        new_nonce = client.nonce(str(account.address), dataset_id, ms) + 1
    receipt = client.bump_nonce(dataset_id, ms, new_nonce, account)
    cli_ctx.logger.success(f"nonce now {new_nonce} ({receipt.txn_hash})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli())
