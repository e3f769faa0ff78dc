"""CleaningProofs on titanoboa: a deployed contract and claims over synthetic cleanings
(tests/contracts/proofs/claims.py).

Calls land in one block until the test mines (`mine`, `mine_to`), so the tests name the
block each call lands in relative to the opening or the submission; BLOCKHASH answers
`block_hash` for the 256 blocks before the current one (tests/contracts/_boa.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from datasoil.flows import audit
from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import deploy, mine

from .claims import (
    DEPOSIT,
    PARAMETERS,
    register_pair,  # noqa: F401 (a fixture)
    secret_for,
    submit,  # noqa: F401 (a fixture)
)

SEED_DELAY = 2  # the first block a reveal may land in, after the opening's


@pytest.fixture(scope="session")
def attestations_address(accounts) -> str:
    """The Attestations address is only stored: any address does."""
    return str(accounts[9])


@pytest.fixture(scope="session")
def proofs(registry, token, attestations_address) -> Any:
    return deploy("CleaningProofs", registry, attestations_address, token, *PARAMETERS)


@pytest.fixture
def opened(proofs, token, auditor):
    """Opens an audit of a claim by the auditor (committed to ``secret_for``) and, unless
    ``reveal=False``, mines to the first block a reveal may land in and reveals; returns
    the audit's number."""

    def _open(claim_id: int, sender=None, *, reveal: bool = True) -> int:
        sender = sender or auditor
        token.approve(proofs, DEPOSIT, sender=sender)
        secret = secret_for(claim_id, sender)
        number = proofs.open_audit(claim_id, audit.commitment(sender, secret), sender=sender)
        if reveal:
            mine(SEED_DELAY)
            proofs.reveal(claim_id, number, secret, sender=sender)
        return int(number)

    return _open
