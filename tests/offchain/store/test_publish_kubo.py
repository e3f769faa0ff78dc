"""publish.prepare with a store that imports whole files (KuboStore, against a real IPFS
daemon): the same dataset as with the embedded store, public and private."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from datasoil.flows import access, publish
from datasoil.formats import crypto, rows, unixfs
from datasoil.store import KuboStore, LocalStore
from datasoil.store.base import as_cid, normalize


@pytest.fixture
def kubo(jsipfs_api: str) -> Iterator[KuboStore]:
    with KuboStore(jsipfs_api, timeout=60) as store:
        yield store


@pytest.fixture
def data(tmp_path) -> Path:
    """A 2.5 MB CSV: three 1 MiB chunks under the default profile."""
    rnd = random.Random(7)
    path = tmp_path / "people.csv"
    with path.open("w") as out:
        out.write("id,name,score\n")
        for i in range(40_000):
            name = "".join(rnd.choices(string.ascii_letters, k=rnd.randint(20, 80)))
            out.write(f"{i},{name},{rnd.random():.4f}\n")
    return path


def test_prepare__public_on_kubo_is_the_local_dataset(kubo, data, tmp_path):
    local = publish.prepare(data, store=LocalStore(tmp_path / "ipfs"))
    remote = publish.prepare(data, store=kubo)
    assert (remote.content_cid, remote.row_root, remote.row_count, remote.metadata_cid) == (
        local.content_cid,
        local.row_root,
        local.row_count,
        local.metadata_cid,
    )
    assert remote.files == local.files
    pinned = {str(normalize(c)) for c in kubo.pins()}
    assert {remote.content_cid, remote.metadata_cid} <= pinned
    assert b"".join(kubo.cat(as_cid(remote.content_cid))) == data.read_bytes()


def test_prepare__private_on_kubo_decrypts_to_the_data(kubo, data, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    prepared = publish.prepare(data, store=kubo, private=True)
    key = access.load_content_key(prepared.content_cid).key
    schema = rows.infer_schema(data)
    assert (prepared.row_root, prepared.row_count) == rows.dataset_root(
        data, schema, crypto.row_hmac_key(key)
    )
    assert prepared.plaintext_cid == str(unixfs.add_path(data, unixfs.profile_for(None)).cid)
    cipher = tmp_path / "data.enc"
    cipher.write_bytes(b"".join(kubo.cat(as_cid(prepared.content_cid))))
    crypto.decrypt_file(cipher, tmp_path / "data.tar", key)
    out = tmp_path / "out"
    publish.extract_private(tmp_path / "data.tar", out)
    assert (out / "people.csv").read_bytes() == data.read_bytes()
