"""`datasoil://DATASET_ID/PATH` (flows/fsspec_fs.py, found by fsspec through the package's
entry point) read by pandas and Hugging Face `datasets`, verified against the registered
CID and row root before any byte is handed out; and loader.to_hf_dataset for real (the
`[hf]` extra: the datasets tests skip without it)."""

from __future__ import annotations

import dataclasses
import io
import os

import fsspec
import pandas as pd
import pytest

from datasoil.app import gateway
from datasoil.chain.registry import Registry
from datasoil.errors import CidMismatch, DatasoilError, ProofError
from datasoil.flows import loader, publish
from datasoil.formats.cid import cid_to_tuple
from datasoil.store.local import LocalStore

CSV = "id,name,score\n1,ada,0.5\n2,grace,0.75\n3,,1.0\n"


@pytest.fixture
def world(registry, owner, tmp_path):
    (tmp_path / "people.csv").write_text(CSV)
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    prepared = publish.prepare(tmp_path / "people.csv", store=store)
    dataset_id = publish.register(prepared, reg, sender=owner, allow_duplicate=True)
    options = {"registry": reg, "store": store, "skip_instance_cache": True}
    return dict(id=dataset_id, reg=reg, store=store, prepared=prepared, options=options)


def test_fsspec__the_protocol_is_registered_by_the_entry_point():
    from datasoil.flows.fsspec_fs import DatasoilFileSystem

    assert fsspec.get_filesystem_class("datasoil") is DatasoilFileSystem


def test_fsspec__pandas_reads_the_verified_file(world):
    url = f"datasoil://{world['id']}/people.csv"
    frame = pd.read_csv(url, storage_options=world["options"])
    assert frame.equals(pd.read_csv(io.StringIO(CSV)))
    fs = fsspec.filesystem("datasoil", **world["options"])
    assert fs.ls(str(world["id"]), detail=False) == [f"{world['id']}/people.csv"]
    assert fs.info(url)["size"] == len(CSV) and fs.cat(url) == CSV.encode()


def test_fsspec__a_directory_dataset_is_its_tree(registry, owner, tmp_path):
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_text(CSV)
    (data / "test.csv").write_text("id,name,score\n9,x,0.1\n")
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    dataset_id = publish.register(publish.prepare(data, store=store), reg, sender=owner)
    fs = fsspec.filesystem("datasoil", registry=reg, store=store, skip_instance_cache=True)
    assert sorted(fs.find(str(dataset_id))) == [
        f"{dataset_id}/test.csv",
        f"{dataset_id}/train/a.csv",
    ]
    assert fs.cat(f"datasoil://{dataset_id}/train/a.csv") == CSV.encode()
    with pytest.raises(FileNotFoundError, match=r"has no file 'nope\.csv'"):
        fs.cat(f"datasoil://{dataset_id}/nope.csv")


def test_fsspec__a_tampered_block_is_refused_before_any_byte(world, tmp_path):
    cid = str(cid_to_tuple(world["prepared"].content_cid).to_cid())
    (block,) = [p for p in (tmp_path / "ipfs").rglob("*.data") if cid in p.name]
    block.write_bytes(CSV.replace("ada", "eve").encode())
    with pytest.raises(CidMismatch):
        pd.read_csv(f"datasoil://{world['id']}/people.csv", storage_options=world["options"])


def test_fsspec__rows_that_do_not_reproduce_the_root_are_refused(world, owner):
    wrong = dataclasses.replace(world["prepared"], row_root=b"\x01" * 32)
    dataset_id = publish.register(wrong, world["reg"], sender=owner, allow_duplicate=True)
    with pytest.raises(ProofError):
        pd.read_csv(f"datasoil://{dataset_id}/people.csv", storage_options=world["options"])


def test_fsspec__private_dataset_is_refused_in_one_sentence(world, owner, tmp_path):
    prepared = publish.prepare(tmp_path / "people.csv", store=world["store"], private=True)
    dataset_id = publish.register(prepared, world["reg"], sender=owner)
    fs = fsspec.filesystem("datasoil", **world["options"])
    with pytest.raises(DatasoilError, match=f"found #{dataset_id} private"):
        fs.cat(f"datasoil://{dataset_id}/anything")


def test_fsspec__read_only(world):
    fs = fsspec.filesystem("datasoil", **world["options"])
    with pytest.raises(PermissionError, match="read-only"):
        fs.open(f"datasoil://{world['id']}/people.csv", "wb")


def test_to_hf_dataset__the_verified_table(world):
    pytest.importorskip("datasets", reason="the [hf] extra is not installed")
    table = loader.load(world["id"], registry=world["reg"], store=world["store"])
    dataset = loader.to_hf_dataset(table)
    assert dataset.num_rows == 3 and dataset.column_names == ["id", "name", "score"]
    assert dataset["name"] == ["ada", "grace", None]


def test_load_dataset__reads_datasoil_urls_without_ape(world, registry, tmp_path, monkeypatch):
    """As a third party would: only an RPC URL, the registry's address and a gateway."""
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "reader"))
    datasets = pytest.importorskip("datasets", reason="the [hf] extra is not installed")
    server = gateway.serve(gateway.Gateway(None, world["store"], dist=tmp_path / "dist"), 0)
    try:
        got = datasets.load_dataset(
            "csv",
            data_files=f"datasoil://{world['id']}/people.csv",
            storage_options={
                "rpc_url": os.environ["APE_FOUNDRY_HOST"],
                "registry_address": str(registry.address),
                "gateways": [server.url],
            },
            cache_dir=str(tmp_path / "hf-cache"),
            split="train",
        )
    finally:
        server.shutdown()
    assert got["name"] == ["ada", "grace", None] and got["score"] == [0.5, 0.75, 1.0]
    assert (tmp_path / "reader" / "ipfs" / "blocks").is_dir()  # fetched, verified, cached
