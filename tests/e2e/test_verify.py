"""What a verification checked, and what it may record: a full reproduction only when
every root was recomputed (a private child's keyed output root needs its content key);
a sample (at least one row) or a keyless private check is partial, under its own metric
set, and the report says how many rows were compared."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from datasoil.errors import CryptoError
from datasoil.flows import claims
from datasoil.flows.attest import Attestations
from datasoil.formats import crypto
from datasoil.protocol.attestations import reproduction_metric_set
from tests import script
from tests.e2e.test_claims import clean_child, world  # noqa: F401 (the fixture)


def _verify(world, claim_id, **kw):  # noqa: F811
    return claims.verify_claim(
        claim_id, proofs=world["proofs"], registry=world["reg"], store=world["store"], **kw
    )


@pytest.fixture
def private_claim(world, token, cleaner):  # noqa: F811
    child = clean_child(world, cleaner, private=True)
    return child, claims.submit_claim(world["proofs"], token, child, sender=cleaner)


def test_verify__private_child_without_key_is_partial(world, private_claim, attester):  # noqa: F811
    child, claim_id = private_claim
    verdict = _verify(world, claim_id)
    assert verdict.reproduced and not verdict.full
    assert verdict.checked["roots"] == ["input root", "fate root"]
    assert verdict.checked["output_rows"] == 0
    assert "not compared" in verdict.detail
    assert verdict.report["scope"] == "partial"

    client = Attestations(world["attestations"], world["reg"].contract)
    claims.attest_verdict(
        client, verdict, store=world["store"], sender=attester, child_id=child.child_id
    )
    full_set, partial_set = (
        reproduction_metric_set(claim_id),
        reproduction_metric_set(claim_id, partial=True),
    )
    assert full_set != partial_set
    assert world["attestations"].record(attester, child.child_id, partial_set).score == 10_000
    # nothing was recorded as a full reproduction
    assert world["attestations"].record(attester, child.child_id, partial_set).active
    assert not world["attestations"].record(attester, child.child_id, full_set).active


def test_verify__private_child_with_key_compares_rows(world, private_claim):  # noqa: F811
    child, claim_id = private_claim
    verdict = _verify(world, claim_id, content_key=child.content_key)
    assert verdict.reproduced and verdict.full, verdict.detail
    assert verdict.checked["roots"] == ["input root", "fate root", "output root"]
    assert verdict.checked["output_rows"] == child.result.rows_out > 0


def test_verify__wrong_key_is_the_verifiers_error_not_a_verdict(world, private_claim):  # noqa: F811
    _child, claim_id = private_claim
    with pytest.raises(CryptoError, match="does not decrypt its ciphertext"):
        _verify(world, claim_id, content_key=crypto.new_content_key())


def test_verify__sample_reports_rows_checked_and_is_partial(world, token, cleaner):  # noqa: F811
    child = clean_child(world, cleaner)
    claim_id = claims.submit_claim(world["proofs"], token, child, sender=cleaner)
    verdict = _verify(world, claim_id, sample=5, seed=3)
    assert verdict.reproduced and not verdict.full
    assert verdict.checked["input_rows"] == 5 == len(verdict.checked["sampled"])
    assert verdict.checked["of_rows"] == child.result.rows_in
    kept = sum(
        1
        for f in claims.clean.decode_fates(child.result.fate_path.read_bytes())
        if f.kept and f.input_index in verdict.checked["sampled"]
    )
    assert verdict.checked["output_rows"] == kept
    assert verdict.detail.startswith("5 sampled rows")


def test_verify__private_sample_says_outputs_not_compared(world, private_claim):  # noqa: F811
    _child, claim_id = private_claim
    verdict = _verify(world, claim_id, sample=4, seed=1)
    assert verdict.reproduced and not verdict.full
    assert verdict.checked["output_rows"] == 0
    assert "output rows not compared (private child)" in verdict.detail
    assert "every fate and output" not in verdict.detail


@pytest.mark.parametrize("k", [0, -3])
def test_verify__sample_below_one_is_refused(world, token, cleaner, k):  # noqa: F811
    child = clean_child(world, cleaner)
    claim_id = claims.submit_claim(world["proofs"], token, child, sender=cleaner)
    with pytest.raises(claims.SampleError, match=f"at least 1 row, found {k}"):
        _verify(world, claim_id, sample=k)


@pytest.mark.parametrize("k", ["0", "-3"])
def test_verify_script__sample_below_one_exits_2_with_one_sentence(k):
    result = CliRunner().invoke(script.load("verify").cli, ["1", "--sample", k, "--attest"])
    assert result.exit_code == 2
    assert f"Invalid value for '--sample': {k} is not in the range x>=1." in result.output
    assert "Traceback" not in result.output
