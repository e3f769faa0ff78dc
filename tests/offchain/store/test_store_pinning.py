"""PinningService against a Pinning Service API test server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from multiformats import CID

from datasoil.errors import BackendUnavailable, NotFound
from datasoil.store.pinning import (
    PinningAuthError,
    PinningError,
    PinningService,
    PinTimeout,
)

from .pinning_test_server import PinningTestServer, serve

CID_A = CID.decode("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")
CID_B = CID.decode("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")


@pytest.fixture
def state() -> PinningTestServer:
    return PinningTestServer(token="s3cret", quota=3)


@pytest.fixture
def endpoint(state: PinningTestServer) -> Iterator[str]:
    with serve(state) as url:
        yield url


@pytest.fixture
def service(endpoint: str) -> Iterator[PinningService]:
    with PinningService(endpoint, "s3cret", timeout=5) as client:
        yield client


def test_pin__polls_until_pinned_and_records_name_and_origins(
    service: PinningService, state: PinningTestServer
) -> None:
    origins = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWOrigin"]
    st = service.pin(CID_A, "dataset-1", origins, timeout=10, interval=0.01)
    assert st.status == "pinned"
    assert st.cid == CID_A
    assert st.name == "dataset-1"
    assert st.origins == tuple(origins)
    (stored,) = state.pins.values()
    assert stored["pin"] == {"cid": str(CID_A), "name": "dataset-1", "origins": origins, "meta": {}}
    assert service.pins() == [CID_A]


def test_pin__existing_request_is_reused(service: PinningService, state: PinningTestServer) -> None:
    service.pin(CID_A, "a", interval=0.01)
    service.pin(CID_A, "a", interval=0.01)
    assert len(state.pins) == 1


def test_unpin__removes_every_request_for_the_cid(
    service: PinningService, state: PinningTestServer
) -> None:
    service.pin(CID_A, interval=0.01)
    service.pin(CID_B, interval=0.01)
    assert service.unpin(CID_A) == 1
    assert service.pins() == [CID_B]
    with pytest.raises(NotFound):
        service.unpin(CID_A)


def test_wrong_token__clear_auth_error(endpoint: str) -> None:
    with (
        PinningService(endpoint, "wrong") as bad,
        pytest.raises(PinningAuthError, match=r"rejected the access token.*DATASOIL_PINNING_TOKEN"),
    ):
        bad.add(CID_A)


def test_quota_exceeded__409_is_a_clear_error(
    service: PinningService, state: PinningTestServer
) -> None:
    for i in range(3):
        service.add(CID_A, f"n{i}")
    with pytest.raises(PinningError, match="409 INSUFFICIENT_FUNDS: Pinning quota exceeded"):
        service.add(CID_B)


def test_failed_pin__reported_with_the_service_details(
    service: PinningService, state: PinningTestServer
) -> None:
    state.fail.add(str(CID_B))
    with pytest.raises(PinningError, match=r"failed to pin .*content not found"):
        service.pin(CID_B, interval=0.01)


def test_wait__times_out_with_the_last_status(service: PinningService) -> None:
    st = service.add(CID_A)
    with pytest.raises(PinTimeout, match=r"expected status pinned, found (queued|pinning)"):
        service.wait(st.requestid, timeout=0, interval=0.01)


def test_status__unknown_request_is_not_found(service: PinningService) -> None:
    with pytest.raises(NotFound):
        service.status("no-such-request")


def test_list__filters_by_status_and_cid(service: PinningService) -> None:
    a = service.add(CID_A, "a")
    service.add(CID_B, "b")
    assert [s.requestid for s in service.list_requests([CID_A])] == [a.requestid]
    assert [s.name for s in service.list_requests(name="b")] == ["b"]


def test_from_env__reads_endpoint_and_token(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASOIL_PINNING_ENDPOINT", endpoint)
    monkeypatch.setenv("DATASOIL_PINNING_TOKEN", "s3cret")
    with PinningService.from_env() as client:
        assert client.add(CID_A).status == "queued"
    monkeypatch.delenv("DATASOIL_PINNING_TOKEN")
    with pytest.raises(PinningError, match="DATASOIL_PINNING_TOKEN to be set"):
        PinningService.from_env()


def test_service_down__backend_unavailable_names_the_url() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(BackendUnavailable, match=url.replace(".", r"\.")):
        PinningService(url, "t", timeout=2).add(CID_A)
