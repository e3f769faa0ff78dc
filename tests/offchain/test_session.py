"""datasoil.chain.session and chain.tx on anvil: typed clients, and a refused call stopped
by its simulation before anything is signed (no nonce used, no block mined)."""

from __future__ import annotations

import pytest

from datasoil import chain
from datasoil.chain import tx
from datasoil.chain.session import MarketClient, Session, TokenClient
from datasoil.errors import ChainError, DeploymentError


@pytest.fixture
def session(project, deployer, owner, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    chain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
    return Session.connect(project, owner)


def _state(address):
    w3 = chain.web3()
    return w3.eth.get_transaction_count(address), w3.eth.block_number


def test_session__clients_are_typed_over_the_deployment(session, owner):
    assert isinstance(session.market, MarketClient) and isinstance(session.token, TokenClient)
    assert session.market.address == session.deployment.contracts["AccessMarket"]
    assert session.token.balance(owner.address) == 10**24
    assert session.registry.count() == 0
    assert session.with_account(owner).market.account == owner


def test_send__revert_is_one_sentence_and_nothing_is_mined(session, owner):
    before = _state(owner.address)
    with pytest.raises(ChainError) as info:
        tx.send(
            "a refund of purchase 7",
            session.market.contract,
            "refund",
            7,
            (owner.address, 1, owner.address, 0, owner.address, 0, 0, 0, bytes(32), []),
            sender=owner,
        )
    message = str(info.value)
    assert message.startswith("expected a refund of purchase 7, the AccessMarket refused: market:")
    assert "\n" not in message
    assert _state(owner.address) == before


def test_withdraw__nothing_to_withdraw_sends_nothing(session, owner):
    before = _state(owner.address)
    with pytest.raises(ChainError, match="has no credit in"):
        session.market.withdraw(session.token.address)
    assert _state(owner.address) == before


def test_token_at__zero_address_is_refused(session):
    with pytest.raises(DeploymentError, match="zero address"):
        session.token_at("0x" + "00" * 20)
