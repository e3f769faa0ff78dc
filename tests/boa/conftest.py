"""Contract unit tests and state machines on titanoboa: the same Vyper sources, run in
py-evm in-process, about 40x faster per call than ape over anvil (bench/boa.md), so the
hypothesis machines here run larger CI profiles in the same time. anvil stays for the
end-to-end, script and gas tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


_DEPLOYERS: dict[str, Any] = {}

_contract_repr = VyperContract.__repr__


def _repr_without_storage_crash(self: VyperContract) -> str:
    """titanoboa 0.2.8 saves ``repr(contract)`` (with a storage dump) before every revert,
    and the dump can crash decoding a mapping key from its session-wide keccak trace
    (``'IntegerT' object has no attribute 'key_type'``, seen once enough contracts ran in
    one process). A revert must surface as the revert, so the dump is dropped then."""
    try:
        return _contract_repr(self)
    except Exception as exc:  # any dump failure: the revert stays the error
        return f"<{self.compiler_data.contract_path} at {self.address}; storage dump: {exc!r}>"


VyperContract.__repr__ = _repr_without_storage_crash  # type: ignore[method-assign]


def load(name: str, *args: Any) -> Any:
    """Deploy ``contracts/<name>.vy`` (interfaces and snekmate resolve as in ape); each
    source is compiled once per session."""
    if name not in _DEPLOYERS:
        _DEPLOYERS[name] = boa.load_partial(str(CONTRACTS / f"{name}.vy"))
    return _DEPLOYERS[name].deploy(*args)


@pytest.fixture(scope="module")
def actors() -> list[str]:
    return [boa.env.generate_address(f"actor{i}") for i in range(4)]


@pytest.fixture
def isolated():
    """Each test in its own copy of the chain state."""
    with boa.env.anchor():
        yield
