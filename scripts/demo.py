"""`ape run demo`: the whole datasoil lifecycle on the embedded defaults (see make demo)."""

from __future__ import annotations

from pathlib import Path

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand, ape_cli_context

from datasoil.scripting import friendly


@click.command(cls=ConnectedProviderCommand)
@ape_cli_context()
@click.option("--data", type=click.Path(path_type=Path), default=Path("examples/messy/people.csv"))
@click.option(
    "--recipe", type=click.Path(path_type=Path), default=Path("examples/recipes/clean.yaml")
)
@click.option("--work", type=click.Path(path_type=Path), default=Path(".datasoil/demo"))
@friendly
def cli(cli_ctx, data, recipe, work):
    """Publish, clean, version and trace an example dataset on the local chain."""
    from datasoil import chain, demo
    from datasoil.registry import Registry
    from datasoil.store import open_store

    log = cli_ctx.logger.info
    if not chain.is_local():
        raise click.UsageError("the demo uses the local test accounts: run it on the local network")
    test = list(accounts.test_accounts)
    deployer, owner = test[0], test[1]
    try:
        contracts = chain.contracts(project)
    except Exception as exc:  # no deployment, reset chain or stale code: deploy afresh
        log(f"deploying ({exc})")
        chain.deploy_all(project, deployer, mint_to=test[:8], log=log)
        contracts = chain.contracts(project)
    work.mkdir(parents=True, exist_ok=True)
    state = demo.DemoState(work=work)
    registry = Registry(contracts.registry, contracts.deployment.block)
    store = open_store()
    demo.stage_publish(
        state, registry=registry, store=store, owner=owner, raw=data, recipe_path=recipe, log=log
    )
    path = demo.write_summary(state)
    cli_ctx.logger.success(f"demo done; dataset ids in {path}")
