"""`ape run model bom` and `ape run model prove` in-process (click's CliRunner; the ape
logger's lines, at -v INFO, are read from caplog) on a
recorded deployment: a public raw dataset, its cleaned public child under a cleaning
claim, and a model trained on rows of the child. The BOMs come out validated in each
format; prove writes bundles that verify, exits 0 for a row in and 1 for a row out, and
follows a raw row through the claim with the fate file fetched from the claim's bundle
(the same bundle as with --fate); refusals are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.chain.registry import Registry
from datasoil.flows import claims, publish
from datasoil.flows import models as flow
from datasoil.formats import manifest as mf
from datasoil.store import open_store
from tests import script

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "examples" / "messy" / "people.csv"
RECIPE = ROOT / "examples" / "recipes" / "clean.yaml"
FATE = 34  # bytes per fate record: byte 8 says kept, bytes 9..17 the output row
TRAINER = "TEST::2"  # the `other` fixture


@pytest.fixture
def world(project, deployer, owner, cleaner, other, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    chain.deploy_all(project, deployer, mint_to=[owner, cleaner, other], log=lambda _m: None)
    contracts = chain.contracts(project)
    registry = Registry(contracts.registry, contracts.deployment.block)
    store = open_store()
    raw = publish.register(publish.prepare(RAW, store=store), registry, sender=owner)
    child = claims.clean_and_publish(
        raw, RECIPE, registry=registry, store=store, sender=cleaner, work=tmp_path / "work"
    )
    claim_id = claims.submit_claim(contracts.proofs, contracts.token, child, sender=cleaner)
    fates = child.result.fate_path.read_bytes()
    records = [fates[k : k + FATE] for k in range(0, len(fates), FATE)]
    kept = [i for i, r in enumerate(records) if r[8] == 1]
    dropped = next(i for i, r in enumerate(records) if r[8] == 0)
    outputs = {i: int.from_bytes(records[i][9:17], "big") for i in kept}
    used = sorted(outputs[i] for i in kept[:6])
    d = registry.get(child.child_id)
    model_id = flow.register(
        mf.build({d.id: (d.row_root, d.row_count, used)}),
        models=contracts.require("models"),
        registry=registry,
        market=contracts.market,
        store=store,
        sender=other,
        weights_cid=str(store.add_bytes(b"weights")),
        license="MIT",
        data_bps=3000,
        from_block=contracts.deployment.block,
    )
    return dict(
        raw=raw, child=child.child_id, claim=claim_id, model=model_id, kept=kept,
        dropped=dropped, outputs=outputs, used=used, fate_path=child.result.fate_path,
        tmp=tmp_path,
    )  # fmt: skip


def _model(*args):
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(script.load("model").cli, [*args], catch_exceptions=False)


def _one_line_error(result, expected):
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert lines == [f"ERROR: {expected}"], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_bom__every_format_validated_from_the_chain(world, caplog):
    model_id, child, raw = str(world["model"]), world["child"], world["raw"]
    out = world["tmp"] / "bom.cdx.json"
    result = _model("bom", model_id, "--format", "cyclonedx", "--out", str(out), "-v", "INFO")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"cyclonedx BOM of model {model_id} written to {out} (validated)" in caplog.text
    cdx = json.loads(out.read_text())
    assert cdx["specVersion"] == "1.6"
    assert cdx["metadata"]["component"]["type"] == "machine-learning-model"
    data = {c["bom-ref"]: c for c in cdx["components"] if c["type"] == "data"}
    assert set(data) == {f"dataset-{child}", f"dataset-{raw}"}  # the child and its parent
    deps = {d["ref"]: d.get("dependsOn", []) for d in cdx["dependencies"]}
    assert deps[f"dataset-{child}"] == [f"dataset-{raw}"]
    assert f"dataset-{child}" in deps[f"model-{model_id}"]
    props = {p["name"]: p["value"] for p in data[f"dataset-{child}"]["properties"]}
    assert props["datasoil:rows_used"] == str(len(world["used"]))

    spdx = _model("bom", model_id, "--format", "spdx", "--name", "people-model")
    assert spdx.exit_code == 0, spdx.stderr
    graph = json.loads(spdx.stdout)["@graph"]
    (package,) = [e for e in graph if e["type"] == "ai_AIPackage"]
    assert package["name"] == "people-model"
    assert [e["type"] for e in graph].count("dataset_DatasetPackage") == 2
    (trained_on,) = [e for e in graph if e.get("relationshipType") == "trainedOn"]
    assert [t.rsplit(":", 1)[-1] for t in trained_on["to"]] == [str(child)]

    eu = _model("bom", model_id, "--format", "eu-summary")
    assert eu.exit_code == 0, eu.stderr
    sources = json.loads(eu.stdout)["2_list_of_data_sources"]
    public = sources["2_1_publicly_available_datasets"]
    assert public["used"] is True, public

    _one_line_error(
        _model("bom", "99"), f"expected a registered model id (1..{model_id}), found 99"
    )


def _prove(world, dataset_id, row, name, *extra):
    out = world["tmp"] / f"{name}.json"
    result = _model(
        "prove", str(world["model"]), str(dataset_id), str(row), "--out", str(out),
        "--account", TRAINER, "-v", "INFO", *extra,
    )  # fmt: skip
    bundle = flow.RowProof.loads(out.read_text()) if out.exists() else None
    return result, bundle


def test_prove__in_and_out_of_the_model_verify(world, caplog):
    child, used = world["child"], world["used"]
    result, bundle = _prove(world, child, used[2], "in")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert bundle is not None and bundle.used and bundle.verify() is None
    assert f"yes: row {used[2]} of dataset #{child} is entry 2 of model #" in caplog.text
    assert "(checked off chain and by ModelRegistry)" in caplog.text
    absent = next(i for i in range(used[-1] + 2) if i not in used)
    result, bundle = _prove(world, child, absent, "out")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert bundle is not None and not bundle.used and bundle.verify() is None
    assert bundle.hop is None


def test_prove__through_the_claim_fetches_the_fate_file(world):
    raw, claim = world["raw"], str(world["claim"])
    kept = world["kept"][3]  # its child row is in the manifest
    result, fetched = _prove(world, raw, kept, "kept", "--claim", claim)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert fetched is not None and fetched.used and fetched.verify() is None
    assert fetched.hop is not None and fetched.hop.output_index() == world["outputs"][kept]
    result, given = _prove(
        world, raw, kept, "given", "--claim", claim, "--fate", str(world["fate_path"])
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert given is not None and given.dumps() == fetched.dumps()
    # a row the cleaning dropped: "no" from its fate record, fetched the same way
    result, dropped = _prove(world, raw, world["dropped"], "dropped", "--claim", claim)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert dropped is not None and not dropped.used and dropped.verify() is None
    assert dropped.hop is not None and dropped.hop.output_index() is None


def test_prove__refusals(world):
    result, _ = _prove(world, world["raw"], 0, "lonely", "--fate", str(world["fate_path"]))
    assert result.exit_code == 2 and "--fate needs --claim" in result.stderr
    child, raw, claim = world["child"], world["raw"], world["claim"]
    result, bundle = _prove(world, child, 0, "wrong-claim", "--claim", str(claim))
    _one_line_error(result, f"expected claim #{claim} to clean dataset #{child}, it cleans #{raw}")
    assert bundle is None
