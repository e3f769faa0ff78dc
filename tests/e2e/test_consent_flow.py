"""Consent end to end on ape + anvil (a recorded deployment from deploy_all): a public
table whose Croissant metadata names a subject column, declared on chain; withdrawals
requested by a subject's relayed signature (an ape account's, and a raw key's), by the
subject itself and by the owner; a private descendant's sale paused; the owner's answer
(a drop_rows new version, claimed, the window mined, finalised, its fate records opened
on chain); sales resumed on the new version; a model trained on the old rows flagged in
its BOM; and `ape run consent request|sign|answer|status` in-process."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils.crypto import keccak

from datasoil import chain
from datasoil.chain.session import Session
from datasoil.errors import ChainError, ConsentError
from datasoil.flows import bom, claims, consent, publish
from datasoil.flows import models as model_flow
from datasoil.formats import manifest as mf
from datasoil.formats.croissant import subject_of
from datasoil.protocol import consent as protocol
from datasoil.store import open_store
from tests import script

KEY = keccak(b"datasoil e2e consent subject")
KEY_SUBJECT = Account.from_key(KEY).address
ROWS = 12


@pytest.fixture
def world(project, deployer, owner, cleaner, attester, buyer, accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "ipfs"))
    chain.deploy_all(project, deployer, mint_to=list(accounts[:8]), log=lambda _m: None)
    store = open_store()
    people = [str(attester.address), str(buyer.address).lower(), KEY_SUBJECT, ""]
    path = tmp_path / "survey.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "answer", "subject"])
        for i in range(ROWS):
            w.writerow([i, f"answer {i}", people[i % 4]])
    session = Session.connect(project, owner)
    done = publish.publish(
        path, store=store, registry=session.registry, sender=owner, subject=("subject", "address")
    )
    return dict(
        store=store, project=project, data=done.dataset_id, tmp=tmp_path, session=session,
        people=people,
    )  # fmt: skip


def _as(world, account):
    return Session.connect(world["project"], account)


def test_consent__request_pause_answer_resume_and_flag(
    world, owner, attester, buyer, cleaner, other
):
    store, data, owner_s = world["store"], world["data"], world["session"]
    document = json.loads(b"".join(store.cat(_cid(owner_s, data))))
    assert subject_of(document) == ("subject", 2, "address")

    # before the declaration only the owner may withdraw
    with pytest.raises(ConsentError, match="declare a subject column on chain"):
        consent.request(_as(world, other), data, 0, store=store, signer=attester)
    subjects = consent.declare(owner_s, data, store=store)
    assert (subjects.column, subjects.position, subjects.kind) == ("subject", 2, 1)

    # a private descendant on sale
    child = claims.clean_and_publish(
        data, consent.drop_recipe([11]), registry=owner_s.registry, store=store, sender=cleaner,
        work=world["tmp"] / "child", private=True,
    )  # fmt: skip
    cleaner_s = _as(world, cleaner)
    token = cleaner_s.token
    cleaner_s.market.contract.list_dataset(
        child.child_id, token.address, 10**18, 3600, 1000, b"\x01" * 32, sender=cleaner
    )
    # a model trained on rows 0..3 of the data
    d = owner_s.registry.get(data)
    model_id = model_flow.register(
        mf.build({data: (d.row_root, d.row_count, [0, 1, 2, 3])}),
        models=owner_s._instance("models"), registry=owner_s.registry, market=None, store=store,
        sender=buyer, weights_cid=str(store.add_bytes(b"weights")), license="MIT",
        from_block=owner_s.start_block,
    )  # fmt: skip

    # row 0 is attester's: signed by its account, relayed by `other`
    payload = consent.signed_request(_as(world, attester), data, 0, 2**64)
    deadline, signature = consent.payload_signature(payload, owner_s, data, 0)
    assert (
        consent.request(
            _as(world, other), data, 0, store=store, signature=signature, deadline=deadline
        )
        == 1
    )
    # row 2 names a raw key's address: signed with the key, relayed
    assert consent.request(_as(world, other), data, 2, store=store, key=KEY) == 1
    # row 5 is buyer's (written lowercase): buyer sends it itself
    assert consent.request(_as(world, buyer), data, 5, store=store) == 1
    # row 7 is nobody's (an empty subject): the owner withdraws it
    assert consent.request(owner_s, data, 7, store=store) == 2
    # refusals before anything is sent
    with pytest.raises(ConsentError, match="expected a signature by row 1's subject"):
        consent.request(_as(world, other), data, 1, store=store, signer=attester)
    with pytest.raises(ChainError, match="consent: row already has a request"):
        consent.request(owner_s, data, 0, store=store)

    st = consent.status(owner_s, data)
    assert [(r.row_index, r.state, r.via) for r in st.requests] == [
        (0, "open", "subject"),
        (2, "open", "subject"),
        (5, "open", "subject"),
        (7, "open", "owner"),
    ]
    assert st.requests[0].subject == str(attester.address)
    assert st.paused and st.open_requests == 4 and st.descendants == {child.child_id: True}
    with pytest.raises(ChainError, match="market: sales paused by a withdrawal"):
        _as(world, other).market.buy(child.child_id, b"\x11" * 32, token=token)
    flagged = consent.model_withdrawals(
        owner_s._instance("models"), owner_s.consent.contract, model_id,
        model_flow.load_manifest(model_flow.get(owner_s._instance("models"), model_id), store),
        owner_s.start_block,
    )  # fmt: skip
    assert [(f.dataset_id, f.row_index, f.state) for f in flagged] == [
        (data, 0, "open"),
        (data, 2, "open"),
    ]

    # the answer: a new version without rows 0, 2, 5, 7, claimed, finalised, opened on chain
    answered = consent.answer(owner_s, data, store=store, work=world["tmp"] / "answer")
    assert answered.rows == (0, 2, 5, 7) and not answered.pending
    new = owner_s.registry.get(answered.new_version)
    assert new.parents == (data,) and new.version_of == data and new.row_count == ROWS - 4
    st = consent.status(owner_s, data)
    assert [r.state for r in st.requests] == ["answered"] * 4
    assert st.answered_by == new.id and st.answer_claim == answered.claim_id and st.paused
    assert st.descendants == {child.child_id: True, new.id: False}
    assert not owner_s.consent.paused(new.id)
    original = consent.public_rows(owner_s.registry.get(data), store)
    kept = [r for i, r in enumerate(original) if i not in {0, 2, 5, 7}]
    assert consent.public_rows(new, store) == kept
    assert subject_of(json.loads(b"".join(store.cat(_cid(owner_s, new.id))))) == (
        "subject",
        2,
        "address",
    )

    facts = bom.gather(
        model_id, models=owner_s._instance("models"), registry=owner_s.registry, store=store,
        market=owner_s._instance("market"), chain_id=owner_s.chain_id,
        from_block=owner_s.start_block, consent=owner_s.consent.contract,
    )  # fmt: skip
    assert facts.withdrawn() == [f"#{data}:0 (answered)", f"#{data}:2 (answered)"]
    cdx = json.loads(bom.render(facts, "cyclonedx"))
    props = {p["name"]: p["value"] for p in cdx["metadata"]["component"]["properties"]}
    assert props["datasoil:withdrawn_rows"] == f"#{data}:0 (answered), #{data}:2 (answered)"
    assert "does not remove what the weights learnt" in props["datasoil:withdrawal_limit"]


def _cid(session, dataset_id):
    from datasoil.formats.cid import cid_to_tuple

    return cid_to_tuple(session.registry.get(dataset_id).metadata_cid).to_cid()


def _consent(*args):
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(script.load("consent").cli, [*args], catch_exceptions=False)


def test_consent_script__sign_relay_status_answer(world, caplog):
    data, tmp = str(world["data"]), world["tmp"]
    assert _consent("declare", data, "--account", "TEST::1").exit_code == 0
    signed = tmp / "signed.json"
    result = _consent("sign", data, "4", "--out", str(signed), "--account", "TEST::4")
    assert result.exit_code == 0, result.stderr
    assert json.loads(signed.read_text())["message"]["row_index"] == "4"
    result = _consent(
        "request", data, "4", "--signed", str(signed), "--account", "TEST::2", "-v", "INFO"
    )
    assert result.exit_code == 0, result.stderr
    assert f"row 4 of dataset {data}: withdrawal requested (subject)" in caplog.text
    # the relayed signature is for row 4 only
    result = _consent("request", data, "0", "--signed", str(signed), "--account", "TEST::2")
    assert result.exit_code == 1
    assert "expected a withdrawal of row 0" in result.stderr and "Traceback" not in result.stderr
    # every row naming the sender
    result = _consent("request", data, "--mine", "--account", "TEST::5", "-v", "INFO")
    assert result.exit_code == 0, result.stderr
    status = json.loads(_consent("status", data).stdout)
    assert [(r["row_index"], r["via"]) for r in status["requests"]] == [
        (4, "subject"),
        (1, "subject"),
        (5, "subject"),
        (9, "subject"),
    ]
    assert status["paused"] and status["subject"] == {"kind": "address", "column": 2}
    result = _consent(
        "answer", data, "--account", "TEST::1", "--work", str(tmp / "w"), "-v", "INFO"
    )
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout.strip().splitlines()[-1])
    assert done["rows"] == [1, 4, 5, 9] and not done["pending"]
    status = json.loads(_consent("status", data).stdout)
    assert {r["state"] for r in status["requests"]} == {"answered"}
    assert status["answered_by"] == done["new_version"]
    result = _consent("answer", data, "--account", "TEST::1", "--work", str(tmp / "w"))
    assert result.exit_code == 1
    assert f"expected an open withdrawal request on dataset #{data}, found none" in result.stderr


def test_publish_script__subject_recorded_and_declared(world):
    runner = CliRunner(mix_stderr=False)
    publish_cli = script.load("publish").cli
    path = world["tmp"] / "again.csv"
    path.write_text(f"who,n\n{KEY_SUBJECT},1\n")
    result = runner.invoke(
        publish_cli, [str(path), "--subject", "who:address", "--account", "TEST::1"]
    )
    assert result.exit_code == 0, result.stderr
    dataset_id = json.loads(result.stdout[result.stdout.index("{") :])["dataset_id"]
    assert world["session"].consent.dataset(dataset_id)["kind"] == protocol.ADDRESS_SUBJECT
    document = json.loads(b"".join(world["store"].cat(_cid(world["session"], dataset_id))))
    assert subject_of(document) == ("who", 0, "address")
    bad = runner.invoke(publish_cli, [str(path), "--subject", "who:email", "--account", "TEST::1"])
    assert bad.exit_code == 2 and "expected COLUMN:address or COLUMN:commitment" in bad.stderr
    missing = runner.invoke(
        publish_cli, [str(path), "--subject", "name:address", "--account", "TEST::1"]
    )
    assert missing.exit_code == 1 and "expected one of the schema's columns" in missing.stderr
