"""`ape run market list|listing|buy|keeper|fetch|object|settle|refund|withdraw`: the AccessMarket.

Thin over datasoil.flows.access: parse, call, print. Errors are one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import chain as ape_chain
from ape import project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


def _session(account=None):
    from datasoil.chain.session import Session

    return Session.connect(project, account)


def _token(session, address):
    return session.token_at(address) if address else session.token


@click.group()
def cli():
    """List datasets for sale, buy access, deliver keys, fetch what you bought."""


@cli.command(name="list", cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option(
    "--price",
    required=True,
    help="Price in whole tokens (10, 0.5; the token's decimals apply), or in base units "
    "with --base-units.",
)
@click.option("--base-units", is_flag=True, help="--price is in the token's base units.")
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
@click.option(
    "--keys",
    "key_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Where keys/ lives (default: $DATASOIL_HOME or .datasoil).",
)
@friendly
def list_(
    cli_ctx,
    account,
    dataset_id,
    price,
    base_units,
    duration,
    upstream_bps,
    token_address,
    keeper,
    key_root,
):
    """List private DATASET_ID for sale (or change its listing), committing to its key."""
    from datasoil.errors import NotFound
    from datasoil.flows import access

    session = _session(account)
    token = _token(session, token_address)
    dataset = session.registry.get(dataset_id)
    if not dataset.private:
        raise click.UsageError(
            f"dataset {dataset_id} is public: anyone can read it, so there is no access to sell"
        )
    try:
        content = access.load_content_key(dataset.content_cid, root=key_root)
    except NotFound as exc:
        raise click.UsageError(
            f"{exc}: the listing commits to the content key, so list from the machine "
            "that published the dataset (or pass --keys)"
        ) from None
    commitment = access.key_commitment(content.key)
    if base_units:
        if not str(price).isdigit():
            raise click.BadParameter(f"expected an integer of base units, found {price!r}")
        price = int(price)
    else:
        price = token.parse(price)
    session.market.list_dataset(
        dataset_id, token.address, price, duration, upstream_bps, commitment
    )
    if keeper:
        session.market.set_keeper(dataset_id, keeper)
    cli_ctx.logger.success(
        f"dataset {dataset_id} listed at {token.format(price)} ({price} base units, "
        f"{token.decimals()} decimals) for {duration} s"
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("dataset_id", type=int)
@friendly
def listing(cli_ctx, dataset_id):
    """Print the listing of DATASET_ID as JSON."""
    session = _session()
    listing = session.market.listing(dataset_id)
    data = listing.to_json()
    if int(listing.price):
        token = session.token_at(listing.token)
        data.update(price_tokens=token.format(int(listing.price)), decimals=token.decimals())
    click.echo(json.dumps(data, indent=2))


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--max-price", type=int, default=None, help="Default: the listed price.")
@click.option("--min-duration", type=int, default=None, help="Default: the listed duration.")
@friendly
def buy(cli_ctx, account, dataset_id, max_price, min_duration):
    """Buy access to DATASET_ID; the key will be sealed to your wallet-derived key."""
    from datasoil.flows import access

    session = _session(account)
    refusal = session.market.buy_refusal(dataset_id, str(account.address))
    if refusal is not None:
        raise access.PurchaseInvalid(refusal)
    token = session.token_at(session.market.listing(dataset_id).token)
    _secret, public = access.encryption_keypair(account, ape_chain.chain_id)
    pid = access.buy(
        session.market,
        token,
        dataset_id,
        public,
        sender=account,
        max_price=max_price,
        min_duration=min_duration,
    )
    price = token.format(int(session.market.listing(dataset_id).price))
    cli_ctx.logger.success(
        f"purchase {pid} pending ({price} in escrow): the owner's keeper delivers the key"
    )
    click.echo(pid)


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Default: .datasoil/keepers/<chain id>-<market>-<account>.json.",
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
    """Deliver keys for purchases ACCOUNT sold or keeps, settle them after the objection
    window and reveal the committed key when a buyer objects (runs until stopped).
    Purchases come from the event index under $DATASOIL_HOME/index, never a log scan."""
    from datasoil.flows import access

    session = _session(account)
    market, registry = session.market.contract, session.indexed_registry
    if state_path is None:
        state_path = access.keeper_state_path(
            ape_chain.chain_id, str(market.address), str(account.address)
        )
    cli_ctx.logger.info(f"keeper for {account.address}, state in {state_path}")
    access.run_keeper(
        market,
        registry,
        account,
        state_path,
        start_block=session.start_block,
        key_root=key_root,
        interval=interval,
        rounds=1 if once else None,
        index=session.index,
        log=cli_ctx.logger.info,
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("dataset_id", type=int)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--purchase", "purchase_id", type=int, default=None, help="Default: your latest.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@click.option(
    "--object/--no-object",
    "auto_object",
    default=True,
    show_default=True,
    help="Object on chain when the delivered key is not the committed one.",
)
@click.option(
    "--gateway",
    "gateways",
    multiple=True,
    help="Fetch through this trustless gateway (repeat to fall back; default DATASOIL_GATEWAYS).",
)
@click.option("--force", is_flag=True, help="Replace the data if --out already holds it.")
@friendly
def fetch(
    cli_ctx, account, dataset_id, out_dir, purchase_id, timeout, auto_object, gateways, force
):
    """Wait for the key, check it against the purchase's commitment (objecting if it
    does not match), then download, decrypt and verify DATASET_ID into --out."""
    from datasoil.flows import access

    session = _session(account)
    market, registry, start = session.market.contract, session.registry, session.start_block
    if purchase_id is None:
        purchase_id = access.latest_purchase(market, dataset_id, account.address, start)
        if purchase_id is None:
            raise click.UsageError(
                f"no purchase of dataset {dataset_id} by {account.address}: "
                f"run `ape run market buy {dataset_id}` first"
            )
    dataset = registry.get(dataset_id)
    terms, _key = access.purchase_terms(market, purchase_id, start)
    envelope = access.wait_for_key(market, purchase_id, timeout=timeout, from_block=start)
    secret, _public = access.encryption_keypair(account, ape_chain.chain_id)
    try:
        access.check_delivery(terms, envelope, secret)
    except access.KeyMismatch as exc:
        if int(market.purchase(purchase_id).status) != access.DELIVERED or not auto_object:
            raise
        deadline = access.object_delivery(market, purchase_id, sender=account)
        raise click.ClickException(
            f"{exc}; objected to purchase {purchase_id}: the seller must reveal the committed "
            f"key on chain by {deadline} (unix time), else `ape run market refund "
            f"{purchase_id}` returns your payment"
        ) from None
    from datasoil import config
    from datasoil.store import open_store
    from datasoil.store.gateway import open_gateways

    store = None
    if gateways or config.gateways():
        store = open_gateways(gateways, cache=open_store(), warn=cli_ctx.logger.warning)
    path = access.fetch(dataset, envelope, secret, out_dir, terms=terms, store=store, force=force)
    cli_ctx.logger.success(f"verified and wrote {path}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.option("--token", "token_address", default=None, help="Token address (default: demo).")
@friendly
def withdraw(cli_ctx, account, token_address):
    """Withdraw your credits (sales and royalties)."""
    session = _session(account)
    token = _token(session, token_address)
    if session.market.credit(token.address, account.address) == 0:
        raise click.UsageError(f"nothing to withdraw in {token.address} for {account.address}")
    amount = session.market.withdraw(token.address)
    cli_ctx.logger.success(f"withdrew {amount}")


@cli.command(name="object", cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("purchase_id", type=int)
@friendly
def object_(cli_ctx, account, purchase_id):
    """Object to the key delivered for PURCHASE_ID (within the objection window)."""
    from datasoil.flows import access

    market = _session(account).market.contract
    deadline = access.object_delivery(market, purchase_id, sender=account)
    cli_ctx.logger.success(
        f"objected to purchase {purchase_id}: unless the committed key is revealed by "
        f"{deadline} (unix time), `ape run market refund {purchase_id}` returns your payment"
    )


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("purchase_id", type=int)
@friendly
def settle(cli_ctx, account, purchase_id):
    """Pay out PURCHASE_ID's pinned credits once its objection window is over (anyone may)."""
    from datasoil.flows import access

    market = _session(account).market.contract
    credits = access.settle(market, purchase_id, sender=account)
    cli_ctx.logger.success(f"purchase {purchase_id} settled: {len(credits)} credits")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.argument("purchase_id", type=int)
@friendly
def refund(cli_ctx, account, purchase_id):
    """Take back the payment of PURCHASE_ID: no key came within the refund timeout, or
    you objected and the committed key was not revealed in time."""
    from datasoil.flows import access

    market = _session(account).market.contract
    amount = access.refund(market, purchase_id, sender=account)
    cli_ctx.logger.success(f"purchase {purchase_id} refunded: {amount}")
