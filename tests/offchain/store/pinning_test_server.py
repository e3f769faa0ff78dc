"""A small IPFS Pinning Service API server for tests (not a mock of the client).

Implements the spec's endpoints (https://ipfs.github.io/pinning-services-api-spec/):
``GET /pins`` (cid, name, match, status, limit filters; default status ``pinned``),
``POST /pins``, ``GET /pins/{requestid}``, ``POST /pins/{requestid}`` (replace) and
``DELETE /pins/{requestid}``, bearer-token auth (401 ``UNAUTHORIZED``), 400 for a bad
body, 404 ``NOT_FOUND`` and 409 ``INSUFFICIENT_FUNDS`` once ``quota`` pins are held.
A request goes queued -> pinning -> pinned over successive status reads; a CID listed
in ``fail`` goes to failed instead.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["PinningTestServer", "serve"]

_ORDER = ("queued", "pinning", "pinned")


@dataclass
class PinningTestServer:
    token: str = "test-token"
    quota: int = 100
    fail: set[str] = field(default_factory=set)
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, rid: str) -> None:
        pin = self.pins[rid]
        if pin["status"] in ("pinned", "failed"):
            return
        self.reads[rid] = self.reads.get(rid, 0) + 1
        if pin["pin"]["cid"] in self.fail and self.reads[rid] >= 2:
            pin["status"] = "failed"
            pin["info"] = {"status_details": "content not found in any origin"}
        else:
            pin["status"] = _ORDER[min(self.reads[rid], 2)]


def _handler(state: PinningTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, body: Any | None = None) -> None:
            raw = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, code: int, reason: str, details: str) -> None:
            self._send(code, {"error": {"reason": reason, "details": details}})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {state.token}":
                return True
            self._error(401, "UNAUTHORIZED", "Access token is missing or invalid")
            return False

        def _body(self) -> dict[str, Any] | None:
            n = int(self.headers.get("Content-Length") or 0)
            try:
                doc = json.loads(self.rfile.read(n) or b"null")
            except ValueError:
                doc = None
            if not isinstance(doc, dict) or not isinstance(doc.get("cid"), str):
                self._error(400, "BAD_REQUEST", "expected a JSON Pin object with a cid")
                return None
            return doc

        def _new(self, doc: dict[str, Any], rid: str | None = None) -> dict[str, Any]:
            pin = {
                "requestid": rid or uuid.uuid4().hex,
                "status": "queued",
                "created": datetime.datetime.now(datetime.UTC).isoformat(),
                "pin": {
                    "cid": doc["cid"],
                    "name": doc.get("name"),
                    "origins": doc.get("origins", []),
                    "meta": doc.get("meta", {}),
                },
                "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWTestServerPeer"],
                "info": {},
            }
            state.pins[pin["requestid"]] = pin
            state.reads[pin["requestid"]] = 0
            return pin

        def do_GET(self) -> None:
            if not self._authorised():
                return
            url = urlsplit(self.path)
            with state.lock:
                if url.path == "/pins":
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    statuses = set(q.get("status", "pinned").split(","))
                    cids = set(q["cid"].split(",")) if "cid" in q else None
                    for rid in list(state.pins):
                        state.advance(rid)
                    results = [
                        p
                        for p in state.pins.values()
                        if p["status"] in statuses
                        and (cids is None or p["pin"]["cid"] in cids)
                        and ("name" not in q or p["pin"]["name"] == q["name"])
                    ]
                    limit = int(q.get("limit", 10))
                    self._send(200, {"count": len(results), "results": results[:limit]})
                    return
                rid = url.path.removeprefix("/pins/")
                if url.path.startswith("/pins/") and rid in state.pins:
                    state.advance(rid)
                    self._send(200, state.pins[rid])
                    return
            self._error(404, "NOT_FOUND", f"no pin request {url.path}")

        def do_POST(self) -> None:
            if not self._authorised():
                return
            path = urlsplit(self.path).path
            doc = self._body()
            if doc is None:
                return
            with state.lock:
                if path == "/pins":
                    if len(state.pins) >= state.quota:
                        self._error(
                            409, "INSUFFICIENT_FUNDS", "Pinning quota exceeded for this account"
                        )
                        return
                    self._send(202, self._new(doc))
                    return
                rid = path.removeprefix("/pins/")
                if path.startswith("/pins/") and rid in state.pins:
                    del state.pins[rid]
                    self._send(202, self._new(doc))
                    return
            self._error(404, "NOT_FOUND", f"no pin request {path}")

        def do_DELETE(self) -> None:
            if not self._authorised():
                return
            rid = urlsplit(self.path).path.removeprefix("/pins/")
            with state.lock:
                if rid in state.pins:
                    del state.pins[rid]
                    self._send(202)
                    return
            self._error(404, "NOT_FOUND", f"no pin request {rid}")

    return Handler


@contextmanager
def serve(state: PinningTestServer) -> Iterator[str]:
    """Run the server on a free 127.0.0.1 port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
