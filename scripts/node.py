"""`ape run node mine N` / `ape run node wait SECONDS` / `ape run node status`: move the
local chain past a challenge window or a refund timeout. Local anvil only: on a public
network blocks and time pass on their own."""

from __future__ import annotations

import click
from ape.cli import ape_cli_context

from datasoil.app.scripting import ChainCommand, friendly


@click.group()
def cli():
    """Mine blocks or advance time on the local chain (windows, timeouts)."""


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("blocks", type=click.IntRange(min=1, max=1_000_000))
@friendly
def mine(cli_ctx, blocks):
    """Mine BLOCKS empty blocks (e.g. past the challenge window of a claim)."""
    from datasoil import chain

    head = chain.mine(blocks)
    cli_ctx.logger.success(f"mined {blocks} blocks: the head is now block {head}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@click.argument("seconds", type=click.IntRange(min=1, max=10 * 365 * 86400))
@friendly
def wait(cli_ctx, seconds):
    """Advance the chain's clock by SECONDS and mine a block (e.g. past a refund timeout)."""
    from datasoil import chain

    stamp = chain.advance_time(seconds)
    cli_ctx.logger.success(f"advanced {seconds} s: the head's timestamp is now {stamp}")


@cli.command(cls=ChainCommand)
@ape_cli_context()
@friendly
def status(cli_ctx):
    """Print the head block's number and timestamp."""
    from ape import chain as ape_chain

    block = ape_chain.blocks.head
    click.echo(f"block {block.number} at {block.timestamp}")
