"""Cleaning claims end to end on the test chain: clean a registered dataset into a
child, claim it, verify by full re-execution and by sample, attest the verdict, and
catch a claim whose bundle does not match what it committed to."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from datasoil.chain.registry import Registry
from datasoil.engine import clean
from datasoil.errors import ChainError
from datasoil.flows import claims, publish
from datasoil.flows.attest import Attestations
from datasoil.formats import fate
from datasoil.protocol.attestations import reproduction_metric_set
from datasoil.store.local import LocalStore

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "examples" / "messy" / "people.csv"
RECIPE = ROOT / "examples" / "recipes" / "clean.yaml"


@pytest.fixture
def world(project, deployer, registry, token, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    attestations = deployer.deploy(project.Attestations, registry)
    proofs = deployer.deploy(
        project.CleaningProofs, registry, attestations, token, 100 * 10**18, 5 * 10**18, 30, 5, 12
    )
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    raw_id = publish.register(publish.prepare(RAW, store=store), reg, sender=owner)
    return dict(
        proofs=proofs, attestations=attestations, store=store, reg=reg, raw=raw_id, tmp=tmp_path
    )


def clean_child(world, cleaner, *, private=False):
    """Clean the raw example (dataset ``world["raw"]``) into a child owned by ``cleaner``."""
    return claims.clean_and_publish(
        world["raw"],
        RECIPE,
        registry=world["reg"],
        store=world["store"],
        sender=cleaner,
        work=world["tmp"] / "work",
        private=private,
    )


@pytest.mark.parametrize("private", [False, True])
def test_claim__clean_submit_verify_attest(world, token, cleaner, attester, private):
    child = clean_child(world, cleaner, private=private)
    got = world["reg"].get(child.child_id)
    assert got.parents == (world["raw"],) and got.private is private
    assert got.row_count == child.result.rows_out
    if not private:
        assert got.row_root == child.result.output_root
    claim_id = claims.submit_claim(world["proofs"], token, child, sender=cleaner)
    docs = claims.claim_documents(world["proofs"], claim_id)
    assert (docs["recipe_cid"], docs["proof_cid"]) == (child.recipe_cid, child.proof_cid)

    full = claims.verify_claim(
        claim_id,
        proofs=world["proofs"],
        registry=world["reg"],
        store=world["store"],
        content_key=child.content_key,
    )
    assert full.reproduced and full.full, full.detail
    sampled = claims.verify_claim(
        claim_id,
        proofs=world["proofs"],
        registry=world["reg"],
        store=world["store"],
        sample=25,
        seed=7,
    )
    assert sampled.reproduced, sampled.detail

    client = Attestations(world["attestations"], world["reg"].contract)
    claims.attest_verdict(
        client, full, store=world["store"], sender=attester, child_id=child.child_id
    )
    record = world["attestations"].record(
        attester, child.child_id, reproduction_metric_set(claim_id)
    )
    assert record.score == claims.REPRODUCED


def test_claim__tampered_bundle_does_not_reproduce(world, token, cleaner):
    """A claim whose fate records say a dropped row was kept is caught by re-execution."""
    child = clean_child(world, cleaner)
    fates = fate.decode_fates(child.result.fate_path.read_bytes())
    index = next(i for i, f in enumerate(fates) if not f.kept)
    fates[index] = dataclasses.replace(
        fates[index], kept=True, output_index=fates[index].kept_before, step=None, dup_of=None
    )
    forged_dir = world["tmp"] / "forged"
    shutil.copytree(child.result.out_dir, forged_dir)
    (forged_dir / "fate.bin").write_bytes(b"".join(f.encode() for f in fates))
    forged_root = fate.fate_root((forged_dir / "fate.bin").read_bytes())
    result = clean.CleanResult(
        forged_dir, dict(child.result.proof, fate_root="0x" + forged_root.hex())
    )
    forged = dataclasses.replace(
        child, result=result, proof_cid=claims.pin_bundle(world["store"], result)
    )
    claim_id = claims.submit_claim(world["proofs"], token, forged, sender=cleaner)
    verdict = claims.verify_claim(
        claim_id, proofs=world["proofs"], registry=world["reg"], store=world["store"]
    )
    assert not verdict.reproduced
    assert verdict.detail.startswith("fate root: re-executed")
    sampled = claims.verify_claim(
        claim_id,
        proofs=world["proofs"],
        registry=world["reg"],
        store=world["store"],
        sample=len(fates),
    )
    assert not sampled.reproduced


def test_claim__non_owner_cannot_claim(world, token, cleaner, other):
    child = clean_child(world, cleaner)
    token.approve(world["proofs"], 100 * 10**18, sender=other)
    with pytest.raises(ChainError, match="expected the claim to be accepted"):
        claims.submit_claim(world["proofs"], token, child, sender=other)


def test_claim__report_is_pinned_json(world, token, cleaner, attester):
    child = clean_child(world, cleaner)
    claim_id = claims.submit_claim(world["proofs"], token, child, sender=cleaner)
    verdict = claims.verify_claim(
        claim_id, proofs=world["proofs"], registry=world["reg"], store=world["store"]
    )
    client = Attestations(world["attestations"], world["reg"].contract)
    cid = claims.attest_verdict(
        client, verdict, store=world["store"], sender=attester, child_id=child.child_id
    )
    from datasoil.formats.cid import cid_to_tuple

    report = json.loads(b"".join(world["store"].cat(cid_to_tuple(cid).to_cid())))
    assert report["claim_id"] == claim_id and report["reproduced"] is True


@pytest.mark.parametrize("via", ["key store", "key file"])
def test_audit__public_parent_private_child_answered_by_the_script_path(
    world, token, cleaner, auditor, tmp_path, via
):
    """Issue 18 item 1: `ape run audit respond` keyed parent and child rows with the
    child's key, so the roots never matched and the honest cleaner would be slashed. The
    script's library path (audit.claim_data_for) keys each side with its own key: none
    for the public parent, the child's row key from the key store or --key-file."""
    from datasoil.flows import access, audit

    child = clean_child(world, cleaner, private=True)
    proofs = world["proofs"]
    claim_id = claims.submit_claim(proofs, token, child, sender=cleaner)
    number = audit.open_audit(proofs, token, claim_id, auditor)
    key_file = None
    if via == "key file":
        # What `ape run audit key CHILD` prints, written to a file.
        dataset = world["reg"].get(child.child_id)
        key_file = tmp_path / "child.key"
        key_file.write_text("0x" + access.load_content_key(dataset.content_cid).key.hex())
        assert bytes.fromhex(key_file.read_text()[2:]) == child.content_key
    data = audit.claim_data_for(
        proofs, world["reg"], claim_id, child.result.out_dir, child.input_path, key_file=key_file
    )
    assert data.facts().parent_private is False and data.facts().child_private is True
    done = audit.answer_open_audits(
        proofs, world["reg"].contract, claim_id, data, cleaner, log=lambda _: None
    )
    assert done == [number]
    status = audit.read_claim(proofs, claim_id)
    assert status.audits[number].state is audit.AuditState.PASSED
    # The old behaviour -- the child's key on both sides -- does not match the roots.
    from datasoil.errors import ProofError

    with pytest.raises(ProofError, match=r"input_root: proof\.json names"):
        audit.load_claim_data(
            child.result.out_dir, child.input_path, key=crypto_row_key(child.content_key)
        )


def test_audit__private_side_without_a_key_says_so(world, token, cleaner, tmp_path):
    from datasoil.errors import NotFound
    from datasoil.flows import audit

    child = clean_child(world, cleaner, private=True)
    claim_id = claims.submit_claim(world["proofs"], token, child, sender=cleaner)
    with pytest.raises(NotFound, match="expected the content key of the private child"):
        audit.claim_data_for(
            world["proofs"],
            world["reg"],
            claim_id,
            child.result.out_dir,
            child.input_path,
            root=tmp_path / "empty",
        )


def crypto_row_key(content_key):
    from datasoil.formats import crypto

    return crypto.row_hmac_key(content_key)
