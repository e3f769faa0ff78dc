"""publish.pin_remote: a named Pinning Service API endpoint from the environment, the pin
followed to `pinned`, and every refusal one sentence (against pinning_test_server)."""

from __future__ import annotations

import pytest

from datasoil.flows.publish import pin_remote
from datasoil.store.pinning import PinningAuthError, PinningError
from tests.offchain.store.pinning_test_server import PinningTestServer, serve

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


@pytest.fixture
def remote(monkeypatch):
    state = PinningTestServer(token="s3cret", quota=3)
    with serve(state) as url:
        monkeypatch.setenv("DATASOIL_PINNING_SERVICES", f"public={url}")
        monkeypatch.delenv("DATASOIL_PINNING_TOKEN", raising=False)
        yield url


def test_pin_remote__followed_to_pinned(remote, monkeypatch):
    monkeypatch.setenv("DATASOIL_PINNING_TOKEN_PUBLIC", "s3cret")
    (line,) = pin_remote("public", [CID], label="data", interval=0.05, timeout=10)
    assert line.startswith(f"{CID} pinned on public ({remote}")


def test_pin_remote__refused_token_is_one_sentence(remote, monkeypatch):
    monkeypatch.setenv("DATASOIL_PINNING_TOKEN_PUBLIC", "wrong")
    with pytest.raises(PinningAuthError, match=r"rejected the access token.*set DATASOIL"):
        pin_remote("public", [CID], interval=0.05, timeout=10)


def test_pin_remote__unknown_name_and_missing_token(remote):
    with pytest.raises(PinningError, match="expected a pinning service named 'other'"):
        pin_remote("other", [CID])
    with pytest.raises(PinningError, match="expected a token for pinning service 'public'"):
        pin_remote("public", [CID])
