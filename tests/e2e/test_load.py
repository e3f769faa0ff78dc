"""datasoil.load: verified rows for training, public and private (through a purchase)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import datasoil
from datasoil.chain.registry import Registry
from datasoil.errors import CidMismatch, DatasoilError, ProofError
from datasoil.flows import access, publish
from datasoil.formats import rows
from datasoil.formats.cid import cid_to_tuple
from datasoil.store.local import LocalStore

CSV = "id,name,score\n1,ada,0.5\n2,grace,0.75\n3,,1.0\n"


@pytest.fixture
def setup(registry, tmp_path, owner):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    return dict(path=path, store=store, reg=reg, tmp=tmp_path)


def test_load__public_rows_verified(setup, owner):
    prepared = publish.prepare(setup["path"], store=setup["store"])
    dataset_id = publish.register(prepared, setup["reg"], sender=owner)
    table = datasoil.load(dataset_id, registry=setup["reg"], store=setup["store"])
    assert isinstance(table, pa.Table)
    assert table.num_rows == 3
    assert table.column("name").to_pylist() == ["ada", "grace", None]
    assert table.column("score").to_pylist() == [0.5, 0.75, 1.0]
    frame = datasoil.flows.loader.to_pandas(table)
    assert list(frame.columns) == ["id", "name", "score"]


def test_load__tampered_block_is_refused(setup, owner):
    prepared = publish.prepare(setup["path"], store=setup["store"])
    dataset_id = publish.register(prepared, setup["reg"], sender=owner)
    cid = cid_to_tuple(prepared.content_cid).to_cid()
    block_files = [p for p in (setup["tmp"] / "ipfs").rglob("*.data") if str(cid) in p.name]
    assert block_files, "the content block should be in the store"
    block_files[0].write_bytes(CSV.replace("ada", "eve").encode())
    with pytest.raises(CidMismatch):
        datasoil.load(dataset_id, registry=setup["reg"], store=setup["store"])


def test_load__rows_that_do_not_match_the_root_are_refused(setup, owner, tmp_path):
    prepared = publish.prepare(setup["path"], store=setup["store"])
    other = tmp_path / "other.csv"
    other.write_text(CSV.replace("grace", "linus"))
    lying = publish.prepare(other, store=setup["store"])
    # Register the honest content CID with the other file's root: the rows will not match.
    dataset_id = setup["reg"].register(
        content_cid=prepared.content_cid,
        row_root=lying.row_root,
        row_count=3,
        metadata_cid=prepared.metadata_cid,
        license="MIT",
        sender=owner,
    )
    with pytest.raises(ProofError, match="expected row root"):
        datasoil.load(dataset_id, registry=setup["reg"], store=setup["store"])


def test_load__private_needs_an_account(setup, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    prepared = publish.prepare(setup["path"], store=setup["store"], private=True)
    dataset_id = publish.register(prepared, setup["reg"], sender=owner)
    with pytest.raises(DatasoilError, match="expected a buyer account"):
        datasoil.load(dataset_id, registry=setup["reg"], store=setup["store"])


def test_load__private_through_a_purchase(
    setup, project, deployer, registry, token, owner, buyer, chain, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    prepared = publish.prepare(setup["path"], store=setup["store"], private=True)
    dataset_id = publish.register(prepared, setup["reg"], sender=owner)
    commitment = access.key_commitment(access.load_content_key(prepared.content_cid).key)
    market.list_dataset(dataset_id, token, 10**18, 3600, 0, commitment, sender=owner)
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    access.buy(market, token, dataset_id, public, sender=buyer)
    delivered = access.keeper_step(market, setup["reg"], owner, tmp_path / "keeper.json")
    assert len(delivered) == 1
    table = datasoil.load(
        dataset_id, registry=setup["reg"], store=setup["store"], account=buyer, market=market
    )
    assert table.num_rows == 3
    assert table.column("id").to_pylist() == [1, 2, 3]
    schema = rows.infer_schema(Path(setup["path"]))
    assert table.column_names == list(schema.names)
