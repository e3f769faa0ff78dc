"""AI BOMs from a model's facts: CycloneDX 1.6 (cyclonedx-python-lib's strict JSON-schema
validator), SPDX 3.0.1 JSON-LD (spdx-python-model, read back), the EU training-content
summary (jsonschema); each names the model, its datasets, rows used and lineage."""

from __future__ import annotations

import datetime as dt
import json

import pytest

pytest.importorskip("cyclonedx")
pytest.importorskip("spdx_python_model")

from datasoil.errors import BomError
from datasoil.flows import bom


def _facts(parents=()):
    d = dict(content_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
             metadata_cid="bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
             row_root=b"\x11" * 32, license="CC-BY-4.0")  # fmt: skip
    raw = bom.DatasetFacts(1, "people", "raw people", row_count=3000, rows_used=0,
                           private=False, owner="0x" + "aa" * 20, parents=(), **d)  # fmt: skip
    child = bom.DatasetFacts(4, "people-clean-private", "cleaned", row_count=2655,
                             rows_used=2416, private=True, owner="0x" + "bb" * 20,
                             parents=(1,), receipt=2, **d)  # fmt: skip
    return bom.BomFacts(
        model_id=3, name="demo-model", owner="0x" + "cc" * 20, weights_cid=d["content_cid"],
        manifest_cid=d["content_cid"], manifest_root=b"\x22" * 32, manifest_size=2416,
        config_cid=None, license="CC-BY-4.0", parents=tuple(parents),
        registered=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), chain_id=31337,
        models_address="0x" + "dd" * 20, datasets=(child, raw), data_bps=3000,
    )  # fmt: skip


@pytest.mark.parametrize("parents", [(), (1, 2)])
def test_cyclonedx__validates_and_names_the_data(parents):
    doc = json.loads(bom.render(_facts(parents), "cyclonedx"))
    assert doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["type"] == "machine-learning-model"
    data = {c["bom-ref"]: c for c in doc["components"] if c["type"] == "data"}
    assert set(data) == {"dataset-1", "dataset-4"}
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert "dataset-4" in deps["model-3"] and deps["dataset-4"] == ["dataset-1"]
    assert len([r for r in deps["model-3"] if r.startswith("model-")]) == len(parents)
    props = {p["name"]: p["value"] for p in data["dataset-4"]["properties"]}
    assert props["datasoil:rows_used"] == "2416" and props["datasoil:access_receipt"] == "2"


def test_cyclonedx__the_validator_catches_a_broken_document():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    doc = json.loads(bom.render(_facts(), "cyclonedx"))
    doc["metadata"]["component"]["type"] = "potion"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc)) is not None


@pytest.mark.parametrize("parents", [(), (1,)])
def test_spdx__ai_and_dataset_profiles_read_back(parents):
    from spdx_python_model import v3_0_1 as s

    text = bom.render(_facts(parents), "spdx")
    doc = json.loads(text)
    assert doc["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    types = [e["type"] for e in doc["@graph"]]
    assert types.count("ai_AIPackage") == 1 + len(parents)
    assert types.count("dataset_DatasetPackage") == 2
    rels = {e["relationshipType"]: e for e in doc["@graph"] if e["type"] == "Relationship"}
    assert rels["trainedOn"]["to"] == ["urn:datasoil:31337:0x" + "dd" * 20 + ":dataset:4"]
    assert "descendantOf" in rels and "hasDeclaredLicense" in rels
    (document,) = [e for e in doc["@graph"] if e["type"] == "SpdxDocument"]
    assert {"ai", "dataset"} <= set(document["profileConformance"])
    back = s.SHACLObjectSet()
    s.JSONLDDeserializer().read(__import__("io").BytesIO(text.encode()), back)
    assert not back.link()


def test_spdx__the_bindings_refuse_a_wrong_property():
    from spdx_python_model import v3_0_1 as s

    with pytest.raises((TypeError, ValueError)):
        s.ai_AIPackage(spdxId="urn:x", name="m", releaseTime="not a date")


def test_eu_summary__fills_what_is_known_and_marks_the_rest():
    import jsonschema

    summary = json.loads(bom.render(_facts(), "eu-summary"))
    jsonschema.validate(summary, bom.EU_SUMMARY_SCHEMA)
    sources = summary["2_list_of_data_sources"]
    licensed = sources["2_2_private_datasets_from_third_parties"]["2_2_1_commercially_licensed"]
    assert licensed["used"] and licensed["datasets"][0]["rows_used"] == 2416
    assert sources["2_3_crawled_and_scraped_data"] == bom.PROVIDER
    assert summary["1_general_information"]["1_1_provider_identification"]["name"] == bom.PROVIDER
    del summary["2_list_of_data_sources"]["2_4_user_data"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(summary, bom.EU_SUMMARY_SCHEMA)


def test_render__unknown_format_is_refused():
    with pytest.raises(BomError, match="expected a BOM format"):
        bom.render(_facts(), "xml")
