"""A chain with the data a person would browse, built once for tests/e2e/web/test_dapp.py.

Through the library flows a user runs: the raw example dataset (public, named and
described), its cleaning into a public child with a claim that an auditor audits and the
claimant answers, that the attester disputes, that finalises (the dispute settled) and
that the attester re-executes (its verdict attested), a new version of the raw data, a
private derivative listed for sale, an unrelated public dataset under another licence,
quality attestations by a trusted attester on the raw and cleaned data, and a model
trained on rows of the cleaned data (registered with its manifest and config, listed for
licences) and a fine-tune of it on the weather data that pays it a share.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil import chain
from datasoil.app import demo
from datasoil.chain.registry import Registry
from datasoil.engine import clean
from datasoil.flows import access, audit, claims, publish
from datasoil.flows import models as flow
from datasoil.flows.attest import Attestations, attest_quality, score_quality
from datasoil.formats import manifest as mf
from datasoil.formats import rows
from datasoil.formats.recipe import load_recipe
from datasoil.store import open_store

ROOT = Path(__file__).resolve().parents[3]
RAW = ROOT / "examples" / "messy" / "people.csv"
RECIPE = ROOT / "examples" / "recipes" / "clean.yaml"
PRICE = 25 * 10**18
MODEL_PRICE = 5 * 10**18
DURATION = 30 * 86400
#: Rows of the cleaned dataset the model was trained on (every third of the first 300).
USED = list(range(0, 300, 3))
#: Rows of the private derivative it was trained on.
PRIVATE_USED = list(range(0, 40))

NAMES = {
    "raw": (
        "Customer contacts (raw export)",
        "3,000 customer records as exported from the CRM: mixed case, stray spaces, "
        "duplicates and missing incomes.",
    ),
    "clean": (
        "Customer contacts, cleaned",
        "The raw export normalised, deduplicated and with PII redacted, by a published recipe.",
    ),
    "v2": (
        "Customer contacts (raw export, April)",
        "The raw export with 25 more rows appended; extends the first export's row tree.",
    ),
    "private": (
        "Customer contacts with credit labels",
        "The cleaned contacts with a credit label per row; private, sold with a key.",
    ),
    "other": ("City weather stations", "Hourly temperatures of twelve weather stations."),
}


@dataclass
class World:
    record: Any
    contracts: Any
    registry: Registry
    ids: dict[str, int] = field(default_factory=dict)
    claim: int = 0
    model: int = 0
    #: A model fine-tuned from ``model`` on rows of the weather data.
    fine_tune: int = 0
    accounts: dict[str, Any] = field(default_factory=dict)
    work: Path = Path()
    #: The cleaning of the raw data (its output file and fate file).
    cleaning: Any = None


def _weather(path: Path) -> Path:
    lines = ["station,hour,temp_c"]
    lines += [f"S{s:02d},{h},{(s * 7 + h * 3) % 31 - 5}" for s in range(12) for h in range(24)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _publish(path: Path, world: World, key: str, sender: Any, store: Any, **kw: Any) -> int:
    name, description = NAMES[key]
    prepared = publish.prepare(
        path,
        store=store,
        name=name,
        description=description,
        creator=str(sender.address),
        **{k: v for k, v in kw.items() if k in ("schema", "private", "license", "derived_from")},
    )
    dataset_id = publish.register(
        prepared,
        world.registry,
        sender=sender,
        parents=kw.get("parents", ()),
        version_of=kw.get("version_of", 0),
    )
    world.ids[key] = dataset_id
    return dataset_id


def build(project: Any, accounts: Any, work: Path) -> World:
    """Deploy and fill the chain (DATASOIL_HOME must point into ``work`` already)."""
    deployer, owner, cleaner, attester, buyer, auditor, trainer = (
        accounts[i] for i in (0, 1, 3, 4, 5, 6, 7)
    )
    record = chain.deploy_all(
        project, deployer, local=True, mint_to=list(accounts[:8]), log=lambda _m: None
    )
    c = chain.contracts(project)
    world = World(record, c, Registry(c.registry, start_block=record.block), work=work)
    world.accounts = dict(
        deployer=deployer, owner=owner, cleaner=cleaner, attester=attester, buyer=buyer,
        auditor=auditor, trainer=trainer,
    )  # fmt: skip
    store = open_store()
    raw = _publish(RAW, world, "raw", owner, store)

    # The cleaning, published as the raw data's child and claimed (as claims.clean_and_publish
    # does, with a description), audited and answered.
    recipe = load_recipe(RECIPE)
    result = world.cleaning = clean.clean(RAW, recipe, work / "clean")
    schema_out = rows.Schema.from_json(result.proof["schema_out"])
    child = _publish(
        result.data_path, world, "clean", cleaner, store,
        schema=schema_out, parents=(raw,), derived_from=[world.registry.get(raw).content_cid],
    )  # fmt: skip
    cleaned = claims.CleanedChild(
        raw,
        child,
        result,
        recipe,
        str(store.add_bytes(recipe.canonical_bytes(), pin=True)),
        claims.pin_bundle(store, result),
        False,
        None,
        RAW,
    )
    proofs, token = c.require("proofs"), c.require("token")
    world.claim = claims.submit_claim(proofs, token, cleaned, sender=cleaner)
    audit.open_audit(proofs, token, world.claim, auditor)
    data = audit.claim_data_for(proofs, world.registry, world.claim, result.out_dir, RAW)
    audit.answer_open_audits(
        proofs, world.registry.contract, world.claim, data, cleaner, log=lambda _m: None
    )
    # The attester disputes it with a bond; the window passes, the claim stands, and the
    # settlement pays part of the bond to the claimant.
    token.approve(proofs, chain.LOCAL_PARAMS["bond"], sender=attester)
    proofs.dispute(world.claim, sender=attester)
    chain.mine(chain.LOCAL_PARAMS["challenge_blocks"] + 1)
    audit.finalize(proofs, world.claim, cleaner)
    audit.settle_dispute(proofs, world.claim, str(attester.address), attester)
    # The attester's verdict: a full re-execution, attested under the claim's
    # reproduction metric set.
    client = Attestations(c.require("attestations"), c.registry, record.block)
    verdict = claims.verify_claim(
        world.claim, proofs=proofs, registry=world.registry, store=store, from_block=record.block
    )
    claims.attest_verdict(client, verdict, store=store, sender=attester, child_id=child)

    v2 = demo.make_version(RAW, work / "people-v2.csv")
    _publish(v2, world, "v2", owner, store, schema=rows.infer_schema(RAW), version_of=raw)

    private = _publish(
        result.data_path, world, "private", cleaner, store,
        schema=schema_out, private=True, license="CC-BY-NC-4.0", parents=(child,),
    )  # fmt: skip
    commitment = access.key_commitment(
        access.load_content_key(world.registry.get(private).content_cid).key
    )
    c.market.list_dataset(private, c.token, PRICE, DURATION, 1000, commitment, sender=cleaner)
    _publish(_weather(work / "weather.csv"), world, "other", owner, store, license="ODbL-1.0")

    content_key = access.load_content_key(world.registry.get(private).content_cid).key
    scored = (("raw", RAW, None), ("clean", result.data_path, None))
    for key, path, secret in (*scored, ("private", result.data_path, content_key)):
        shutil.rmtree(work / "quality", ignore_errors=True)
        report = score_quality(
            world.registry.get(world.ids[key]),
            store=store,
            work=work / "quality",
            data_path=path,
            content_key=secret,
            label="label",
            key=["email"],
        )
        attest_quality(client, world.ids[key], report, store=store, account=attester)

    # The trainer buys the private dataset (the seller's keeper delivers) and trains on
    # rows of it and of the public cleaned data.
    _secret, public = access.encryption_keypair(trainer, int(record.chain_id))
    access.buy(c.market, c.token, private, public, sender=trainer)
    access.keeper_step(
        c.market, world.registry, cleaner, work / "keeper.json", start_block=record.block,
        log=lambda _m: None,
    )  # fmt: skip
    d, p = world.registry.get(child), world.registry.get(private)
    manifest = mf.build(
        {child: (d.row_root, d.row_count, USED), private: (p.row_root, p.row_count, PRIVATE_USED)}
    )
    config = {"name": "Income classifier", "model": "logistic-regression", "epochs": 3}
    world.model = flow.register(
        manifest,
        models=c.require("models"),
        registry=world.registry,
        market=c.market,
        store=store,
        sender=trainer,
        weights_cid=str(store.add_bytes(b"\x00" * 24)),
        config_cid=str(store.add_bytes(json.dumps(config, sort_keys=True).encode())),
        license="MIT",
        data_bps=3000,
        from_block=record.block,
    )
    flow.list_for_sale(
        c.require("models"), c.token, world.model, price=MODEL_PRICE, duration=DURATION,
        sender=trainer,
    )  # fmt: skip
    # A fine-tune of it by the auditor on rows of the weather data, paying its parent.
    o = world.registry.get(world.ids["other"])
    tuned = mf.build({o.id: (o.row_root, o.row_count, list(range(50)))})
    world.fine_tune = flow.register(
        tuned,
        models=c.require("models"),
        registry=world.registry,
        market=c.market,
        store=store,
        sender=auditor,
        weights_cid=str(store.add_bytes(b"\x01" * 24)),
        config_cid=str(store.add_bytes(json.dumps({"name": "Weather-tuned classifier"}).encode())),
        license="MIT",
        parents=(world.model,),
        data_bps=2000,
        parents_bps=3000,
        from_block=record.block,
    )
    flow.list_for_sale(
        c.require("models"), c.token, world.fine_tune, price=MODEL_PRICE, duration=DURATION,
        sender=auditor,
    )  # fmt: skip
    return world
