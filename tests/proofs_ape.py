"""CleaningProofs fixtures on ape + anvil, for the tests that need a node: gas
(tests/gas) and the off-chain library's flows (tests/e2e). The claims they build are
tests/contracts/proofs/claims.py's; the contract unit tests run them on titanoboa.

A test module binds the fixtures it uses (``proofs = fx.proofs``, with ``fx`` this module).
"""

from __future__ import annotations

import pytest

from datasoil.flows import audit
from tests.contracts.proofs.claims import (
    DEPOSIT,
    PARAMETERS,
    register_pair,  # noqa: F401 (a fixture)
    secret_for,
    submit,  # noqa: F401 (a fixture)
)


@pytest.fixture(scope="session")
def attestations_address(accounts):
    """The Attestations address is only stored: any address does."""
    return accounts[9].address


@pytest.fixture
def proofs(project, deployer, registry, token, attestations_address):
    return deployer.deploy(
        project.CleaningProofs, registry, attestations_address, token, *PARAMETERS
    )


@pytest.fixture
def opened(proofs, token, auditor, chain):
    """Opens an audit of a claim by the auditor (committed to ``secret_for``), mines the
    seed block and reveals (unless ``reveal=False``); returns the number."""

    def _open(claim_id: int, sender=None, *, reveal: bool = True) -> int:
        sender = sender or auditor
        token.approve(proofs, DEPOSIT, sender=sender)
        secret = secret_for(claim_id, sender)
        receipt = proofs.open_audit(
            claim_id, audit.commitment(sender.address, secret), sender=sender
        )
        number = int(receipt.decode_logs(proofs.AuditOpened)[0].audit)
        if reveal:
            chain.mine(1)
            proofs.reveal(claim_id, number, secret, sender=sender)
        return number

    return _open
