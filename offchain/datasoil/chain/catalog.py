"""The page's questions over the event index: the searchable catalogue, a dataset's
lineage graph, and the model registry.

Everything here reads :class:`~datasoil.chain.index.EventIndex` (no node, no store):
what only the pinned documents say (a dataset's Croissant name and description, a
model's name from its config) comes from a ``describe`` callable the caller passes
(the gateway reads its store, :mod:`datasoil.app.webapi`), so a catalogue of thousands
of datasets is one pass over indexed rows, filtered, sorted and cut into a page.

Values are JSON, as the index's: amounts as decimal strings, ids as integers.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from datasoil.chain.index import EventIndex
from datasoil.errors import NotFound
from datasoil.formats.cid import CidTuple
from datasoil.protocol.metric_sets import quality_metric_set

__all__ = [
    "MAX_GRAPH",
    "MAX_PER_PAGE",
    "SORTS",
    "Describe",
    "catalog",
    "cid_or_none",
    "graph",
    "model",
    "models",
    "quality_scores",
]

#: ``describe(cid)``: ``{"name": ..., "description": ...}`` of a pinned document, or None.
Describe = Callable[[str], Mapping[str, Any] | None]
#: The catalogue's orders: newest first, name, most rows, best quality, lowest price.
SORTS = ("newest", "name", "rows", "quality", "price")
MAX_PER_PAGE = 100
#: Datasets drawn at most in one lineage graph (nearest first).
MAX_GRAPH = 200


@functools.cache
def _quality() -> str:
    # Computed on first use: the metric set's name lives with the quality engine, and
    # importing Polars at start-up would slow every gateway and CLI that imports this.
    return "0x" + quality_metric_set().hex()


def _none(_cid: str) -> None:
    return None


def quality_scores(
    index: EventIndex, trusted: Sequence[str] = (), now: float | None = None
) -> dict[int, dict[str, Any]]:
    """Per dataset, the mean quality score (basis points) of the attesters' latest live
    ``datasoil.quality.v1`` records — those of ``trusted`` when any of them attested
    (``trusted: true``), else of every attester — as ``{score, count, trusted}``.

    A record is live when its attestation is the attester's latest for the dataset, is
    not revoked and has not expired (``expiry`` 0 or after ``now``).
    """
    moment = time.time() if now is None else now
    revoked = {
        (e["args"]["attester"], e["args"]["dataset_id"], e["args"]["nonce"])
        for e in index.events("Attestations", "Revoked", metric_set=_quality())
    }
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for e in index.events("Attestations", "Attested", metric_set=_quality()):
        a = e["args"]
        latest[(int(a["dataset_id"]), str(a["attester"]).lower())] = a
    live: dict[int, list[tuple[str, int]]] = {}
    for (dataset_id, attester), a in latest.items():
        if (a["attester"], a["dataset_id"], a["nonce"]) in revoked:
            continue
        if int(a["expiry"]) and int(a["expiry"]) <= moment:
            continue
        live.setdefault(dataset_id, []).append((attester, int(a["score"])))
    wanted = {t.lower() for t in trusted}
    out = {}
    for dataset_id, records in live.items():
        mine = [s for who, s in records if who in wanted]
        chosen = mine or [s for _who, s in records]
        out[dataset_id] = {
            "score": sum(chosen) // len(chosen),
            "count": len(chosen),
            "trusted": bool(mine),
        }
    return out


def _int_arg(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{name}={text!r} is not a whole number")
    return int(text)


def catalog(
    index: EventIndex, query: Mapping[str, str], describe: Describe = _none
) -> dict[str, Any]:
    """``GET /api/catalog``: one page of datasets matching ``query``.

    ``q`` (words that must all appear in the name, description, licence, owner, content
    CID or ``#id``), ``license``, ``access`` (``public``/``private``), ``sale``
    (``listed``/``unlisted``), ``max_price`` (base units; listed at most that),
    ``sort`` (:data:`SORTS`), ``page`` (from 1), ``per_page`` (1..100, default 20),
    ``trusted`` (comma-separated attester addresses for the quality badge).

    Returns ``{total, page, per_page, pages, licenses, items}``; each item is the
    dataset with ``name``, ``description``, ``price`` (or None) and ``quality``.

    Raises ValueError for a malformed query.
    """
    sort = query.get("sort") or "newest"
    if sort not in SORTS:
        raise ValueError(f"sort={sort!r} is not one of {', '.join(SORTS)}")
    access = query.get("access") or ""
    if access not in ("", "public", "private"):
        raise ValueError(f"access={access!r} is not public or private")
    sale = query.get("sale") or ""
    if sale not in ("", "listed", "unlisted"):
        raise ValueError(f"sale={sale!r} is not listed or unlisted")
    per_page = _int_arg(query, "per_page", 20)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page={per_page} is not between 1 and {MAX_PER_PAGE}")
    page = max(1, _int_arg(query, "page", 1))
    max_price = _int_arg(query, "max_price", -1)
    license_ = query.get("license") or ""
    words = (query.get("q") or "").casefold().split()
    trusted = [t for t in (query.get("trusted") or "").split(",") if t]

    datasets = index.datasets()
    prices = {int(e["args"]["dataset_id"]): e["args"]["price"] for e in index.listings()}
    scores = quality_scores(index, trusted)
    items = []
    for d in datasets:
        about = describe(d["metadata_cid"]) or {}
        price = prices.get(d["id"])
        item = {
            **d,
            "name": about.get("name"),
            "description": about.get("description"),
            "price": price,
            "quality": scores.get(d["id"]),
        }
        if license_ and d["license"] != license_:
            continue
        if access and d["private"] != (access == "private"):
            continue
        if (sale == "listed" and price is None) or (sale == "unlisted" and price is not None):
            continue
        if max_price >= 0 and (price is None or int(price) > max_price):
            continue
        if words:
            text = " ".join(
                str(x or "") for x in (item["name"], item["description"], d["license"], d["owner"])
            )
            hay = f"{text} {d['content_cid']} #{d['id']}".casefold()
            if not all(w in hay or w.lstrip("#") == str(d["id"]) for w in words):
                continue
        items.append(item)
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "newest": lambda i: (-i["block"], -i["id"]),
        "name": lambda i: (i["name"] is None, (i["name"] or "").casefold(), i["id"]),
        "rows": lambda i: (-i["row_count"], i["id"]),
        "quality": lambda i: (i["quality"] is None, -(i["quality"] or {}).get("score", 0), i["id"]),
        "price": lambda i: (i["price"] is None, int(i["price"] or 0), i["id"]),
    }
    items.sort(key=keys[sort])
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(page, pages)
    return {
        "total": len(items),
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "licenses": sorted({d["license"] for d in datasets}),
        "items": items[(page - 1) * per_page : page * per_page],
    }


def graph(
    index: EventIndex, dataset_id: int, describe: Describe = _none, limit: int = MAX_GRAPH
) -> dict[str, Any]:
    """``GET /api/datasets/<id>/graph``: the dataset's ancestors, descendants and
    versions (nearest first, at most ``limit``) as nodes, with the ``parent`` and
    ``version`` links among them as edges (``from`` the older, ``to`` the newer).

    Raises NotFound for an unknown dataset.
    """
    everything = {d["id"]: d for d in index.datasets()}
    if dataset_id not in everything:
        raise NotFound(f"expected a registered dataset id, found {dataset_id}")
    children: dict[int, list[int]] = {}
    successors: dict[int, list[int]] = {}
    for d in everything.values():
        for p in d["parents"]:
            children.setdefault(p, []).append(d["id"])
        if d["version_of"]:
            successors.setdefault(d["version_of"], []).append(d["id"])
    # Ancestors (up through parents only), descendants (down through children only) and
    # the focus's own version chain, breadth-first so the nearest are kept.
    versions = [dataset_id]
    while everything[versions[0]]["version_of"] in everything:
        versions.insert(0, everything[versions[0]]["version_of"])
    while len(successors.get(versions[-1], [])) and len(versions) < limit:
        versions.append(min(successors[versions[-1]]))
    order = [dataset_id]
    seen = {dataset_id}
    frontier: list[tuple[int, str]] = [(dataset_id, "up"), (dataset_id, "down")]
    frontier += [(v, "version") for v in versions if v != dataset_id]
    while frontier and len(order) < limit:
        reached: list[tuple[int, str]] = []
        for i, way in frontier:
            if i not in seen:
                seen.add(i)
                order.append(i)
            if way == "version":
                continue
            near = everything[i]["parents"] if way == "up" else children.get(i, [])
            reached += [(n, way) for n in near if n in everything and n not in seen]
        frontier = reached
    order = order[:limit]
    seen = set(order)
    nodes = []
    for i in order:
        d = everything[i]
        about = describe(d["metadata_cid"]) or {}
        nodes.append(
            {
                "id": i,
                "name": about.get("name"),
                "row_count": d["row_count"],
                "license": d["license"],
                "private": d["private"],
                "owner": d["owner"],
            }
        )
    edges = []
    for i in order:
        d = everything[i]
        edges += [{"from": p, "to": i, "kind": "parent"} for p in d["parents"] if p in seen]
        if d["version_of"] in seen:
            edges.append({"from": d["version_of"], "to": i, "kind": "version"})
    return {"nodes": nodes, "edges": edges}


def _models(index: EventIndex, describe: Describe) -> list[dict[str, Any]]:
    owners: dict[str, str] = {}
    for e in index.events("ModelRegistry", "OwnershipTransferred"):
        owners[e["args"]["model_id"]] = e["args"]["new_owner"]
    listed: dict[str, dict[str, Any] | None] = {}
    sales: dict[str, int] = {}
    for e in index.events("ModelRegistry"):
        key = e["args"].get("model_id")
        if e["name"] == "ModelListed":
            listed[key] = e["args"]
        elif e["name"] in ("ModelDelisted", "OwnershipTransferred"):
            listed[key] = None
        elif e["name"] == "ModelSold":
            sales[key] = sales.get(key, 0) + 1
    bought = {
        e["args"]["purchase_id"]: int(e["args"]["dataset_id"])
        for e in index.events("AccessMarket", "Purchased")
    }
    everything = {d["id"]: d for d in index.datasets()}
    out = []
    for e in index.events("ModelRegistry", "ModelRegistered"):
        a = e["args"]
        comp = a["composition"]
        receipts = {bought.get(p): int(p) for p in a["receipts"]}
        config = cid_or_none(a["config_cid"])
        about = (describe(config) if config else None) or {}
        listing = listed.get(a["model_id"])
        ingredients = []
        for i in comp["datasets"]:
            d = everything.get(int(i["dataset_id"]), {})
            meta = describe(d["metadata_cid"]) if d else None
            ingredients.append(
                {
                    "dataset_id": int(i["dataset_id"]),
                    "row_root": i["row_root"],
                    "rows_used": int(i["rows_used"]),
                    "name": (meta or {}).get("name"),
                    "row_count": d.get("row_count", 0),
                    "private": d.get("private", False),
                    "parents": d.get("parents", []),
                    "receipt": receipts.get(int(i["dataset_id"])),
                }
            )
        out.append(
            {
                "id": int(a["model_id"]),
                "owner": owners.get(a["model_id"], a["owner"]),
                "registrant": a["owner"],
                "name": about.get("name"),
                "license": a["license"],
                "version_of": int(a["version_of"]),
                "weights_cid": cid_or_none(a["weights_cid"]),
                "manifest_cid": cid_or_none(a["manifest_cid"]),
                "manifest_root": a["manifest_root"],
                "manifest_size": int(a["manifest_size"]),
                "config_cid": config,
                "datasets": ingredients,
                "parents": [int(p) for p in comp["parents"]],
                "data_bps": int(comp["data_bps"]),
                "parents_bps": int(comp["parents_bps"]),
                "receipts": [int(p) for p in a["receipts"]],
                "composition": comp,
                "listing": None
                if listing is None
                else {k: listing[k] for k in ("price", "token", "duration")},
                "sales": sales.get(a["model_id"], 0),
                "block": e["block"],
                "tx": e["tx"],
            }
        )
    return out


def cid_or_none(value: Mapping[str, Any]) -> str | None:
    """The CID text of a registry ``PackedCid`` (``{prefix, digest}``), None when zero."""
    if int(value["prefix"]) == 0 and int(str(value["digest"]), 16) == 0:
        return None
    return str(CidTuple.from_abi((int(value["prefix"]), bytes.fromhex(str(value["digest"])[2:]))))


def models(
    index: EventIndex,
    *,
    dataset_id: int | None = None,
    owner: str | None = None,
    describe: Describe = _none,
) -> list[dict[str, Any]]:
    """``GET /api/models[?dataset=&owner=]``: registered models, with their ingredients
    (datasets, rows used, receipts), parents, shares, current owner and listing —
    those trained on ``dataset_id`` or held by ``owner`` when given."""
    found = _models(index, describe)
    if dataset_id is not None:
        found = [m for m in found if any(i["dataset_id"] == dataset_id for i in m["datasets"])]
    if owner is not None:
        found = [m for m in found if m["owner"].lower() == owner.lower()]
    return found


def model(index: EventIndex, model_id: int, describe: Describe = _none) -> dict[str, Any]:
    """``GET /api/models/<id>``: one model (as :func:`models`). Raises NotFound."""
    for m in _models(index, describe):
        if m["id"] == model_id:
            return m
    raise NotFound(
        f"expected a registered model id, found {model_id} (the index is at block {index.synced})"
    )
