"""The gateway's read-only answers that need the store as well as the event index.

- ``catalog`` and ``datasets/<id>/graph`` (:mod:`datasoil.chain.catalog`) with each
  dataset's name and description from its pinned Croissant document;
- ``models`` and ``models/<id>`` with a model's name from its pinned config;
- ``models/<id>/rows/<dataset>/<row>``: the ``datasoil.row-proof.v1`` bundle answering
  "was this row in the model?" (docs/models.md) — the manifest opening (inclusion or the
  sorted-neighbour absence proof) and, for a used row, its RFC 9162 proof in the
  dataset's row root, following a row of a cleaned dataset through its cleaning claim's
  fate record. The page verifies every proof itself against the chain's roots; the
  gateway only saves it the work of building them. Rows of a private dataset hash
  under a key the gateway does not hold: their bundle comes from the trainer
  (``ape run model prove``);
- ``datasets/<id>/subjects?address=``: the rows of a public dataset whose declared
  subject column (Consent's ``SubjectsDeclared``, docs/consent.md) names ``address``, each
  with its ``datasoil-rows-v1`` bytes and RFC 9162 path, so the subject's wallet can file
  ``request_withdrawal`` (the page checks each path against the row root first);
- ``models/<id>/bom?format=``: the model's SPDX 3.0.1, CycloneDX 1.6 or EU-summary bill
  of materials (:mod:`datasoil.flows.bom`), from the index and the pinned metadata.

Every document is read from the store with each block checked against its CID.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from datasoil.chain import catalog
from datasoil.chain.index import EventIndex
from datasoil.errors import DatasoilError, NotFound, ProofError
from datasoil.formats import manifest as mf
from datasoil.formats import merkle
from datasoil.formats.cid import cid_to_tuple
from datasoil.store.base import Store

__all__ = ["Answers", "ChainFacts"]

#: How long a document the store lacks is remembered as missing.
_MISSING_SECONDS = 30.0
#: Datasets whose row leaf hashes are kept in memory for bundles.
_LEAF_CACHE = 4
#: Rows naming one subject answered at most (the page shows them to the subject).
MAX_SUBJECT_ROWS = 100


class ChainFacts:
    """What a BOM names about the chain: its id, ModelRegistry's address, and a block's
    timestamp (a callable, read from the node when a BOM is asked for)."""

    def __init__(self, chain_id: int, models_address: str, timestamp: Callable[[int], int]):
        self.chain_id = chain_id
        self.models_address = models_address
        self.timestamp = timestamp


class _Dataset:
    """The registry facts :func:`datasoil.flows.loader.materialize` reads, from the index."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        self.id = int(d["id"])
        self.private = bool(d["private"])
        self.content_cid = str(d["content_cid"])
        self.metadata_cid = str(d["metadata_cid"])
        self.row_root = bytes.fromhex(str(d["row_root"])[2:])
        self.row_count = int(d["row_count"])


class Answers:
    """The store-backed answers of one gateway, with small caches (documents are
    immutable, so a document read once is good for ever)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._docs: dict[str, dict[str, Any] | None] = {}
        self._missing: dict[str, float] = {}
        self._leaves: OrderedDict[tuple[int, str], list[bytes]] = OrderedDict()

    # -- documents ----------------------------------------------------------------------

    def document(self, cid: str) -> dict[str, Any] | None:
        """The JSON document ``cid`` from the store (verified), or None when the store does
        not hold it or it is not a JSON object."""
        with self._lock:
            if cid in self._docs:
                return self._docs[cid]
            if time.monotonic() - self._missing.get(cid, -_MISSING_SECONDS) < _MISSING_SECONDS:
                return None
        try:
            data = b"".join(self.store.cat(cid_to_tuple(cid).to_cid()))
            doc = json.loads(data)
        except NotFound:
            with self._lock:
                self._missing[cid] = time.monotonic()
            return None
        except (DatasoilError, ValueError):
            doc = None
        found = doc if isinstance(doc, dict) else None
        with self._lock:
            self._docs[cid] = found
        return found

    def describe(self, cid: str) -> dict[str, Any] | None:
        """``{"name", "description"}`` of a Croissant document or a model config."""
        doc = self.document(cid)
        if doc is None:
            return None
        name = doc.get("name") or doc.get("model")
        description = doc.get("description")
        return {
            "name": str(name) if name else None,
            "description": str(description) if description else None,
        }

    # -- routes -------------------------------------------------------------------------

    def answer(
        self,
        index: EventIndex,
        route: str,
        query: Mapping[str, str],
        chain: Callable[[], ChainFacts],
    ) -> tuple[Any, str] | None:
        """``(body, media type)`` for the routes of this module, None for another route.

        Raises NotFound, ValueError (a malformed query) and ProofError.
        """
        parts = [p for p in route.strip("/").split("/") if p]
        describe = self.describe
        if parts == ["catalog"]:
            return catalog.catalog(index, query, describe), "json"
        if len(parts) == 3 and parts[0] == "datasets" and parts[2] == "graph":
            return catalog.graph(index, int(parts[1]), describe), "json"
        if len(parts) == 3 and parts[0] == "datasets" and parts[2] == "subjects":
            return self.subject_rows(index, int(parts[1]), query.get("address") or ""), "json"
        if parts == ["models"]:
            dataset = query.get("dataset")
            found = catalog.models(
                index,
                dataset_id=int(dataset) if dataset else None,
                owner=query.get("owner") or None,
                describe=describe,
            )
            return found, "json"
        if len(parts) >= 2 and parts[0] == "models":
            model = catalog.model(index, int(parts[1]), describe)
            if len(parts) == 2:
                return model, "json"
            if len(parts) == 5 and parts[2] == "rows":
                return self.row_bundle(index, model, int(parts[3]), int(parts[4])), "json"
            if parts[2:] == ["bom"]:
                return self.bom(index, model, query.get("format") or "cyclonedx", chain()), "text"
        return None

    # -- consent ----------------------------------------------------------------------------

    def subject_rows(self, index: EventIndex, dataset_id: int, address: str) -> dict[str, Any]:
        """The rows of public dataset ``dataset_id`` naming ``address`` in its declared
        subject column (at most :data:`MAX_SUBJECT_ROWS`), each ``{index, row, path}``,
        with the declaration (``column``, ``kind``; both None when undeclared).

        Raises NotFound (no such dataset), ValueError (not an address; a private dataset,
        whose rows cannot be opened on chain), ProofError (stored rows off the root).
        """
        from datasoil.flows.consent import public_rows
        from datasoil.protocol import consent

        if re.fullmatch(r"0x[0-9a-fA-F]{40}", address) is None:
            raise ValueError(f"address={address!r} is not 0x and 40 hex digits")
        everything = {d["id"]: d for d in index.datasets()}
        if dataset_id not in everything:
            raise NotFound(f"expected a registered dataset id, found {dataset_id}")
        declared = index.events("Consent", "SubjectsDeclared", dataset_id=dataset_id)
        if not declared:
            return {"column": None, "kind": None, "rows": []}
        column, kind = int(declared[0]["args"]["column"]), int(declared[0]["args"]["kind"])
        d = _Dataset(everything[dataset_id])
        if d.private:
            raise ValueError(
                f"dataset #{dataset_id} is private: its rows cannot be opened on chain, so "
                "only its owner can file a request"
            )
        found: list[dict[str, Any]] = []
        if kind != consent.ADDRESS_SUBJECT:
            return {"column": column, "kind": kind, "rows": found}
        encoded = public_rows(d, self.store)  # type: ignore[arg-type]
        wanted = int(address, 16)
        leaves = [merkle.leaf_hash(r) for r in encoded]
        for i, row in enumerate(encoded):
            try:
                named = consent.subject_value(row, column, kind)
            except DatasoilError:
                continue
            if named == wanted:
                path = merkle.inclusion_proof(leaves, i).path
                found.append(
                    {"index": i, "row": "0x" + row.hex(), "path": ["0x" + p.hex() for p in path]}
                )
                if len(found) == MAX_SUBJECT_ROWS:
                    break
        return {"column": column, "kind": kind, "rows": found}

    # -- was this row in the model? -------------------------------------------------------

    def _manifest(self, model: Mapping[str, Any]) -> mf.Manifest:
        try:
            data = b"".join(self.store.cat(cid_to_tuple(model["manifest_cid"]).to_cid()))
        except NotFound:
            raise NotFound(
                f"expected model #{model['id']}'s manifest {model['manifest_cid']} in the "
                "gateway's store, found nothing: pin it here or ask the trainer for a bundle"
            ) from None
        found = mf.loads(data)
        if "0x" + found.root.hex() != model["manifest_root"] or found.size != int(
            model["manifest_size"]
        ):
            raise ProofError(
                f"expected model #{model['id']}'s pinned manifest to give the registered root"
            )
        return found

    def _row_leaves(self, d: _Dataset) -> list[bytes]:
        from datasoil.flows import loader
        from datasoil.flows.models import dataset_leaves

        key = (d.id, d.content_cid)
        with self._lock:
            if key in self._leaves:
                self._leaves.move_to_end(key)
                return self._leaves[key]
        with tempfile.TemporaryDirectory(prefix="datasoil-gateway-rows-") as tmp:
            path, schema = loader.materialize(d, self.store, Path(tmp))
            leaves = dataset_leaves(path, schema)
        if len(leaves) != d.row_count or merkle.root(leaves) != d.row_root:
            raise ProofError(f"expected dataset #{d.id}'s stored rows to give its row root")
        with self._lock:
            self._leaves[key] = leaves
            while len(self._leaves) > _LEAF_CACHE:
                self._leaves.popitem(last=False)
        return leaves

    def _entry(self, manifest: mf.Manifest, d: _Dataset, row: int) -> Any:
        from datasoil.flows.models import EntryProof

        if not 0 <= row < d.row_count:
            raise ValueError(f"row {row} is not below dataset #{d.id}'s {d.row_count} rows")
        if manifest.position(d.id, row) is None:
            return EntryProof(d.id, row, absence=manifest.prove_absent(d.id, row))
        if d.private:
            raise NotFound(
                f"row {row} of private dataset #{d.id} is in the manifest, and its row proof "
                "needs the keyed row hashes only a key holder has: ask the trainer for a "
                f"bundle (`ape run model prove MODEL {d.id} {row}`) and check it here"
            )
        proof = merkle.inclusion_proof(self._row_leaves(d), row)
        return EntryProof(
            d.id, row, manifest.prove_row(d.id, row), None, proof, d.row_root, d.row_count
        )

    def row_bundle(
        self, index: EventIndex, model: Mapping[str, Any], dataset_id: int, row: int
    ) -> dict[str, Any]:
        """The row-proof bundle for row ``row`` of ``dataset_id`` in ``model``: direct, or
        through a cleaning claim whose child the model used when the dataset is not one of
        its ingredients. Raises NotFound, ValueError, ProofError."""
        from datasoil.flows.models import RowProof

        everything = {d["id"]: d for d in index.datasets()}
        if dataset_id not in everything:
            raise NotFound(f"expected a registered dataset id, found {dataset_id}")
        manifest = self._manifest(model)
        d = _Dataset(everything[dataset_id])
        direct = self._entry(manifest, d, row)
        hop = via = None
        used = {i["dataset_id"] for i in model["datasets"]}
        if dataset_id not in used:
            claim = next(
                (
                    c
                    for c in index.claims(dataset_id)
                    if int(c["args"]["parent_id"]) == dataset_id
                    and int(c["args"]["child_id"]) in used
                ),
                None,
            )
            if claim is not None:
                child = _Dataset(everything[int(claim["args"]["child_id"])])
                hop, out = self._hop(claim, d, child, row)
                if out is not None:
                    via = self._entry(manifest, child, out)
        bundle = RowProof(
            int(model["id"]),
            dataset_id,
            row,
            manifest.root,
            manifest.size,
            direct,
            hop,
            via,
        )
        problem = bundle.verify()
        if problem:
            raise ProofError(f"the proofs just built do not verify: {problem}")
        return bundle.to_json()

    def _hop(
        self, claim: Mapping[str, Any], parent: _Dataset, child: _Dataset, row: int
    ) -> tuple[Any, int | None]:
        """The fate record of input row ``row`` through ``claim`` (from the fate file in
        its pinned bundle, checked against the claim's fate root) and the child row it
        became (None: dropped)."""
        from datasoil.flows.models import Hop
        from datasoil.formats.fate import FATE_RECORD_SIZE

        a = claim["args"]
        proof_cid = catalog.cid_or_none(a["proof_cid"])
        fate_root = bytes.fromhex(str(a["fate_root"])[2:])
        with tempfile.TemporaryDirectory(prefix="datasoil-gateway-fates-") as tmp:
            target = Path(tmp) / "bundle"
            try:
                self.store.get(cid_to_tuple(str(proof_cid)).to_cid(), target)
                fates = (target / "fate.bin").read_bytes()
            except (NotFound, FileNotFoundError):
                raise NotFound(
                    f"expected claim #{a['claim_id']}'s fate file (bundle {proof_cid}) in the "
                    "gateway's store, found none"
                ) from None
        records = [fates[k : k + FATE_RECORD_SIZE] for k in range(0, len(fates), FATE_RECORD_SIZE)]
        leaves = [merkle.leaf_hash(r) for r in records]
        if len(records) != parent.row_count or merkle.root(leaves) != fate_root:
            raise ProofError(f"expected claim #{a['claim_id']}'s fate file to give its fate root")
        hop = Hop(
            int(a["claim_id"]),
            parent.id,
            child.id,
            row,
            fate_root,
            parent.row_count,
            child.row_count,
            records[row],
            merkle.inclusion_proof(leaves, row).path,
        )
        return hop, hop.output_index()

    # -- bill of materials ------------------------------------------------------------------

    def bom(self, index: EventIndex, model: Mapping[str, Any], fmt: str, chain: ChainFacts) -> str:
        """The model's BOM in ``fmt`` (spdx, cyclonedx, eu-summary), validated.

        Raises ValueError for an unknown format, BomError when the [bom] extra is missing.
        """
        from datasoil.flows import bom

        if fmt not in bom.FORMATS:
            raise ValueError(f"format={fmt!r} is not one of {', '.join(bom.FORMATS)}")
        everything = {d["id"]: d for d in index.datasets()}
        used = {i["dataset_id"]: i for i in model["datasets"]}
        order = list(used)
        for dataset_id in list(used):
            detail = index.dataset(dataset_id)
            order += [a for a in detail["ancestors"] if a not in order]
        facts = []
        for dataset_id in order:
            d = everything[dataset_id]
            doc = self.document(d["metadata_cid"]) or {}
            ingredient = used.get(dataset_id)
            facts.append(
                bom.DatasetFacts(
                    dataset_id,
                    str(doc.get("name") or f"dataset-{dataset_id}"),
                    str(doc.get("description") or ""),
                    d["content_cid"],
                    d["metadata_cid"],
                    bytes.fromhex(d["row_root"][2:]),
                    int(d["row_count"]),
                    int(ingredient["rows_used"]) if ingredient else 0,
                    bool(d["private"]),
                    d["license"],
                    d["owner"],
                    tuple(d["parents"]),
                    ingredient["receipt"] if ingredient else None,
                )
            )
        stamp = chain.timestamp(int(model["block"]))
        about = self.describe(model["config_cid"]) if model["config_cid"] else None
        found = bom.BomFacts(
            int(model["id"]),
            (about or {}).get("name") or f"datasoil-model-{model['id']}",
            model["owner"],
            model["weights_cid"] or "",
            model["manifest_cid"] or "",
            bytes.fromhex(model["manifest_root"][2:]),
            int(model["manifest_size"]),
            model["config_cid"],
            model["license"],
            tuple(model["parents"]),
            dt.datetime.fromtimestamp(stamp, dt.UTC),
            chain.chain_id,
            chain.models_address,
            tuple(facts),
            int(model["data_bps"]),
        )
        return bom.render(found, fmt)
