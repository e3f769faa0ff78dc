"""Contract unit tests on titanoboa: the same Vyper sources, run by py-evm in process
(bench/boa.md: about 14x faster per call than ape over anvil). anvil stays for the
end-to-end, script and gas tests (tests/e2e, tests/gas, tests/offchain).

A folder opts in with `from tests.contracts._boa import *` in its conftest; the role
fixtures then override the ape ones of tests/conftest.py for that folder only.
Each role is an `Actor`: its checksummed address as a ``str`` (so ``sender=owner`` and
``registry.owner_of(1) == owner`` read as before), with its private key for EIP-712
signatures and its ether balance. Contracts deployed by session fixtures persist; each
test runs inside its own `boa.env.anchor()`, so nothing a test does leaks into the next.

Blocks: every call lands in the current block (`block_number()`) until `mine` moves on,
unlike anvil, which mines one block per transaction. py-evm alone answers BLOCKHASH with
zero for all but the parent block; `mine` gives each past block a distinct hash
(`block_hash`), readable for the 256 blocks before the current one, as on a node.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from tests.boa.conftest import load

ROLES = ("deployer", "owner", "other", "cleaner", "attester", "buyer", "auditor", "spare")
ETHER = 10**18
TOKENS = 10**24  # DemoToken minted to every role


class Actor(str):
    """A test account: its checksummed address, plus its key and ether balance."""

    private_key: bytes

    def __new__(cls, name: str) -> Actor:
        key = keccak(b"datasoil test role " + name.encode())
        actor = super().__new__(cls, Account.from_key(key).address)
        actor.private_key = key
        return actor

    @property
    def address(self) -> str:
        return str(self)

    @property
    def balance(self) -> int:
        return int(boa.env.get_balance(str(self)))


ACTORS = {name: Actor(name) for name in ROLES}
# ape's ten test accounts: the roles first, then two without a role (and without tokens,
# as ape's `token` fixture mints to the first eight)
ACCOUNTS = [*ACTORS.values(), Actor("account 8"), Actor("account 9")]


@pytest.fixture(scope="session", autouse=True)
def funded() -> None:
    for actor in ACCOUNTS:
        boa.env.set_balance(str(actor), 1000 * ETHER)


@pytest.fixture(scope="session", autouse=True)
def block_hashes() -> None:
    """BLOCKHASH answers `block_hash` from the first test on (see `mine`)."""
    mine(0)


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    """Each test in its own copy of the chain state (ape's per-test snapshot, in boa)."""
    with boa.env.anchor():
        yield


# ape's pytest plugin wraps every test it runs, boa ones too, in anvil snapshots: per test
# an evm_snapshot, an evm_revert and an anvil_getAutomine for each fixture. It skips all of
# that for a test that already asks for `_function_isolation`; a boa folder keeps nothing
# on anvil, so it asks for this one, which does nothing (`isolated` isolates in process).
@pytest.fixture(name="_function_isolation", autouse=True)
def no_anvil_isolation() -> Iterator[None]:
    yield


@pytest.fixture(scope="session")
def accounts() -> list[Actor]:
    return list(ACCOUNTS)


@pytest.fixture(scope="session")
def deployer() -> Actor:
    return ACTORS["deployer"]


@pytest.fixture(scope="session")
def owner() -> Actor:
    return ACTORS["owner"]


@pytest.fixture(scope="session")
def other() -> Actor:
    return ACTORS["other"]


@pytest.fixture(scope="session")
def cleaner() -> Actor:
    return ACTORS["cleaner"]


@pytest.fixture(scope="session")
def attester() -> Actor:
    return ACTORS["attester"]


@pytest.fixture(scope="session")
def buyer() -> Actor:
    return ACTORS["buyer"]


@pytest.fixture(scope="session")
def auditor() -> Actor:
    return ACTORS["auditor"]


@pytest.fixture(scope="session")
def chain_id() -> int:
    return int(boa.env.evm.patch.chain_id)


def deploy(name: str, *args: Any, sender: str | None = None) -> Any:
    """Deploy ``contracts/<name>.vy`` from ``sender`` (the deployer by default)."""
    with boa.env.prank(str(sender or ACTORS["deployer"])):
        return load(name, *args)


@pytest.fixture(scope="session")
def registry(funded) -> Any:
    return deploy("DatasetRegistry")


@pytest.fixture(scope="session")
def token(funded) -> Any:
    token = deploy("DemoToken", "datasoil demo", "SOIL")
    for actor in ACTORS.values():
        token.mint(str(actor), TOKENS, sender=str(ACTORS["deployer"]))
    return token


def events(contract: Any, name: str) -> list[Any]:
    """The decoded ``name`` events of ``contract``'s last call (``tx.decode_logs``): read
    them right after the transaction, before any view call replaces it."""
    return [
        log
        for log in contract.get_logs()
        if type(log).__name__ == name and str(log.address) == str(contract.address)
    ]


def event(contract: Any, name: str) -> Any:
    """The single ``name`` event of the last call; fails if there is not exactly one."""
    (found,) = events(contract, name)
    return found


MAX_BLOCKHASH_DEPTH = 256  # BLOCKHASH reads only the 256 blocks before the current one


def block_number() -> int:
    """The number of the block the next call lands in."""
    return int(boa.env.evm.patch.block_number)


def block_hash(number: int) -> bytes:
    """The hash BLOCKHASH answers for block ``number`` once `mine` has passed it: distinct
    for every block, and the same in every test."""
    return keccak(b"datasoil test block " + number.to_bytes(32, "big"))


def mine(blocks: int = 1) -> int:
    """Move ``blocks`` blocks on (12 s each, like ``chain.mine``); returns the new number.

    BLOCKHASH then answers `block_hash` for each of the 256 blocks before the new one
    and zero for any other block, as a node does (py-evm reads ``prev_hashes``, nearest
    first; the anchor of each test restores them with the block number).
    """
    if blocks:
        boa.env.time_travel(blocks=blocks)
    current = block_number()
    boa.env.evm.patch.prev_hashes = tuple(
        block_hash(current - 1 - depth) for depth in range(min(MAX_BLOCKHASH_DEPTH, current))
    )
    return current


def timestamp() -> int:
    """The timestamp the next call runs at (every call of a block shares it)."""
    return int(boa.env.timestamp)


def warp_to(when: int) -> int:
    """Run the next calls at ``when`` (not before the current timestamp), like ape's
    ``chain.pending_timestamp = when``; blocks move on with it, 12 s each (see `mine`)."""
    now = timestamp()
    if when < now:
        raise ValueError(f"expected a timestamp from {now} on, found {when}")
    boa.env.time_travel(seconds=when - now)
    mine(0)
    return when


def mine_to(number: int) -> int:
    """Move on to block ``number`` (not before the current one); returns it."""
    current = block_number()
    if number < current:
        raise ValueError(f"expected a block from {current} on, found {number}")
    return mine(number - current)
