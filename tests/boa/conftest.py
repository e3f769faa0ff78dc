"""Contract unit tests and state machines on titanoboa: the same Vyper sources, run in
py-evm in-process, about 40x faster per call than ape over anvil (bench/boa.md), so the
hypothesis machines here run larger CI profiles in the same time. anvil stays for the
end-to-end, script and gas tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


_DEPLOYERS: dict[str, Any] = {}


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
