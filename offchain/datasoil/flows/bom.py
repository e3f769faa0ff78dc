"""AI bills of materials for a registered model: SPDX 3.0.1, CycloneDX 1.6, EU summary.

:func:`gather` reads what datasoil knows of a model from the chain and the store — the
ModelRegistry record (weights, manifest root and CID, datasets with their row roots and
rows used, receipts, parents, licence), each dataset's registry record, Croissant
metadata and lineage — into :class:`BomFacts`. :func:`render` writes one format from
them, each built and validated with a maintained library:

* ``cyclonedx``: a CycloneDX 1.6 ML-BOM (a ``machine-learning-model`` component that
  depends on its ``data`` components, which depend on their ancestors), built with
  cyclonedx-python-lib and validated by its strict JSON-schema validator;
* ``spdx``: an SPDX 3.0.1 JSON-LD document with the AI and Dataset profiles (an
  ``ai_AIPackage`` ``trainedOn`` its ``dataset_DatasetPackage``s, ``descendantOf`` their
  parents), built with spdx-python-model (the SPDX project's bindings generated from the
  3.0.1 SHACL model, which check every property's type and cardinality) and read back
  with its JSON-LD deserializer;
* ``eu-summary``: the public summary of training content of the Commission's July 2025
  template (AI Act Art. 53(1)(d)), as JSON: what datasoil knows is filled, every other
  field reads :data:`PROVIDER` for the provider to complete; checked against
  :data:`EU_SUMMARY_SCHEMA` with jsonschema.

The libraries are the ``[bom]`` extra. The "trained on" facts are what the registry
checked (rows of registered datasets, access receipts) — not proof that the weights came
from them (docs/models.md, the honest limit); each format says so in a comment field.
Rows of the manifest whose subjects asked to withdraw them (docs/consent.md), as
ModelRegistry's ``row_withdrawal`` confirms them, are listed on the model and on each
dataset: the model was trained with them, and withdrawing them from the data does not
remove them from its weights.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from datasoil.errors import BomError, DatasoilError

__all__ = [
    "EU_SUMMARY_SCHEMA",
    "FORMATS",
    "PROVIDER",
    "BomFacts",
    "DatasetFacts",
    "cyclonedx",
    "eu_summary",
    "gather",
    "render",
    "spdx",
]

FORMATS = ("spdx", "cyclonedx", "eu-summary")
#: The value of every EU-summary field datasoil cannot know.
PROVIDER = "TO BE COMPLETED BY THE PROVIDER"
_LIMIT = (
    "datasoil checked on chain that the manifest names registered rows of these datasets "
    "and that the trainer held access to them; it does not prove the weights were trained "
    "on them (docs/models.md)."
)
_WITHDRAWAL_LIMIT = (
    "These rows were withdrawn by their subjects (or the data's owner) after or before "
    "training: datasoil excludes them from data sold from now on; it does not remove what "
    "the weights learnt from them (docs/consent.md)."
)


@dataclass(frozen=True)
class DatasetFacts:
    """One dataset of the model, or an ancestor of one (``rows_used`` 0)."""

    id: int
    name: str
    description: str
    content_cid: str
    metadata_cid: str
    row_root: bytes
    row_count: int
    rows_used: int
    private: bool
    license: str
    owner: str
    parents: tuple[int, ...]
    receipt: int | None = None
    withdrawn: tuple[tuple[int, str], ...] = ()
    """Manifest rows of this dataset with a withdrawal request: (row, open/answered/moved)."""


@dataclass(frozen=True)
class BomFacts:
    """What the BOMs say about one model, all read from the chain and pinned metadata."""

    model_id: int
    name: str
    owner: str
    weights_cid: str
    manifest_cid: str
    manifest_root: bytes
    manifest_size: int
    config_cid: str | None
    license: str
    parents: tuple[int, ...]
    registered: dt.datetime
    chain_id: int
    models_address: str
    datasets: tuple[DatasetFacts, ...]  # used, then ancestors
    data_bps: int = 0

    def used(self) -> list[DatasetFacts]:
        return [d for d in self.datasets if d.rows_used]

    def withdrawn(self) -> list[str]:
        """Every manifest row with a withdrawal request, as ``#dataset:row (state)``."""
        return [f"#{d.id}:{row} ({state})" for d in self.datasets for row, state in d.withdrawn]


def gather(
    model_id: int,
    *,
    models: Any,
    registry: Any,
    store: Any,
    market: Any,
    chain_id: int,
    from_block: int = 0,
    name: str | None = None,
    consent: Any = None,
) -> BomFacts:
    """Read model ``model_id``'s facts: the model, its datasets and their ancestors, and
    with ``consent`` (the market's Consent contract) the manifest rows with withdrawal
    requests (:func:`datasoil.flows.consent.model_withdrawals`)."""
    from datasoil.chain import web3
    from datasoil.flows import loader
    from datasoil.flows import models as flow

    model = flow.get(models, model_id, from_block)
    from datasoil.flows import access

    receipts: dict[int, int] = {}
    for pid in model.receipts:
        terms, _key = access.purchase_terms(market, pid, from_block)
        receipts[terms.dataset_id] = pid
    withdrawn: dict[int, list[tuple[int, str]]] = {}
    if consent is not None:
        from datasoil.flows.consent import model_withdrawals

        manifest = flow.load_manifest(model, store)
        for row in model_withdrawals(models, consent, model.id, manifest, from_block):
            withdrawn.setdefault(row.dataset_id, []).append((row.row_index, row.state))
    used = {i.dataset_id: i.rows_used for i in model.composition.datasets}
    order = list(used)
    for dataset_id in list(used):
        order += [a for a in registry.ancestors(dataset_id) if a not in order]
    facts = []
    for dataset_id in order:
        d = registry.get(dataset_id)
        try:
            meta = loader.metadata(store, d.metadata_cid)
        except DatasoilError:
            meta = {}
        facts.append(
            DatasetFacts(
                d.id,
                str(meta.get("name") or f"dataset-{d.id}"),
                str(meta.get("description") or ""),
                d.content_cid,
                d.metadata_cid,
                d.row_root,
                d.row_count,
                used.get(d.id, 0),
                d.private,
                d.license,
                d.owner,
                d.parents,
                receipts.get(d.id),
                tuple(withdrawn.get(d.id, ())),
            )
        )
    stamp = int(web3().eth.get_block(model.block)["timestamp"])
    return BomFacts(
        model.id,
        name or f"datasoil-model-{model.id}",
        model.owner,
        model.weights_cid,
        model.manifest_cid,
        model.manifest_root,
        model.manifest_size,
        model.config_cid,
        model.license,
        model.composition.parents,
        dt.datetime.fromtimestamp(stamp, dt.UTC),
        chain_id,
        str(models.address),
        tuple(facts),
        model.composition.data_bps,
    )


def render(facts: BomFacts, fmt: str) -> str:
    """The BOM of ``facts`` in ``fmt`` (one of :data:`FORMATS`), validated, as text."""
    if fmt == "cyclonedx":
        return cyclonedx(facts)
    if fmt == "spdx":
        return spdx(facts)
    if fmt == "eu-summary":
        return json.dumps(eu_summary(facts), indent=2, sort_keys=True) + "\n"
    raise BomError(f"expected a BOM format among {FORMATS}, found {fmt!r}")


def _require(module: str) -> None:
    raise BomError(f"expected {module} for the BOM export, found none: pip install 'datasoil[bom]'")


def _props(facts: BomFacts) -> dict[str, str]:
    return {
        "datasoil:chain_id": str(facts.chain_id),
        "datasoil:model_registry": facts.models_address,
        "datasoil:model_id": str(facts.model_id),
        "datasoil:manifest_root": "0x" + facts.manifest_root.hex(),
        "datasoil:manifest_size": str(facts.manifest_size),
        "datasoil:manifest_cid": facts.manifest_cid,
        "datasoil:data_share_bps": str(facts.data_bps),
        "datasoil:limit": _LIMIT,
        **({"datasoil:config_cid": facts.config_cid} if facts.config_cid else {}),
        **(
            {
                "datasoil:withdrawn_rows": ", ".join(facts.withdrawn()),
                "datasoil:withdrawal_limit": _WITHDRAWAL_LIMIT,
            }
            if facts.withdrawn()
            else {}
        ),
    }


def _dataset_props(d: DatasetFacts) -> dict[str, str]:
    out = {
        "datasoil:dataset_id": str(d.id),
        "datasoil:row_root": "0x" + d.row_root.hex(),
        "datasoil:row_count": str(d.row_count),
        "datasoil:rows_used": str(d.rows_used),
        "datasoil:private": str(d.private).lower(),
        "datasoil:metadata_cid": d.metadata_cid,
        "datasoil:owner": d.owner,
    }
    if d.receipt is not None:
        out["datasoil:access_receipt"] = str(d.receipt)
    if d.withdrawn:
        out["datasoil:withdrawn_rows"] = ", ".join(f"{row} ({state})" for row, state in d.withdrawn)
    return out


# -- CycloneDX 1.6 ------------------------------------------------------------------------


def cyclonedx(facts: BomFacts) -> str:
    """The CycloneDX 1.6 ML-BOM JSON, validated against the 1.6 JSON schema (strict)."""
    try:
        from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.model.license import LicenseExpression
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        _require("cyclonedx-python-lib")

    def props(values: dict[str, str]) -> list[Any]:
        return [Property(name=k, value=v) for k, v in values.items()]

    def ipfs(cid: str, comment: str) -> Any:
        return ExternalReference(
            type=ExternalReferenceType.DISTRIBUTION, url=XsUri(f"ipfs://{cid}"), comment=comment
        )

    model = Component(
        name=facts.name,
        version=str(facts.model_id),
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=f"model-{facts.model_id}",
        description=f"datasoil model #{facts.model_id} on chain {facts.chain_id}",
        licenses=[LicenseExpression(facts.license)],
        external_references=[
            ipfs(facts.weights_cid, "weights"),
            ipfs(facts.manifest_cid, "training manifest (datasoil.manifest.v1)"),
        ],
        properties=props(_props(facts)),
    )
    bom = Bom()
    bom.metadata.component = model
    bom.metadata.timestamp = facts.registered
    parts: dict[int, Any] = {}
    for d in facts.datasets:
        parts[d.id] = Component(
            name=d.name,
            version=str(d.id),
            type=ComponentType.DATA,
            bom_ref=f"dataset-{d.id}",
            description=d.description or None,
            licenses=[LicenseExpression(d.license)] if d.license else [],
            external_references=[ipfs(d.content_cid, "content (ciphertext if private)")],
            properties=props(_dataset_props(d)),
        )
        bom.components.add(parts[d.id])
    for parent in facts.parents:
        parts[-parent] = Component(
            name=f"datasoil-model-{parent}",
            version=str(parent),
            type=ComponentType.MACHINE_LEARNING_MODEL,
            bom_ref=f"model-{parent}",
        )
        bom.components.add(parts[-parent])
    bom.register_dependency(
        model, [parts[d.id] for d in facts.used()] + [parts[-p] for p in facts.parents]
    )
    for d in facts.datasets:
        if d.parents:
            bom.register_dependency(parts[d.id], [parts[p] for p in d.parents if p in parts])
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise BomError(f"CycloneDX 1.6: the BOM does not validate: {error}")
    return text + "\n"


# -- SPDX 3.0.1 ----------------------------------------------------------------------------


def spdx(facts: BomFacts) -> str:
    """The SPDX 3.0.1 JSON-LD document (AI and Dataset profiles), read back to check."""
    try:
        from spdx_python_model import v3_0_1 as s
    except ImportError:
        _require("spdx-python-model")

    base = f"urn:datasoil:{facts.chain_id}:{facts.models_address.lower()}"
    creator = s.Tool(spdxId=f"{base}:tool", name="datasoil")
    owner = s.Agent(spdxId=f"{base}:agent:{facts.owner.lower()}", name=facts.owner)
    info = s.CreationInfo(specVersion="3.0.1", created=facts.registered, createdBy=[owner])
    info.createdUsing = [creator]
    elements: list[Any] = [creator, owner]
    for element in elements:
        element.creationInfo = info

    def add(obj: Any) -> Any:
        obj.creationInfo = info
        elements.append(obj)
        return obj

    model = add(
        s.ai_AIPackage(
            spdxId=f"{base}:model:{facts.model_id}",
            name=facts.name,
            software_packageVersion=str(facts.model_id),
            software_downloadLocation=f"ipfs://{facts.weights_cid}",
            software_primaryPurpose=s.software_SoftwarePurpose.model,
            releaseTime=facts.registered,
            suppliedBy=owner,
            ai_informationAboutTraining=(
                f"Training manifest ipfs://{facts.manifest_cid} (datasoil.manifest.v1), RFC 9162 "
                f"root 0x{facts.manifest_root.hex()} over {facts.manifest_size} rows, held by "
                f"ModelRegistry {facts.models_address} on chain {facts.chain_id}."
            ),
            comment=_LIMIT,
        )
    )
    datasets: dict[int, Any] = {}
    for d in facts.datasets:
        datasets[d.id] = add(
            s.dataset_DatasetPackage(
                spdxId=f"{base}:dataset:{d.id}",
                name=d.name,
                software_packageVersion=str(d.id),
                software_downloadLocation=f"ipfs://{d.content_cid}",
                software_primaryPurpose=s.software_SoftwarePurpose.data,
                releaseTime=facts.registered,
                builtTime=facts.registered,
                originatedBy=[s.Agent(spdxId=f"{base}:agent:{d.owner.lower()}", name=d.owner)]
                if d.owner.lower() != facts.owner.lower()
                else [owner],
                dataset_datasetType=[s.dataset_DatasetType.structured],
                dataset_datasetAvailability=s.dataset_DatasetAvailabilityType.clickthrough
                if d.private
                else s.dataset_DatasetAvailabilityType.directDownload,
                comment=" ".join(f"{k}={v}" for k, v in _dataset_props(d).items()),
            )
        )
        if d.description:
            datasets[d.id].description = d.description
        for agent in datasets[d.id].originatedBy:
            if agent is not owner and agent not in elements:
                add(agent)

    def relate(n: int, source: Any, kind: Any, targets: list[Any]) -> None:
        if targets:
            add(
                s.Relationship(
                    spdxId=f"{base}:rel:{facts.model_id}:{n}",
                    from_=source,
                    relationshipType=kind,
                    to=targets,
                )
            )

    used = [datasets[d.id] for d in facts.used()]
    relate(0, model, s.RelationshipType.trainedOn, used)
    n = 1
    for d in facts.datasets:
        relate(
            n,
            datasets[d.id],
            s.RelationshipType.descendantOf,
            [datasets[p] for p in d.parents if p in datasets],
        )
        n += 1
    if facts.parents:
        parents = [
            add(
                s.ai_AIPackage(
                    spdxId=f"{base}:model:{p}",
                    name=f"datasoil-model-{p}",
                    software_packageVersion=str(p),
                    software_downloadLocation="NOASSERTION",
                    software_primaryPurpose=s.software_SoftwarePurpose.model,
                    releaseTime=facts.registered,
                    suppliedBy=owner,
                )
            )
            for p in facts.parents
        ]
        relate(n, model, s.RelationshipType.descendantOf, parents)
        n += 1
    licence = add(
        s.simplelicensing_LicenseExpression(
            spdxId=f"{base}:license:{facts.model_id}",
            simplelicensing_licenseExpression=facts.license,
        )
    )
    relate(n, model, s.RelationshipType.hasDeclaredLicense, [licence])
    document = s.SpdxDocument(
        spdxId=f"{base}:document:{facts.model_id}",
        name=f"AI BOM of {facts.name}",
        creationInfo=info,
        rootElement=[model],
        element=list(elements),
        profileConformance=[
            s.ProfileIdentifierType.core,
            s.ProfileIdentifierType.software,
            s.ProfileIdentifierType.ai,
            s.ProfileIdentifierType.dataset,
            s.ProfileIdentifierType.simpleLicensing,
        ],
    )
    objects = s.SHACLObjectSet([document, *elements])
    missing = objects.link()
    if missing:
        raise BomError(f"SPDX 3.0.1: unresolved references {sorted(missing)}")
    buf = io.BytesIO()
    try:
        s.JSONLDSerializer().write(objects, buf, indent=2)
        back = s.SHACLObjectSet()
        s.JSONLDDeserializer().read(io.BytesIO(buf.getvalue()), back)
    except (ValueError, TypeError) as exc:
        raise BomError(f"SPDX 3.0.1: the document does not validate: {exc}") from exc
    if len(list(back.foreach_type(s.ai_AIPackage))) != 1 + len(facts.parents):
        raise BomError("SPDX 3.0.1: the document did not read back whole")
    return buf.getvalue().decode() + "\n"


# -- EU training-content summary ---------------------------------------------------------

#: The structure of the July 2025 template's sections, as datasoil writes them.
EU_SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "template",
        "1_general_information",
        "2_list_of_data_sources",
        "3_data_processing_aspects",
    ],
    "properties": {
        "template": {
            "const": "EU AI Act Art. 53(1)(d) public summary of training content, July 2025"
        },
        "1_general_information": {
            "type": "object",
            "required": [
                "1_1_provider_identification",
                "1_2_model_identification",
                "1_3_modalities_size_and_characteristics",
            ],
        },
        "2_list_of_data_sources": {
            "type": "object",
            "required": [
                "2_1_publicly_available_datasets",
                "2_2_private_datasets_from_third_parties",
                "2_3_crawled_and_scraped_data",
                "2_4_user_data",
                "2_5_synthetic_data",
                "2_6_other_sources",
            ],
        },
        "3_data_processing_aspects": {
            "type": "object",
            "required": [
                "3_1_respect_of_reservation_of_rights",
                "3_2_removal_of_illegal_content",
                "3_3_other_information",
            ],
        },
    },
}


def _dataset_line(d: DatasetFacts) -> dict[str, Any]:
    return {
        "name": d.name,
        "datasoil_dataset_id": d.id,
        "content": f"ipfs://{d.content_cid}",
        "rows_used": d.rows_used,
        "rows": d.row_count,
        "row_root": "0x" + d.row_root.hex(),
        "license": d.license or PROVIDER,
        "access_receipt": d.receipt,
        "derived_from": list(d.parents),
        "withdrawn_rows": [{"row": row, "request": state} for row, state in d.withdrawn],
    }


def eu_summary(facts: BomFacts) -> dict[str, Any]:
    """The training-content summary (July 2025 template) as JSON-ready data, validated
    against :data:`EU_SUMMARY_SCHEMA`; unknown fields read :data:`PROVIDER`."""
    try:
        import jsonschema
    except ImportError:
        _require("jsonschema")
    used = facts.used()
    public = [_dataset_line(d) for d in used if not d.private]
    private = [_dataset_line(d) for d in used if d.private]
    total = sum(d.rows_used for d in used)
    summary = {
        "template": "EU AI Act Art. 53(1)(d) public summary of training content, July 2025",
        "generated_by": "datasoil (fields datasoil cannot know read " + repr(PROVIDER) + ")",
        "1_general_information": {
            "1_1_provider_identification": {
                "name": PROVIDER,
                "contact": PROVIDER,
                "on_chain_owner": facts.owner,
            },
            "1_2_model_identification": {
                "versioned_model_name": f"{facts.name} (datasoil model #{facts.model_id})",
                "model_dependencies": [f"datasoil model #{p}" for p in facts.parents]
                or "none registered",
                "date_of_placement_on_the_market": PROVIDER,
                "date_registered": facts.registered.date().isoformat(),
            },
            "1_3_modalities_size_and_characteristics": {
                "modality": ["other: structured tabular data"],
                "training_data_size": f"{total} rows (less than 1 billion tokens)",
                "types_of_content": [d.description or d.name for d in used],
                "latest_date_of_data_acquisition": facts.registered.date().isoformat(),
                "linguistic_characteristics": PROVIDER,
                "other_characteristics": (
                    f"Every row used is named in the training manifest ipfs://"
                    f"{facts.manifest_cid} (RFC 9162 root 0x{facts.manifest_root.hex()})."
                ),
            },
        },
        "2_list_of_data_sources": {
            "2_1_publicly_available_datasets": {"used": bool(public), "datasets": public},
            "2_2_private_datasets_from_third_parties": {
                "2_2_1_commercially_licensed": {"used": bool(private), "datasets": private},
                "2_2_2_other_private_datasets": PROVIDER,
            },
            "2_3_crawled_and_scraped_data": PROVIDER,
            "2_4_user_data": PROVIDER,
            "2_5_synthetic_data": PROVIDER,
            "2_6_other_sources": PROVIDER,
        },
        "3_data_processing_aspects": {
            "3_1_respect_of_reservation_of_rights": PROVIDER,
            "3_2_removal_of_illegal_content": PROVIDER,
            "3_3_other_information": (
                "Derived datasets name their parents on chain; cleaning claims bind parent, "
                "recipe and output roots. "
                + _LIMIT
                + (
                    f" {len(facts.withdrawn())} rows used have withdrawal requests: "
                    + ", ".join(facts.withdrawn())
                    + ". "
                    + _WITHDRAWAL_LIMIT
                    if facts.withdrawn()
                    else ""
                )
            ),
        },
    }
    try:
        jsonschema.validate(summary, EU_SUMMARY_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise BomError(f"EU summary: does not validate: {exc.message}") from exc
    return summary
