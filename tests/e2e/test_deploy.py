"""deploy_all on a local network and as on a public one (an existing bond token)."""

from __future__ import annotations

import pytest

from datasoil import chain
from datasoil.chain import deployments
from datasoil.errors import DeploymentError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path))
    return tmp_path


def test_deploy_all__local_records_every_contract(project, deployer, owner, home):
    record = chain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
    assert set(record.contracts) == {
        "DatasetRegistry",
        "DemoToken",
        "Attestations",
        "CleaningProofs",
        "AccessMarket",
        "ModelRegistry",
        "Consent",
        "RowJudge",
        "RowDisputes",
    }
    assert record.params["challenge_blocks"] == chain.LOCAL_PARAMS["challenge_blocks"]
    found = chain.contracts(project)
    assert found.token.balanceOf(owner) == 10**24
    assert found.market.token_allowed(found.token) is True
    assert found.proofs.bond() == chain.LOCAL_PARAMS["bond"]
    assert found.market.consent() == found.consent.address
    assert found.consent.proofs() == found.proofs.address
    assert deployments.load(chain.web3()).anchor is not None


def test_deploy_all__public_uses_the_given_bond_token(project, deployer, token, home):
    record = chain.deploy_all(
        project, deployer, local=False, bond_token=str(token.address), log=lambda _m: None
    )
    assert "DemoToken" not in record.contracts
    assert record.params["bond_token"] == str(token.address)
    assert record.params["challenge_blocks"] == chain.PUBLIC_PARAMS["challenge_blocks"]
    found = chain.contracts(project)
    assert found.token.address == token.address
    assert found.market.token_allowed(token) is True
    assert found.proofs.response_blocks() == chain.PUBLIC_PARAMS["response_blocks"]


def test_deploy_all__public_without_bond_token_is_refused(project, deployer, home):
    with pytest.raises(DeploymentError, match="expected --bond-token ADDRESS"):
        chain.deploy_all(project, deployer, local=False, log=lambda _m: None)
    assert not (home / "deployments").exists()


def test_contracts__stale_code_is_refused(project, deployer, home):
    record = chain.deploy_all(project, deployer, log=lambda _m: None)
    # Pretend the registry address holds another contract's code: a changed build.
    swapped = deployments.Deployment(
        record.chain_id,
        record.genesis,
        {**record.contracts, "DatasetRegistry": record.contracts["DemoToken"]},
        record.block,
        record.params,
        record.anchor,
    )
    deployments.save(chain.web3(), swapped)
    with pytest.raises(DeploymentError, match="expected this build's code for DatasetRegistry"):
        chain.contracts(project)
