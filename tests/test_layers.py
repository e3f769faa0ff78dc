"""The import rule of docs/architecture.md: a layer imports only from layers below it,
the pure layers import no chain or network library, and nothing below ``chain/``
imports ape or web3. Every ``import`` counts, function-level ones included (a lazy
import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "offchain" / "datasoil"

# Lowest first. The root modules (errors, config, _fs) sit under every layer.
LAYERS = ["_root", "formats", "store", "engine", "protocol", "chain", "flows", "app"]
ROOT_MODULES = {"datasoil", "datasoil.errors", "datasoil.config", "datasoil._fs"}
PURE = {"formats", "engine", "protocol"}
# what talks to a node (eth-utils' keccak and eth-account's signing are pure computation)
CHAIN_LIBRARIES = {"ape", "ape_ethereum", "ape_foundry", "web3"}
NETWORK_LIBRARIES = {"httpx", "aiohttp", "requests", "urllib3"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "_root"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source``; ``package`` resolves relative ones."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            found.append((node.lineno, module))
            if module == "datasoil":  # `from datasoil import formats`: names are modules
                found.extend(
                    (node.lineno, f"datasoil.{a.name}")
                    for a in node.names
                    if not a.name.startswith("__")  # __version__: an attribute
                )
    return found


def violations(me: str, source: str, package: str) -> list[str]:
    """What breaks the rule in module ``me`` with ``source``."""
    mine = LAYERS.index(layer_of(me))
    wrong = []
    for line, module in imports(source, package):
        top = module.split(".")[0]
        if top == "datasoil" and module != "datasoil":
            if layer_of(module) == "_root" and module not in ROOT_MODULES:
                wrong.append(f"line {line}: {module} (import it from its layer, not the facade)")
                continue
            theirs = LAYERS.index(layer_of(module))
            if theirs > mine:
                wrong.append(f"line {line}: {module} ({LAYERS[theirs]} is above {LAYERS[mine]})")
        elif layer_of(me) in PURE and top in CHAIN_LIBRARIES | NETWORK_LIBRARIES:
            wrong.append(f"line {line}: {module} (a chain or network library in a pure layer)")
        elif mine < LAYERS.index("chain") and top in CHAIN_LIBRARIES:
            wrong.append(f"line {line}: {module} (ape/web3 below chain/)")
    return wrong


MODULES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_is_in_a_layer():
    stray = [
        module_name(p)
        for p in MODULES
        if layer_of(module_name(p)) == "_root" and module_name(p) not in ROOT_MODULES
    ]
    assert stray == [], f"modules outside the layers: {stray}"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_point_down(path):
    me = module_name(path)
    if me == "datasoil":
        return  # the facade re-exports lazily from every layer
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    assert violations(me, path.read_text(), package) == []


@pytest.mark.parametrize(
    ("me", "source", "expected"),
    [
        ("datasoil.formats.rows", "from datasoil.flows import publish", "flows is above formats"),
        ("datasoil.formats.rows", "def f():\n    import web3\n", "pure layer"),
        ("datasoil.engine.clean", "import httpx", "pure layer"),
        ("datasoil.store.kubo", "from ape import chain", "ape/web3 below chain/"),
        ("datasoil.chain.registry", "from datasoil import publish", "not the facade"),
        ("datasoil.chain.registry", "from datasoil.flows import publish", "flows is above chain"),
        ("datasoil.formats.rows", "from ..flows import access", "flows is above formats"),
    ],
)
def test_the_rule_reports_each_kind_of_breach(me, source, expected):
    found = violations(me, source, me.rpartition(".")[0])
    assert len(found) == 1 and expected in found[0], found


def test_the_rule_lets_downward_imports_through():
    source = "from datasoil.formats import rows\nfrom datasoil.store import open_store\n"
    assert violations("datasoil.flows.publish", source, "datasoil.flows") == []
