"""A client of the IPFS Pinning Service API, the standard public pinning services speak.

Spec: https://ipfs.github.io/pinning-services-api-spec/ (``POST /pins``,
``GET /pins``, ``GET /pins/{requestid}``, ``DELETE /pins/{requestid}``). The service
fetches the content itself, from the IPFS network or the ``origins`` given; datasoil
only asks and polls. A remote pin holds no blocks here, so this is not a
:class:`~datasoil.store.base.Store`: pair it with one that the service can fetch from,
or hand it a CAR (see docs/storage.md).

Configuration from the environment: ``DATASOIL_PINNING_ENDPOINT`` (the API base URL)
and ``DATASOIL_PINNING_TOKEN`` (the bearer access token).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from multiformats import CID

from datasoil import config
from datasoil.errors import BackendUnavailable, NotFound, StoreError

__all__ = [
    "ENDPOINT_ENV",
    "TOKEN_ENV",
    "PinStatus",
    "PinTimeout",
    "PinningAuthError",
    "PinningError",
    "PinningService",
]

ENDPOINT_ENV = config.PINNING_ENDPOINT_ENV
TOKEN_ENV = config.PINNING_TOKEN_ENV
_STATUSES = ("queued", "pinning", "pinned", "failed")


class PinningError(StoreError):
    """The pinning service refused a request; the message carries its reason."""


class PinningAuthError(PinningError, PermissionError):
    """The pinning service rejected the access token (HTTP 401)."""


class PinTimeout(PinningError, TimeoutError):
    """A pin did not reach ``pinned`` within the time allowed."""


@dataclass(frozen=True)
class PinStatus:
    """One pin request as the service reports it."""

    requestid: str
    status: str
    cid: CID
    name: str | None
    created: str
    origins: tuple[str, ...] = ()
    delegates: tuple[str, ...] = ()
    info: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PinStatus:
        """Parse a PinStatus object.

        Raises:
            PinningError: ``doc`` lacks a field the spec requires.
        """
        try:
            pin = doc["pin"]
            return cls(
                requestid=str(doc["requestid"]),
                status=str(doc["status"]),
                cid=CID.decode(pin["cid"]),
                name=pin.get("name"),
                created=str(doc.get("created", "")),
                origins=tuple(pin.get("origins") or ()),
                delegates=tuple(doc.get("delegates") or ()),
                info=dict(doc.get("info") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PinningError(f"expected a PinStatus object, found {doc!r} ({exc})") from exc


class PinningService:
    """Pin, poll, list and remove pins on a Pinning Service API endpoint."""

    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Use the service at ``endpoint`` (its base URL, before ``/pins``) with ``token``."""
        self.endpoint = endpoint.rstrip("/")
        self._client = httpx.Client(
            base_url=self.endpoint,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> PinningService:
        """Build a client from ``DATASOIL_PINNING_ENDPOINT`` and ``DATASOIL_PINNING_TOKEN``.

        Raises:
            PinningError: a variable is unset.
        """
        endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not endpoint or not token:
            missing = [n for n, v in ((ENDPOINT_ENV, endpoint), (TOKEN_ENV, token)) if not v]
            raise PinningError(f"expected {' and '.join(missing)} to be set, found it unset")
        return cls(endpoint, token, **kwargs)

    def __repr__(self) -> str:
        return f"PinningService({self.endpoint!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> PinningService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise BackendUnavailable(
                f"the pinning service at {self.endpoint} is not reachable "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        if response.is_success:
            return response
        reason, details = _error_of(response)
        where = f"the pinning service at {self.endpoint}"
        what = f"{method} {url}"
        if response.status_code == 401:
            raise PinningAuthError(
                f"{where} rejected the access token for {what} (401 {reason}: {details}); "
                f"set {TOKEN_ENV} to a valid token"
            )
        if response.status_code == 404:
            raise NotFound(f"{where} has no such pin request ({what}: 404 {reason} {details})")
        if response.status_code == 409:
            raise PinningError(
                f"{where} refused {what} with 409 {reason}: {details} "
                "(the spec uses 409 for insufficient funds on the account)"
            )
        raise PinningError(
            f"{where} refused {what}: expected success, found HTTP {response.status_code} "
            f"{reason}: {details}"
        )

    def add(self, cid: CID, name: str | None = None, origins: Sequence[str] = ()) -> PinStatus:
        """Ask the service to pin ``cid`` (``POST /pins``); returns the queued request.

        Raises:
            PinningAuthError: 401. PinningError: 409 or another refusal.
            BackendUnavailable: the service cannot be reached.
        """
        body: dict[str, Any] = {"cid": str(cid)}
        if name is not None:
            body["name"] = name
        if origins:
            body["origins"] = list(origins)
        return PinStatus.from_json(self._request("POST", "/pins", json=body).json())

    def status(self, requestid: str) -> PinStatus:
        """The current state of one request (``GET /pins/{requestid}``).

        Raises:
            NotFound: no such request.
        """
        return PinStatus.from_json(self._request("GET", f"/pins/{requestid}").json())

    def list_requests(
        self,
        cids: Iterable[CID] = (),
        *,
        name: str | None = None,
        status: Iterable[str] = _STATUSES,
        limit: int = 1000,
    ) -> list[PinStatus]:
        """Pin requests matching the filters (``GET /pins``; every status by default)."""
        params: dict[str, Any] = {"status": ",".join(status), "limit": limit}
        cid_list = [str(c) for c in cids]
        if cid_list:
            params["cid"] = ",".join(cid_list)
        if name is not None:
            params["name"] = name
            params["match"] = "exact"
        doc = self._request("GET", "/pins", params=params).json()
        return [PinStatus.from_json(r) for r in doc.get("results", [])]

    def remove(self, requestid: str) -> None:
        """Remove one pin request (``DELETE /pins/{requestid}``).

        Raises:
            NotFound: no such request.
        """
        self._request("DELETE", f"/pins/{requestid}")

    def wait(self, requestid: str, *, timeout: float = 600.0, interval: float = 2.0) -> PinStatus:
        """Poll a request until it is ``pinned``.

        Raises:
            PinningError: the service reports ``failed``.
            PinTimeout: still queued or pinning after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(requestid)
            if st.status == "pinned":
                return st
            if st.status == "failed":
                raise PinningError(
                    f"the pinning service at {self.endpoint} failed to pin {st.cid} "
                    f"(request {requestid}): {st.info or 'no details given'}"
                )
            if time.monotonic() >= deadline:
                raise PinTimeout(
                    f"the pinning service at {self.endpoint} had not pinned {st.cid} after "
                    f"{timeout:g} s: expected status pinned, found {st.status}"
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def pin(
        self,
        cid: CID,
        name: str | None = None,
        origins: Sequence[str] = (),
        *,
        timeout: float = 600.0,
        interval: float = 2.0,
    ) -> PinStatus:
        """Pin ``cid`` and wait until the service reports it pinned.

        Reuses an existing request for the same CID (and name) instead of adding one.
        """
        for existing in self.list_requests([cid], name=name):
            if existing.status in ("queued", "pinning", "pinned"):
                return self.wait(existing.requestid, timeout=timeout, interval=interval)
        st = self.add(cid, name, origins)
        return self.wait(st.requestid, timeout=timeout, interval=interval)

    def unpin(self, cid: CID) -> int:
        """Remove every request for ``cid``; returns how many were removed.

        Raises:
            NotFound: the service holds no request for ``cid``.
        """
        found = self.list_requests([cid])
        if not found:
            raise NotFound(f"the pinning service at {self.endpoint} holds no pin for {cid}")
        for st in found:
            self.remove(st.requestid)
        return len(found)

    def pins(self) -> list[CID]:
        """CIDs the service reports pinned."""
        return [st.cid for st in self.list_requests(status=("pinned",))]


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        err = response.json().get("error", {})
        return str(err.get("reason", "")), str(err.get("details", ""))
    except (ValueError, AttributeError):
        return "", response.text[:200]
