from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def rfc9162(project, deployer):
    """The test wrapper around contracts/modules/rfc9162.vy."""
    return deployer.deploy(project.RFC9162Mock)
