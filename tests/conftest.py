"""Shared fixtures: role-named accounts and freshly deployed contracts.

Tests run on their own anvil (the Makefile points APE_FOUNDRY_HOST at a free port),
never on the user's `make node` chain. ape isolates each test in a chain snapshot.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def other(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def cleaner(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def attester(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def auditor(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def registry(project, deployer):
    return deployer.deploy(project.DatasetRegistry)


@pytest.fixture(scope="session")
def token(project, deployer, accounts):
    token = deployer.deploy(project.DemoToken, "datasoil demo", "SOIL")
    for account in accounts[:8]:
        token.mint(account, 10**24, sender=deployer)
    return token
