"""Croissant 1.0 JSON-LD metadata for a published dataset.

Each dataset's metadata document names it, its license and creator, lists its files as
``cr:FileObject`` distributions (``contentUrl`` an HTTP gateway URL,
``{gateway}/ipfs/{cid}``, that any Croissant reader such as ``mlcroissant`` downloads;
``sameAs`` the ``ipfs://{cid}`` URI and ``datasoil:cid`` the CID itself, so a reader with
its own IPFS node or gateway fetches and verifies by CID; and their SHA-256), describes
the rows as one record set built from the explicit schema, and
records datasoil's own facts under the ``datasoil:`` prefix: the CID profile, the row
encoding version, the row root and count, and, on the field that names each row's
subject (docs/consent.md), ``datasoil:subject`` (``address`` or ``commitment``). Derived
datasets name their parents with PROV-O ``prov:wasDerivedFrom``. Private datasets leave
out anything that would let a reader confirm a guessed file: no file names, sizes,
hashes or plaintext CIDs (see docs/formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datasoil import config
from datasoil.errors import SchemaError
from datasoil.formats.rows import Column, Schema

__all__ = [
    "CROISSANT_CONFORMS_TO",
    "DATA_TYPES",
    "DEFAULT_HTTP_GATEWAY",
    "SUBJECT_KINDS",
    "FileEntry",
    "build",
    "canonical_bytes",
    "file_urls",
    "subject_of",
]

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"

#: The HTTP gateway ``contentUrl`` points at unless the publisher names another: a public
#: IPFS gateway answering ``/ipfs/{cid}`` for anything on the IPFS network.
DEFAULT_HTTP_GATEWAY = config.DEFAULT_HTTP_GATEWAY

# datasoil column types -> schema.org data types Croissant understands.
DATA_TYPES: dict[str, str] = {
    "bool": "sc:Boolean",
    "int64": "sc:Integer",
    "float64": "sc:Float",
    "float32": "sc:Float",
    "decimal": "sc:Text",
    "string": "sc:Text",
    "bytes": "sc:Text",
    "date": "sc:Date",
    "timestamp": "sc:DateTime",
}

#: What a subject column may hold (docs/consent.md): Ethereum addresses or keccak256
#: commitments, as ``bytes`` or as ``0x`` hex ``string`` values.
SUBJECT_KINDS = ("address", "commitment")
_SUBJECT_TYPES = ("string", "bytes")

# The encodingFormat strings Croissant readers dispatch on (mlcroissant: "application/jsonlines").
_ENCODING = {
    "csv": "text/csv",
    "parquet": "application/x-parquet",
    "jsonl": "application/jsonlines",
}

_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "equivalentProperty": "cr:equivalentProperty",
    "samplingRate": "cr:samplingRate",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "prov": "http://www.w3.org/ns/prov#",
    "datasoil": "https://github.com/datasoil/datasoil/blob/main/docs/formats.md#",
}


@dataclass(frozen=True)
class FileEntry:
    """One data file of a dataset: its path inside the dataset, CID, size and SHA-256."""

    path: str
    cid: str
    size: int
    sha256: str
    format: str


def build(
    *,
    name: str,
    description: str,
    license: str,
    creator: str,
    content_cid: str,
    files: Sequence[FileEntry],
    schema: Schema,
    row_root: bytes,
    row_count: int,
    cid_profile: str,
    encoding_version: str,
    derived_from: Sequence[str] = (),
    private: bool = False,
    gateway: str = "ipfs://",
    http_gateway: str = DEFAULT_HTTP_GATEWAY,
    version: str = "1.0.0",
    subject: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The Croissant JSON-LD document as a dict (see the module docstring).

    ``gateway`` prefixes the CIDs used as identifiers (``url``, ``citeAs``, lineage);
    ``http_gateway`` is the base of every ``contentUrl`` (``{http_gateway}/ipfs/{cid}``).

    ``subject`` is ``(column, kind)``: the column naming each row's subject, a string or
    bytes column, and its kind (:data:`SUBJECT_KINDS`); SchemaError otherwise.

    No publication date is included: the document depends only on the data and the
    arguments, so publishing the same data twice gives the same metadata CID.
    """
    if subject is not None:
        _check_subject(schema, *subject)
    distribution: list[dict[str, Any]] = []
    if private:
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": "ciphertext",
                "name": "ciphertext",
                "description": "datasoil-enc-v1 ciphertext; the key is sold through AccessMarket",
                **_urls(http_gateway, content_cid),
                "encodingFormat": "application/octet-stream",
            }
        )
        source_id = "ciphertext"
    else:
        for entry in files:
            distribution.append(
                {
                    "@type": "cr:FileObject",
                    "@id": entry.path,
                    "name": entry.path,
                    **_urls(http_gateway, entry.cid),
                    "contentSize": f"{entry.size} B",
                    "encodingFormat": _ENCODING.get(entry.format, "application/octet-stream"),
                    "sha256": entry.sha256,
                }
            )
        source_id = files[0].path if files else "ciphertext"
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"rows/{column.name}",
            "name": column.name,
            "dataType": DATA_TYPES.get(column.type, "sc:Text"),
            "source": {"fileObject": {"@id": source_id}, "extract": {"column": column.name}},
            "datasoil:type": column.type,
            "datasoil:nullable": column.nullable,
        }
        for column in schema.columns
    ]
    if subject is not None:
        fields[schema.names.index(subject[0])]["datasoil:subject"] = subject[1]
    document: dict[str, Any] = {
        "@context": _CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_CONFORMS_TO,
        "name": name,
        "description": description,
        "license": license,
        "creator": {"@type": "sc:Person", "name": creator},
        "url": f"{gateway}{content_cid}",
        "version": version,
        "citeAs": f"{name}, {gateway}{content_cid}",
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "rows",
                "name": "rows",
                "description": "one record per row, in the row order the row root commits to",
                "field": fields,
            }
        ],
        "datasoil:contentCid": content_cid,
        "datasoil:cidProfile": cid_profile,
        "datasoil:rowEncoding": encoding_version,
        "datasoil:rowRoot": "0x" + row_root.hex(),
        "datasoil:rowCount": row_count,
        "datasoil:private": private,
    }
    if derived_from:
        document["prov:wasDerivedFrom"] = [{"@id": f"{gateway}{cid}"} for cid in derived_from]
    return document


def _check_subject(schema: Schema, column: str, kind: str) -> None:
    if kind not in SUBJECT_KINDS:
        raise SchemaError(
            f"subject column: expected a kind among {', '.join(SUBJECT_KINDS)}, found {kind!r}"
        )
    types = {c.name: c.type for c in schema.columns}
    if column not in types:
        raise SchemaError(
            f"subject column: expected one of the schema's columns ({', '.join(types)}), "
            f"found {column!r}"
        )
    if types[column] not in _SUBJECT_TYPES:
        raise SchemaError(
            f"subject column {column!r}: expected a string or bytes column, found {types[column]}"
        )


def subject_of(document: dict[str, Any]) -> tuple[str, int, str] | None:
    """The subject column a datasoil Croissant document declares: ``(name, position in
    the schema, kind)``, or None.

    Raises SchemaError for a document declaring more than one, or an unknown kind.
    """
    found = [
        (str(f["name"]), i, str(f["datasoil:subject"]))
        for i, f in enumerate(document.get("recordSet", [{}])[0].get("field", []))
        if "datasoil:subject" in f
    ]
    if len(found) > 1:
        raise SchemaError(f"expected at most one subject column, found {[f[0] for f in found]}")
    if found and found[0][2] not in SUBJECT_KINDS:
        raise SchemaError(
            f"subject column: expected a kind among {', '.join(SUBJECT_KINDS)}, found "
            f"{found[0][2]!r}"
        )
    return found[0] if found else None


def _urls(http_gateway: str, cid: str) -> dict[str, str]:
    return {
        "contentUrl": f"{http_gateway.rstrip('/')}/ipfs/{cid}",
        "sameAs": f"ipfs://{cid}",
        "datasoil:cid": cid,
    }


def file_urls(document: dict[str, Any], http_gateway: str) -> dict[str, Any]:
    """``document`` with every ``contentUrl`` moved to ``http_gateway`` (a reader's choice).

    The CIDs (``datasoil:cid``) are unchanged, so the file a reader downloads is still
    checked by its SHA-256 (mlcroissant does) or by CID.
    """
    out = json.loads(json.dumps(document))
    for entry in out.get("distribution", []):
        if "datasoil:cid" in entry:
            entry["contentUrl"] = f"{http_gateway.rstrip('/')}/ipfs/{entry['datasoil:cid']}"
    result: dict[str, Any] = out
    return result


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The bytes that are pinned: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def schema_of(document: dict[str, Any]) -> Schema:
    """The explicit schema a datasoil Croissant document records (its ``rows`` record set).

    Raises SchemaError when the document has no datasoil column types.
    """
    try:
        fields = document["recordSet"][0]["field"]
        columns = tuple(
            Column(str(f["name"]), str(f["datasoil:type"]), bool(f.get("datasoil:nullable", True)))
            for f in fields
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise SchemaError(
            f"expected a datasoil Croissant record set with column types, found none ({exc})"
        ) from exc
    return Schema(columns)
