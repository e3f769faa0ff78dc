"""`ape run publish PATH --schema FILE`: the publisher's own schema (e.g. a column of
zip codes kept as text, not numbers) is the one the rows are committed under and the metadata
records; a schema that does not fit is one sentence and nothing registered."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.chain.registry import Registry
from datasoil.formats import rows
from tests import script


@pytest.fixture
def env(project, deployer, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    record = chain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
    data = tmp_path / "zips.csv"
    data.write_text("zip,city\n1234,a\n501,b\n90210,c\n")
    return dict(registry=Registry(chain.contracts(project).registry, record.block), data=data)


def _publish(args):
    return CliRunner().invoke(script.load("publish").cli, [*args, "--account", "TEST::1"])


def test_publish_script__schema_file_is_the_committed_schema(env, tmp_path):
    inferred = rows.infer_schema(env["data"])
    assert inferred.to_json()["columns"][0]["type"] == "int64"  # zip codes are not numbers
    edited = inferred.to_json()
    edited["columns"][0]["type"] = "string"
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(edited))
    result = _publish([str(env["data"]), "--schema", str(schema_file)])
    assert result.exit_code == 0, result.output
    dataset_id = json.loads(result.output[result.output.index("{") :])["dataset_id"]
    registered = env["registry"].get(dataset_id)
    want = rows.dataset_root(env["data"], rows.Schema.from_json(edited))[0]
    assert registered.row_root == want != rows.dataset_root(env["data"], inferred)[0]


def test_publish_script__schema_that_does_not_fit_registers_nothing(env, tmp_path):
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(
        json.dumps(
            {
                "encoding": "datasoil-rows-v1",
                "columns": [
                    {"name": "zip", "type": "int64", "nullable": True},
                    {"name": "country", "type": "string", "nullable": True},
                ],
            }
        )
    )
    before = env["registry"].count()
    result = _publish([str(env["data"]), "--schema", str(schema_file)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: ") and "country" in lines[0]
    assert env["registry"].count() == before


def test_publish_script__schema_file_not_json_is_one_sentence(env, tmp_path):
    schema_file = tmp_path / "schema.json"
    schema_file.write_text("{nope")
    result = _publish([str(env["data"]), "--schema", str(schema_file)])
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"ERROR: {schema_file}: expected a JSON schema")
