"""The page for people, in headless Chromium, over one prepared chain (dapp_world.py).

One module fixture deploys and fills the chain through the library flows (named and
described datasets, a cleaning claim with an audit, a version, a private listed
derivative, quality attestations, a model), serves the built page with
:mod:`datasoil.app.gateway` and starts one Chromium (browser.mjs); each test opens a
fresh browser context with a test wallet (EIP-6963, legacy ``window.ethereum``, none,
or on another chain) and checks what the page shows against the chain and the library.

Set ``DATASOIL_WEB_SCREENSHOTS=1`` to copy the screenshots into docs/.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from datasoil.app import gateway
from datasoil.flows import access
from datasoil.flows import models as flow
from datasoil.formats.fate import FateRecord
from datasoil.store import open_store
from tests.e2e.web import dapp_world
from tests.e2e.web.browser import Browser

ROOT = Path(__file__).resolve().parents[3]
#: Empties the row checker's verdict, so a wait sees the next one, not the last.
_CLEAR_VERDICT = (
    "Object.assign(document.getElementById('verdict'), {textContent: '', className: ''})"
)
SHOTS = (
    "datasets", "search", "dataset", "lineage", "model", "bought", "owner", "wrong-network",
    "phone", "consent",
)  # fmt: skip


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            body = answer.read()
            return answer.status, json.loads(body)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()


@pytest.fixture(scope="module")
def dapp(project, accounts, chromium, built_page, tmp_path_factory):
    from web3 import Web3

    work = tmp_path_factory.mktemp("dapp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATASOIL_HOME", str(work / "home"))
        mp.setenv("DATASOIL_IPFS_PATH", str(work / "home" / "ipfs"))
        mp.delenv("DATASOIL_IPFS_API", raising=False)
        world = dapp_world.build(project, accounts, work)
        node = os.environ["APE_FOUNDRY_HOST"]
        server = gateway.serve(
            gateway.Gateway(
                Web3(Web3.HTTPProvider(node)),
                open_store(),
                node=node,
                dist=built_page,
                deployments_dir=work / "home" / "deployments",
            ),
            0,
        )
        browser = Browser(chromium, node)
        shots = work / "shots"
        shots.mkdir()
        try:
            yield SimpleNamespace(
                world=world,
                url=f"http://127.0.0.1:{server.server_address[1]}/",
                api=f"http://127.0.0.1:{server.server_address[1]}/api/",
                browser=browser,
                shots=shots,
                work=work,
                ids=world.ids,
                a=world.accounts,
            )
        finally:
            browser.close()
            server.shutdown()
            if os.environ.get("DATASOIL_WEB_SCREENSHOTS"):
                for name in SHOTS:
                    if (shots / f"web-{name}.png").exists():
                        shutil.copy(shots / f"web-{name}.png", ROOT / "docs" / f"web-{name}.png")


def _show(dapp, hash_: str, view: str) -> None:
    """Navigate the open page to ``hash_`` and wait until view ``view`` is drawn."""
    dapp.browser.eval(f"location.hash = {json.dumps(hash_)}")
    dapp.browser.wait(f"body[data-view='{view}']", state="attached")


def _connect(dapp, account: str) -> None:
    dapp.browser.click("#connect")
    dapp.browser.wait(f"#account:text('{account}')")
    dapp.browser.wait("body[data-view]", state="attached")


def _trust(dapp, *attesters: str) -> None:
    dapp.browser.eval(
        f"localStorage.setItem('datasoil.attesters', {json.dumps(' '.join(attesters))})"
    )


def _shot(dapp, name: str) -> None:
    dapp.browser.shot(dapp.shots / f"web-{name}.png")
    assert (dapp.shots / f"web-{name}.png").stat().st_size > 5_000


def _short(account: Any) -> str:
    """An address as the page abbreviates it (web/src/util.ts ``short``)."""
    a = str(account.address)
    return f"{a[:6]}…{a[-4:]}"


def _soil(amount: int) -> str:
    """Base units of an 18-decimal token as viem's ``formatUnits`` writes them."""
    text = f"{Decimal(amount) / 10**18:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _key(ids: dict[str, int], dataset_id: int) -> str:
    return next(k for k, v in ids.items() if v == dataset_id)


def _ids(dapp, selector: str) -> list[int]:
    return sorted(int(x) for x in dapp.browser.attrs(selector, "data-id"))


# -- the /api the page reads ------------------------------------------------------------


def test_api__catalog_searches_filters_sorts_and_pages(dapp):
    ids = dapp.ids
    status, everything = _get(dapp.api + "catalog")
    assert status == 200 and everything["total"] == 5
    by_id = {i["id"]: i for i in everything["items"]}
    for key, (name, description) in dapp_world.NAMES.items():
        assert (by_id[ids[key]]["name"], by_id[ids[key]]["description"]) == (name, description)
    assert everything["licenses"] == ["CC-BY-4.0", "CC-BY-NC-4.0", "ODbL-1.0"]

    def found(query: str) -> list[int]:
        status, answer = _get(dapp.api + "catalog?" + query)
        assert status == 200, answer
        return [i["id"] for i in answer["items"]]

    contacts = sorted(ids[k] for k in ("raw", "clean", "v2", "private"))
    assert sorted(found("q=contacts")) == contacts
    assert found("q=weather+stations") == [ids["other"]]
    assert found("q=stations+contacts") == []
    assert found(f"q=%23{ids['clean']}") == [ids["clean"]]
    assert found("license=ODbL-1.0") == [ids["other"]]
    assert found("access=private") == [ids["private"]]
    assert found("sale=listed") == [ids["private"]]
    assert found(f"max_price={dapp_world.PRICE}") == [ids["private"]]
    assert found(f"max_price={dapp_world.PRICE - 1}") == []
    assert found("sort=rows")[0] == ids["v2"]  # 3,025 rows
    names = [i["name"] for i in _get(dapp.api + "catalog?sort=name")[1]["items"]]
    assert names == sorted(names, key=str.casefold)
    # Quality: the mean of the attester's scores, trusted or not as asked.
    attester = str(dapp.a["attester"].address)
    attested = [ids["raw"], ids["clean"], ids["private"]]
    assert found("sort=quality")[:3] == sorted(
        attested, key=lambda i: (-by_id[i]["quality"]["score"], i)
    )
    assert all(by_id[i]["quality"] == {**by_id[i]["quality"], "count": 1} for i in attested)
    assert not any(by_id[i]["quality"]["trusted"] for i in attested)
    scored = _get(dapp.api + f"catalog?trusted={attester}")[1]["items"]
    trusted = {i["id"]: i["quality"]["trusted"] for i in scored if i["quality"]}
    assert trusted == dict.fromkeys(attested, True)
    # Pages: two a page, three pages, the last with one.
    pages = [_get(dapp.api + f"catalog?per_page=2&page={p}")[1] for p in (1, 2, 3, 9)]
    assert [p["pages"] for p in pages] == [3, 3, 3, 3]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 1]
    assert sorted(i["id"] for p in pages[:3] for i in p["items"]) == sorted(ids.values())
    status, said = _get(dapp.api + "catalog?sort=price-ish")
    assert status == 400 and said.startswith("expected a valid /api query") and "\n" not in said


def test_api__graph_models_row_bundles_and_bom(dapp, project):
    ids, world = dapp.ids, dapp.world
    status, graph = _get(dapp.api + f"datasets/{ids['raw']}/graph")
    assert status == 200
    assert sorted(n["id"] for n in graph["nodes"]) == sorted(
        ids[k] for k in ("raw", "clean", "v2", "private")
    )
    assert {(e["from"], e["to"], e["kind"]) for e in graph["edges"]} == {
        (ids["raw"], ids["clean"], "parent"),
        (ids["clean"], ids["private"], "parent"),
        (ids["raw"], ids["v2"], "version"),
    }
    status, models = _get(dapp.api + f"models?dataset={ids['clean']}")
    assert status == 200 and [m["id"] for m in models] == [world.model]
    assert models[0]["name"] == "Income classifier"
    clean, private = models[0]["datasets"]
    assert (clean["dataset_id"], clean["rows_used"], clean["receipt"]) == (
        ids["clean"],
        len(dapp_world.USED),
        None,
    )
    assert (private["dataset_id"], private["rows_used"]) == (
        ids["private"],
        len(dapp_world.PRIVATE_USED),
    )
    assert private["receipt"] == models[0]["receipts"][0] and private["receipt"] > 0
    tuned = _get(dapp.api + f"models?dataset={ids['other']}")[1]
    assert [(m["id"], m["parents"]) for m in tuned] == [(world.fine_tune, [world.model])]
    assert _get(dapp.api + "models/99")[0] == 404

    # Bundles from the gateway verify with the library and with ModelRegistry.
    c = world.contracts
    for row, used in ((3, True), (4, False)):
        status, bundle = _get(dapp.api + f"models/{world.model}/rows/{ids['clean']}/{row}")
        proof = flow.RowProof.loads(json.dumps(bundle))
        assert proof.verify() is None and proof.used is used
        flow.verify_on_chain(proof, models=c.require("models"), registry=world.registry)
    status, said = _get(dapp.api + f"models/{world.model}/rows/{ids['clean']}/99999")
    assert status == 400 and "below dataset" in said

    status, bom = _get(dapp.api + f"models/{world.model}/bom?format=cyclonedx")
    assert status == 200 and bom["bomFormat"] == "CycloneDX"
    names = {comp.get("name") for comp in bom["components"]}
    assert {dapp_world.NAMES["clean"][0], dapp_world.NAMES["raw"][0]} <= names


# -- the page ----------------------------------------------------------------------------


def test_list__shows_names_and_descriptions_and_searches_and_filters(dapp):
    b, ids = dapp.browser, dapp.ids
    b.open(dapp.url)
    _trust(dapp, str(dapp.a["attester"].address))
    b.goto(dapp.url)
    b.wait("#datasets li.card")
    assert _ids(dapp, "#datasets li.card") == sorted(ids.values())
    cards = {
        int(i): t
        for i, t in zip(
            b.attrs("#datasets li.card", "data-id"), b.texts("#datasets li.card"), strict=True
        )
    }
    for key, (name, description) in dapp_world.NAMES.items():
        assert name in cards[ids[key]] and description in cards[ids[key]]
    assert "25 SOIL" in cards[ids["private"]] and "private" in cards[ids["private"]]
    badge = f"#datasets li.card[data-id='{ids['raw']}'] .badge.quality"
    assert b.eval(f"document.querySelector({json.dumps(badge)}).className") == "badge quality good"
    assert "quality 94.5%" in cards[ids["raw"]]
    assert "no score" in cards[ids["other"]]
    _shot(dapp, "datasets")

    def shown(after: str) -> list[int]:
        # The list drawn for the query the form now holds (the URL has it).
        b.call(
            "wait_fn",
            js="document.getElementById('datasets').dataset.query === location.hash.slice(3)",
        )
        assert b.text("#count") == after
        return _ids(dapp, "#datasets li.card")

    b.fill("#q", "weather")
    assert shown("1 dataset.") == [ids["other"]]
    b.fill("#q", "contacts april")
    assert shown("1 dataset.") == [ids["v2"]]
    b.fill("#q", "contacts")
    assert shown("4 datasets.") == sorted(ids[k] for k in ("raw", "clean", "v2", "private"))
    _shot(dapp, "search")
    b.fill("#q", "")
    b.select("#f-license", "CC-BY-NC-4.0")
    assert shown("1 dataset.") == [ids["private"]]
    b.select("#f-license", "")
    b.select("#f-access", "public")
    assert shown("4 datasets.") == sorted(ids[k] for k in ("raw", "clean", "v2", "other"))
    b.select("#f-access", "")
    b.select("#f-sale", "listed")
    assert shown("1 dataset.") == [ids["private"]]
    b.fill("#f-max", "20")
    assert shown("No dataset matches.") == []
    assert b.eval("location.hash").startswith("#/?") and "sale=listed" in b.eval("location.hash")

    # Sorted by name, two a page: the pages' links walk the catalogue in name order.
    by_name = sorted(ids.values(), key=lambda i: dapp_world.NAMES[_key(ids, i)][0].casefold())
    b.eval("location.hash = '#/?sort=name&per_page=2'")
    seen = []
    for page in (1, 2, 3):
        b.wait(f"#pages span:text('page {page} of 3')")
        assert b.text("#count") == f"5 datasets, page {page} of 3."
        seen += [int(i) for i in b.attrs("#datasets li.card", "data-id")]
        if page < 3:
            b.click("#pages a:text('next')")
    assert seen == by_name
    assert b.eval("document.querySelector('#f-sort').value") == "name"
    b.click("#pages a:text('previous')")
    b.wait("#pages span:text('page 2 of 3')")


def test_dataset_page__lineage_royalty_path_charts_claims_and_models(dapp):
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    b.open(dapp.url)
    _trust(dapp, str(dapp.a["attester"].address))
    _show(dapp, f"#/dataset/{ids['private']}", f"dataset:{ids['private']}")
    assert b.text("#title") == dapp_world.NAMES["private"][0]
    assert _ids(dapp, "svg#graph a.node") == sorted(ids[k] for k in ("raw", "clean", "private"))
    # The royalty path is what AccessMarket.quote_release credits at the listed price.
    credits = world.contracts.market.quote_release(ids["private"], dapp_world.PRICE)
    credited = sorted({int(c.dataset_id) for c in credits})
    assert _ids(dapp, "svg#graph a.node.royalty") == credited
    assert credited == sorted(ids[k] for k in ("raw", "clean", "private"))
    royal = b.eval(
        "[...document.querySelectorAll('svg#graph path.edge.royalty')]"
        ".map(e => [+e.dataset.from, +e.dataset.to]).sort()"
    )
    assert royal == sorted([[ids["raw"], ids["clean"]], [ids["clean"], ids["private"]]])
    assert len(b.texts("#royalties li")) == len(credits)
    assert "private" in b.text("#preview")  # ciphertext: no preview
    b.wait("#snippets .snippet")
    assert f"ape run market buy {ids['private']}" in b.text("#snippets")  # listed, not paused
    _shot(dapp, "lineage")

    _show(dapp, f"#/dataset/{ids['clean']}", f"dataset:{ids['clean']}")
    b.wait("figure[data-chart='completeness'] svg")
    report = json.loads(b"".join(open_store().cat(_report_cid(dapp, ids["clean"]))))
    bars = b.eval(
        "[...document.querySelectorAll(\"figure[data-chart='completeness'] svg title\")]"
        ".map(t => t.textContent)"
    )
    assert bars == [
        f"{c['name']} ({c['type']}): {c['completeness'] * 100:.1f}% present"
        for c in report["columns"]
    ]
    labels = b.texts("figure[data-chart='labels'] svg title")
    assert labels == [
        f"{k['value']}: {k['count']} rows ({k['share'] * 100:.1f}%)"
        for k in report["label"]["classes"]
    ]
    for kind in ("outliers", "duplicates", "score"):
        assert (
            b.eval(f"document.querySelectorAll(\"figure[data-chart='{kind}'] svg rect\").length")
            > 0
        )
    assert "trusted attester" in b.eval("document.querySelector('#quality-badge .badge').title")
    # The claim that made it: its passed audit, the dispute and its settlement (the claim
    # stood, so DISPUTE_FORFEIT_BPS of the bond went to the claimant), the final status.
    proofs = world.contracts.require("proofs")
    assert int(proofs.status(world.claim)) == 3  # finalised
    assert b.attrs(f"#claims li.claim[data-claim='{world.claim}']", "data-status") == ["finalised"]
    claim = b.texts(f"#claims li.claim[data-claim='{world.claim}']")[0]
    assert (
        f"made this dataset from #{ids['raw']}" in claim
        and f"ape run verify {world.claim}" in claim
    )
    bond = int(proofs.bond())
    forfeited = bond * int(proofs.DISPUTE_FORFEIT_BPS()) // 10_000
    assert b.texts(f"#claims li.claim[data-claim='{world.claim}'] ul.audits li") == [
        f"audit 0 by {_short(dapp.a['auditor'])}: passed",
        f"disputed by {_short(dapp.a['attester'])} (bond {_soil(bond)} SOIL) in block "
        + str(_get(dapp.api + "events?contract=CleaningProofs&name=ClaimDisputed")[1][0]["block"]),
        f"dispute settled: {_soil(bond - forfeited)} SOIL back to the disputer, "
        f"{_soil(forfeited)} to the claimant",
        f"verdict by {_short(dapp.a['attester'])}, a full re-execution: reproduced (block "
        f"{_verdict_block(dapp, ids['clean'], world.claim)})",
    ]
    assert b.attrs("#trained li", "data-model") == [str(world.model)]
    assert f"datasoil.load({ids['clean']})" in b.text("#snippets")
    b.wait("#preview-verified")
    _shot(dapp, "dataset")

    # The raw data's graph: its children below it and its new version, dashed.
    _show(dapp, f"#/dataset/{ids['raw']}", f"dataset:{ids['raw']}")
    edges = b.eval(
        "[...document.querySelectorAll('svg#graph path.edge')]"
        ".map(e => [e.getAttribute('class'), +e.dataset.from, +e.dataset.to]).sort()"
    )
    assert sorted(map(tuple, edges)) == sorted(
        [
            ("edge parent", ids["raw"], ids["clean"]),
            ("edge parent", ids["clean"], ids["private"]),
            ("edge version", ids["raw"], ids["v2"]),
        ]
    )
    assert (
        b.eval("getComputedStyle(document.querySelector('path.edge.version')).strokeDasharray")
        != "none"
    )


def _verdict_block(dapp, dataset_id: int, claim_id: int) -> int:
    """The block of the full reproduction attestation of ``claim_id`` on ``dataset_id``,
    its metric set computed by the library (not the page's)."""
    from datasoil.protocol.metric_sets import reproduction_metric_set

    wanted = "0x" + reproduction_metric_set(claim_id).hex()
    attested = _get(dapp.api + f"datasets/{dataset_id}/attestations")[1]
    (found,) = [a for a in attested if a["args"]["metric_set"] == wanted]
    assert int(found["args"]["score"]) == 10_000
    return int(found["block"])


def _report_cid(dapp, dataset_id: int) -> Any:
    """The CID of the latest quality report attested for ``dataset_id`` (from the index)."""
    from datasoil.formats.cid import CidTuple

    attested = _get(dapp.api + f"datasets/{dataset_id}/attestations")[1]
    report = attested[-1]["args"]["report"]
    prefix = (int(report["version"]) << 64) | int(report["codec"])
    return CidTuple.from_abi((prefix, bytes.fromhex(report["digest"][2:]))).to_cid()


def test_preview__first_rows_verified_and_a_tampered_block_refused(dapp):
    from datasoil.flows import loader

    b, ids = dapp.browser, dapp.ids
    d = dapp.world.registry.get(ids["clean"])
    table = loader.load(ids["clean"], registry=dapp.world.registry, store=open_store())
    b.open(dapp.url)
    _show(dapp, f"#/dataset/{ids['clean']}", f"dataset:{ids['clean']}")
    b.wait("#preview-verified")
    assert d.content_cid in b.text("#preview-verified")
    assert b.texts("#preview-table thead th") == list(table.column_names)
    shown = [b.texts(f"#preview-table tbody tr:nth-child({i + 1}) td") for i in range(20)]
    assert len(b.texts("#preview-table tbody tr")) == 20
    expected = table.slice(0, 20).to_pylist()
    assert [r[0] for r in shown] == [str(r["id"]) for r in expected]
    assert [r[1] for r in shown] == [r["name"] or "" for r in expected]

    # The same page with one byte of the content block flipped in transit: refused.
    b.open(dapp.url)
    b.call("tamper", pattern=f"/ipfs/{d.content_cid}")
    _show(dapp, f"#/dataset/{ids['clean']}", f"dataset:{ids['clean']}")
    b.wait("#preview-refused")
    assert b.text("#preview-refused") == (
        f"The gateway sent block {d.content_cid} with bytes that do not match its CID: refused."
    )
    assert b.eval("document.querySelectorAll('#preview-table').length") == 0


def test_model_page__the_row_checker_says_yes_and_no_as_the_proofs_do(dapp, tmp_path):
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    b.open(dapp.url)
    _show(dapp, f"#/model/{world.model}", f"model:{world.model}")
    assert dapp_world.NAMES["clean"][0] in b.text("#ingredients")
    credits = b.texts("#sale-credits li")
    assert any(f"dataset #{ids['clean']}" in c for c in credits)
    assert any("the model's owner" in c for c in credits)
    # The exact amounts (in the titles) are ModelRegistry.quote_sale's and add up to the price.
    exact = b.attrs("#sale-credits li span", "title")
    paid = sum(int(Decimal(t.removesuffix(" SOIL")) * 10**18) for t in exact)
    assert paid == dapp_world.MODEL_PRICE

    def verdict(dataset_id: int, row: int) -> str:
        b.eval(_CLEAR_VERDICT)
        b.select("#check-dataset", str(dataset_id))
        b.fill("#check-row", str(row))
        b.click("#check")
        b.wait("#verdict.verdict")
        return b.text("#verdict")

    assert verdict(ids["clean"], 3).startswith(f"Yes: row 3 of dataset #{ids['clean']} is entry 1")
    assert verdict(ids["clean"], 4).startswith(f"No: row 4 of dataset #{ids['clean']} is not in")
    # A raw row, followed through the cleaning claim's fate record.
    fates = world.cleaning.fate_path.read_bytes()
    records = [FateRecord.decode(fates[i * 34 : i * 34 + 34]) for i in range(len(fates) // 34)]
    kept_in = next(i for i, r in enumerate(records) if r.kept and r.output_index in dapp_world.USED)
    kept_out = next(
        i for i, r in enumerate(records) if r.kept and r.output_index not in dapp_world.USED
    )
    dropped = next(i for i, r in enumerate(records) if not r.kept)
    out = records[kept_in].output_index
    assert verdict(ids["raw"], kept_in).startswith(
        f"Yes: row {kept_in} of dataset #{ids['raw']} became row {out} of #{ids['clean']}"
    )
    assert verdict(ids["raw"], kept_out).startswith(
        f"No: row {kept_out} of dataset #{ids['raw']} became row"
    )
    assert "the cleaning dropped it" in verdict(ids["raw"], dropped)
    assert "Checked in this page and by ModelRegistry" in b.text("#verdict")
    verdict(ids["raw"], kept_in)
    _shot(dapp, "model")
    # A private row the model did not use is proven absent; a used one needs the
    # trainer's bundle (its row hashes are keyed), and the page says so.
    unused = len(dapp_world.PRIVATE_USED)
    assert verdict(ids["private"], unused).startswith(
        f"No: row {unused} of dataset #{ids['private']} is not in"
    )
    assert verdict(ids["private"], 0) == (
        f"The gateway's event index answered 404: row 0 of private dataset #{ids['private']} "
        "is in the manifest, and its row proof needs the keyed row hashes only a key holder "
        f"has: ask the trainer for a bundle (`ape run model prove MODEL {ids['private']} 0`) "
        "and check it here."
    )
    assert verdict(ids["clean"], 10**6) == (
        f"The gateway's event index answered 400: expected a valid /api query, found (row "
        f"1000000 is not below dataset #{ids['clean']}'s 2655 rows)."
    )

    # A bundle with one hash changed proves nothing, whoever made it.
    bundle = flow.RowProof.loads(
        json.dumps(_get(dapp.api + f"models/{world.model}/rows/{ids['clean']}/3")[1])
    ).to_json()
    bundle["direct"]["row"]["path"][0] = "0x" + "11" * 32
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(bundle))
    b.eval(_CLEAR_VERDICT)
    b.call("upload", selector="#bundle-file", path=str(path))
    b.wait("#verdict.bad")
    assert b.text("#verdict") == (
        f"The row proof of row 3 of dataset #{ids['clean']} does not verify against the "
        "dataset's row root on chain."
    )
    # The BOM link answers a CycloneDX document naming the training data.
    bom = b.eval("fetch(document.querySelector('#bom a').href).then(r => r.json())")
    assert bom["bomFormat"] == "CycloneDX"
    assert dapp_world.NAMES["clean"][0] in json.dumps(bom)


def test_model_page__a_fine_tune_names_its_parent_and_pays_it_as_quote_sale_does(dapp):
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    models = world.contracts.require("models")
    b.open(dapp.url)
    _show(dapp, f"#/model/{world.fine_tune}", f"model:{world.fine_tune}")
    assert b.attrs("#ingredients a[href^='#/model/']", "href") == [f"#/model/{world.model}"]
    assert b.attrs("#ingredients tr[data-id]", "data-id") == [str(ids["other"])]
    # The split, by role, is ModelRegistry.quote_sale's at the listed price.
    c = _get(dapp.api + f"models/{world.fine_tune}")[1]["composition"]
    abi = _get(dapp.url + "deployment.json")[1]["contracts"]["ModelRegistry"]["abi"]
    (quote,) = [f for f in abi if f.get("name") == "quote_sale"]
    order = [part["name"] for part in quote["inputs"][1]["components"]]
    assert sorted(order) == ["data_bps", "datasets", "parents", "parents_bps"]
    values = {
        "datasets": [
            (int(d["dataset_id"]), bytes.fromhex(d["row_root"][2:]), int(d["rows_used"]))
            for d in c["datasets"]
        ],
        "parents": [int(p) for p in c["parents"]],
        "data_bps": int(c["data_bps"]),
        "parents_bps": int(c["parents_bps"]),
    }
    composition = tuple(values[name] for name in order)
    credits = models.quote_sale(world.fine_tune, composition, dapp_world.MODEL_PRICE)
    by_role: dict[str, int] = {}
    for c in credits:
        role = (
            f"dataset #{c.dataset_id}"
            if c.dataset_id
            else "the model's owner"
            if c.model_id == world.fine_tune
            else f"parent model #{c.model_id}"
        )
        by_role[role] = by_role.get(role, 0) + int(c.amount)
    shown = {
        t.split(" (")[0]: int(Decimal(title.removesuffix(" SOIL")) * 10**18)
        for t, title in zip(
            b.texts("#sale-credits li"), b.attrs("#sale-credits li span", "title"), strict=True
        )
    }
    assert shown == by_role and f"parent model #{world.model}" in shown
    assert sum(shown.values()) == dapp_world.MODEL_PRICE
    # The models list has both, each with its rows and price.
    _show(dapp, "#/models", "models")
    assert b.attrs("#models li.card", "data-model") == [str(world.model), str(world.fine_tune)]


def test_wallet__wrong_network_warning_switch_missing_wallet_and_legacy(dapp):
    b = dapp.browser
    buyer = str(dapp.a["buyer"].address)
    b.open(dapp.url, account=buyer, chain_id=1)
    _connect(dapp, buyer)
    b.wait("#warning #wrong-network")
    assert b.text("#wrong-network") == (
        "Your wallet is on chain 1, but datasoil is deployed on chain 31337: switch "
        "networks to buy or list."
    )
    assert b.text("#network") == "chain 1"
    _shot(dapp, "wrong-network")
    # Buying on the wrong chain stops before the wallet is asked, with the same sentence.
    _show(dapp, f"#/dataset/{dapp.ids['private']}", f"dataset:{dapp.ids['private']}")
    b.click("#buy")
    b.wait("#error:not([hidden])")
    assert b.text("#error") == b.text("#wrong-network")
    b.click("#switch")
    b.wait("#warning", state="hidden")
    assert b.text("#network") == "chain 31337"

    b.open(dapp.url)  # no wallet at all
    b.click("#connect")
    b.wait("#error:not([hidden])")
    assert b.text("#error").startswith("No wallet found: install a browser wallet")

    b.open(dapp.url, account=buyer, kind="legacy")  # only window.ethereum
    _connect(dapp, buyer)
    assert b.text("#network") == "chain 31337"

    # Two wallets announce themselves: the page offers both, the first declines, and
    # picking the other connects it.
    b.open(dapp.url, account=buyer, kind="two")
    b.click("#connect")
    b.wait("#error:not([hidden])")
    assert b.text("#error") == "You declined the request in your wallet."
    assert b.texts("#wallets option") == ["Another wallet", "datasoil test wallet"]
    b.select("#wallets", "0b4e1c52-5d3a-4d7e-9c55-datasoil-test")
    b.wait(f"#account:text('{buyer}')")
    assert b.text("#network") == "chain 31337"


def test_owner__reprices_delists_lists_and_withdraws_with_sentences(dapp):
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    market, private = world.contracts.market, ids["private"]
    seller = str(dapp.a["cleaner"].address)
    listing_before = market.listing(private)
    b.open(dapp.url, account=seller)
    _show(dapp, f"#/dataset/{private}", f"dataset:{private}")
    assert b.eval("document.getElementById('owner').hidden") is True  # not connected yet
    _connect(dapp, seller)
    b.wait("#owner #list")
    assert b.text("#list") == "Reprice"
    b.fill("#list-price", "30")
    b.click("#list")
    b.wait("#price:text('30')")
    b.eval("document.getElementById('owner').scrollIntoView()")
    _shot(dapp, "owner")
    assert int(market.listing(private).price) == 30 * 10**18
    b.click("#delist")
    b.wait("#market p:text('Not for sale now.')")
    assert not market.listing(private).active
    b.wait("#list:text('List')")
    # After a delist the owner gives the key commitment again (`ape run market listing`).
    b.fill("#list-commitment", "0x" + bytes(listing_before.key_commitment).hex())
    b.fill("#list-price", "25")
    b.click("#list")
    b.wait("#price:text('25')")
    listing = market.listing(private)
    assert listing.active and int(listing.price) == dapp_world.PRICE
    b.click("#withdraw")
    b.wait("#error:not([hidden])")
    assert b.text("#error") == "You have nothing to withdraw in this token."
    # Someone else's dataset shows no owner panel.
    _show(dapp, f"#/dataset/{ids['raw']}", f"dataset:{ids['raw']}")
    assert b.eval("document.getElementById('owner').hidden") is True


def test_phone_width__every_view_fits_without_horizontal_scroll(dapp):
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    b.open(dapp.url, account=str(dapp.a["buyer"].address), width=390, height=844)
    views = [
        ("#/", "list"),
        (f"#/dataset/{ids['clean']}", f"dataset:{ids['clean']}"),
        (f"#/dataset/{ids['private']}", f"dataset:{ids['private']}"),
        ("#/models", "models"),
        (f"#/model/{world.model}", f"model:{world.model}"),
    ]
    for hash_, view in views:
        _show(dapp, hash_, view)
        if view.startswith("dataset"):
            b.wait("svg#graph")
        width = b.eval("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (hash_, width)
        if view == f"dataset:{ids['clean']}":
            b.wait("figure[data-chart='completeness'] svg")
            _shot(dapp, "phone")


def test_newcomer__finds_by_name_judges_buys_by_keyboard_and_sees_the_model(dapp):
    """The issue's "done when": a person new to the project types part of a name, sees
    quality and provenance without a CID, buys with the keyboard, and reaches the model."""
    b, ids, world = dapp.browser, dapp.ids, dapp.world
    market, private = world.contracts.market, ids["private"]
    buyer = str(dapp.a["buyer"].address)
    # A declined signature is one sentence.
    b.open(dapp.url, account=buyer, reject=("personal_sign",))
    _connect(dapp, buyer)
    _show(dapp, f"#/dataset/{private}", f"dataset:{private}")
    b.click("#buy")
    b.wait("#error:not([hidden])")
    assert b.text("#error") == "You declined the request in your wallet."

    b.open(dapp.url, account=buyer)
    _trust(dapp, str(dapp.a["attester"].address))
    b.goto(dapp.url)
    _connect(dapp, buyer)
    b.fill("#q", "credit")
    b.call(
        "wait_fn",
        js="document.getElementById('datasets').dataset.query === location.hash.slice(3)",
    )
    assert _ids(dapp, "#datasets li.card") == [private]
    b.click(f"#datasets li[data-id='{private}'] h2 a")
    b.wait(f"body[data-view='dataset:{private}']", state="attached")
    assert b.text("#title") == dapp_world.NAMES["private"][0]
    assert "quality" in b.text("#quality-badge") and "of your 1 trusted attesters" in b.text(
        "#quality-badge"
    )
    graph = b.text("svg#graph")
    assert dapp_world.NAMES["raw"][0] in graph and dapp_world.NAMES["clean"][0][:23] in graph
    b.wait("#buy")
    b.eval("document.activeElement.blur(); window.scrollTo(0, 0)")
    presses = b.call("tab_until", selector="#buy", max=25)
    assert presses <= 12, presses
    b.call("press", key="Enter")
    deadline = time.monotonic() + 120
    delivered = False
    while time.monotonic() < deadline and not delivered:
        access.keeper_step(
            market,
            world.registry,
            dapp.a["cleaner"],
            dapp.work / "keeper.json",
            start_block=world.record.block,
            log=lambda _m: None,
        )
        delivered = bool(b.eval("!!document.querySelector('#delivery .ok')"))
        time.sleep(0.5)
    assert delivered, b.text("#market")
    assert "the envelope opens with your key" in b.text("#delivery")
    assert market.has_access(private, buyer)
    assert b.text("#has-access") == "active"
    _shot(dapp, "bought")
    # The model trained on it, with the trainer's purchase as its receipt.
    b.click(f"#trained li[data-model='{world.model}'] a")
    b.wait(f"body[data-view='model:{world.model}']", state="attached")
    (receipt,) = _get(dapp.api + f"models/{world.model}")[1]["receipts"]
    row = b.texts(f"#ingredients tr[data-id='{private}'] td")
    assert row[0].startswith(dapp_world.NAMES["private"][0])
    assert row[1] == f"{len(dapp_world.PRIVATE_USED)} of 2,655" and row[3] == f"purchase #{receipt}"


def test_consent__owner_requests_a_withdrawal_and_sales_pause_down_the_lineage(dapp, tmp_path):
    """The consent panel (issue 15) on two datasets of its own, so the pause reaches no
    other test: a public one whose first column names each row's subject (declared on
    chain) and a private derivative on sale. A subject and the owner each file a request
    in the page; Consent's views and the market's buy button follow."""
    from eth_utils.crypto import keccak

    from datasoil.flows import publish

    b, world, owner = dapp.browser, dapp.world, dapp.a["owner"]
    consent, market, store = (
        world.contracts.require("consent"),
        world.contracts.market,
        open_store(),
    )
    holders = [str(a.address) for a in dapp.a.values()]
    rows = len(holders) * 3
    path = tmp_path / "pets.csv"
    lines = [f"{holders[i % len(holders)]},{('cat', 'dog', 'hen')[i % 3]},{i}" for i in range(rows)]
    path.write_text("holder,pet,age\n" + "\n".join(lines) + "\n")

    def register(private: bool, parents: tuple[int, ...] = ()) -> int:
        prepared = publish.prepare(
            path, store=store, name="Pet owners" + (", notes" if private else ""),
            description="Who owns which pet.", private=private, subject=("holder", "address"),
        )  # fmt: skip
        return publish.register(prepared, world.registry, sender=owner, parents=parents)

    pets = register(False)
    consent.declare_subjects(pets, 0, 1, sender=owner)
    notes = register(True, (pets,))
    consent.declare_subjects(notes, 0, 1, sender=owner)
    market.list_dataset(
        notes, world.contracts.token, dapp_world.PRICE, dapp_world.DURATION, 0,
        keccak(b"a key commitment"), sender=owner,
    )  # fmt: skip

    buyer = str(dapp.a["buyer"].address)
    status, said = _get(dapp.api + f"datasets/{pets}/subjects?address=0x12")
    assert status == 400 and said.endswith("(address='0x12' is not 0x and 40 hex digits)")
    status, said = _get(dapp.api + f"datasets/{notes}/subjects?address={buyer}")
    assert status == 400 and f"dataset #{notes} is private" in said
    b.open(dapp.url, account=buyer)
    _connect(dapp, buyer)
    _show(dapp, f"#/dataset/{pets}", f"dataset:{pets}")
    b.wait("#consent #sales")
    assert b.text("#subjects").startswith("Column 0 names whom each row is about (Ethereum ")
    assert b.attrs("#sales", "data-paused") == ["false"]
    assert b.text("#withdrawals-none") == "No withdrawal request names this dataset."
    assert b.eval("document.querySelectorAll('#withdraw-form').length") == 0  # not the owner
    # The buyer is the subject of every seventh row, and withdraws the first of them
    # itself: the row and its path from the gateway, checked in the page, sent by its wallet.
    theirs = [i for i in range(rows) if holders[i % len(holders)] == buyer]
    assert b.attrs("#your-rows button.subject-request", "data-row") == [str(i) for i in theirs]
    b.click(f"#your-rows button[data-row='{theirs[0]}']")
    b.wait(f"#withdrawals tr[data-row='{theirs[0]}']")
    request = consent.request(pets, theirs[0])
    assert (int(request.state), int(request.via)) == (1, 1)  # open, by its subject
    assert b.texts(f"#withdrawals tr[data-row='{theirs[0]}'] td")[1].startswith("its subject (")
    assert b.attrs("#sales", "data-paused") == ["true"]
    assert b.texts("#your-rows .badge") == [f"row {theirs[0]}: requested"]

    b.open(dapp.url, account=str(owner.address))
    _connect(dapp, str(owner.address))
    _show(dapp, f"#/dataset/{pets}", f"dataset:{pets}")
    b.wait("#withdraw-form")
    for typed, said in (
        ("two", "The row must be a whole number from 0."),
        (str(rows), f"The dataset has {rows} rows: row {rows} is not one of them."),
    ):
        b.fill("#withdraw-row", typed)
        b.click("#request-withdrawal")
        b.wait("#error:not([hidden])")
        assert b.text("#error") == said
    b.fill("#withdraw-row", "2")
    b.click("#request-withdrawal")
    b.wait("#withdrawals tr[data-row='2']")
    assert int(consent.withdrawal_state(pets, 2)) == 1 and consent.paused(pets)
    assert b.texts("#withdrawals tr[data-row='2'] td")[:2] == ["2", f"the owner ({_short(owner)})"]
    assert b.attrs("#withdrawals tr[data-row='2']", "data-state") == ["1"]
    assert b.attrs("#sales", "data-paused") == ["true"]
    assert b.text("#sales").startswith("Sales paused: a withdrawal request is open")
    assert f"ape run consent answer {pets}" in b.text("#consent")
    # The same row again: the contract's refusal, as a sentence.
    b.fill("#withdraw-row", "2")
    b.click("#request-withdrawal")
    b.wait("#error:not([hidden])")
    assert b.text("#error") == "This row already has a withdrawal request."

    # The private derivative pauses with it: no buy button, and the page says why.
    assert consent.paused(notes)
    b.open(dapp.url, account=buyer)
    _connect(dapp, buyer)
    _show(dapp, f"#/dataset/{notes}", f"dataset:{notes}")
    b.wait("#buy-paused")
    assert b.eval("document.querySelectorAll('#buy').length") == 0
    b.wait("#snippets .snippet")
    assert "ape run market buy" not in b.text("#snippets")
    b.wait("#consent #sales")
    assert b.attrs("#sales", "data-paused") == ["true"]
    assert b.text("#withdrawals-none") == "No withdrawal request names this dataset."
    _shot(dapp, "consent")
