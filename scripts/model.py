"""`ape run model register|show|list|prove|buy|withdraw|sell|bom`: the ModelRegistry.

Thin over datasoil.flows.models (and datasoil.flows.bom): parse, call, print. Errors are
one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _contracts():
    from datasoil import chain
    from datasoil.chain.registry import Registry

    contracts = chain.contracts(project)
    models = contracts.require("models")
    return contracts, models, Registry(contracts.registry, contracts.deployment.block)


def _token(contracts, address):
    from ape import Contract

    return Contract(address) if address else contracts.require("token")


@click.group()
def cli():
    """Register models by their training manifest, sell licences, prove rows in or out."""


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("manifest_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--weights", "weights_path", type=click.Path(exists=True, path_type=Path))
@click.option("--weights-cid", default=None, help="CID of weights pinned elsewhere.")
@click.option("--config", "config_path", type=click.Path(exists=True, path_type=Path))
@click.option("--license", "license_", default="CC-BY-4.0", show_default=True)
@click.option("--parent", "parents", type=int, multiple=True, help="A parent model id (repeat).")
@click.option("--data-bps", type=click.IntRange(0, 10000), default=3000, show_default=True)
@click.option("--parents-bps", type=click.IntRange(0, 10000), default=0, show_default=True)
@click.option("--version-of", type=int, default=0)
@friendly
def register(
    cli_ctx,
    account,
    manifest_path,
    weights_path,
    weights_cid,
    config_path,
    license_,
    parents,
    data_bps,
    parents_bps,
    version_of,
):
    """Register the model trained on MANIFEST_PATH (a datasoil.manifest.v1 document)."""
    from datasoil.flows import models as flow
    from datasoil.formats import manifest as mf
    from datasoil.store import open_store

    if (weights_path is None) == (weights_cid is None):
        raise click.UsageError("give the weights as exactly one of --weights PATH or --weights-cid")
    contracts, models, registry = _contracts()
    store = open_store()
    manifest = mf.loads(manifest_path.read_bytes())
    if weights_path is not None:
        weights_cid = str(store.add_path(weights_path))
    config_cid = str(store.add_path(config_path)) if config_path else None
    model_id = flow.register(
        manifest,
        models=models,
        registry=registry,
        market=contracts.market,
        store=store,
        sender=account,
        weights_cid=weights_cid,
        config_cid=config_cid,
        license=license_,
        parents=parents,
        data_bps=data_bps,
        parents_bps=parents_bps,
        version_of=version_of,
        from_block=contracts.deployment.block,
    )
    cli_ctx.logger.success(f"model {model_id} registered ({manifest.size} rows in its manifest)")
    click.echo(model_id)


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("model_id", type=int)
@friendly
def show(cli_ctx, model_id):
    """Print model MODEL_ID (ingredients, receipts, listing) as JSON."""
    from datasoil.flows import models as flow

    contracts, models, _registry = _contracts()
    model = flow.get(models, model_id, contracts.deployment.block).to_json()
    listing = models.listing(model_id)
    model["listing"] = {
        "active": bool(listing.active),
        "token": str(listing.token),
        "price": int(listing.price),
        "duration": int(listing.duration),
    }
    click.echo(json.dumps(model, indent=2))


@cli.command(name="list", cls=ChainCommand)
@ape_cli_context()
@friendly
def list_(cli_ctx):
    """Print every registered model, one JSON object per line."""
    from datasoil.flows import models as flow

    contracts, models, _registry = _contracts()
    for model in flow.all_models(models, contracts.deployment.block):
        click.echo(json.dumps(model.to_json()))


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("model_id", type=int)
@click.option("--price", type=int, required=True, help="Price in the token's base units.")
@click.option("--duration", type=int, default=30 * 86400, show_default=True, help="Seconds.")
@click.option("--token", "token_address", default=None, help="Token address (default: demo).")
@friendly
def sell(cli_ctx, account, model_id, price, duration, token_address):
    """List a licence to MODEL_ID for sale."""
    from datasoil.flows import models as flow

    contracts, models, _registry = _contracts()
    token = _token(contracts, token_address)
    flow.list_for_sale(models, token, model_id, price=price, duration=duration, sender=account)
    cli_ctx.logger.success(f"model {model_id} listed at {price} for {duration} s")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("model_id", type=int)
@friendly
def buy(cli_ctx, account, model_id):
    """Buy a licence to MODEL_ID at its listed price; print the credits it paid."""
    from ape import Contract

    from datasoil.flows import models as flow

    contracts, models, _registry = _contracts()
    token = Contract(str(models.listing(model_id).token))
    expiry, credits = flow.buy(
        models, token, model_id, sender=account, from_block=contracts.deployment.block
    )
    for who, dataset_id, source, amount in credits:
        click.echo(json.dumps({"account": who, "dataset_id": dataset_id, "source_model": source,
                               "amount": amount}))  # fmt: skip
    cli_ctx.logger.success(f"licence to model {model_id} until {expiry}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.option("--token", "token_address", default=None, help="Token address (default: demo).")
@friendly
def withdraw(cli_ctx, account, token_address):
    """Withdraw ACCOUNT's model-sale credits."""
    from datasoil.flows import models as flow

    contracts, models, _registry = _contracts()
    amount = flow.withdraw(models, _token(contracts, token_address), sender=account)
    cli_ctx.logger.success(f"withdrew {amount}")
    click.echo(amount)


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("model_id", type=int)
@click.argument("dataset_id", type=int)
@click.argument("row", type=click.IntRange(min=0))
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, path_type=Path),
    help="The dataset's file (default: load it, through your purchase if private).",
)
@click.option("--claim", "claim_id", type=int, default=None, help="Follow ROW through this claim.")
@click.option(
    "--fate",
    "fate_path",
    type=click.Path(exists=True, path_type=Path),
    help="The claim's fate.bin (default: fetch it from the claim's bundle).",
)
@click.option(
    "--child-data",
    "child_path",
    type=click.Path(exists=True, path_type=Path),
    help="The claim's child data (default: load it).",
)
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None)
@friendly
def prove(
    cli_ctx,
    account,
    model_id,
    dataset_id,
    row,
    data_path,
    claim_id,
    fate_path,
    child_path,
    out_path,
):
    """Prove whether ROW of DATASET_ID was in MODEL_ID; check the proofs off and on chain
    and write the bundle `datasoil model prove-row` verifies (exit 1 when not in)."""
    import sys

    from datasoil.flows import models as flow
    from datasoil.store import open_store

    if fate_path is not None and claim_id is None:
        raise click.UsageError("--fate needs --claim")
    contracts, models, registry = _contracts()
    store = open_store()
    model = flow.get(models, model_id, contracts.deployment.block)
    manifest = flow.load_manifest(model, store)
    wanted = {dataset_id: data_path}
    proofs = contracts.proofs
    if claim_id is not None:
        from datasoil.flows import audit

        wanted[audit.read_claim(proofs, claim_id).child_id] = child_path
    leaves = {
        d: flow.leaves_for(
            d, registry=registry, store=store, account=account, market=contracts.market, path=p
        )
        for d, p in wanted.items()
        if d in manifest.dataset_ids()
    }
    bundle = flow.prove_row(
        model_id,
        dataset_id,
        row,
        models=models,
        registry=registry,
        store=store,
        leaves=leaves,
        proofs=proofs,
        claim_id=claim_id,
        fates=fate_path.read_bytes() if fate_path else None,
        from_block=contracts.deployment.block,
    )
    flow.verify_on_chain(bundle, models=models, registry=registry, proofs=proofs)
    text = bundle.dumps()
    if out_path is not None:
        out_path.write_text(text)
        cli_ctx.logger.info(f"bundle written to {out_path}")
    else:
        click.echo(text, nl=False)
    cli_ctx.logger.success(bundle.describe() + " (checked off chain and by ModelRegistry)")
    sys.exit(0 if bundle.used else 1)


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("model_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["spdx", "cyclonedx", "eu-summary"]),
    default="cyclonedx",
    show_default=True,
)
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None)
@click.option("--name", default=None, help="The model's name (default: datasoil-model-ID).")
@friendly
def bom(cli_ctx, model_id, fmt, out_path, name):
    """Export MODEL_ID's AI bill of materials from on-chain facts and pinned metadata."""
    from datasoil.flows import bom as flow_bom
    from datasoil.store import open_store

    contracts, models, registry = _contracts()
    facts = flow_bom.gather(
        model_id,
        models=models,
        registry=registry,
        store=open_store(),
        market=contracts.market,
        chain_id=int(contracts.deployment.chain_id),
        from_block=contracts.deployment.block,
        name=name,
        consent=contracts.consent,
    )
    text = flow_bom.render(facts, fmt)
    if out_path is not None:
        out_path.write_text(text)
        cli_ctx.logger.success(f"{fmt} BOM of model {model_id} written to {out_path} (validated)")
    else:
        click.echo(text, nl=False)
