"""The page's proof checks (web/src/proofs.ts) held to independent implementations, in
Node without a browser: RFC 9162 inclusion against pymerkle's roots, manifest entries
against dag_cbor, and the fate rules against datasoil.formats.fate (the contract's
mirror). proofs.ts is bundled with the page's own esbuild."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import dag_cbor
import pymerkle
import pytest

from datasoil.errors import ProofError
from datasoil.formats import merkle
from datasoil.formats.fate import FateRecord, fate_rules
from tests.e2e.web.conftest import WEB, _npm_install

#: Reads one JSON document of cases on stdin, writes one of answers.
_DRIVER = """
import { readFileSync } from "node:fs";
import { entryBytes, fateOutput, leafHash, verifyInclusion } from "./proofs.mjs";
const hex = (b) => "0x" + Buffer.from(b).toString("hex");
const bytes = (h) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = {
  leaves: cases.leaves.map((d) => hex(leafHash(bytes(d)))),
  inclusion: cases.inclusion.map((c) => {
    const path = c.path.map(bytes);
    return verifyInclusion(BigInt(c.index), BigInt(c.size), bytes(c.leaf), path, bytes(c.root));
  }),
  entries: cases.entries.map(([d, i]) => hex(entryBytes(BigInt(d), BigInt(i)))),
  fates: cases.fates.map((c) => {
    try {
      const o = fateOutput(bytes(c.fate), BigInt(c.index), BigInt(c.rows_in), BigInt(c.rows_out));
      return [true, o === null ? null : Number(o)];
    } catch (e) {
      return [false, null];
    }
  }),
};
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def proofs_js(tmp_path_factory) -> Any:
    if not (WEB / "node_modules" / "esbuild").is_dir():
        _npm_install(WEB)
    where: Path = tmp_path_factory.mktemp("proofs-js")
    subprocess.run(
        [
            str(WEB / "node_modules" / ".bin" / "esbuild"),
            str(WEB / "src" / "proofs.ts"),
            "--bundle",
            "--format=esm",
            "--platform=node",
            f"--outfile={where / 'proofs.mjs'}",
            "--log-level=error",
        ],
        check=True,
        capture_output=True,
    )
    driver = where / "driver.mjs"
    driver.write_text(_DRIVER)

    def run(cases: dict[str, Any]) -> dict[str, Any]:
        done = subprocess.run(
            ["node", str(driver)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            check=True,
            cwd=where,
        )
        return dict(json.loads(done.stdout))

    return run


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _pymerkle_root(entries: list[bytes]) -> bytes:
    tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
    for e in entries:
        tree.append_entry(e)
    return bytes(tree.get_root())


def _python_says(case: dict[str, Any]) -> bool:
    proof = merkle.InclusionProof(
        case["index"],
        case["size"],
        bytes.fromhex(case["leaf"][2:]),
        tuple(bytes.fromhex(p[2:]) for p in case["path"]),
        bytes.fromhex(case["root"][2:]),
    )
    try:
        merkle.verify_inclusion(proof)
    except ProofError:
        return False
    return True


def test_inclusion__accepts_every_true_path_and_refuses_every_altered_one(proofs_js):
    rng = random.Random(17)
    cases, expected = [], []
    leaves_data = [rng.randbytes(rng.randrange(0, 40)) for _ in range(70)]
    for size in [*range(1, 34), 70]:
        data = leaves_data[:size]
        leaves = [merkle.leaf_hash(d) for d in data]
        root = _pymerkle_root(data)
        for index in range(size) if size < 70 else rng.sample(range(size), 12):
            path = list(merkle.inclusion_proof(leaves, index).path)
            good = {
                "index": index,
                "size": size,
                "leaf": _hex(leaves[index]),
                "path": [_hex(p) for p in path],
                "root": _hex(root),
            }
            cases.append(good)
            expected.append(True)
            if path:
                flipped = bytearray(path[-1])
                flipped[0] ^= 1
                cases.append({**good, "path": [*good["path"][:-1], _hex(bytes(flipped))]})
                cases.append({**good, "path": good["path"][:-1]})
                expected += [False, False]
            cases.append({**good, "leaf": _hex(merkle.leaf_hash(b"other"))})
            expected.append(False)
            # Relabelled with another size or index: RFC 9162's algorithm accepts some
            # (a verifier takes the size from the chain), so the library decides.
            for other in ({**good, "size": size + 1}, {**good, "index": (index + 1) % size}):
                cases.append(other)
                expected.append(_python_says(other))
    answer = proofs_js(
        {
            "leaves": [_hex(d) for d in leaves_data],
            "inclusion": cases,
            "entries": [],
            "fates": [],
        }
    )
    assert answer["leaves"] == [_hex(merkle.leaf_hash(d)) for d in leaves_data]
    assert answer["leaves"][:3] == [
        _hex(hashlib.sha256(b"\x00" + d).digest()) for d in leaves_data[:3]
    ]
    assert answer["inclusion"] == expected


def test_entries_and_fate_rules__match_dag_cbor_and_the_python_rules(proofs_js):
    numbers = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]
    entries = [(d, i) for d in numbers[:6] for i in numbers]
    rng = random.Random(5)
    fates = []
    for _ in range(600):
        rows_in = rng.randrange(1, 12)
        index = rng.randrange(rows_in)
        rows_out = rng.randrange(0, rows_in + 1)
        before = rng.randrange(0, index + 2)
        kept = rng.random() < 0.5
        record = FateRecord(
            index,
            kept,
            before if kept else None,
            before,
            None if kept else rng.randrange(0, 4),
            None if kept or rng.random() < 0.5 else rng.randrange(0, index + 1),
        ).encode()
        raw = bytearray(record)
        if rng.random() < 0.4:  # one field off: any byte, any value
            raw[rng.randrange(34)] = rng.choice([0, 1, 2, 0xFF, rng.randrange(256)])
        fates.append(
            {
                "fate": _hex(bytes(raw)),
                "index": index if rng.random() < 0.9 else (index + 1) % rows_in,
                "rows_in": rows_in,
                "rows_out": rows_out,
            }
        )
    as_text = [[str(d), str(i)] for d, i in entries]  # JSON numbers lose bits past 2^53 in JS
    answer = proofs_js({"leaves": [], "inclusion": [], "entries": as_text, "fates": fates})
    assert answer["entries"] == [_hex(bytes(dag_cbor.encode([d, i]))) for d, i in entries]
    expected = [
        list(fate_rules(bytes.fromhex(c["fate"][2:]), c["index"], c["rows_in"], c["rows_out"]))
        for c in fates
    ]
    assert answer["fates"] == expected
    # Both verdicts occur, kept and dropped among the accepted.
    assert {ok for ok, _ in expected} == {True, False}
    assert {out is None for ok, out in expected if ok} == {True, False}
