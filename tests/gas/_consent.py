"""The contracts a Consent deployment needs on ape + anvil, for the gas tests: an
Attestations and a CleaningProofs over the shared registry (LOCAL_PARAMS' windows, short),
then Consent. The market and model gas tests bind their market to it, as deploy_all does,
so the budgeted buys pay for the pause check."""

from __future__ import annotations

from typing import Any

BOND = 100 * 10**18
DEPOSIT = 5 * 10**18
CHALLENGE = 5


def deploy_consent(project: Any, deployer: Any, registry: Any, token: Any) -> tuple[Any, Any]:
    """Deploy Attestations, CleaningProofs and Consent; return (consent, proofs)."""
    attestations = deployer.deploy(project.Attestations, registry)
    proofs = deployer.deploy(
        project.CleaningProofs, registry, attestations, token, BOND, DEPOSIT, CHALLENGE, 20, 20
    )
    return deployer.deploy(project.Consent, registry, proofs), proofs
