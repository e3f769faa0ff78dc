"""The quality-attestation flow (datasoil.flows.attest.score_quality / attest_quality), as
`ape run attest quality` and the demo run it: only the registered data is scored —
fetched and verified, or a local copy checked against the root (the keyed root, with
the content key, for a private dataset a buyer decrypted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasoil.chain.registry import Registry
from datasoil.engine.quality import compute_report, metric_set_id
from datasoil.errors import ProofError
from datasoil.flows import publish
from datasoil.flows.attest import AttestationError, Attestations, attest_quality, score_quality
from datasoil.formats import crypto
from datasoil.store.base import as_cid
from datasoil.store.local import LocalStore

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "examples" / "messy" / "people.csv"


@pytest.fixture
def world(project, deployer, registry, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    attestations = deployer.deploy(project.Attestations, registry)
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    public_id = publish.register(publish.prepare(RAW, store=store), reg, sender=owner)
    key = crypto.new_content_key()
    private = publish.prepare(RAW, store=store, private=True, content_key=key, name="private")
    private_id = publish.register(private, reg, sender=owner)
    client = Attestations(attestations, registry)
    return dict(store=store, reg=reg, public=public_id, private=private_id, key=key, client=client)


def test_score_quality__public_from_the_store_matches_the_file(world, tmp_path):
    report = score_quality(
        world["reg"].get(world["public"]), store=world["store"], work=tmp_path / "w"
    )
    assert report.to_json_bytes() == compute_report(RAW).to_json_bytes()


def test_score_quality__tampered_local_copy_is_refused(world, tmp_path):
    copy = tmp_path / "people.csv"
    lines = RAW.read_bytes().splitlines(keepends=True)
    copy.write_bytes(b"".join(lines[:-1]))  # the last row left out
    with pytest.raises(ProofError, match="expected row root"):
        score_quality(
            world["reg"].get(world["public"]),
            store=world["store"],
            work=tmp_path / "w",
            data_path=copy,
        )


def test_score_quality__private_needs_a_copy_and_the_key(world, tmp_path):
    dataset = world["reg"].get(world["private"])
    with pytest.raises(AttestationError, match="found neither"):
        score_quality(dataset, store=world["store"], work=tmp_path)
    with pytest.raises(AttestationError, match="found only one"):
        score_quality(dataset, store=world["store"], work=tmp_path, data_path=RAW)


def test_score_quality__private_copy_checked_against_the_keyed_root(world, tmp_path):
    dataset = world["reg"].get(world["private"])
    report = score_quality(
        dataset,
        store=world["store"],
        work=tmp_path,
        data_path=RAW,
        content_key=world["key"],
        label="label",
    )
    assert report.to_json_bytes() == compute_report(RAW, label="label").to_json_bytes()
    with pytest.raises(ProofError, match="expected row root"):
        score_quality(
            dataset,
            store=world["store"],
            work=tmp_path,
            data_path=RAW,
            content_key=crypto.new_content_key(),
        )


def test_attest_quality__relayed_and_recorded(world, tmp_path, attester, other):
    dataset = world["reg"].get(world["private"])
    report = score_quality(
        dataset, store=world["store"], work=tmp_path, data_path=RAW, content_key=world["key"]
    )
    done = attest_quality(
        world["client"],
        world["private"],
        report,
        store=world["store"],
        account=attester,
        relayer=other,
    )
    record = world["client"].contract.record(attester, world["private"], metric_set_id())
    assert record.active and record.score == report.score
    assert done.receipt.sender == other.address
    assert b"".join(world["store"].cat(as_cid(done.report_cid))) == report.to_json_bytes()


def test_attest_quality__relay_only_sends_nothing(world, tmp_path, attester):
    report = score_quality(world["reg"].get(world["public"]), store=world["store"], work=tmp_path)
    done = attest_quality(
        world["client"],
        world["public"],
        report,
        store=world["store"],
        account=attester,
        submit=False,
    )
    assert done.receipt is None
    done.payload.verify()
    assert not world["client"].contract.record(attester, world["public"], metric_set_id()).active
