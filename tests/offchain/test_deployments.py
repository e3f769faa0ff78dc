"""Deployment records: per chain id and genesis hash; a reset chain is detected."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from datasoil.chain import deployments
from datasoil.errors import DeploymentError


class FakeEth:
    def __init__(self, chain_id, genesis, code, blocks=None) -> None:
        self.chain_id = chain_id
        self._blocks = {0: genesis, **(blocks or {})}
        self._code = code
        self.block_number = max(self._blocks)

    def get_block(self, number: int) -> dict[str, bytes]:
        if number not in self._blocks:
            raise LookupError(f"block {number} not found")
        return {"hash": self._blocks[number]}

    def get_code(self, address: str) -> bytes:
        return self._code.get(address, b"")


def w3(chain_id=31337, genesis=b"\x11" * 32, code=None, blocks=None):
    return SimpleNamespace(eth=FakeEth(chain_id, genesis, code or {}, blocks))


def test_save_and_load_round_trip(tmp_path):
    chain = w3(code={"0xabc": b"\x60\x80"})
    record = deployments.Deployment(31337, "0x" + "11" * 32, {"DatasetRegistry": "0xabc"}, 5)
    path = deployments.save(chain, record, tmp_path)
    assert path.name == "31337-0x" + "11" * 32 + ".json"
    loaded = deployments.load(chain, tmp_path)
    assert loaded.address("DatasetRegistry") == "0xabc" and loaded.block == 5
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_load__no_deployment(tmp_path):
    with pytest.raises(DeploymentError, match=r"found none .*run `ape run deploy`"):
        deployments.load(w3(), tmp_path)


def test_load__reset_chain_is_detected(tmp_path):
    old = w3(genesis=b"\x11" * 32, code={"0xabc": b"\x01"})
    deployments.save(old, deployments.Deployment(31337, "0x" + "11" * 32, {"X": "0xabc"}), tmp_path)
    with pytest.raises(DeploymentError, match="found a reset chain"):
        deployments.load(w3(genesis=b"\x22" * 32), tmp_path)


def test_load__lost_code_is_detected(tmp_path):
    chain = w3(code={})
    deployments.save(
        chain, deployments.Deployment(31337, "0x" + "11" * 32, {"X": "0xabc"}), tmp_path
    )
    with pytest.raises(DeploymentError, match="expected X code at 0xabc"):
        deployments.load(chain, tmp_path)


def test_address__missing_contract(tmp_path):
    record = deployments.Deployment(1, "0x00", {"A": "0x1"})
    with pytest.raises(DeploymentError, match="expected a B deployment on chain 1, found only A"):
        record.address("B")
    assert json.loads(json.dumps(record.to_json()))["contracts"] == {"A": "0x1"}


def test_load__regenerated_genesis_with_the_same_blocks_is_adopted(tmp_path):
    """anvil reloading --state may report a new block 0 over the same chain."""
    blocks = {7: b"\x77" * 32}
    before = w3(genesis=b"\x11" * 32, code={"0xabc": b"\x01"}, blocks=blocks)
    record = deployments.Deployment(
        31337, "0x" + "11" * 32, {"X": "0xabc"}, 5, anchor=deployments.anchor_of(before)
    )
    deployments.save(before, record, tmp_path)
    after = w3(genesis=b"\x33" * 32, code={"0xabc": b"\x01"}, blocks=blocks)
    loaded = deployments.load(after, tmp_path)
    assert loaded.address("X") == "0xabc" and loaded.anchor == (7, "0x" + "77" * 32)
    assert (tmp_path / ("31337-0x" + "33" * 32 + ".json")).is_file()


def test_load__reset_chain_without_the_anchor_block_is_refused(tmp_path):
    before = w3(code={"0xabc": b"\x01"}, blocks={7: b"\x77" * 32})
    record = deployments.Deployment(
        31337, "0x" + "11" * 32, {"X": "0xabc"}, 5, anchor=deployments.anchor_of(before)
    )
    deployments.save(before, record, tmp_path)
    reset = w3(genesis=b"\x33" * 32, code={"0xabc": b"\x01"}, blocks={7: b"\x99" * 32})
    with pytest.raises(DeploymentError, match="found a reset chain"):
        deployments.load(reset, tmp_path)
    short = w3(genesis=b"\x44" * 32, code={"0xabc": b"\x01"})
    with pytest.raises(DeploymentError, match="found a reset chain"):
        deployments.load(short, tmp_path)
