"""The end-to-end demo behind `make demo` (run as `ape run demo`).

Each stage calls the same library functions a user would; the demo only chooses the
example inputs and prints what happened. It is idempotent: data that is already
registered on this chain is found and reused, so the demo can run again.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil.chain.registry import Registry
from datasoil.engine import clean
from datasoil.flows import publish
from datasoil.formats import merkle, rows
from datasoil.formats.recipe import load_recipe
from datasoil.store.base import Store

__all__ = [
    "DemoState",
    "make_version",
    "publish_or_reuse",
    "stage_consent",
    "stage_publish",
    "stage_row_dispute",
    "write_signups",
]

Log = Callable[[str], None]


@dataclass
class DemoState:
    """What the stages produced, for the stages after them."""

    work: Path
    ids: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def publish_or_reuse(
    path: Path,
    *,
    registry: Registry,
    store: Store,
    sender: Any,
    log: Log,
    parents: tuple[int, ...] = (),
    version_of: int = 0,
    schema: rows.Schema | None = None,
    name: str | None = None,
    private: bool = False,
    license: str = "CC-BY-4.0",
    subject: tuple[str, str] | None = None,
) -> int:
    """Publish ``path`` unless the same content and root are registered; return the id."""
    derived_from = [registry.get(p).content_cid for p in parents]
    prepared = publish.prepare(
        path,
        store=store,
        schema=schema,
        name=name,
        creator=str(sender.address),
        derived_from=derived_from,
        private=private,
        license=license,
        subject=subject,
    )
    existing = None if private else publish.find_duplicate(registry, prepared)
    if existing is not None:
        log(f"  already registered as #{existing} ({prepared.content_cid})")
        return existing
    dataset_id = publish.register(
        prepared, registry, sender=sender, parents=parents, version_of=version_of
    )
    log(
        f"  registered #{dataset_id}: content {prepared.content_cid}, "
        f"{prepared.row_count} rows, root 0x{prepared.row_root.hex()[:16]}…"
    )
    return dataset_id


def make_version(raw: Path, out: Path, extra_rows: int = 25) -> Path:
    """A second version of ``raw``: the same rows plus ``extra_rows`` appended ones."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with raw.open(newline="", encoding="utf-8") as src:
        table = list(csv.reader(src))
    header, body = table[0], table[1:]
    id_col = header.index("id") if "id" in header else None
    appended = []
    for i, row in enumerate(body[:extra_rows]):
        new = list(row)
        if id_col is not None:
            new[id_col] = str(len(body) + i + 1)
        appended.append(new)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body + appended)
    tmp.replace(out)
    return out


def stage_publish(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    owner: Any,
    raw: Path,
    recipe_path: Path,
    log: Log,
) -> None:
    """Publish the raw example, a cleaned child, and a new version of the raw data."""
    log("1. publish the raw example dataset")
    state.ids["raw"] = publish_or_reuse(raw, registry=registry, store=store, sender=owner, log=log)
    state.paths["raw"] = raw

    log("2. clean it deterministically and publish the result as its child")
    recipe = load_recipe(recipe_path)
    out = state.work / "clean"
    if out.exists():
        shutil.rmtree(out)
    result = clean.clean(raw, recipe, out)
    state.paths["clean"] = result.data_path
    state.extra["clean"] = result
    log(f"  {result.rows_in} rows in, {result.rows_out} rows out")
    for index, step in enumerate(result.proof.get("steps", [])):
        dropped = step.get("rows_dropped", 0)
        if dropped:
            log(f"    step {index} {step.get('kind')}: dropped {dropped}")
    schema_out = rows.Schema.from_json(result.proof["schema_out"])
    state.ids["clean"] = publish_or_reuse(
        result.data_path,
        registry=registry,
        store=store,
        sender=owner,
        log=log,
        parents=(state.ids["raw"],),
        schema=schema_out,
        name="people-clean",
    )

    log("3. publish a new version of the raw data (25 rows appended)")
    v2 = make_version(raw, state.work / "people-v2.csv")
    state.paths["raw_v2"] = v2
    schema = rows.infer_schema(raw)
    state.ids["raw_v2"] = publish_or_reuse(
        v2,
        registry=registry,
        store=store,
        sender=owner,
        log=log,
        version_of=state.ids["raw"],
        schema=schema,
        name="people-v2",
    )
    old = [h for batch in rows.dataset_leaf_hashes(raw, schema) for h in batch]
    new = [h for batch in rows.dataset_leaf_hashes(v2, schema) for h in batch]
    proof = merkle.consistency_proof(new, len(old))
    merkle.verify_consistency(
        len(old),
        len(new),
        registry.get(state.ids["raw"]).row_root,
        registry.get(state.ids["raw_v2"]).row_root,
        proof,
    )
    log(
        f"  RFC 9162 consistency proof ({len(proof)} hashes): v2's {len(new)} rows extend "
        f"v1's {len(old)}"
    )

    log("4. lineage")
    for line in registry.lineage(state.ids["clean"]).render().splitlines():
        log("  " + line)
    versions = registry.versions(state.ids["raw"])
    log("  versions of the raw data: " + " -> ".join(f"#{v}" for v in versions))


def write_summary(state: DemoState) -> Path:
    """Write the ids the demo used to ``work/demo.json`` (read by later commands)."""
    path = state.work / "demo.json"
    path.write_text(json.dumps({"datasets": state.ids}, indent=2) + "\n")
    return path


def stage_claim(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    cleaner: Any,
    verifier: Any,
    auditor: Any,
    recipe_path: Path,
    log: Log,
) -> None:
    """Clean the raw data into a private child, claim it, verify, audit and finalise."""
    from datasoil.flows import audit, claims
    from datasoil.flows.attest import Attestations

    log("5. clean the raw data into a PRIVATE child and claim it (bond posted)")
    child = claims.clean_and_publish(
        state.ids["raw"],
        recipe_path,
        registry=registry,
        store=store,
        sender=cleaner,
        work=state.work / "private-clean",
        private=True,
        name="people-clean-private",
    )
    state.ids["private"] = child.child_id
    log(
        f"  #{child.child_id}: {child.result.rows_out} of {child.result.rows_in} rows kept, "
        f"ciphertext {registry.get(child.child_id).content_cid}"
    )
    proofs, token = contracts.require("proofs"), contracts.require("token")
    claim_id = claims.submit_claim(proofs, token, child, sender=cleaner)
    state.ids["claim"] = claim_id
    log(f"  claim #{claim_id}: recipe {child.recipe_cid}, bundle {child.proof_cid}")

    log("6. a verifier re-executes the claim and attests the reproduction")
    verdict = claims.verify_claim(
        claim_id,
        proofs=proofs,
        registry=registry,
        store=store,
        from_block=contracts.deployment.block,
    )
    log(f"  {'reproduced' if verdict.reproduced else 'NOT reproduced'}: {verdict.detail}")
    scope = "full" if verdict.full else "partial (no key to the private child's rows)"
    log(f"  checked {verdict.checked}: recorded as a {scope} reproduction")
    client = Attestations(
        contracts.require("attestations"), contracts.registry, contracts.deployment.block
    )
    cid = claims.attest_verdict(
        client, verdict, store=store, sender=verifier, child_id=child.child_id
    )
    log(f"  reproduction attestation recorded (report {cid})")

    log("7. an auditor opens a structural audit; the cleaner answers with Merkle openings")
    number = audit.open_audit(proofs, token, claim_id, auditor)
    assert child.input_path is not None
    # The path `ape run audit respond` takes: each side's row key from the key store.
    data = audit.claim_data_for(proofs, registry, claim_id, child.result.out_dir, child.input_path)
    audit.answer_open_audits(proofs, registry.contract, claim_id, data, cleaner, log=log)
    status = audit.read_claim(proofs, claim_id)
    log(f"  audit {number}: {status.audits[number].state.name.lower()}")

    log("8. the challenge window passes; the claim is finalised and the bond released")
    from ape import chain

    remaining = int(status.window_end) - int(chain.blocks.height)
    if remaining >= 0:
        chain.mine(remaining + 1)
    audit.finalize(proofs, claim_id, cleaner)
    final = audit.read_claim(proofs, claim_id)
    log(f"  claim #{claim_id} is {final.status.name.lower()}")


def stage_quality(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    attester: Any,
    relayer: Any,
    log: Log,
) -> None:
    """Compute the raw data's quality report, pin it and attest it (EIP-712, relayed)."""
    import tempfile

    from datasoil.flows.attest import Attestations, attest_quality, score_quality

    log("9. an attester scores the raw data's quality and signs an EIP-712 attestation")
    with tempfile.TemporaryDirectory(prefix="datasoil-demo-quality-") as tmp:
        report = score_quality(
            registry.get(state.ids["raw"]),
            store=store,
            work=Path(tmp),
            data_path=state.paths["raw"],  # checked against the registered root
            label="label",
            key=["email"],
        )
    client = Attestations(
        contracts.require("attestations"), contracts.registry, contracts.deployment.block
    )
    done = attest_quality(
        client, state.ids["raw"], report, store=store, account=attester, relayer=relayer
    )
    log(f"  score {report.score}/10000, report {done.report_cid}, relayed by another account")
    summary = client.summaries(state.ids["raw"], trusted=[str(attester.address)])
    for item in summary:
        log(f"  trusted aggregate: {item.to_json()}")


def stage_market(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    seller: Any,
    raw_owner: Any,
    buyer: Any,
    log: Log,
    keeper_command: list[str] | None = None,
) -> None:
    """List the private child, sell it through the keeper to a buyer in a second process
    (its own DATASOIL_HOME, fetching through the seller's gateway), and settle."""
    import subprocess

    from datasoil.app import gateway
    from datasoil.app.node import register_service, stop_service
    from datasoil.flows import access

    market, token = contracts.require("market"), contracts.require("token")
    dataset_id = state.ids["private"]
    price = 10 * 10**18
    log("10. the cleaner lists the private dataset: 10 SOIL, 30 days, 10% to its ancestors")
    content_key = access.load_content_key(registry.get(dataset_id).content_cid).key
    commitment = access.key_commitment(content_key)
    market.list_dataset(dataset_id, token, price, 30 * 86400, 1000, commitment, sender=seller)

    if keeper_command:
        log("11. the seller's keeper runs in the background (make stop stops it)")
        stop_service(state.work.parent, "keeper")  # one keeper, even when the demo reruns
        keeper_log = (state.work / "keeper.log").open("ab")
        proc = subprocess.Popen(
            keeper_command,
            stdout=keeper_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        register_service(state.work.parent, "keeper", proc.pid)
    server = gateway.serve(gateway.Gateway(None, store), 0)
    log(f"12. the seller serves its store as a trustless gateway at {server.url}")
    log("13. the buyer, a second process with its own home, pays into escrow with a")
    log("    wallet-derived X25519 key, fetches through the gateway, verifies, decrypts, loads")
    try:
        purchase = _run_buyer(
            state, contracts, dataset_id, buyer, server.url, log, deliver=not keeper_command,
            keeper=lambda: access.keeper_step(
                market, registry, seller, state.work / "keeper.json", log=log
            ),
        )  # fmt: skip
    finally:
        server.shutdown()
    log(
        f"  access: {market.has_access(dataset_id, buyer)} until "
        f"{market.access_expiry(dataset_id, buyer)}"
    )
    _settle_after_window(market, purchase, buyer, log)
    log("14. payments: seller and upstream owners withdraw their credits")
    for who, account in (("seller", seller), ("raw data owner", raw_owner)):
        credit = int(market.credit(token, account))
        if credit:
            market.withdraw(token, sender=account)
        log(f"  {who} withdrew {credit / 10**18:.4f} SOIL")


def _run_buyer(
    state: DemoState,
    contracts: Any,
    dataset_id: int,
    buyer: Any,
    gateway_url: str,
    log: Log,
    *,
    deliver: bool,
    keeper: Callable[[], Any],
) -> int:
    """Run :mod:`datasoil.app.demo_buyer` with its own home and only ``gateway_url``;
    relay its lines; return its purchase id. Without a background keeper (``deliver``),
    run ``keeper`` rounds here until the buyer is done."""
    import os
    import subprocess
    import sys
    import time

    from datasoil.errors import DatasoilError

    home = (state.work / "buyer").resolve()
    shutil.rmtree(home, ignore_errors=True)  # a fresh second party on every run
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATASOIL_")}
    env.update(DATASOIL_HOME=str(home), DATASOIL_GATEWAYS=gateway_url)
    addresses = (contracts.registry.address, contracts.market.address, contracts.token.address)
    args = [str(buyer.index), *map(str, addresses), str(dataset_id)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasoil.app.demo_buyer", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while deliver and proc.poll() is None and time.monotonic() < deadline:
        keeper()
        time.sleep(0.5)
    try:
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise DatasoilError(
            "expected the buyer to finish within 300 s, found it still running"
        ) from None
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise DatasoilError(f"expected the buyer process to load the rows, found: {last}")
    for line in lines[:-1]:
        log(f"  buyer: {line}")
    summary = json.loads(lines[-1])
    log(
        f"  buyer: {summary['blocks']} blocks in its own store at {summary['home']}, "
        "every one checked against its CID"
    )
    return int(summary["purchase"])


def _settle_after_window(market: Any, purchase: int, caller: Any, log: Log) -> None:
    """Let the objection window pass on the local chain; the keeper (or we) settle."""
    import time

    from ape import chain

    from datasoil.errors import ChainError
    from datasoil.flows import access

    window = int(market.objection_window())
    log(f"  no objection within {window} s (the local chain skips ahead): the escrow is released")
    chain.mine(timestamp=int(chain.blocks.head.timestamp) + window)
    for _ in range(10):  # the background keeper settles within a round or two
        if int(market.purchase(purchase).status) == access.RELEASED:
            return
        time.sleep(0.5)
    try:
        access.settle(market, purchase, sender=caller)
    except ChainError:
        if int(market.purchase(purchase).status) != access.RELEASED:
            raise


def train_line(table: Any) -> str:
    """Fit a least-squares line income ~ age on the rows that have both (numpy only);
    return the line saying what was fitted."""
    import numpy as np

    if not {"age", "income"} <= set(table.column_names):
        return "(no age/income columns: training-ready table printed above)"
    frame = table.select(["age", "income"]).to_pandas().dropna()
    x = frame["age"].to_numpy(dtype=float)
    y = frame["income"].to_numpy(dtype=float)
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    r2 = 1 - float(((y - fitted) ** 2).sum()) / float(((y - y.mean()) ** 2).sum() or 1)
    return f"trained income = {coef[0]:.1f} + {coef[1]:.2f}·age on {len(x)} rows (R² {r2:.3f})"


def stage_models(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    trainer: Any,
    raw_owner: Any,
    customer: Any,
    log: Log,
) -> None:
    """Train on the bought private child (recording the rows used), register the model
    with its receipt, export its BOM, sell a licence once, pay the data back up the
    lineage, and prove a parent row in the model and a dropped one out."""
    import numpy as np

    from datasoil.flows import loader, train
    from datasoil.flows import models as flow

    models, market = contracts.require("models"), contracts.require("market")
    token, proofs = contracts.require("token"), contracts.require("proofs")
    child, raw = state.ids["private"], state.ids["raw"]
    out = state.work / "model"
    out.mkdir(parents=True, exist_ok=True)

    log("15. the buyer trains a small model on the private child, recording every row served")
    table = loader.load(child, registry=registry, store=store, account=trainer, market=market)
    recorder = train.Recorder([train.DatasetRef.of(registry.get(child))])
    age = table.column("age").to_numpy(zero_copy_only=False)
    income = table.column("income").to_numpy(zero_copy_only=False)
    usable = np.flatnonzero(~(np.isnan(age.astype(float)) | np.isnan(income.astype(float))))
    weights = _logistic(table, usable, recorder, child, epochs=3)
    manifest = recorder.write(out / "manifest.json")
    log(
        f"  logistic regression positive ~ age + income, 3 epochs; {manifest.size} of "
        f"{table.num_rows} rows used, manifest root 0x{manifest.root.hex()[:16]}…"
    )
    config = {"model": "logistic-regression", "features": ["age", "income"], "epochs": 3}
    weights_cid = str(store.add_bytes(np.asarray(weights, ">f8").tobytes()))
    config_cid = str(store.add_bytes(json.dumps(config, sort_keys=True).encode()))

    log("16. register the model: manifest, datasets with counts, the purchase as its receipt")
    model_id = flow.register(
        manifest,
        models=models,
        registry=registry,
        market=market,
        store=store,
        sender=trainer,
        weights_cid=weights_cid,
        config_cid=config_cid,
        license="CC-BY-4.0",
        data_bps=3000,
        from_block=contracts.deployment.block,
    )
    state.ids["model"] = model_id
    model = flow.get(models, model_id, contracts.deployment.block)
    log(f"  model #{model_id}: weights {weights_cid}, receipts {list(model.receipts)}")
    _export_bom(state, model_id, registry=registry, store=store, contracts=contracts, log=log)

    log("17. the model's owner sells a licence (5 SOIL, 30% to the data); a customer buys")
    flow.list_for_sale(
        models, token, model_id, price=5 * 10**18, duration=30 * 86400, sender=trainer
    )
    _expiry, credits = flow.buy(
        models, token, model_id, sender=customer, from_block=contracts.deployment.block
    )
    names = {
        str(trainer.address): "model owner",
        registry.get(child).owner: "cleaned data's owner",
        str(raw_owner.address): "raw data owner",
    }
    for who, dataset_id, _source, amount in credits:
        via = f" (dataset #{dataset_id})" if dataset_id else ""
        log(f"  {names.get(who, who)}{via}: {amount / 10**18:.4f} SOIL")
    paid = flow.withdraw(models, token, sender=raw_owner)
    log(f"  the raw data owner withdrew {paid / 10**18:.4f} SOIL through the lineage")

    log("18. was row 17 of the raw data in the model? and a row the cleaning dropped?")
    leaves = {
        child: flow.leaves_for(
            child, registry=registry, store=store, account=trainer, market=market
        )
    }
    fates = (state.work / "private-clean" / "clean" / "fate.bin").read_bytes()
    dropped = next(
        i for i in range(registry.get(raw).row_count) if fates[i * 34 + 8] == 0
    )  # byte 8 of a fate record: kept
    for row, expected in ((17, True), (dropped, False)):
        bundle = flow.prove_row(
            model_id,
            raw,
            row,
            models=models,
            registry=registry,
            store=store,
            leaves=leaves,
            proofs=proofs,
            claim_id=state.ids["claim"],
            fates=fates,
            from_block=contracts.deployment.block,
        )
        flow.verify_on_chain(bundle, models=models, registry=registry, proofs=proofs)
        path = out / f"row-{row}.json"
        path.write_text(bundle.dumps())
        if bundle.used != expected:
            raise AssertionError(f"row {row}: expected used={expected}, found {bundle.used}")
        log(f"  {bundle.describe()}")
        log(f"    checked by ModelRegistry; `datasoil model prove-row {model_id} {raw} {row} "
            f"--bundle {path}` exits {0 if bundle.used else 1}")  # fmt: skip


def _logistic(
    table: Any, usable: Any, recorder: Any, dataset_id: int, *, epochs: int
) -> list[float]:
    """A few lines of numpy logistic regression over mini-batches served through
    :func:`datasoil.flows.train.select`, so the recorder sees exactly the rows used."""
    import numpy as np

    from datasoil.flows import train

    rng = np.random.default_rng(0)
    w = np.zeros(3)
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(usable), 8):
            rows = train.select(table, batch, recorder, dataset_id)
            x = np.column_stack(
                [
                    np.ones(len(batch)),
                    (rows.column("age").to_numpy(zero_copy_only=False) - 45.0) / 15.0,
                    (rows.column("income").to_numpy(zero_copy_only=False) - 50_000.0) / 20_000.0,
                ]
            )
            y = np.array([v == "positive" for v in rows.column("label").to_pylist()], float)
            p = 1.0 / (1.0 + np.exp(-(x @ w)))
            w -= 0.5 * x.T @ (p - y) / len(batch)
    return [float(v) for v in w]


def _export_bom(
    state: DemoState, model_id: int, *, registry: Registry, store: Store, contracts: Any, log: Log
) -> None:
    """Write the model's SPDX 3.0.1, CycloneDX 1.6 and EU-summary BOMs (validated)."""
    try:
        from datasoil.errors import BomError
        from datasoil.flows import bom
    except ImportError:  # pragma: no cover - bom imports its libraries lazily
        return
    facts = bom.gather(
        model_id,
        models=contracts.require("models"),
        registry=registry,
        store=store,
        market=contracts.require("market"),
        chain_id=int(contracts.deployment.chain_id),
        from_block=contracts.deployment.block,
        name="demo-income-classifier",
    )
    written = []
    for fmt, suffix in (
        ("spdx", "spdx.json"),
        ("cyclonedx", "cdx.json"),
        ("eu-summary", "eu.json"),
    ):
        try:
            text = bom.render(facts, fmt)
        except BomError as exc:  # the [bom] extra is not installed
            log(f"  BOM {fmt}: skipped ({exc})")
            continue
        path = state.work / "model" / f"bom.{suffix}"
        path.write_text(text)
        written.append(path.name)
    if written:
        log(f"  AI bill of materials, validated: {', '.join(written)} in {state.work / 'model'}")


def stage_consent(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    owner: Any,
    subjects: list[Any],
    relayer: Any,
    trainer: Any,
    log: Log,
) -> None:
    """A survey whose rows name their subjects: one subject withdraws a row by a relayed
    signature, sales pause, a model trained on it is flagged, the owner answers with a
    new version whose fate record drops the row, sales resume on it (docs/consent.md)."""
    from datasoil.chain.session import Session
    from datasoil.flows import consent
    from datasoil.flows import models as flow
    from datasoil.formats import manifest as mf
    from datasoil.protocol import consent as protocol

    survey = state.work / "consent" / "survey.csv"
    survey.parent.mkdir(parents=True, exist_ok=True)
    with survey.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "answer", "subject"])
        for i in range(16):
            w.writerow([i, f"answer {i % 5}", str(subjects[i % len(subjects)].address)])
    owner_s = Session(contracts, owner)
    log("19. publish a survey whose metadata names each row's subject; declare it on chain")
    data = publish_or_reuse(
        survey,
        registry=registry,
        store=store,
        sender=owner,
        log=log,
        name="survey",
        subject=("subject", "address"),
    )
    state.ids["survey"] = data
    if owner_s.consent.dataset(data)["kind"] == 0:
        consent.declare(owner_s, data, store=store)
    log("  column 'subject' (2) holds Ethereum addresses: a row's subject can withdraw it")

    row, subject = 1, subjects[1]
    log(f"20. row {row}'s subject signs its withdrawal (EIP-712, no gas); a relayer sends it")
    if owner_s.consent.withdrawal_state(data, row) == 0:
        payload = consent.signed_request(Session(contracts, subject), data, row, 2**64)
        deadline, signature = consent.payload_signature(payload, owner_s, data, row)
        consent.request(
            Session(contracts, relayer),
            data,
            row,
            store=store,
            signature=signature,
            deadline=deadline,
        )
    requested = protocol.STATE_NAMES[owner_s.consent.withdrawal_state(data, row)]
    paused = owner_s.consent.paused(data)
    log(f"  request {requested}; sales of #{data} and of its descendants paused: {paused}")
    d = registry.get(data)
    manifest = mf.build({data: (d.row_root, d.row_count, range(8))})
    models = contracts.require("models")
    found = [
        m.id
        for m in flow.all_models(models, contracts.deployment.block)
        if m.manifest_root == manifest.root
    ]
    model_id = (
        found[0]
        if found
        else flow.register(
            manifest,
            models=models,
            registry=registry,
            market=None,
            store=store,
            sender=trainer,
            weights_cid=str(store.add_bytes(b"survey model weights")),
            license="MIT",
            from_block=contracts.deployment.block,
        )
    )
    state.ids["survey_model"] = model_id

    def flags() -> str:
        rows_ = consent.model_withdrawals(
            models, owner_s.consent.contract, model_id, manifest, contracts.deployment.block
        )
        return ", ".join(f"row {f.row_index} {f.state}" for f in rows_) or "none"

    log(f"  model #{model_id}, trained on rows 0-7, is flagged by ModelRegistry: {flags()}")

    log("21. the owner answers: a new version without the row, its cleaning claim finalised")
    facts = owner_s.consent.dataset(data)
    if facts["answered_by"] == 0:
        done = consent.answer(owner_s, data, store=store, work=state.work / "consent", log=log)
        new, claim_id = done.new_version, done.claim_id
    else:
        new, claim_id = facts["answered_by"], facts["answer_claim"]
    state.ids["survey_v2"] = new
    fates = flow.claim_fates(
        contracts.require("proofs"), store, claim_id, contracts.deployment.block
    )
    opening = consent.fate_openings(fates, [row])[0]
    state_name = protocol.STATE_NAMES[owner_s.consent.withdrawal_state(data, row)]
    log(
        f"  claim #{claim_id}: row {row}'s fate record says dropped, opened on chain with "
        f"{len(opening[2])} hashes (O(log n)); request {state_name}"
    )
    log(
        f"  #{data} paused for ever: {owner_s.consent.paused(data)}; new version #{new} "
        f"paused: {owner_s.consent.paused(new)}; model #{model_id} flagged: {flags()}"
    )
    log("  the row left the data sold from now on; the model was not unlearnt (docs/consent.md)")


JUDGED_RECIPE = """\
version: 1
steps:
  - {kind: trim, columns: [name, email]}
  - {kind: normalise, columns: [email], unicode: null, case: ascii_lower}
  - {kind: drop_nulls, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: cast, columns: {age: int64}, on_error: "null"}
  - {kind: filter, expr: "age >= 16"}
"""
"""Stage 22's recipe: six steps the chain can judge (docs/cleaning.md)."""

SIGNUPS = 10_000
"""Stage 22's input rows."""


def write_signups(path: Path, count: int = SIGNUPS) -> Path:
    """A deterministic sign-up list for stage 22: padded names (ASCII and U+2003 spaces),
    mixed-case emails, some missing, some repeated in another case, ages with minors and
    unreadable values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "email", "age"])
        for i in range(count):
            name = (
                f"  Member {i} "
                if i % 7 == 0
                else f"Member {i}\u2003"
                if i % 11 == 0
                else f"Member {i}"
            )
            email = "" if i % 97 == 0 else f"Member.{i - 1 if i % 113 == 0 else i}@Example.ORG"
            age = "n/a" if i % 50 == 0 else str(12 + (i * 37) % 70)
            w.writerow([name, email, age])
    tmp.replace(path)
    return path


def _tamper_one_row(result: Any, output_index: int, column: str) -> str:
    """Rewrite one output row of a cleaning in place: ``column`` upper-cased, as an engine
    that skipped the step on that row would leave it; return the new value."""
    import polars as pl

    frame = pl.read_parquet(result.data_path)
    values = frame[column].to_list()
    values[output_index] = str(values[output_index]).upper()
    frame = frame.with_columns(pl.Series(column, values, dtype=frame[column].dtype))
    frame.write_parquet(result.data_path)
    return str(values[output_index])


def _claim_of(proofs: Any, child_id: int, claimant: Any, from_block: int) -> int | None:
    """The latest claim ``claimant`` made on ``child_id``, if any (a rerun reuses it)."""
    from datasoil.chain import event_logs

    found = [
        int(e.claim_id)
        for e in event_logs(proofs.ClaimSubmitted, from_block)
        if int(e.child_id) == child_id and str(e.claimant) == str(claimant.address)
    ]
    return found[-1] if found else None


def stage_row_dispute(
    state: DemoState,
    *,
    registry: Registry,
    store: Store,
    contracts: Any,
    owner: Any,
    cleaner: Any,
    verifier: Any,
    log: Log,
) -> None:
    """A dishonest cleaner claims a cleaning of 10,000 rows with one output row wrong; a
    verifier's re-execution names the row, its dispute is judged on chain by RowJudge, the
    claim fails and its bond goes to the verifier; no attestation is involved."""
    import re

    from datasoil.errors import ProofError
    from datasoil.flows import audit, claims, publish
    from datasoil.flows import row_disputes as flow
    from datasoil.flows.attest import Attestations, reproduction_metric_set
    from datasoil.formats.fate import decode_fates
    from datasoil.protocol.row_disputes import DisputeState, Outcome

    proofs, token = contracts.require("proofs"), contracts.require("token")
    judges, disputes = contracts.require("row_judge"), contracts.require("row_disputes")
    start = contracts.deployment.block
    work = state.work / "row-dispute"
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "recipe.yaml"
    recipe.write_text(JUDGED_RECIPE, encoding="utf-8")

    log(f"22. a dishonest cleaner claims a cleaning of {SIGNUPS:,} rows with one row wrong")
    signups = write_signups(work / "signups.csv")
    raw = publish_or_reuse(
        signups, registry=registry, store=store, sender=owner, log=log, name="signups"
    )
    state.ids["signups"] = raw
    input_path = signups
    result = clean.clean(input_path, load_recipe(recipe), work / "clean")
    fates = list(decode_fates(result.fate_path.read_bytes()))
    k = result.rows_out // 2
    i = next(f.input_index for f in fates if f.output_index == k)
    wrong = _tamper_one_row(result, k, "email")
    schema_out = rows.Schema.from_json(result.proof["schema_out"])
    prepared = publish.prepare(
        result.data_path,
        store=store,
        schema=schema_out,
        name="signups-clean",
        creator=str(cleaner.address),
        derived_from=[registry.get(raw).content_cid],
    )
    result.proof["output_root"] = "0x" + prepared.row_root.hex()
    result.proof_path.write_bytes(clean.proof_bytes(result.proof))
    child_id = publish.find_duplicate(registry, prepared) or publish.register(
        prepared, registry, sender=cleaner, parents=[raw]
    )
    state.ids["signups_wrong"] = child_id
    log(
        f"  {result.rows_in:,} rows in, {result.rows_out:,} out; output row {k} (input row "
        f"{i}) published with email {wrong!r}, the other {result.rows_out - 1:,} as cleaned"
    )
    claim_id = _claim_of(proofs, child_id, cleaner, start)
    if claim_id is None:
        parsed = load_recipe(recipe)
        child = claims.CleanedChild(
            raw,
            child_id,
            result,
            parsed,
            str(store.add_bytes(parsed.canonical_bytes(), pin=True)),
            claims.pin_bundle(store, result),
            False,
            input_path=input_path,
        )
        claim_id = flow.submit_judged_claim(proofs, disputes, token, child, sender=cleaner)
    state.ids["wrong_claim"] = claim_id
    program = flow.judge_program_of(result.proof)
    assert program is not None, "the stage's recipe compiles to a judge program"
    log(
        f"  claim #{claim_id} (bond {int(proofs.bond()) / 10**18:.0f} SOIL) commits judge "
        f"program 0x{bytes(disputes.judge_program(claim_id)).hex()[:16]}… "
        f"({len(program[0])} bytes: the recipe's six steps)"
    )

    log("23. a verifier re-executes it, finds the row and disputes it (a bond of its own)")
    verdict = claims.verify_claim(
        claim_id, proofs=proofs, registry=registry, store=store, from_block=start
    )
    log(f"  {'reproduced' if verdict.reproduced else 'NOT reproduced'}: {verdict.detail}")
    named = re.search(r"dispute-row (\d+) (\d+)(?: --earlier (\d+))?`", verdict.detail)
    if verdict.reproduced or named is None:
        raise AssertionError(f"expected the verifier to name a row to dispute: {verdict.detail}")
    index = int(named.group(2))
    earlier = None if named.group(3) is None else int(named.group(3))
    if int(disputes.row_dispute_count(claim_id)) == 0:
        flow.dispute_row(disputes, token, claim_id, index, earlier, verifier)
    number = 0
    view = disputes.row_dispute(claim_id, number)
    log(f"  row dispute {number} of claim #{claim_id}: input row {index}, answer due by block "
        f"{int(view.deadline)}")  # fmt: skip

    log("24. the cleaner's watcher asks RowJudge (a free call) and sends no answer")
    data = audit.load_claim_data(result.out_dir, input_path)
    try:
        flow.answer_open_row_disputes(disputes, judges, claim_id, data, program[0], cleaner, log)
    except ProofError as exc:
        log(f"  {exc}")

    log("25. the verifier sends the openings itself: the chain judges the row now")
    if int(disputes.row_dispute(claim_id, number).state) == DisputeState.OPEN:
        mine = flow.public_claim_data(proofs, registry, store, claim_id, work / "verifier", start)
        receipt = flow.answer_row(
            disputes, judges, claim_id, number, mine, program[0], verifier, only_if_rejected=False
        )
        (judged,) = receipt.decode_logs(disputes.RowJudged)
        outcome = Outcome(int(judged.outcome)).name.lower()
        log(
            f"  RowJudge ran the six steps on input row {index}: {outcome}, as a row that "
            f"differs from the claim's output row {k}; dispute "
            f"{'upheld' if judged.upheld else 'rejected'} ({receipt.gas_used:,} gas)"
        )
    status = int(proofs.status(claim_id))
    won = int(proofs.credits(verifier))
    log(
        f"  claim #{claim_id} is {'failed' if status == 4 else f'in state {status}'}: its bond "
        f"is credited to the verifier ({won / 10**18:.0f} SOIL), with its own dispute bond "
        f"back ({int(disputes.credits(verifier)) / 10**18:.0f} SOIL)"
    )
    for contract in (proofs, disputes):
        if int(contract.credits(verifier)):
            contract.withdraw(sender=verifier)
    client = Attestations(contracts.require("attestations"), contracts.registry, start)
    metrics = {reproduction_metric_set(claim_id, partial=p) for p in (False, True)}
    attested = [e for e in client.events(child_id) if bytes(e.metric_set) in metrics]
    log(
        f"  reproduction attestations of claim #{claim_id}: {len(attested)} — the chain "
        "judged the row from the claim's own commitments"
    )
