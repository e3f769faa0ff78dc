"""NatSpec on every function (STYLE.md): a `@dev`, one `@param` per parameter and one
`@return` per returned value, internal functions included (docstrings do not change
bytecode). Test mocks under contracts/test/ are exempt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SOURCES = sorted(p for p in CONTRACTS.rglob("*.vy") if p.parent.name != "test")

_DEF = re.compile(r"^def (\w+)\((.*?)\)\s*(?:->\s*(.*?))?:\s*$", re.M | re.S)


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _functions(source: str):
    for m in _DEF.finditer(source):
        name, params, returns = m.group(1), m.group(2), m.group(3)
        rest = source[m.end() :].lstrip("\n")
        doc = ""
        if rest.lstrip().startswith('"""'):
            body = rest.lstrip()[3:]
            doc = body[: body.index('"""')]
        names = [p.split(":")[0].strip() for p in _split_top(params)]
        n_returns = 0
        if returns:
            r = returns.strip()
            n_returns = len(_split_top(r[1:-1])) if r.startswith("(") else 1
        yield name, names, n_returns, doc


def _problems(path: Path) -> list[str]:
    found = []
    for name, params, n_returns, doc in _functions(path.read_text()):
        where = f"{path.name}: {name}"
        if "@dev" not in doc:
            found.append(f"{where}: no @dev")
        documented = re.findall(r"@param (\w+)", doc)
        for p in params:
            if p not in documented:
                found.append(f"{where}: no @param {p}")
        if doc.count("@return") != n_returns:
            found.append(f"{where}: {doc.count('@return')} @return for {n_returns} values")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CONTRACTS)))
def test_every_function_has_natspec(path):
    assert _problems(path) == []


def test_the_checker_sees_a_missing_tag(tmp_path):
    bad = tmp_path / "Bad.vy"
    bad.write_text(
        "@internal\n@pure\ndef _f(a: uint256, b: DynArray[uint256, 2]) -> (bool, uint256):\n"
        '    """\n    @dev Something.\n    @param a A.\n    @return bool Ok.\n    """\n'
        "    return True, a\n"
    )
    problems = [p.split(": ", 2)[2] for p in _problems(bad)]
    assert problems == ["no @param b", "1 @return for 2 values"]
