"""RowJudge and RowDisputes fixtures on ape + anvil, over tests/proofs_ape.py's
CleaningProofs (gas and e2e tests; the contract unit tests run on titanoboa). A test
module binds the fixtures it uses (``row_disputes = rx.row_disputes``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def row_judge(project, deployer):
    return deployer.deploy(project.RowJudge)


@pytest.fixture
def row_disputes(project, deployer, proofs, row_judge):
    """RowDisputes over the test's CleaningProofs, enabled there."""
    disputes = deployer.deploy(project.RowDisputes, proofs, row_judge)
    proofs.enable_row_disputes(disputes, sender=deployer)
    return disputes
