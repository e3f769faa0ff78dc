"""`ape run market list|listing|buy|keeper|fetch|withdraw|refund`: the AccessMarket.

Thin over datasoil.access: parse, call, print. Errors are one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import chain as ape_chain
from ape import project
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context

from datasoil.scripting import friendly


def _contracts():
    from datasoil import chain
    from datasoil.registry import Registry

    contracts = chain.contracts(project)
    market = contracts.require("market")
    return contracts, market, Registry(contracts.registry, contracts.deployment.block)


def _token(contracts, address):
    from ape import Contract

    if address:
        return Contract(address)
    return contracts.require("token")


@click.group()
def cli():
    """List datasets for sale, buy access, deliver keys, fetch what you bought."""


@cli.command(name="list", cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--price", type=int, required=True, help="Price in the token's base units.")
@click.option("--duration", type=int, default=30 * 86400, show_default=True, help="Seconds.")
@click.option(
    "--upstream-bps",
    type=click.IntRange(0, 10000),
    default=1000,
    show_default=True,
    help="Share of each sale for the dataset's ancestors (basis points).",
)
@click.option("--token", "token_address", default=None, help="Token address (default: demo).")
@click.option("--keeper", "keeper", default=None, help="Also designate this keeper address.")
@friendly
def list_(cli_ctx, account, dataset_id, price, duration, upstream_bps, token_address, keeper):
    """List DATASET_ID for sale (or change its listing)."""
    from datasoil.access import transact

    contracts, market, _ = _contracts()
    token = _token(contracts, token_address)
    transact(
        "list_dataset",
        lambda: market.list_dataset(
            dataset_id, token, price, duration, upstream_bps, sender=account
        ),
    )
    if keeper:
        transact("set_keeper", lambda: market.set_keeper(dataset_id, keeper, sender=account))
    cli_ctx.logger.success(f"dataset {dataset_id} listed at {price} for {duration} s")


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def listing(cli_ctx, dataset_id):
    """Print the listing of DATASET_ID as JSON."""
    _, market, _ = _contracts()
    lst = market.listing(dataset_id)
    click.echo(
        json.dumps(
            {
                "dataset_id": dataset_id,
                "lister": str(lst.lister),
                "token": str(lst.token),
                "price": int(lst.price),
                "duration": int(lst.duration),
                "upstream_bps": int(lst.upstream_bps),
                "active": bool(lst.active),
                "keeper": str(market.keeper(dataset_id)),
            },
            indent=2,
        )
    )


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--max-price", type=int, default=None, help="Default: the listed price.")
@click.option("--min-duration", type=int, default=None, help="Default: the listed duration.")
@friendly
def buy(cli_ctx, account, dataset_id, max_price, min_duration):
    """Buy access to DATASET_ID; the key will be sealed to your wallet-derived key."""
    from datasoil import access

    contracts, market, _ = _contracts()
    token = _token(contracts, str(market.listing(dataset_id).token))
    _secret, public = access.encryption_keypair(account, ape_chain.chain_id)
    pid = access.buy(
        market,
        token,
        dataset_id,
        public,
        sender=account,
        max_price=max_price,
        min_duration=min_duration,
    )
    cli_ctx.logger.success(f"purchase {pid} pending: the owner's keeper delivers the key")
    click.echo(pid)


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=Path(".datasoil/keeper-state.json"),
    show_default=True,
)
@click.option(
    "--keys",
    "key_root",
    type=click.Path(path_type=Path),
    default=Path(".datasoil"),
    show_default=True,
    help="Where keys/ lives.",
)
@click.option("--interval", type=float, default=2.0, show_default=True)
@click.option("--once", is_flag=True, help="Process new purchases once and exit.")
@friendly
def keeper(cli_ctx, account, state_path, key_root, interval, once):
    """Deliver keys for purchases of datasets ACCOUNT owns or keeps (runs until stopped)."""
    from datasoil import access

    contracts, market, registry = _contracts()
    cli_ctx.logger.info(f"keeper for {account.address}, state in {state_path}")
    access.run_keeper(
        market,
        registry,
        account,
        state_path,
        start_block=contracts.deployment.block,
        key_root=key_root,
        interval=interval,
        rounds=1 if once else None,
        log=cli_ctx.logger.info,
    )


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--purchase", "purchase_id", type=int, default=None, help="Default: your latest.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@friendly
def fetch(cli_ctx, account, dataset_id, out_dir, purchase_id, timeout):
    """Wait for the key, download, decrypt and verify DATASET_ID into --out."""
    from datasoil import access

    contracts, market, registry = _contracts()
    start = contracts.deployment.block
    if purchase_id is None:
        purchase_id = access.latest_purchase(market, dataset_id, account.address, start)
        if purchase_id is None:
            raise click.UsageError(
                f"no purchase of dataset {dataset_id} by {account.address}: "
                f"run `ape run market buy {dataset_id}` first"
            )
    dataset = registry.get(dataset_id)
    envelope = access.wait_for_key(market, purchase_id, timeout=timeout, from_block=start)
    secret, _public = access.encryption_keypair(account, ape_chain.chain_id)
    path = access.fetch(dataset, envelope, secret, out_dir)
    cli_ctx.logger.success(f"verified and wrote {path}")


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.option("--token", "token_address", default=None, help="Token address (default: demo).")
@friendly
def withdraw(cli_ctx, account, token_address):
    """Withdraw your credits (sales and royalties)."""
    from datasoil.access import transact

    contracts, market, _ = _contracts()
    token = _token(contracts, token_address)
    amount = int(market.credit(token, account))
    if amount == 0:
        raise click.UsageError(f"nothing to withdraw in {token.address} for {account.address}")
    transact("withdraw", lambda: market.withdraw(token, sender=account))
    cli_ctx.logger.success(f"withdrew {amount}")


@cli.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@account_option()
@click.argument("purchase_id", type=int)
@friendly
def refund(cli_ctx, account, purchase_id):
    """Take back the payment of PURCHASE_ID if no key came within the refund timeout."""
    from datasoil.access import transact

    _, market, _ = _contracts()
    transact(
        f"refund of purchase {purchase_id}", lambda: market.refund(purchase_id, sender=account)
    )
    cli_ctx.logger.success(f"purchase {purchase_id} refunded")
