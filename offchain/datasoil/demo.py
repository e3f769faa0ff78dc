"""The end-to-end demo behind `make demo` (run as `ape run demo`).

Each stage calls the same library functions a user would; the demo only chooses the
example inputs and prints what happened. It is idempotent: data that is already
registered on this chain is found and reused, so the demo can run again.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil import clean, merkle, publish, rows
from datasoil.recipe import load_recipe
from datasoil.registry import Registry
from datasoil.store.base import Store

__all__ = ["DemoState", "publish_or_reuse", "make_version", "stage_publish"]

Log = Callable[[str], None]


@dataclass
class DemoState:
    """What the stages produced, for the stages after them."""

    work: Path
    ids: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def publish_or_reuse(
    path: Path,
    *,
    registry: Registry,
    store: Store,
    sender: Any,
    log: Log,
    parents: tuple[int, ...] = (),
    version_of: int = 0,
    schema: rows.Schema | None = None,
    name: str | None = None,
    private: bool = False,
    license: str = "CC-BY-4.0",
) -> int:
    """Publish ``path`` unless the same content and root are registered; return the id."""
    derived_from = [registry.get(p).content_cid for p in parents]
    prepared = publish.prepare(
        path,
        store=store,
        schema=schema,
        name=name,
        creator=str(sender.address),
        derived_from=derived_from,
        private=private,
        license=license,
    )
    existing = None if private else publish.find_duplicate(registry, prepared)
    if existing is not None:
        log(f"  already registered as #{existing} ({prepared.content_cid})")
        return existing
    dataset_id = publish.register(
        prepared, registry, sender=sender, parents=parents, version_of=version_of
    )
    log(
        f"  registered #{dataset_id}: content {prepared.content_cid}, "
        f"{prepared.row_count} rows, root 0x{prepared.row_root.hex()[:16]}…"
    )
    return dataset_id


def make_version(raw: Path, out: Path, extra_rows: int = 25) -> Path:
    """A second version of ``raw``: the same rows plus ``extra_rows`` appended ones."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with raw.open(newline="", encoding="utf-8") as src:
        table = list(csv.reader(src))
    header, body = table[0], table[1:]
    id_col = header.index("id") if "id" in header else None
    appended = []
    for i, row in enumerate(body[:extra_rows]):
        new = list(row)
        if id_col is not None:
            new[id_col] = str(len(body) + i + 1)
        appended.append(new)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body + appended)
    tmp.replace(out)
    return out


def stage_publish(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    owner: Any,
    raw: Path,
    recipe_path: Path,
    log: Log,
) -> None:
    """Publish the raw example, a cleaned child, and a new version of the raw data."""
    log("1. publish the raw example dataset")
    state.ids["raw"] = publish_or_reuse(raw, registry=registry, store=store, sender=owner, log=log)
    state.paths["raw"] = raw

    log("2. clean it deterministically and publish the result as its child")
    recipe = load_recipe(recipe_path)
    out = state.work / "clean"
    if out.exists():
        shutil.rmtree(out)
    result = clean.clean(raw, recipe, out)
    state.paths["clean"] = result.data_path
    state.extra["clean"] = result
    log(f"  {result.rows_in} rows in, {result.rows_out} rows out")
    for step in result.proof.get("steps", []):
        dropped = step.get("rows_dropped", 0)
        if dropped:
            log(f"    step {step.get('index', '?')} {step.get('kind')}: dropped {dropped}")
    schema_out = rows.Schema.from_json(result.proof["schema_out"])
    state.ids["clean"] = publish_or_reuse(
        result.data_path,
        registry=registry,
        store=store,
        sender=owner,
        log=log,
        parents=(state.ids["raw"],),
        schema=schema_out,
        name="people-clean",
    )

    log("3. publish a new version of the raw data (25 rows appended)")
    v2 = make_version(raw, state.work / "people-v2.csv")
    state.paths["raw_v2"] = v2
    schema = rows.infer_schema(raw)
    state.ids["raw_v2"] = publish_or_reuse(
        v2,
        registry=registry,
        store=store,
        sender=owner,
        log=log,
        version_of=state.ids["raw"],
        schema=schema,
        name="people-v2",
    )
    old = [h for batch in rows.dataset_leaf_hashes(raw, schema) for h in batch]
    new = [h for batch in rows.dataset_leaf_hashes(v2, schema) for h in batch]
    proof = merkle.consistency_proof(new, len(old))
    merkle.verify_consistency(
        len(old),
        len(new),
        registry.get(state.ids["raw"]).row_root,
        registry.get(state.ids["raw_v2"]).row_root,
        proof,
    )
    log(
        f"  RFC 9162 consistency proof ({len(proof)} hashes): v2's {len(new)} rows extend "
        f"v1's {len(old)}"
    )

    log("4. lineage")
    for line in registry.lineage(state.ids["clean"]).render().splitlines():
        log("  " + line)
    versions = registry.versions(state.ids["raw"])
    log("  versions of the raw data: " + " -> ".join(f"#{v}" for v in versions))


def write_summary(state: DemoState) -> Path:
    """Write the ids the demo used to ``work/demo.json`` (read by later commands)."""
    path = state.work / "demo.json"
    path.write_text(json.dumps({"datasets": state.ids}, indent=2) + "\n")
    return path
