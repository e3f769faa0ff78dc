"""datasoil's contracts on a connected chain, through ape.

`deploy_all` deploys every contract (the demo token only on local networks) and
records the addresses (see :mod:`datasoil.chain.deployments`); `contracts` returns ape
contract instances for the recorded deployment of the connected chain. ape is
imported lazily so the off-chain modules never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from datasoil.chain import deployments
from datasoil.errors import ChainError, DeploymentError

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI
    from ape.contracts.base import ContractContainer, ContractEvent, ContractInstance
    from ape.managers.project import ProjectManager
    from ape.types import AddressType, ContractLog

__all__ = [
    "LOCAL_PARAMS",
    "PUBLIC_PARAMS",
    "Contracts",
    "advance_time",
    "contract_names",
    "contracts",
    "deploy_all",
    "event_logs",
    "is_local",
    "mine",
    "require_persistent_node",
    "stale_contracts",
    "web3",
]

# Deploy parameters. Local networks get short windows so `make demo` can finalise;
# public networks get windows measured in hours (blocks of ~12 s).
LOCAL_PARAMS: dict[str, int] = {
    "bond": 100 * 10**18,
    "audit_deposit": 5 * 10**18,
    "challenge_blocks": 40,
    "reveal_blocks": 10,
    "response_blocks": 10,
    "refund_timeout": 600,
    "objection_window": 120,
    "reveal_window": 120,
}
PUBLIC_PARAMS: dict[str, int] = {
    "bond": 100 * 10**18,
    "audit_deposit": 5 * 10**18,
    "challenge_blocks": 7200,
    "reveal_blocks": 200,
    "response_blocks": 600,
    "refund_timeout": 3 * 86400,
    "objection_window": 86400,
    "reveal_window": 86400,
}


def web3() -> Any:
    """The web3.Web3 of ape's connected provider."""
    from ape import chain

    return chain.provider.web3


def is_local() -> bool:
    """True on ape's local network (anvil), where the demo token is deployed."""
    from ape import chain

    return bool(chain.provider.network.name == "local")


def _require_local(what: str) -> ProviderAPI:
    from ape import chain

    if not is_local():
        raise ChainError(
            f"expected the local network to {what}, found {chain.provider.network.name!r}: "
            "on a public network blocks and time pass on their own"
        )
    require_persistent_node()
    return chain.provider


def mine(blocks: int) -> int:
    """Mine ``blocks`` empty blocks on the local chain; return the new head's number.

    Raises ChainError off the local network (and DeploymentError on a throwaway node).
    """
    if blocks < 1:
        raise ChainError(f"expected at least 1 block to mine, found {blocks}")
    provider = _require_local("mine blocks")
    provider.make_request("anvil_mine", [hex(blocks)])
    return int(provider.web3.eth.block_number)


def advance_time(seconds: int) -> int:
    """Advance the local chain's clock by ``seconds`` and mine a block; return its time.

    Raises ChainError off the local network (and DeploymentError on a throwaway node).
    """
    if seconds < 1:
        raise ChainError(f"expected at least 1 second to advance, found {seconds}")
    provider = _require_local("advance time")
    provider.make_request("evm_increaseTime", [hex(seconds)])
    provider.make_request("evm_mine", [])
    return int(provider.web3.eth.get_block("latest")["timestamp"])


@dataclass(frozen=True)
class Contracts:
    """ape contract instances of one deployment; absent contracts are None."""

    deployment: deployments.Deployment
    registry: ContractInstance
    token: ContractInstance | None = None
    attestations: ContractInstance | None = None
    proofs: ContractInstance | None = None
    market: ContractInstance | None = None
    models: ContractInstance | None = None
    consent: ContractInstance | None = None
    row_judge: ContractInstance | None = None
    row_disputes: ContractInstance | None = None

    def require(self, name: str) -> ContractInstance:
        """The instance of contract attribute ``name`` (``"market"``); DeploymentError when
        the deployment has none."""
        value: ContractInstance | None = getattr(self, name)
        if value is None:
            raise DeploymentError(
                f"expected a {name} contract on chain {self.deployment.chain_id}, found none "
                "in the deployment record: run `ape run deploy` again"
            )
        return value

    def by_name(self) -> dict[str, ContractInstance]:
        """The instances present, keyed by contract name (``"AccessMarket"``)."""
        found = {name: getattr(self, attr) for attr, name in _NAMES.items()}
        return {name: instance for name, instance in found.items() if instance is not None}


# attribute on Contracts -> contract name in the ape project
_NAMES = {
    "registry": "DatasetRegistry",
    "token": "DemoToken",
    "attestations": "Attestations",
    "proofs": "CleaningProofs",
    "market": "AccessMarket",
    "models": "ModelRegistry",
    "consent": "Consent",
    "row_judge": "RowJudge",
    "row_disputes": "RowDisputes",
}


def _project_type(project: ProjectManager, name: str) -> ContractContainer | None:
    try:
        container: ContractContainer = getattr(project, name)
    except AttributeError:
        return None
    return container


def require_persistent_node() -> None:
    """Refuse to work against a throwaway local chain.

    When nothing listens on the configured local host, ape-foundry starts an anvil of its
    own and kills it on exit, so deployments and datasets would vanish with the command.
    Tests choose their node through ``APE_FOUNDRY_HOST`` and are let through.
    """
    import os

    from ape import chain

    provider = chain.provider
    managed = getattr(provider, "process", None) is not None
    if managed and is_local() and "APE_FOUNDRY_HOST" not in os.environ:
        raise DeploymentError(
            f"expected the persistent local node (`make node`) at {provider.uri}, found none "
            "running: ape started a throwaway anvil that forgets everything on exit"
        )


def _runtime_code(ctype: ContractContainer) -> bytes:
    code = ctype.contract_type.runtime_bytecode
    if code is None or not code.bytecode:
        return b""
    return bytes(code.to_bytes() or b"")


def stale_contracts(project: ProjectManager, record: deployments.Deployment) -> list[str]:
    """Names of recorded contracts whose code on chain is not this build's.

    Vyper appends immutables after the runtime code, so the on-chain code must start
    with the build's runtime bytecode.
    """
    w3 = web3()
    stale = []
    for name, address in sorted(record.contracts.items()):
        ctype = _project_type(project, name)
        if ctype is None:
            continue
        expected = _runtime_code(ctype)
        if expected and not bytes(w3.eth.get_code(address)).startswith(expected):
            stale.append(name)
    return stale


def contracts(project: ProjectManager) -> Contracts:
    """ape contract instances for the deployment recorded for the connected chain.

    Raises DeploymentError when there is none, the chain was reset, the code on chain
    is not this build's (contracts changed since `ape run deploy`), or the local node
    is a throwaway one ape started because the persistent node is down.
    """
    require_persistent_node()
    record = deployments.load(web3())
    stale = stale_contracts(project, record)
    if stale:
        raise DeploymentError(
            f"expected this build's code for {', '.join(stale)} on chain {record.chain_id}, "
            "found an older deployment: run `ape run deploy --force`"
        )
    found: dict[str, ContractInstance | None] = {}
    for attr, name in _NAMES.items():
        address = record.contracts.get(name)
        ctype = _project_type(project, name)
        if address and ctype is not None:
            found[attr] = ctype.at(cast("AddressType", address))
        else:
            found[attr] = None
    bond_token = record.params.get("bond_token")
    if found["token"] is None and bond_token and _project_type(project, "DemoToken"):
        # Public networks use an existing ERC-20; the demo token's ABI covers ERC-20/2612.
        found["token"] = project.DemoToken.at(bond_token)
    registry = found.pop("registry")
    if registry is None:
        raise DeploymentError(
            f"expected a DatasetRegistry on chain {record.chain_id}: run `ape run deploy`"
        )
    return Contracts(deployment=record, registry=registry, **found)


def deploy_all(
    project: ProjectManager,
    deployer: AccountAPI,
    *,
    local: bool | None = None,
    mint_to: Sequence[AccountAPI | AddressType | str] | None = None,
    bond_token: str | None = None,
    log: Callable[[str], None] = print,
) -> deployments.Deployment:
    """Deploy every datasoil contract the project has, record and return the deployment.

    On local networks a DemoToken is deployed first and minted to ``mint_to``; it is
    the bond token and the first allowed payment token, and the windows are short
    (:data:`LOCAL_PARAMS`). On public networks ``bond_token`` names an existing ERC-20
    (bonds and the first allowed payment token) and the windows are hours long
    (:data:`PUBLIC_PARAMS`). Raises DeploymentError when a public deployment has no
    bond token.
    """
    local = is_local() if local is None else local
    require_persistent_node()
    if not local and not bond_token:
        raise DeploymentError(
            "expected --bond-token ADDRESS on a public network (an existing ERC-20 for bonds "
            "and payments), found none"
        )
    params = LOCAL_PARAMS if local else PUBLIC_PARAMS
    w3 = web3()
    chain_id, genesis = deployments.chain_identity(w3)
    start_block = int(w3.eth.block_number)
    addresses: dict[str, str] = {}

    def deploy(name: str, *args: Any) -> ContractInstance | None:
        ctype = _project_type(project, name)
        if ctype is None:
            log(f"skip {name}: not in this build")
            return None
        instance: ContractInstance = deployer.deploy(ctype, *args)
        addresses[name] = str(instance.address)
        log(f"deployed {name} at {instance.address}")
        return instance

    registry = deploy("DatasetRegistry")
    token: ContractInstance | str | None = bond_token
    if local and not bond_token:
        demo_token = deploy("DemoToken", "datasoil demo", "SOIL")
        if demo_token is not None:
            for account in mint_to or []:
                demo_token.mint(account, 10**24, sender=deployer)
        token = demo_token
    attestations = deploy("Attestations", registry)
    proofs: ContractInstance | None = None
    if attestations is not None and token is not None:
        proofs = deploy(
            "CleaningProofs",
            registry,
            attestations,
            token,
            params["bond"],
            params["audit_deposit"],
            params["challenge_blocks"],
            params["reveal_blocks"],
            params["response_blocks"],
        )
    market = deploy(
        "AccessMarket",
        registry,
        params["refund_timeout"],
        params["objection_window"],
        params["reveal_window"],
    )
    if market is not None and token is not None:
        market.set_token_allowed(token, True, sender=deployer)
    if proofs is not None:
        # Rows of judgeable claims disputed and judged on chain (docs/proofs.md).
        row_judge = deploy("RowJudge")
        row_disputes = deploy("RowDisputes", proofs, row_judge) if row_judge else None
        if row_disputes is not None:
            proofs.enable_row_disputes(row_disputes, sender=deployer)
        consent = deploy("Consent", registry, proofs)
        if consent is not None and market is not None:
            # Withdrawal requests pause the market's (and models') sales: docs/consent.md.
            market.set_consent(consent, sender=deployer)
    if market is not None:
        # Models name the market's datasets and receipts and sell in its allowed tokens.
        deploy("ModelRegistry", market)

    record = deployments.Deployment(
        chain_id=chain_id,
        genesis=genesis,
        contracts=addresses,
        block=start_block,
        params={**params, "bond_token": str(getattr(token, "address", token) or "")},
        anchor=deployments.anchor_of(w3),
    )
    path = deployments.save(w3, record)
    log(f"recorded deployment in {path}")
    return record


def contract_names(project: ProjectManager) -> list[str]:
    """The deployable datasoil contracts this build has (the demo token only locally)."""
    names = [n for n in _NAMES.values() if _project_type(project, n) is not None]
    return [n for n in names if n != "DemoToken" or is_local()]


def event_logs(
    event: ContractEvent, from_block: int = 0, *, to_block: int | None = None, **filters: Any
) -> list[ContractLog]:
    """Every log of an ape contract event from ``from_block`` to ``to_block`` (default the
    chain head), decoded by ape; ``filters`` are indexed arguments to match.

    Read in bounded pages, retrying rate limits (:class:`datasoil.chain.events.LogReader`,
    ``DATASOIL_LOG_RANGE``). A ``from_block`` above the head means the chain lost blocks
    (a reset or reverted local node): DeploymentError, not an empty answer. Raises
    ChainError when the provider keeps refusing.
    """
    from ape import chain
    from ape.types import LogFilter

    from datasoil.chain.events import LogReader, rpc_of

    reader = LogReader(rpc_of(chain.provider.web3))
    head = reader.head()
    if from_block > head + 1:
        raise DeploymentError(
            f"expected the chain to reach block {from_block}, found its head at {head}: the "
            "node was reset or reverted; run `ape run deploy` again"
        )
    stop = head if to_block is None else min(int(to_block), head)
    address = str(cast("ContractInstance", event.contract).address)
    topics = LogFilter.from_event(event=event.abi, search_topics=filters or None).topic_filter
    raw = reader.logs(max(from_block, 0), stop, address=address, topics=topics)
    ecosystem = chain.provider.network.ecosystem
    return list(ecosystem.decode_logs(raw, event.abi))
