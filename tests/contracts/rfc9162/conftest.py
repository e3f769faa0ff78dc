from __future__ import annotations

import pytest

from tests.contracts._boa import *  # noqa: F403
from tests.contracts._boa import deploy


@pytest.fixture(scope="session")
def rfc9162(funded):
    """The test wrapper around contracts/modules/rfc9162.vy."""
    return deploy("test/RFC9162Mock")
