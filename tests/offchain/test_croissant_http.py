"""Croissant for consumers without datasoil: mlcroissant loads the rows over HTTP.

``contentUrl`` is ``{gateway}/ipfs/{cid}`` (here datasoil's own gateway on loopback,
standing for a public one), ``sameAs`` keeps ``ipfs://{cid}``; mlcroissant downloads the
file, checks its SHA-256 and yields the records, which equal the published rows.
"""

from __future__ import annotations

import json

import pytest

from datasoil.app import gateway
from datasoil.flows import publish
from datasoil.formats import croissant
from datasoil.store.local import LocalStore

mlc = pytest.importorskip("mlcroissant")


@pytest.fixture
def served(tmp_path):
    store = LocalStore(tmp_path / "ipfs", sync=False)
    server = gateway.serve(gateway.Gateway(None, store, dist=tmp_path / "dist"), 0)
    yield store, server.url
    server.shutdown()


@pytest.mark.parametrize(
    "suffix, text",
    [
        ("csv", "id,name,score\n1,ada,0.5\n2,grace,0.75\n"),
        (
            "jsonl",
            '{"id": 1, "name": "ada", "score": 0.5}\n{"id": 2, "name": "grace", "score": 0.75}\n',
        ),
    ],
)
def test_records__mlcroissant_reads_the_rows_through_an_http_gateway(
    served, tmp_path, monkeypatch, suffix, text
):
    store, url = served
    monkeypatch.setenv("CROISSANT_CACHE", str(tmp_path / "mlc-cache"))
    monkeypatch.setenv("HOME", str(tmp_path))  # mlcroissant caches under ~/.cache
    data = tmp_path / f"small.{suffix}"
    data.write_text(text)
    prepared = publish.prepare(data, store=store, http_gateway=url)
    entry = prepared.metadata["distribution"][0]
    assert entry["contentUrl"] == f"{url}/ipfs/{prepared.content_cid}"
    assert entry["sameAs"] == f"ipfs://{prepared.content_cid}"
    assert entry["datasoil:cid"] == prepared.content_cid
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(prepared.metadata))
    records = list(mlc.Dataset(jsonld=str(path)).records("rows"))
    got = [(r["rows/id"], r["rows/name"].decode(), r["rows/score"]) for r in records]
    assert got == [(1, "ada", 0.5), (2, "grace", 0.75)]


def test_build__default_content_url_is_the_public_gateway(monkeypatch):
    monkeypatch.delenv("DATASOIL_HTTP_GATEWAY", raising=False)
    from datasoil import config

    assert config.http_gateway() == croissant.DEFAULT_HTTP_GATEWAY == "https://ipfs.io"
    monkeypatch.setenv("DATASOIL_HTTP_GATEWAY", "https://gw.example/")
    assert config.http_gateway() == "https://gw.example"


def test_file_urls__moves_content_urls_keeps_cids():
    doc = {"distribution": [{"contentUrl": "https://ipfs.io/ipfs/bafyx", "datasoil:cid": "bafyx"}]}
    moved = croissant.file_urls(doc, "http://127.0.0.1:8080/")
    assert moved["distribution"][0]["contentUrl"] == "http://127.0.0.1:8080/ipfs/bafyx"
    assert doc["distribution"][0]["contentUrl"] == "https://ipfs.io/ipfs/bafyx"
