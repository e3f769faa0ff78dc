"""A new version proven to extend its predecessor: `datasoil consistency OLD NEW` makes
the RFC 9162 proof from the files, `ape run datasets consistency OLD_ID NEW_ID PROOF`
checks it against the two registered roots and row counts, without the data."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.chain.registry import Registry, check_consistency
from datasoil.errors import ProofError
from datasoil.flows import publish
from datasoil.formats import rows
from datasoil.store.local import LocalStore
from tests import script


@pytest.fixture
def versions(project, deployer, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    contracts = chain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
    registry = Registry(chain.contracts(project).registry, contracts.block)
    store = LocalStore(tmp_path / "ipfs")
    body = [f"{i},row {i}\n" for i in range(60)]
    files = {}
    for name, lines in (("v1", body[:40]), ("v2", body), ("other", body[1:])):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text("a,b\n" + "".join(lines))
    schema = rows.infer_schema(files["v1"])
    v1 = publish.register(
        publish.prepare(files["v1"], store=store, schema=schema), registry, sender=owner
    )
    v2 = publish.register(
        publish.prepare(files["v2"], store=store, schema=schema),
        registry,
        sender=owner,
        version_of=v1,
    )
    return dict(registry=registry, files=files, schema=schema, v1=v1, v2=v2, tmp=tmp_path)


def test_check_consistency__registered_roots_accept_the_proof(versions):
    reg = versions["registry"]
    proof = rows.dataset_consistency(
        versions["files"]["v1"], versions["files"]["v2"], versions["schema"]
    )
    check_consistency(reg.get(versions["v1"]), reg.get(versions["v2"]), proof)
    with pytest.raises(ProofError, match=f"proof's old tree to be dataset #{versions['v2']}'s"):
        check_consistency(reg.get(versions["v2"]), reg.get(versions["v1"]), proof)


def test_check_consistency__proof_of_other_data_is_refused(versions):
    reg = versions["registry"]
    files = versions["files"]
    proof = rows.dataset_consistency(files["v1"], files["v1"], versions["schema"])
    with pytest.raises(ProofError, match="proof's new tree"):
        check_consistency(reg.get(versions["v1"]), reg.get(versions["v2"]), proof)


def test_datasets_consistency_script__ok_and_refused(versions):
    proof = rows.dataset_consistency(
        versions["files"]["v1"], versions["files"]["v2"], versions["schema"]
    )
    path = versions["tmp"] / "proof.json"
    path.write_text(json.dumps(proof.to_json()))
    cli = script.load("datasets").cli
    args = ["consistency", "-v", "INFO", str(versions["v1"]), str(versions["v2"]), str(path)]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert f"#{versions['v2']}'s 60 rows extend #{versions['v1']}'s 40" in ok.output
    bad = CliRunner().invoke(
        cli, ["consistency", str(versions["v2"]), str(versions["v1"]), str(path)]
    )
    assert bad.exit_code == 1
    assert bad.output.startswith("ERROR: expected the proof's old tree to be dataset")
    assert len(bad.output.strip().splitlines()) == 1
