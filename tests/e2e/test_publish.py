"""Publishing end to end on the test chain: prepare, pin, register, read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datasoil.chain.registry import Registry
from datasoil.errors import DatasoilError, InvalidCid, NotFound, SchemaError
from datasoil.flows import access, publish
from datasoil.formats import croissant, merkle, rows, unixfs
from datasoil.formats.cid import cid_to_tuple
from datasoil.store.local import LocalStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "messy" / "people.csv"


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "ipfs")


@pytest.fixture
def wrapped(registry):
    return Registry(registry)


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("id,name,score\n1,ada,0.5\n2,grace,0.75\n3,,1.0\n")
    return path


def test_prepare__commits_rows_cid_and_metadata(small, store):
    prepared = publish.prepare(small, store=store, license="MIT")
    schema = rows.infer_schema(small)
    root, count = rows.dataset_root(small, schema)
    assert (prepared.row_root, prepared.row_count) == (root, count) == (root, 3)
    assert prepared.content_cid == str(unixfs.add_path(small, unixfs.profile_for(None)).cid)
    assert store.has(cid_to_tuple(prepared.content_cid).to_cid())
    pinned = b"".join(store.cat(cid_to_tuple(prepared.metadata_cid).to_cid()))
    assert pinned == croissant.canonical_bytes(prepared.metadata)
    doc = json.loads(pinned)
    assert doc["datasoil:rowRoot"] == "0x" + root.hex()
    assert doc["datasoil:cidProfile"] == "unixfs-v1-2025"
    assert doc["license"] == "MIT"
    assert [f["name"] for f in doc["recordSet"][0]["field"]] == ["id", "name", "score"]


def test_prepare__metadata_validates_with_mlcroissant(small, store, tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    prepared = publish.prepare(
        small,
        store=store,
        derived_from=["bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"],
    )
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(prepared.metadata))
    dataset = mlc.Dataset(jsonld=str(path))
    assert dataset.metadata.name == "small"
    assert len(dataset.metadata.record_sets[0].fields) == 3


def test_prepare__same_data_same_cids(small, store):
    a = publish.prepare(small, store=store)
    b = publish.prepare(small, store=store)
    assert (a.content_cid, a.metadata_cid, a.row_root) == (
        b.content_cid,
        b.metadata_cid,
        b.row_root,
    )


def test_prepare__empty_input_refused_unless_allowed(tmp_path, store):
    path = tmp_path / "empty.csv"
    path.write_text("id,name\n")
    with pytest.raises(SchemaError, match="at least one row"):
        publish.prepare(path, store=store)
    assert store.pins() == []
    prepared = publish.prepare(path, store=store, allow_empty=True)
    assert prepared.row_count == 0 and prepared.row_root == merkle.EMPTY_ROOT


def test_prepare__missing_path(tmp_path, store):
    with pytest.raises(DatasoilError, match="found nothing"):
        publish.prepare(tmp_path / "nope.csv", store=store)


def test_register__round_trip_lineage_versions(small, store, wrapped, owner, other, tmp_path):
    prepared = publish.prepare(small, store=store)
    raw = publish.register(prepared, wrapped, sender=owner)
    got = wrapped.get(raw)
    assert got.content_cid == prepared.content_cid
    assert got.metadata_cid == prepared.metadata_cid
    assert got.row_root == prepared.row_root and got.row_count == 3
    assert got.owner == owner.address

    child_path = tmp_path / "child.csv"
    child_path.write_text("id,name,score\n1,ada,0.5\n")
    child_prep = publish.prepare(child_path, store=store, derived_from=[got.content_cid])
    child = publish.register(child_prep, wrapped, sender=other, parents=[raw])
    v2_path = tmp_path / "v2.csv"
    shutil.copy(small, v2_path)
    with v2_path.open("a") as handle:
        handle.write("4,linus,0.25\n")
    v2 = publish.register(
        publish.prepare(v2_path, store=store), wrapped, sender=owner, version_of=raw
    )

    tree = wrapped.lineage(child)
    assert tree.dataset.id == child and [p.dataset.id for p in tree.parents] == [raw]
    assert f"└── #{raw}" in tree.render()
    assert wrapped.versions(raw) == [raw, v2] == wrapped.versions(v2)
    assert wrapped.children(raw) == [child]
    assert wrapped.ancestors(child) == [raw]


def test_register__duplicate_refused(small, store, wrapped, owner):
    prepared = publish.prepare(small, store=store)
    first = publish.register(prepared, wrapped, sender=owner)
    with pytest.raises(DatasoilError, match=f"already registered as dataset #{first}"):
        publish.register(prepared, wrapped, sender=owner)
    assert wrapped.count() == 1
    again = publish.register(prepared, wrapped, sender=owner, allow_duplicate=True)
    assert again == first + 1


def test_register__unknown_parent_is_one_line_error(small, store, wrapped, owner):
    prepared = publish.prepare(small, store=store)
    with pytest.raises(NotFound, match="expected an existing dataset id"):
        publish.register(prepared, wrapped, sender=owner, parents=[5])
    assert wrapped.count() == 0


def test_register__too_many_parents(small, store, wrapped, owner):
    prepared = publish.prepare(small, store=store)
    with pytest.raises(ValueError, match="at most 8 parents"):
        publish.register(prepared, wrapped, sender=owner, parents=list(range(1, 10)))


def test_registry__malformed_cid(wrapped, owner):
    with pytest.raises(InvalidCid, match="expected a CID"):
        wrapped.register(
            content_cid="not-a-cid",
            row_root=b"\x01" * 32,
            row_count=1,
            metadata_cid="bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
            license="MIT",
            sender=owner,
        )


def test_registry__get_unknown(wrapped):
    with pytest.raises(NotFound):
        wrapped.get(1)


def test_private_publish__ciphertext_keyed_root_and_no_file_facts(
    small, store, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    prepared = publish.prepare(small, store=store, private=True)
    public = publish.prepare(small, store=store)
    assert prepared.row_root != public.row_root  # keyed leaves
    assert prepared.content_cid != public.content_cid  # the ciphertext, not the plaintext
    text = json.dumps(prepared.metadata)
    assert public.content_cid not in text and "small.csv" not in text and "sha256" not in text
    stored = access.load_content_key(prepared.content_cid)
    key, manifest = stored.key, stored.manifest
    assert manifest["plaintext_cid"] == public.content_cid
    from datasoil.formats import crypto

    keyed_root, _ = rows.dataset_root(small, rows.infer_schema(small), crypto.row_hmac_key(key))
    assert keyed_root == prepared.row_root
    # decrypt what was pinned, unpack, and find the plaintext again
    enc = tmp_path / "data.enc"
    enc.write_bytes(b"".join(store.cat(cid_to_tuple(prepared.content_cid).to_cid())))
    crypto.decrypt_file(enc, tmp_path / "data.tar", key)
    out = tmp_path / "out"
    publish.extract_private(tmp_path / "data.tar", out)
    assert (out / "small.csv").read_bytes() == small.read_bytes()
