"""`ape run deploy`: deploy datasoil's contracts and record them for this chain."""

from __future__ import annotations

import click
from ape import accounts, project
from ape.cli import account_option, ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


@click.command(cls=ChainCommand)
@ape_cli_context()
@account_option()
@click.option("--force", is_flag=True, help="Deploy again even if this chain has a deployment.")
@click.option(
    "--bond-token",
    default=None,
    help="ERC-20 for bonds and payments (required on public networks; locally a demo token).",
)
@friendly
def cli(cli_ctx, account, force, bond_token):
    """Deploy the registry, attestations, cleaning proofs, market (and a demo token locally)."""
    from datasoil import chain
    from datasoil.chain import deployments
    from datasoil.errors import DeploymentError

    if not force:
        try:
            existing = deployments.load(chain.web3())
        except DeploymentError:
            existing = None
        stale = chain.stale_contracts(project, existing) if existing is not None else []
        missing = [
            n for n in chain.contract_names(project) if existing and n not in existing.contracts
        ]
        if stale or missing:
            changed = ", ".join(stale + missing)
            cli_ctx.logger.warning(f"the recorded deployment is out of date ({changed}): redeploy")
        elif existing is not None:
            for name, address in sorted(existing.contracts.items()):
                cli_ctx.logger.info(f"{name}: {address}")
            cli_ctx.logger.success("already deployed on this chain (use --force to redeploy)")
            return
    mint_to = list(accounts.test_accounts)[:8] if chain.is_local() else []
    record = chain.deploy_all(
        project, account, mint_to=mint_to, bond_token=bond_token, log=cli_ctx.logger.info
    )
    cli_ctx.logger.success(f"deployed {len(record.contracts)} contracts on chain {record.chain_id}")
