"""One home per shared declaration: every deployable contract says which interface it
implements (contracts/interfaces/*.vyi), and no struct or registry interface is declared
in more than one file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
DEPLOYABLE = sorted(p for p in CONTRACTS.glob("*.vy"))
SOURCES = sorted([*CONTRACTS.rglob("*.vy"), *CONTRACTS.rglob("*.vyi")])


@pytest.mark.parametrize("path", DEPLOYABLE, ids=lambda p: p.name)
def test_every_deployable_contract_implements_an_interface(path):
    assert re.search(r"^implements: \w+", path.read_text(), re.M), f"{path.name}: no implements:"


def test_structs_are_declared_once():
    seen: dict[str, list[str]] = {}
    for path in SOURCES:
        for name in re.findall(r"^struct (\w+):", path.read_text(), re.M):
            seen.setdefault(name, []).append(str(path.relative_to(CONTRACTS)))
    twice = {name: where for name, where in seen.items() if len(where) > 1}
    assert twice == {}, f"structs declared more than once: {twice}"


def test_no_inline_registry_interface():
    inline = [
        p.name for p in DEPLOYABLE if re.search(r"^interface \w*Registry\w*:", p.read_text(), re.M)
    ]
    assert inline in ([], ["CleaningProofs.vy"]), inline
