"""`ape run demo`: the whole datasoil lifecycle on the embedded defaults (see make demo)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from ape import accounts, project
from ape.cli import ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


@click.command(cls=ChainCommand)
@ape_cli_context()
@click.option("--data", type=click.Path(path_type=Path), default=Path("examples/messy/people.csv"))
@click.option(
    "--recipe", type=click.Path(path_type=Path), default=Path("examples/recipes/clean.yaml")
)
@click.option("--work", type=click.Path(path_type=Path), default=Path(".datasoil/demo"))
@click.option("--no-keeper", is_flag=True, help="Deliver keys inline instead of a keeper service.")
@friendly
def cli(cli_ctx, data, recipe, work, no_keeper):
    """Publish, clean, version and trace an example dataset on the local chain."""
    from datasoil import chain
    from datasoil.app import demo
    from datasoil.chain.registry import Registry
    from datasoil.store import open_store

    log = cli_ctx.logger.info
    if not chain.is_local():
        raise click.UsageError("the demo uses the local test accounts: run it on the local network")
    test = list(accounts.test_accounts)
    deployer, owner, cleaner, attester, buyer, auditor = (test[i] for i in (0, 1, 3, 4, 5, 6))
    try:
        contracts = chain.contracts(project)
        contracts.require("models")  # a record from before ModelRegistry: deploy afresh
        contracts.require("consent")  # or from before Consent
        contracts.require("row_disputes")  # or from before RowDisputes
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
    demo.stage_claim(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        cleaner=cleaner,
        verifier=attester,
        auditor=auditor,
        recipe_path=recipe,
        log=log,
    )
    demo.stage_quality(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        attester=attester,
        relayer=deployer,
        log=log,
    )
    keeper = None
    if not no_keeper:
        keeper = [
            str(Path(sys.executable).with_name("ape")), "run", "market", "keeper",
            "--account", "TEST::3", "--interval", "1",
        ]  # fmt: skip
    demo.stage_market(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        seller=cleaner,
        raw_owner=owner,
        buyer=buyer,
        log=log,
        keeper_command=keeper,
    )
    demo.stage_models(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        trainer=buyer,
        raw_owner=owner,
        customer=auditor,
        log=log,
    )
    demo.stage_consent(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        owner=owner,
        subjects=[attester, auditor, buyer],
        relayer=deployer,
        trainer=buyer,
        log=log,
    )
    demo.stage_row_dispute(
        state,
        registry=registry,
        store=store,
        contracts=contracts,
        owner=owner,
        cleaner=test[7],
        verifier=auditor,
        log=log,
    )
    path = demo.write_summary(state)
    cli_ctx.logger.success(f"demo done; dataset ids in {path}")
