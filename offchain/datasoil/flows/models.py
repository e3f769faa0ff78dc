"""Models and what they were made of: register, read, sell, and "was my row in it?".

A model is registered on ModelRegistry (docs/models.md) with the root of its training
manifest (:mod:`datasoil.formats.manifest`), the datasets it used with their row roots
and counts, an access receipt for every private dataset the trainer does not own, its
parent models and the shares of each sale for the data and for the parents.
:func:`register` checks the manifest against its entries and against the registry, and
finds the receipts, before it sends anything, so a registration the contract would
refuse fails here with a sentence instead.

:func:`prove_row` answers "was row ``i`` of dataset ``d`` in model ``m``?" with a
:class:`RowProof` bundle: the manifest opening of ``(d, i)`` (inclusion, or the
sorted-neighbour absence proof) and, when present, the row's inclusion in ``d``'s row
root; optionally one lineage hop — the fate record of input row ``i`` of a cleaning
claim ``d -> c``, opened against the claim's fate root — and the same two proofs for the
row it became in ``c``. A bundle is JSON (:meth:`RowProof.to_json`), verified without a
chain by :meth:`RowProof.verify` (``datasoil model prove-row``) and against the chain's
views by :func:`verify_on_chain`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasoil.chain.tx import revert_reason, send
from datasoil.errors import ChainError, DatasoilError, ManifestError, NotFound, ProofError
from datasoil.flows import access
from datasoil.flows.audit import FATE_SIZE, fate_rules
from datasoil.formats import manifest as mf
from datasoil.formats import merkle
from datasoil.formats.cid import CidTuple, cid_to_tuple

if TYPE_CHECKING:
    from ape.api import AccountAPI
    from ape.contracts.base import ContractInstance

    from datasoil.chain.registry import Registry

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_DATASETS",
    "MAX_PARENTS",
    "Composition",
    "EntryProof",
    "Hop",
    "Ingredient",
    "Model",
    "RowProof",
    "all_models",
    "buy",
    "check_manifest",
    "claim_fates",
    "composition_of",
    "dataset_leaves",
    "find_receipts",
    "get",
    "leaves_for",
    "list_for_sale",
    "load_manifest",
    "prove_row",
    "register",
    "table_leaves",
    "verify_on_chain",
    "withdraw",
]

MAX_DATASETS = 8
MAX_PARENTS = 8
BPS = 10_000
#: The ``format`` field of a row-proof bundle.
BUNDLE_FORMAT = "datasoil.row-proof.v1"
_ZERO_CID = (0, b"\x00" * 32)


# -- value objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ingredient:
    """One dataset a model used: its id, the row root the manifest names, rows used."""

    dataset_id: int
    row_root: bytes
    rows_used: int

    def as_arg(self) -> tuple[int, bytes, int]:
        return (self.dataset_id, self.row_root, self.rows_used)


@dataclass(frozen=True)
class Composition:
    """What a model was made of (ModelRegistry's ``Composition``)."""

    datasets: tuple[Ingredient, ...]
    parents: tuple[int, ...] = ()
    data_bps: int = 0
    parents_bps: int = 0

    def as_arg(self) -> tuple[Any, ...]:
        """The struct as a contract call takes it."""
        return (
            [d.as_arg() for d in self.datasets],
            list(self.parents),
            self.data_bps,
            self.parents_bps,
        )

    @classmethod
    def from_event(cls, value: Any) -> Composition:
        """From a decoded ``ModelRegistered.composition`` (ape struct or tuple)."""

        def get(obj: Any, name: str, i: int) -> Any:
            return getattr(obj, name) if hasattr(obj, name) else obj[i]

        datasets = tuple(
            Ingredient(
                int(get(d, "dataset_id", 0)),
                bytes(get(d, "row_root", 1)),
                int(get(d, "rows_used", 2)),
            )
            for d in get(value, "datasets", 0)
        )
        return cls(
            datasets,
            tuple(int(p) for p in get(value, "parents", 1)),
            int(get(value, "data_bps", 2)),
            int(get(value, "parents_bps", 3)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "datasets": [
                {
                    "dataset_id": d.dataset_id,
                    "row_root": "0x" + d.row_root.hex(),
                    "rows_used": d.rows_used,
                }
                for d in self.datasets
            ],
            "parents": list(self.parents),
            "data_bps": self.data_bps,
            "parents_bps": self.parents_bps,
        }


@dataclass(frozen=True)
class Model:
    """A registered model, joined from storage (the owner may have moved) and its event."""

    id: int
    owner: str
    version_of: int
    weights_cid: str
    manifest_root: bytes
    manifest_cid: str
    manifest_size: int
    config_cid: str | None
    composition: Composition
    receipts: tuple[int, ...]
    license: str
    block: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner,
            "version_of": self.version_of,
            "weights_cid": self.weights_cid,
            "manifest_root": "0x" + self.manifest_root.hex(),
            "manifest_cid": self.manifest_cid,
            "manifest_size": self.manifest_size,
            "config_cid": self.config_cid,
            "composition": self.composition.to_json(),
            "receipts": list(self.receipts),
            "license": self.license,
            "block": self.block,
        }


def composition_of(
    manifest: mf.Manifest,
    *,
    parents: Sequence[int] = (),
    data_bps: int = 0,
    parents_bps: int = 0,
) -> Composition:
    """The composition a manifest gives (its datasets in order), with parents and shares.

    Raises ManifestError past the contract's bounds or when the shares exceed 100 %.
    """
    if len(manifest.uses) > MAX_DATASETS:
        raise ManifestError(
            f"expected at most {MAX_DATASETS} datasets in a model, found {len(manifest.uses)}"
        )
    ordered = tuple(sorted(set(int(p) for p in parents)))
    if len(ordered) > MAX_PARENTS:
        raise ManifestError(f"expected at most {MAX_PARENTS} parent models, found {len(ordered)}")
    if not (data_bps >= 0 and parents_bps >= 0 and data_bps + parents_bps <= BPS):
        raise ManifestError(
            f"expected data and parent shares summing to at most {BPS} bps, found "
            f"{data_bps} + {parents_bps}"
        )
    if parents_bps and not ordered:
        raise ManifestError("expected parent models for a parent share, found none")
    if data_bps and not manifest.uses:
        raise ManifestError("expected datasets for a data share, found an empty manifest")
    return Composition(
        tuple(Ingredient(u.dataset_id, u.row_root, u.rows_used) for u in manifest.uses),
        ordered,
        data_bps,
        parents_bps,
    )


# -- checks before sending --------------------------------------------------------------


def check_manifest(manifest: mf.Manifest | bytes | str, registry: Registry) -> mf.Manifest:
    """Check a manifest (or its document, whose root is recomputed from its entries)
    against the registry: every dataset exists with the row root and row count the
    manifest names. ``registry`` is a :class:`datasoil.chain.registry.Registry`.

    Raises ManifestError on a mismatch and NotFound for an unknown dataset.
    """
    parsed = manifest if isinstance(manifest, mf.Manifest) else mf.loads(manifest)
    for use in parsed.uses:
        dataset = registry.get(use.dataset_id)
        if dataset.row_root != use.row_root:
            raise ManifestError(
                f"dataset {use.dataset_id}: the manifest names row root 0x{use.row_root.hex()}, "
                f"the registry holds 0x{dataset.row_root.hex()}"
            )
        if dataset.row_count != use.row_count:
            raise ManifestError(
                f"dataset {use.dataset_id}: the manifest names {use.row_count} rows, the "
                f"registry holds {dataset.row_count}"
            )
    return parsed


def find_receipts(
    manifest: mf.Manifest,
    registry: Registry,
    market: ContractInstance | None,
    account: str,
    *,
    from_block: int = 0,
) -> list[tuple[int, access.Terms]]:
    """The access receipts a registration by ``account`` needs: for every private dataset
    of the manifest that ``account`` does not own, its latest purchase, checked delivered
    (or settled) and unexpired as the contract will check it.

    Raises ManifestError naming the dataset when no usable receipt exists.
    """
    receipts: list[tuple[int, access.Terms]] = []
    now = _now()
    for use in manifest.uses:
        dataset = registry.get(use.dataset_id)
        if not dataset.private or dataset.owner.lower() == account.lower():
            continue
        if market is None:
            raise ManifestError(
                f"dataset {use.dataset_id} is private: expected an AccessMarket to find a "
                "receipt, found none in the deployment"
            )
        pid = access.latest_purchase(market, use.dataset_id, account, from_block)
        if pid is None:
            raise ManifestError(
                f"dataset {use.dataset_id} is private: expected a purchase by {account} as a "
                "receipt, found none (run `ape run market buy` first)"
            )
        status = int(market.purchase(pid).status)
        if status not in (access.DELIVERED, access.RELEASED):
            raise ManifestError(
                f"dataset {use.dataset_id}: expected purchase #{pid} delivered or settled, "
                f"found status {status} (pending, objected or refunded)"
            )
        expiry = int(market.access_expiry(use.dataset_id, account))
        if expiry <= now:
            raise ManifestError(
                f"dataset {use.dataset_id}: expected access unexpired, it ended at {expiry}"
            )
        terms, _key = access.purchase_terms(market, pid, from_block)
        receipts.append((pid, terms))
    return receipts


def _now() -> int:
    from ape import chain

    return int(chain.blocks.head.timestamp)


def _packed(cid: str | None) -> tuple[int, bytes]:
    return _ZERO_CID if cid is None else cid_to_tuple(cid).as_abi()


def _cid_str(value: Any) -> str | None:
    t = CidTuple.from_abi(tuple(value))
    return None if t.digest == b"\x00" * 32 else str(t)


# -- writes -----------------------------------------------------------------------------


def register(
    manifest: mf.Manifest,
    *,
    models: ContractInstance,
    registry: Registry,
    market: ContractInstance | None,
    store: Any,
    sender: AccountAPI,
    weights_cid: str,
    license: str,
    config_cid: str | None = None,
    parents: Sequence[int] = (),
    data_bps: int = 0,
    parents_bps: int = 0,
    version_of: int = 0,
    from_block: int = 0,
) -> int:
    """Pin the manifest document, check it and the receipts, and register the model.

    ``registry`` is a :class:`datasoil.chain.registry.Registry`; ``models`` and
    ``market`` are ape contract instances. Returns the new model's id.

    Raises ManifestError (manifest, shares or receipts do not fit), NotFound (unknown
    dataset or parent model), ChainError (the contract refused, with its reason).
    """
    check_manifest(manifest, registry)
    composition = composition_of(
        manifest, parents=parents, data_bps=data_bps, parents_bps=parents_bps
    )
    count = int(models.model_count())
    for parent in [*composition.parents, *([version_of] if version_of else [])]:
        if not 1 <= parent <= count:
            raise NotFound(f"expected an existing model id (1..{count}), found {parent}")
    if len(license.encode()) > 64:
        raise ManifestError(f"expected a license of at most 64 bytes, found {license!r}")
    receipts = find_receipts(manifest, registry, market, str(sender.address), from_block=from_block)
    manifest_cid = str(store.add_bytes(manifest.dumps()))
    tx = send(
        "the model to be registered",
        models,
        "register_model",
        _packed(weights_cid),
        manifest.root,
        _packed(manifest_cid),
        _packed(config_cid),
        composition.as_arg(),
        [(pid, terms.as_arg()) for pid, terms in receipts],
        license,
        version_of,
        sender=sender,
    )
    (event,) = tx.decode_logs(models.ModelRegistered)
    return int(event.model_id)


def list_for_sale(
    models: ContractInstance,
    token: ContractInstance,
    model_id: int,
    *,
    price: int,
    duration: int,
    sender: AccountAPI,
) -> None:
    """List a licence to ``model_id`` at ``price`` (token base units) for ``duration`` s."""
    if price <= 0 or duration <= 0:
        raise ChainError(f"expected a positive price and duration, found {price}, {duration}")
    send(
        f"model #{model_id} to be listed",
        models,
        "list_model",
        model_id,
        token,
        price,
        duration,
        sender=sender,
    )


def buy(
    models: ContractInstance,
    token: ContractInstance,
    model_id: int,
    *,
    sender: AccountAPI,
    from_block: int = 0,
) -> tuple[int, list[tuple[str, int, int, int]]]:
    """Buy a licence to ``model_id`` at its listed price (approving it first).

    Returns the licence expiry and the sale's credits ``(account, dataset id, source
    model, amount)``. Raises NotFound for an unlisted model, ChainError on refusal.
    """
    listing = models.listing(model_id)
    if not listing.active:
        raise NotFound(f"expected an active listing of model #{model_id}, found none")
    model = get(models, model_id, from_block)
    price, duration = int(listing.price), int(listing.duration)
    send("the model price to be approved", token, "approve", models, price, sender=sender)
    tx = send(
        f"model #{model_id} to be bought",
        models,
        "buy_model",
        model_id,
        model.composition.as_arg(),
        token,
        price,
        duration,
        sender=sender,
    )
    (sold,) = tx.decode_logs(models.ModelSold)
    credits = [
        (str(c.account), int(c.dataset_id), int(c.source_model), int(c.amount))
        for c in tx.decode_logs(models.Credited)
    ]
    return int(sold.licence_expiry), credits


def withdraw(models: ContractInstance, token: ContractInstance, *, sender: AccountAPI) -> int:
    """Withdraw ``sender``'s model-sale credits in ``token``; return the amount (0: none)."""
    amount = int(models.credit(token, sender))
    if amount:
        send("the model credits to be withdrawn", models, "withdraw", token, sender=sender)
    return amount


# -- reads ------------------------------------------------------------------------------


def _model_from_event(models: ContractInstance, event: Any) -> Model:
    model_id = int(event.model_id)
    return Model(
        id=model_id,
        owner=str(models.owner_of(model_id)),
        version_of=int(event.version_of),
        weights_cid=str(_cid_str(event.weights_cid)),
        manifest_root=bytes(event.manifest_root),
        manifest_cid=str(_cid_str(event.manifest_cid)),
        manifest_size=int(event.manifest_size),
        config_cid=_cid_str(event.config_cid),
        composition=Composition.from_event(event.composition),
        receipts=tuple(int(r) for r in event.receipts),
        license=str(event.license),
        block=int(event.block_number),
    )


def get(models: ContractInstance, model_id: int, from_block: int = 0) -> Model:
    """Model ``model_id``; NotFound when it is not registered."""
    from datasoil.chain import event_logs

    if not models.exists(model_id):
        raise NotFound(
            f"expected a registered model id (1..{int(models.model_count())}), found {model_id}"
        )
    for event in event_logs(models.ModelRegistered, from_block, model_id=int(model_id)):
        return _model_from_event(models, event)
    raise NotFound(f"model {model_id} exists but its ModelRegistered event was not found")


def all_models(models: ContractInstance, from_block: int = 0) -> list[Model]:
    """Every registered model, by id."""
    from datasoil.chain import event_logs

    found = [_model_from_event(models, e) for e in event_logs(models.ModelRegistered, from_block)]
    return sorted(found, key=lambda m: m.id)


def load_manifest(model: Model, store: Any) -> mf.Manifest:
    """The model's pinned manifest document, checked against the on-chain root and size."""
    data = b"".join(store.cat(cid_to_tuple(model.manifest_cid).to_cid()))
    manifest = mf.loads(data)
    if manifest.root != model.manifest_root or manifest.size != model.manifest_size:
        raise ManifestError(
            f"model {model.id}: the pinned manifest gives root 0x{manifest.root.hex()} over "
            f"{manifest.size} entries, the chain holds 0x{model.manifest_root.hex()} over "
            f"{model.manifest_size}"
        )
    return manifest


# -- was my row in the model? -----------------------------------------------------------


def _hx(b: bytes) -> str:
    return "0x" + b.hex()


def _unhx(s: Any) -> bytes:
    return bytes.fromhex(str(s).removeprefix("0x"))


def _incl_json(p: mf.Inclusion | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "dataset_id": p.dataset_id,
        "row_index": p.row_index,
        "position": p.position,
        "path": [_hx(h) for h in p.path],
    }


def _incl_from(d: Any) -> mf.Inclusion | None:
    if d is None:
        return None
    return mf.Inclusion(
        int(d["dataset_id"]),
        int(d["row_index"]),
        int(d["position"]),
        tuple(_unhx(h) for h in d["path"]),
    )


@dataclass(frozen=True)
class EntryProof:
    """Whether entry ``(dataset_id, row_index)`` is in the manifest, proven either way;
    when it is, ``row`` proves that row in the dataset's row root (``row_root``,
    ``row_count`` as the registry holds them)."""

    dataset_id: int
    row_index: int
    inclusion: mf.Inclusion | None = None
    absence: mf.Absence | None = None
    row: merkle.InclusionProof | None = None
    row_root: bytes = b""
    row_count: int = 0

    @property
    def present(self) -> bool:
        return self.inclusion is not None

    def verify(self, root: bytes, size: int) -> str | None:
        """None when the proofs hold; else what failed."""
        key = (self.dataset_id, self.row_index)
        if self.inclusion is not None:
            if (self.inclusion.dataset_id, self.inclusion.row_index) != key:
                return f"the manifest opening is for another entry than {key}"
            if not mf.verify_row(root, size, self.inclusion):
                return f"the manifest opening of {key} does not verify against the model's root"
            if self.row is None:
                return f"no row-root inclusion proof for row {self.row_index}"
            if self.row.index != self.row_index or self.row.size != self.row_count:
                return "the row proof names another index or size than the registry's"
            try:
                merkle.verify_inclusion(self.row, self.row_root)
            except ProofError as exc:
                return f"the row proof does not verify against dataset {self.dataset_id}: {exc}"
            return None
        if self.absence is None:
            return f"neither an inclusion nor an absence proof for {key}"
        if (self.absence.dataset_id, self.absence.row_index) != key:
            return f"the absence proof is for another entry than {key}"
        if not mf.verify_absent(root, size, self.absence):
            return f"the absence proof of {key} does not verify against the model's root"
        return None

    def to_json(self) -> dict[str, Any]:
        a = self.absence
        return {
            "dataset_id": self.dataset_id,
            "row_index": self.row_index,
            "inclusion": _incl_json(self.inclusion),
            "absence": None
            if a is None
            else {"position": a.position, "left": _incl_json(a.left), "right": _incl_json(a.right)},
            "row": None if self.row is None else self.row.to_json(),
            "row_root": _hx(self.row_root),
            "row_count": self.row_count,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EntryProof:
        a = d.get("absence")
        ds, ri = int(d["dataset_id"]), int(d["row_index"])
        return cls(
            ds,
            ri,
            _incl_from(d.get("inclusion")),
            None
            if a is None
            else mf.Absence(
                ds, ri, int(a["position"]), _incl_from(a["left"]), _incl_from(a["right"])
            ),
            None if d.get("row") is None else merkle.InclusionProof.from_json(d["row"]),
            _unhx(d.get("row_root", "0x")),
            int(d.get("row_count", 0)),
        )


@dataclass(frozen=True)
class Hop:
    """One lineage step: the fate record of input row ``row_index`` of cleaning claim
    ``claim_id`` (``parent_id -> child_id``), opened against the claim's fate root."""

    claim_id: int
    parent_id: int
    child_id: int
    row_index: int
    fate_root: bytes
    rows_in: int
    rows_out: int
    fate: bytes
    path: tuple[bytes, ...]

    def output_index(self) -> int | None:
        """The child row the input row became (None: dropped). Raises ProofError when
        the record breaks the fate rules."""
        ok, out = fate_rules(self.fate, self.row_index, self.rows_in, self.rows_out)
        if not ok:
            raise ProofError(f"fate record of input row {self.row_index} breaks the fate rules")
        return out

    def verify(self) -> str | None:
        proof = merkle.InclusionProof(
            self.row_index, self.rows_in, merkle.leaf_hash(self.fate), self.path, self.fate_root
        )
        try:
            merkle.verify_inclusion(proof, self.fate_root)
            self.output_index()
        except ProofError as exc:
            return f"the fate record of claim #{self.claim_id} does not verify: {exc}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "parent_id": self.parent_id,
            "child_id": self.child_id,
            "row_index": self.row_index,
            "fate_root": _hx(self.fate_root),
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "fate": _hx(self.fate),
            "path": [_hx(h) for h in self.path],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Hop:
        return cls(
            int(d["claim_id"]),
            int(d["parent_id"]),
            int(d["child_id"]),
            int(d["row_index"]),
            _unhx(d["fate_root"]),
            int(d["rows_in"]),
            int(d["rows_out"]),
            _unhx(d["fate"]),
            tuple(_unhx(h) for h in d["path"]),
        )


@dataclass(frozen=True)
class RowProof:
    """The answer to "was row ``row_index`` of dataset ``dataset_id`` in model
    ``model_id``?", with its proofs; the roots and sizes are the chain's, read when the
    bundle was made (:func:`verify_on_chain` re-checks them against the chain)."""

    model_id: int
    dataset_id: int
    row_index: int
    manifest_root: bytes
    manifest_size: int
    direct: EntryProof
    hop: Hop | None = None
    via: EntryProof | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def used(self) -> bool:
        """The verdict the proofs give: the row, or the row it became, is in the manifest."""
        return self.direct.present or (self.via is not None and self.via.present)

    def verify(self) -> str | None:
        """None when every proof in the bundle holds; else the first failure."""
        if (self.direct.dataset_id, self.direct.row_index) != (self.dataset_id, self.row_index):
            return "the bundle's direct proof is for another row"
        problem = self.direct.verify(self.manifest_root, self.manifest_size)
        if problem or self.hop is None:
            return problem
        if (self.hop.parent_id, self.hop.row_index) != (self.dataset_id, self.row_index):
            return "the lineage hop starts from another row"
        problem = self.hop.verify()
        if problem:
            return problem
        out = self.hop.output_index()
        if out is None:
            return None if self.via is None else "a dropped row has no row in the child"
        if self.via is None or (self.via.dataset_id, self.via.row_index) != (
            self.hop.child_id,
            out,
        ):
            return f"expected a proof for row {out} of dataset {self.hop.child_id}"
        return self.via.verify(self.manifest_root, self.manifest_size)

    def describe(self) -> str:
        """One sentence: the verdict and how it is known."""
        what = f"row {self.row_index} of dataset #{self.dataset_id}"
        if self.direct.present:
            position = self.direct.inclusion.position  # type: ignore[union-attr]
            return f"yes: {what} is entry {position} of model #{self.model_id}'s manifest"
        if self.hop is None:
            return (
                f"no: {what} is not in model #{self.model_id}'s manifest (sorted-neighbour proof)"
            )
        out = self.hop.output_index()
        if out is None:
            return (
                f"no: {what} is not in model #{self.model_id}'s manifest, and claim "
                f"#{self.hop.claim_id}'s fate record shows it dropped from #{self.hop.child_id}"
            )
        if self.via is not None and self.via.present:
            return (
                f"yes: {what} became row {out} of #{self.hop.child_id} (claim "
                f"#{self.hop.claim_id}'s fate record), entry {self.via.inclusion.position} "  # type: ignore[union-attr]
                f"of model #{self.model_id}'s manifest"
            )
        return (
            f"no: {what} became row {out} of #{self.hop.child_id}, which is not in model "
            f"#{self.model_id}'s manifest either"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "model_id": self.model_id,
            "dataset_id": self.dataset_id,
            "row_index": self.row_index,
            "manifest_root": _hx(self.manifest_root),
            "manifest_size": self.manifest_size,
            "used": self.used,
            "direct": self.direct.to_json(),
            "hop": None if self.hop is None else self.hop.to_json(),
            "via": None if self.via is None else self.via.to_json(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads(cls, data: bytes | str) -> RowProof:
        """Parse a bundle. Raises ProofError when it is not one."""
        try:
            d = json.loads(data)
            if d.get("format") != BUNDLE_FORMAT:
                raise ProofError(
                    f"expected a {BUNDLE_FORMAT!r} bundle, found format {d.get('format')!r}"
                )
            return cls(
                int(d["model_id"]),
                int(d["dataset_id"]),
                int(d["row_index"]),
                _unhx(d["manifest_root"]),
                int(d["manifest_size"]),
                EntryProof.from_json(d["direct"]),
                None if d.get("hop") is None else Hop.from_json(d["hop"]),
                None if d.get("via") is None else EntryProof.from_json(d["via"]),
            )
        except ProofError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProofError(f"row-proof bundle: malformed ({exc})") from exc


def _entry_proof(
    manifest: mf.Manifest,
    registry: Registry,
    dataset_id: int,
    row_index: int,
    leaves: Mapping[int, Sequence[bytes]],
) -> EntryProof:
    dataset = registry.get(dataset_id)
    if row_index >= dataset.row_count:
        raise ProofError(
            f"expected a row index below dataset #{dataset_id}'s {dataset.row_count} rows, "
            f"found {row_index}"
        )
    if manifest.position(dataset_id, row_index) is None:
        return EntryProof(
            dataset_id, row_index, absence=manifest.prove_absent(dataset_id, row_index)
        )
    inclusion = manifest.prove_row(dataset_id, row_index)
    if dataset_id not in leaves:
        raise NotFound(
            f"row {row_index} of dataset #{dataset_id} is in the manifest: expected the "
            "dataset's rows (its leaf hashes) to prove it in the row root, found none"
        )
    hashes = list(leaves[dataset_id])
    if merkle.root(hashes) != dataset.row_root or len(hashes) != dataset.row_count:
        raise ProofError(
            f"expected dataset #{dataset_id}'s rows to give its row root 0x{dataset.row_root.hex()}"
        )
    row = merkle.inclusion_proof(hashes, row_index)
    return EntryProof(
        dataset_id, row_index, inclusion, None, row, dataset.row_root, dataset.row_count
    )


def claim_fates(proofs: ContractInstance, store: Any, claim_id: int, from_block: int = 0) -> bytes:
    """The fate file of cleaning claim ``claim_id``: ``fate.bin`` of the claim bundle its
    proof CID names (:func:`datasoil.flows.claims.pin_bundle`), fetched verified from
    ``store``; :func:`prove_row` checks it against the claim's fate root.

    Raises NotFound when the bundle holds no ``fate.bin``, and what reading the claim and
    fetching the bundle raise.
    """
    import tempfile

    from datasoil.flows.claims import claim_documents

    proof_cid = claim_documents(proofs, claim_id, from_block)["proof_cid"]
    with tempfile.TemporaryDirectory(prefix="datasoil-fates-") as tmp:
        bundle = Path(tmp) / "bundle"
        store.get(cid_to_tuple(proof_cid).to_cid(), bundle)
        try:
            return (bundle / "fate.bin").read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"expected fate.bin in claim #{claim_id}'s bundle {proof_cid}, found none"
            ) from None


def prove_row(
    model_id: int,
    dataset_id: int,
    row_index: int,
    *,
    models: ContractInstance,
    registry: Registry,
    store: Any,
    leaves: Mapping[int, Sequence[bytes]] | None = None,
    proofs: ContractInstance | None = None,
    claim_id: int | None = None,
    fates: bytes | None = None,
    from_block: int = 0,
) -> RowProof:
    """Prove whether row ``row_index`` of dataset ``dataset_id`` was in model ``model_id``.

    The manifest is read from the store and checked against the chain. ``leaves`` maps a
    dataset id to its leaf hashes (keyed for a private dataset), needed for a dataset
    whose row is in the manifest. With ``claim_id`` (a cleaning claim on ``proofs``
    whose parent is ``dataset_id``) and its fate file ``fates`` (when not given, fetched
    from the claim's bundle in ``store``: :func:`claim_fates`), the bundle also follows
    the row into the claim's child. Raises ProofError, NotFound, ManifestError.
    """
    from datasoil.flows import audit

    leaves = leaves or {}
    model = get(models, model_id, from_block)
    manifest = load_manifest(model, store)
    direct = _entry_proof(manifest, registry, dataset_id, row_index, leaves)
    hop = via = None
    if claim_id is not None:
        if proofs is None:
            raise ProofError("expected the claims contract for a hop through a claim")
        claim = audit.read_claim(proofs, claim_id)
        if claim.parent_id != dataset_id:
            raise ProofError(
                f"expected claim #{claim_id} to clean dataset #{dataset_id}, it cleans "
                f"#{claim.parent_id}"
            )
        parent, child = registry.get(claim.parent_id), registry.get(claim.child_id)
        if fates is None:
            fates = claim_fates(proofs, store, claim_id, from_block)
        records = [fates[k : k + FATE_SIZE] for k in range(0, len(fates), FATE_SIZE)]
        fate_leaves = [merkle.leaf_hash(r) for r in records]
        if merkle.root(fate_leaves) != claim.fate_root or len(records) != parent.row_count:
            raise ProofError(f"expected the fate file to give claim #{claim_id}'s fate root")
        path = merkle.inclusion_proof(fate_leaves, row_index).path
        hop = Hop(
            claim_id,
            parent.id,
            child.id,
            row_index,
            claim.fate_root,
            parent.row_count,
            child.row_count,
            records[row_index],
            path,
        )
        out = hop.output_index()
        if out is not None:
            via = _entry_proof(manifest, registry, child.id, out, leaves)
    bundle = RowProof(
        model.id, dataset_id, row_index, model.manifest_root, model.manifest_size, direct, hop, via
    )
    problem = bundle.verify()
    if problem:
        raise ProofError(f"the proofs just built do not verify: {problem}")
    return bundle


def _verify_entry_on_chain(
    models: ContractInstance, registry: Registry, model_id: int, p: EntryProof
) -> bool:
    if p.inclusion is not None:
        if bytes(registry.contract.row_root(p.dataset_id)) != p.row_root:
            return False
        if int(registry.contract.row_count(p.dataset_id)) != p.row_count:
            return False
        return bool(
            models.verify_row(
                model_id, p.dataset_id, p.row_index, p.inclusion.position, list(p.inclusion.path)
            )
        )
    assert p.absence is not None
    a = p.absence

    def nb(x: mf.Inclusion | None) -> tuple[int, int, list[bytes]]:
        return (0, 0, []) if x is None else (x.dataset_id, x.row_index, list(x.path))

    return bool(
        models.verify_row_absent(
            model_id, p.dataset_id, p.row_index, a.position, nb(a.left), nb(a.right)
        )
    )


def verify_on_chain(
    bundle: RowProof,
    *,
    models: ContractInstance,
    registry: Registry,
    proofs: ContractInstance | None = None,
) -> None:
    """Check a bundle against the chain: its manifest openings with ModelRegistry's views,
    its row roots and counts with the registry's, its hop's fate root with the claim's.

    Raises ProofError naming what the chain does not confirm.
    """
    if (
        bytes(models.manifest_root(bundle.model_id)) != bundle.manifest_root
        or int(models.manifest_size(bundle.model_id)) != bundle.manifest_size
    ):
        raise ProofError(f"model #{bundle.model_id}: the chain holds another manifest root")
    problem = bundle.verify()
    if problem:
        raise ProofError(problem)
    for p in (bundle.direct, bundle.via):
        if p is not None and not _verify_entry_on_chain(models, registry, bundle.model_id, p):
            raise ProofError(
                f"ModelRegistry does not confirm the proof for row {p.row_index} of #{p.dataset_id}"
            )
    if bundle.hop is not None:
        from datasoil.flows import audit

        if proofs is None:
            raise ProofError("expected the claims contract to check the lineage hop")
        if audit.read_claim(proofs, bundle.hop.claim_id).fate_root != bundle.hop.fate_root:
            raise ProofError(f"claim #{bundle.hop.claim_id} holds another fate root")


def dataset_leaves(path: Path, schema: Any, key: bytes | None = None) -> list[bytes]:
    """The leaf hashes of a dataset file (``key``: a private dataset's row-hash key)."""
    from datasoil.formats import rows

    return [h for batch in rows.dataset_leaf_hashes(path, schema, key) for h in batch]


def table_leaves(table: Any, schema: Any, key: bytes | None = None) -> list[bytes]:
    """The leaf hashes of a pyarrow table read under ``schema`` (e.g. ``datasoil.load``)."""
    from datasoil.formats import rows

    return [h for batch in table.to_batches() for h in rows.batch_leaf_hashes(batch, schema, key)]


def leaves_for(
    dataset_id: int,
    *,
    registry: Registry,
    store: Any,
    account: AccountAPI | None = None,
    market: access.Market | None = None,
    path: Path | None = None,
) -> list[bytes]:
    """The leaf hashes of dataset ``dataset_id`` (keyed when private), from its file at
    ``path`` or else loaded and verified (:func:`datasoil.flows.loader.load`, through
    ``account``'s purchase for a private dataset). Raises what loading raises, and
    NotFound when no key to a private dataset is at hand."""
    from datasoil.flows import loader
    from datasoil.formats import crypto
    from datasoil.formats.croissant import schema_of

    dataset = registry.get(dataset_id)
    key = None
    if dataset.private:
        content_key = loader.content_key_for(dataset, account=account, market=market)
        if content_key is None:
            raise NotFound(f"expected the content key of private dataset #{dataset_id}, found none")
        key = crypto.row_hmac_key(content_key)
    schema = schema_of(loader.metadata(store, dataset.metadata_cid))
    if path is not None:
        return dataset_leaves(Path(path), schema, key)
    table = loader.load(dataset_id, registry=registry, store=store, account=account, market=market)
    return table_leaves(table, schema, key)


def error_line(exc: BaseException) -> str:
    """A DatasoilError's message, or the exception's first line."""
    if isinstance(exc, DatasoilError):
        return str(exc)
    return revert_reason(exc)
