"""datasoil.flows.row_disputes.winning_dispute: the row dispute a full re-execution can
win, from the claimed and the honest fate files (and output rows), on engine cleanings
with one step altered (tests/contracts/proofs/judged.py)."""

from __future__ import annotations

from datasoil.flows.row_disputes import dispute_command, winning_dispute
from datasoil.formats.recipe import Dedupe, Filter, Trim
from tests.contracts.proofs.judged import (
    DUPLICATE_ROW,
    FILTERED_ROW,
    KEPT_ROW,
    altered_cleaning,
    doing_nothing,
    judged_cleaning,
)


def _fates(judged) -> bytes:
    return judged.data.fates


def test_an_honest_claim__has_no_winning_dispute() -> None:
    honest = judged_cleaning()
    rows = list(honest.data.output_rows)
    assert winning_dispute(_fates(honest), _fates(honest), rows, rows) is None


def test_a_row_kept_against_the_filter__is_the_one_to_dispute() -> None:
    honest = judged_cleaning()
    wrong = altered_cleaning(lambda: doing_nothing(Filter))
    assert winning_dispute(_fates(wrong), _fates(honest)) == (FILTERED_ROW, None)
    assert dispute_command(7, FILTERED_ROW) == "ape run audit dispute-row 7 1"


def test_a_kept_duplicate__names_the_row_it_repeats() -> None:
    honest = judged_cleaning()
    wrong = altered_cleaning(lambda: doing_nothing(Dedupe))
    assert winning_dispute(_fates(wrong), _fates(honest)) == (DUPLICATE_ROW, KEPT_ROW)


def test_same_fates_but_a_wrong_output_row__names_its_input_row() -> None:
    # Only names carry white space: an engine that does not trim keeps every fate and
    # writes row 1's output wrong.
    csv = "name,email,age\nBob,b@x.org,40\n\u3000Ann ,a@x.org,30\nCy,c@x.org,50\n"
    honest = judged_cleaning(csv)
    wrong = altered_cleaning(lambda: doing_nothing(Trim), csv)
    assert _fates(wrong) == _fates(honest)
    found = winning_dispute(
        _fates(wrong), _fates(honest), wrong.data.output_rows, honest.data.output_rows
    )
    assert found == (1, None)
    assert winning_dispute(_fates(wrong), _fates(honest)) is None  # rows not given
