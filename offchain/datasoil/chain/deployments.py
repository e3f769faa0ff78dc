"""Where datasoil's contracts live on each chain.

Deployments are recorded per chain id *and* genesis hash in
``.datasoil/deployments/<chain id>-<genesis hash>.json``, so a local chain that was
reset (same chain id, new genesis) is detected instead of trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from datasoil import config
from datasoil._fs import write_atomic
from datasoil.errors import DeploymentError

__all__ = ["ChainReader", "Deployment", "chain_identity", "default_dir", "load", "save"]


class ChainReader(Protocol):
    """What this module needs from a connection (a web3.Web3 instance fits)."""

    @property
    def eth(self) -> Any: ...


def default_dir() -> Path:
    """``$DATASOIL_HOME/deployments`` (default ``.datasoil/deployments``)."""
    return config.deployments_dir()


@dataclass(frozen=True)
class Deployment:
    """Contract addresses on one chain, identified by chain id and genesis hash."""

    chain_id: int
    genesis: str
    contracts: dict[str, str] = field(default_factory=dict)
    block: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    anchor: tuple[int, str] | None = None
    """(number, hash) of a block the deployment is in: survives anvil reloading its
    state with a regenerated genesis block, which a reset chain does not."""

    def address(self, name: str) -> str:
        """The address of contract ``name``; DeploymentError if it was not deployed."""
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentError(
                f"expected a {name} deployment on chain {self.chain_id}, found only "
                f"{', '.join(sorted(self.contracts)) or 'none'}: run `ape run deploy`"
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "genesis": self.genesis,
            "block": self.block,
            "contracts": dict(sorted(self.contracts.items())),
            "params": self.params,
            "anchor": list(self.anchor) if self.anchor else None,
        }


def chain_identity(w3: ChainReader) -> tuple[int, str]:
    """(chain id, genesis block hash as 0x-hex) of the connected chain."""
    chain_id = int(w3.eth.chain_id)
    genesis = w3.eth.get_block(0)["hash"]
    return chain_id, "0x" + bytes(genesis).hex()


def _path(directory: Path, chain_id: int, genesis: str) -> Path:
    return directory / f"{chain_id}-{genesis}.json"


def load(w3: ChainReader, directory: Path | None = None) -> Deployment:
    """The deployment recorded for the connected chain, checked against it.

    Raises DeploymentError when there is none, when the chain was reset (a record for
    the same chain id with another genesis), or when a recorded contract has no code.
    """
    directory = directory or default_dir()
    chain_id, genesis = chain_identity(w3)
    path = _path(directory, chain_id, genesis)
    if not path.is_file():
        others = sorted(directory.glob(f"{chain_id}-*.json")) if directory.is_dir() else []
        adopted = _adopt(w3, others, chain_id, genesis, directory)
        if adopted is not None:
            return adopted
        if others:
            raise DeploymentError(
                f"expected the chain {chain_id} datasoil was deployed to (genesis "
                f"{others[-1].stem.split('-', 1)[1][:12]}…), found a reset chain (genesis "
                f"{genesis[:12]}…): run `ape run deploy` again"
            )
        raise DeploymentError(
            f"expected a datasoil deployment on chain {chain_id}, found none in {directory}: "
            "run `ape run deploy` (or `make demo`) first"
        )
    deployment = _read(path, chain_id, genesis)
    for name, address in deployment.contracts.items():
        if len(w3.eth.get_code(address)) == 0:
            raise DeploymentError(
                f"expected {name} code at {address} on chain {chain_id}, found none: "
                "the chain lost its state; run `ape run deploy` again"
            )
    return deployment


def _read(path: Path, chain_id: int, genesis: str) -> Deployment:
    data = json.loads(path.read_text())
    anchor = data.get("anchor")
    return Deployment(
        chain_id=chain_id,
        genesis=genesis,
        contracts=dict(data.get("contracts", {})),
        block=int(data.get("block", 0)),
        params=dict(data.get("params", {})),
        anchor=(int(anchor[0]), str(anchor[1])) if anchor else None,
    )


def _block_hash(w3: ChainReader, number: int) -> str | None:
    try:
        block = w3.eth.get_block(number)
    except Exception:  # past the head: web3 raises BlockNotFound
        return None
    return "0x" + bytes(block["hash"]).hex()


def _adopt(
    w3: ChainReader, candidates: list[Path], chain_id: int, genesis: str, directory: Path
) -> Deployment | None:
    """A record of this chain filed under another genesis hash, if its anchor block is here.

    anvil regenerates block 0 when it reloads ``--state`` (a new genesis hash over the
    same blocks); the anchor block, with its recorded hash, shows it is the same chain.
    The record is filed again under the current genesis.
    """
    for candidate in reversed(candidates):
        record = _read(candidate, chain_id, genesis)
        if record.anchor is None or _block_hash(w3, record.anchor[0]) != record.anchor[1]:
            continue
        if all(len(w3.eth.get_code(a)) for a in record.contracts.values()):
            save(w3, record, directory)
            return record
    return None


def anchor_of(w3: ChainReader) -> tuple[int, str]:
    """(number, hash) of the chain head: the anchor a new deployment records."""
    number = int(w3.eth.block_number)
    block_hash = _block_hash(w3, number)
    assert block_hash is not None
    return number, block_hash


def save(w3: ChainReader, deployment: Deployment, directory: Path | None = None) -> Path:
    """Write the record atomically (temp file + rename) and return its path."""
    directory = directory or default_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = _path(directory, deployment.chain_id, deployment.genesis)
    write_atomic(path, (json.dumps(deployment.to_json(), indent=2) + "\n").encode())
    return path
