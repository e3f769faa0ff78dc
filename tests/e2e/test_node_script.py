"""`ape run node mine|wait`: the local chain moved past a window or a timeout, from the
command line (issue 18 item 7), and refused where blocks and time are not ours."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.errors import ChainError
from tests import script


def test_mine__adds_exactly_n_blocks(networks):
    w3 = chain.web3()
    before = w3.eth.block_number
    assert chain.mine(7) == before + 7 == w3.eth.block_number


def test_advance_time__moves_the_clock(networks):
    w3 = chain.web3()
    before = w3.eth.get_block("latest")["timestamp"]
    stamp = chain.advance_time(3 * 86400)
    assert stamp >= before + 3 * 86400
    assert w3.eth.get_block("latest")["timestamp"] == stamp


@pytest.mark.parametrize("n", [0, -1])
def test_mine__nothing_to_mine_is_refused(networks, n):
    with pytest.raises(ChainError, match=f"at least 1 block to mine, found {n}"):
        chain.mine(n)


def test_mine_script__prints_the_new_head(networks):
    w3 = chain.web3()
    before = w3.eth.block_number
    result = CliRunner().invoke(script.load("node").cli, ["mine", "-v", "INFO", "3"])
    assert result.exit_code == 0, result.output
    assert w3.eth.block_number == before + 3
    assert f"mined 3 blocks: the head is now block {before + 3}" in result.output


def test_mine_script__zero_blocks_is_a_usage_error():
    result = CliRunner().invoke(script.load("node").cli, ["mine", "0"])
    assert result.exit_code == 2
    assert "0 is not in the range 1<=x<=1000000" in result.output


def test_mine__refused_off_the_local_network(networks, monkeypatch):
    monkeypatch.setattr(chain, "is_local", lambda: False)
    before = chain.web3().eth.block_number
    with pytest.raises(ChainError, match="expected the local network to mine blocks, found"):
        chain.mine(1)
    assert chain.web3().eth.block_number == before
