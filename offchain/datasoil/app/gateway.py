"""A small local HTTP server for the web page: the built page, the deployment, and /ipfs/.

``python -m datasoil.app.gateway --port 8600 --node http://127.0.0.1:8545`` serves, on
127.0.0.1 only:

* ``/`` and the files of ``web/dist`` (the page ``npm run build`` makes in ``web/``);
* ``/deployment.json``: the connected chain's id and genesis, and for every recorded
  contract its address (from ``.datasoil/deployments/<chain id>-<genesis>.json``, read
  through :func:`datasoil.chain.deployments.load`, which checks the chain) and its ABI (from
  ape's build, ``.build/__local__.json``). Nothing is copied by hand: redeploy or
  recompile and the next request sees it;
* ``GET /api/...``: the event index (:mod:`datasoil.chain.index`, synced on each
  request) as JSON — datasets, lineage, attestations, claims, listings, purchases and
  events — so the page needs no log scan (docs/networks.md); and what the page asks that
  also needs the store (:mod:`datasoil.app.webapi`): ``catalog`` (search, filters,
  sorting and pages over names and descriptions from the Croissant documents),
  ``datasets/<id>/graph``, ``models``, ``models/<id>``, ``models/<id>/rows/<d>/<i>`` (a
  row-proof bundle the page verifies itself) and ``models/<id>/bom?format=``;
* ``POST /rpc``: read-only JSON-RPC calls forwarded to ``--node`` (:data:`READ_METHODS`),
  so the page can browse before a wallet is connected and always reads the chain the
  deployment lives on; transactions and signatures go through the wallet only;
* ``GET``/``HEAD /ipfs/<cid>[/<path>]``: the IPFS Trustless Gateway specification
  (https://specs.ipfs.tech/http-gateways/trustless-gateway/) over the embedded store
  (:func:`datasoil.store.open_store`): ``?format=raw`` / ``Accept:
  application/vnd.ipld.raw`` is one block; ``?format=car`` / ``application/vnd.ipld.car``
  is a CARv1 of the blocks of the path and of ``dag-scope`` ``block|entity|all``
  (``entity-bytes=from:to`` for part of a file); without either, a UnixFS file's bytes
  with ``Content-Length`` and ``Range`` (206, 416). Which blocks is
  :mod:`datasoil.store.trustless`; every block is verified before a byte derived from it
  is sent, the status waits for the first block (404 absent, 502 damaged), and a block
  that fails later aborts the connection, so a client sees an error, never a short
  body. Private datasets are stored, and so served, as ciphertext only.

The server is aiohttp, on its own event loop (:class:`Server`); blocks are read and
hashed in worker threads.

Errors are answered with a status and one sentence (``text/plain``), never a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import mimetypes
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click
from aiohttp import web
from multiformats import CID

from datasoil.app.webapi import Answers, ChainFacts
from datasoil.chain import deployments
from datasoil.errors import (
    CidMismatch,
    DatasoilError,
    DeploymentError,
    InvalidCid,
    NotFound,
    ProofError,
)
from datasoil.formats import unixfs
from datasoil.store import car, open_store, trustless
from datasoil.store.base import Store

__all__ = [
    "DEFAULT_BUILD",
    "DEFAULT_DIST",
    "IMMUTABLE",
    "READ_METHODS",
    "Gateway",
    "GatewayError",
    "Server",
    "cli",
    "deployment_document",
    "main",
    "make_app",
    "serve",
]

_ROOT = Path(__file__).resolve().parents[3]  # the checkout: offchain/datasoil/app/gateway.py
#: The built page (``cd web && npm run build``).
DEFAULT_DIST = _ROOT / "web" / "dist"
#: ape's build manifest with every contract type's ABI.
DEFAULT_BUILD = _ROOT / ".build" / "__local__.json"


#: JSON-RPC methods ``/rpc`` forwards; anything else is refused with 403.
READ_METHODS = frozenset(
    {
        "eth_blockNumber",
        "eth_call",
        "eth_chainId",
        "eth_estimateGas",
        "eth_gasPrice",
        "eth_getBalance",
        "eth_getBlockByNumber",
        "eth_getCode",
        "eth_getLogs",
        "eth_getTransactionReceipt",
        "eth_getTransactionByHash",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "net_version",
    }
)
_MAX_RPC_BODY = 1 << 20


class GatewayError(DatasoilError, ValueError):
    """A request the gateway cannot answer; ``status`` is the HTTP status to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: Parsed build manifests by path, with the (mtime, size) they were read at: the file is
#: megabytes of JSON, and every /api request needs its ABIs.
_ABI_CACHE: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def _abis(build: Path) -> dict[str, Any]:
    cached = _ABI_CACHE.get(build)
    try:
        stat = build.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        manifest = json.loads(build.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        # `ape compile` rewrites the manifest: while it is away or half written, the ABIs
        # read last still describe the deployed contracts.
        if cached is not None:
            return cached[1]
        what = "nothing" if isinstance(exc, FileNotFoundError) else "a file that is not JSON"
        raise DeploymentError(
            f"expected ape's build manifest at {build}, found {what}: run `ape compile`"
        ) from None
    types = manifest.get("contractTypes", {})
    found = {name: ctype.get("abi", []) for name, ctype in types.items()}
    _ABI_CACHE[build] = (stamp, found)
    return found


def deployment_document(
    w3: Any, *, build: Path = DEFAULT_BUILD, directory: Path | None = None
) -> dict[str, Any]:
    """The page's view of the deployment on the chain ``w3`` is connected to.

    Returns ``{"chainId", "genesis", "block", "params", "contracts": {name: {"address",
    "abi"}}}``.

    Raises:
        DeploymentError: no deployment recorded for this chain (or the chain was reset),
            no build manifest, or a recorded contract missing from the build.
    """
    record = deployments.load(w3, directory)
    abis = _abis(build)
    contracts: dict[str, Any] = {}
    for name, address in sorted(record.contracts.items()):
        if name not in abis:
            raise DeploymentError(
                f"expected {name}'s ABI in {build}, found only {', '.join(sorted(abis))}: "
                "run `ape compile`"
            )
        contracts[name] = {"address": address, "abi": abis[name]}
    return {
        "chainId": record.chain_id,
        "genesis": record.genesis,
        "block": record.block,
        "params": {k: str(v) for k, v in record.params.items()},
        "contracts": contracts,
    }


class Gateway:
    """What the request handler needs: a node connection, a store, and file locations."""

    def __init__(
        self,
        w3: Any,
        store: Store,
        *,
        node: str | None = None,
        dist: Path = DEFAULT_DIST,
        build: Path = DEFAULT_BUILD,
        deployments_dir: Path | None = None,
    ) -> None:
        self.w3 = w3
        self.store = store
        self.node = node
        self.dist = Path(dist).resolve()
        self.build = Path(build)
        self.deployments_dir = deployments_dir
        #: The store-backed /api answers, with their document and row caches.
        self.answers = Answers(store)

    def deployment(self) -> bytes:
        """The ``/deployment.json`` body (read afresh; raises what
        :func:`deployment_document` raises)."""
        doc = deployment_document(self.w3, build=self.build, directory=self.deployments_dir)
        return json.dumps(doc).encode()

    def api(self, route: str, query: Mapping[str, str]) -> tuple[bytes, str]:
        """A read-only ``/api/<route>`` answer and its media type: the event index's
        (:meth:`datasoil.chain.index.EventIndex.answer`), or the page's catalogue, lineage
        graph, models, row proofs and BOMs (:mod:`datasoil.app.webapi`), synced to the
        head first.

        Raises:
            GatewayError: 404 for an unknown route, dataset or model, 400 for a malformed
                query, 422 when a row proof cannot be built from what the store holds.
            DeploymentError: no deployment recorded for the node's chain.
            ChainError: the node could not be read.
        """
        from datasoil.chain.index import EventIndex

        index = EventIndex.open(self.w3, _abis(self.build), directory=self.deployments_dir)

        def chain() -> ChainFacts:
            record = deployments.load(self.w3, self.deployments_dir)
            return ChainFacts(
                record.chain_id,
                record.contracts.get("ModelRegistry", ""),
                lambda block: int(self.w3.eth.get_block(block)["timestamp"]),
            )

        try:
            index.sync()
            found = self.answers.answer(index, route, query, chain)
            if found is None:
                return json.dumps(index.answer(route, query)).encode(), "application/json"
            body, kind = found
            if kind == "text":
                return str(body).encode(), "application/json"
            return json.dumps(body).encode(), "application/json"
        except NotFound as exc:
            raise GatewayError(404, str(exc)) from None
        except ProofError as exc:
            raise GatewayError(422, str(exc)) from None
        except ValueError as exc:
            raise GatewayError(400, f"expected a valid /api query, found ({exc})") from None
        finally:
            index.close()

    def rpc(self, body: bytes) -> bytes:
        """Forward one read-only JSON-RPC request (or a batch) to the node.

        Raises:
            GatewayError: 400 for a body that is not JSON-RPC, 403 for a method outside
                :data:`READ_METHODS`, 429 (with the node's ``Retry-After``) when the node
                rate-limits, 502 when it cannot be reached or answers another error.
        """
        if self.node is None:
            raise GatewayError(404, "this gateway was started without a node to forward to")
        try:
            request = json.loads(body)
        except ValueError:
            raise GatewayError(400, "expected a JSON-RPC request body, found no JSON") from None
        calls = request if isinstance(request, list) else [request]
        for call in calls:
            method = call.get("method") if isinstance(call, dict) else None
            if method not in READ_METHODS:
                raise GatewayError(
                    403, f"expected a read-only JSON-RPC method, found {method!r}: use the wallet"
                )
        forward = urllib.request.Request(
            self.node, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(forward, timeout=30) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 429:  # the node's rate limit is the caller's to wait out
                after = exc.headers.get("Retry-After")
                wait = f" (Retry-After: {after} s)" if after else ""
                raise _WithHeaders(
                    429,
                    f"expected the node at {self.node} to answer, it is rate-limiting{wait}",
                    {"Retry-After": after} if after else {},
                ) from exc
            raise GatewayError(
                502, f"expected the node at {self.node} to answer, it answered HTTP {exc.code}"
            ) from exc
        except (OSError, urllib.error.URLError) as exc:
            raise GatewayError(
                502, f"expected the node at {self.node} to answer, it did not ({exc})"
            ) from exc

    def static(self, path: str) -> Path:
        """The file under ``dist`` for a URL path; GatewayError 404 if there is none."""
        rel = unquote(path).lstrip("/") or "index.html"
        target = (self.dist / rel).resolve()
        if not target.is_relative_to(self.dist) or not target.is_file():
            if not (self.dist / "index.html").is_file():
                raise GatewayError(
                    404, f"expected the built page in {self.dist}, found none: run `npm run build`"
                )
            raise GatewayError(404, f"there is no file {path} here")
        return target


# --------------------------------------------------------------------------- /ipfs/

#: ``Cache-Control`` of every ``/ipfs/`` answer: content-addressed bytes never change.
IMMUTABLE = "public, max-age=29030400, immutable"
RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car; version=1; order=dfs; dups=n"
_BATCH = 1 << 20  # bytes handed from the block-reading thread to the event loop at a time
_EXPOSE = "Content-Length, Content-Range, Etag, X-Ipfs-Path, X-Ipfs-Roots"


def _answer_format(request: web.Request) -> str | None:
    """``raw``, ``car`` or None (the file itself), from ``?format=`` else ``Accept``."""
    fmt = request.query.get("format")
    if fmt is not None:
        if fmt not in ("raw", "car"):
            raise GatewayError(400, f"expected format=raw or format=car, found format={fmt!r}")
        return fmt
    for part in request.headers.get("Accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == RAW_TYPE:
            return "raw"
        if media == "application/vnd.ipld.car":
            return "car"
    return None


def _car_options(request: web.Request) -> tuple[trustless.DagScope, trustless.EntityBytes | None]:
    version = request.query.get("car-version")
    for part in request.headers.get("Accept", "").split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        if media == "application/vnd.ipld.car":
            for param in params:
                if param.startswith("version=") and version is None:
                    version = param[len("version=") :]
    if version not in (None, "1"):
        raise GatewayError(
            400, f"expected CAR version 1 (the one this gateway writes), found {version}"
        )
    scope = request.query.get("dag-scope", "all")
    if scope not in ("block", "entity", "all"):
        raise GatewayError(400, f"expected dag-scope=block, entity or all, found {scope!r}")
    raw_range = request.query.get("entity-bytes")
    if raw_range is None:
        return scope, None  # type: ignore[return-value]
    try:
        return "entity", trustless.parse_entity_bytes(raw_range)
    except ValueError as exc:
        raise GatewayError(400, str(exc)) from None


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[first, end)`` of a single ``Range: bytes=`` request, None to send everything.

    A header that is not one ``bytes`` range is ignored (RFC 9110 14.2); a range that
    starts past the end is GatewayError 416.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    head, sep, tail = spec.strip().partition("-")
    try:
        if not sep:
            return None
        if not head:
            suffix = int(tail)
            if suffix <= 0:
                raise GatewayError(416, f"expected a non-empty byte range, found {header!r}")
            return max(size - suffix, 0), size
        first = int(head)
        last = int(tail) if tail else size - 1
    except ValueError:
        return None
    if first >= size:
        raise GatewayError(416, f"expected a range starting below {size} bytes, found {header!r}")
    if first < 0 or last < first:
        return None
    return first, min(last + 1, size)


def _take(chunks: Iterator[bytes]) -> list[bytes]:
    """Pull about :data:`_BATCH` bytes from ``chunks`` (run in a worker thread)."""
    out: list[bytes] = []
    n = 0
    for chunk in chunks:
        out.append(chunk)
        n += len(chunk)
        if n >= _BATCH:
            break
    return out


def _car_frames(blocks: Iterator[tuple[CID, bytes]]) -> Iterator[bytes]:
    for cid, data in blocks:
        yield car._frame(cid, data)
        yield data


async def _guarded(path: str, call: Callable[[], Any]) -> Any:
    """Run ``call`` in a worker thread, turning store errors into statuses."""
    try:
        return await asyncio.to_thread(call)
    except NotFound as exc:
        raise GatewayError(404, f"the store does not hold /ipfs/{path}: {exc}") from exc
    except trustless.PathError as exc:
        raise GatewayError(404, str(exc)) from exc
    except CidMismatch as exc:
        raise GatewayError(502, f"a stored block failed verification: {exc}") from exc
    except unixfs.InvalidBlock as exc:
        raise GatewayError(502, f"a stored block is not well-formed UnixFS: {exc}") from exc
    except InvalidCid as exc:
        raise GatewayError(400, f"cannot serve /ipfs/{path} as a file: {exc}") from exc


class _Ipfs:
    """``GET``/``HEAD /ipfs/{cid}[/{path}]``: the Trustless Gateway answers and the file."""

    def __init__(self, gateway: Gateway, log: Callable[[str], None]) -> None:
        self.gateway = gateway
        self.log = log

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        fmt = _answer_format(request)
        first_name = next((p for p in path.split("/") if p), "")
        try:
            root, names = trustless.split_path(path)
        except InvalidCid:
            raise GatewayError(400, f"expected a CID after /ipfs/, found {first_name!r}") from None
        get = self.gateway.store.get_block
        if fmt == "raw":
            if names:
                raise GatewayError(
                    400, "expected /ipfs/{cid} for format=raw, found a path: ask for format=car"
                )
            block: bytes = await _guarded(path, lambda: trustless._verified(get)(root))
            headers = self._headers(request, RAW_TYPE, f'"{root}.raw"', (root,))
            headers["Content-Disposition"] = f'attachment; filename="{root}.bin"'
            return self._whole(request, headers, block)
        resolved: trustless.Resolved = await _guarded(
            path, lambda: trustless.resolve(get, root, names)
        )
        if fmt == "car":
            return await self._car(request, path, root, resolved)
        return await self._file(request, path, resolved)

    def _headers(
        self, request: web.Request, kind: str, etag: str, roots: tuple[CID, ...]
    ) -> dict[str, str]:
        return {
            "Content-Type": kind,
            "Etag": etag,
            "Cache-Control": IMMUTABLE,
            "X-Ipfs-Path": request.path,
            "X-Ipfs-Roots": ",".join(str(r) for r in roots),
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept",
            "Access-Control-Expose-Headers": _EXPOSE,
        }

    def _not_modified(self, request: web.Request, etag: str) -> bool:
        wanted = request.headers.get("If-None-Match", "")
        return any(t.strip() in (etag, "*") for t in wanted.split(",") if t.strip())

    def _whole(self, request: web.Request, headers: dict[str, str], body: bytes) -> web.Response:
        """An answer held in memory (a raw block), with ``Range`` honoured."""
        if self._not_modified(request, headers["Etag"]):
            return web.Response(status=304, headers=headers)
        headers["Accept-Ranges"] = "bytes"
        try:
            span = _byte_range(request.headers.get("Range"), len(body))
        except GatewayError:
            headers["Content-Range"] = f"bytes */{len(body)}"
            message = f"expected a range inside the {len(body)}-byte block"
            raise _WithHeaders(416, message, headers) from None
        if span is None:
            return web.Response(body=body, headers=headers)
        headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{len(body)}"
        return web.Response(status=206, body=body[span[0] : span[1]], headers=headers)

    async def _car(
        self, request: web.Request, path: str, root: CID, resolved: trustless.Resolved
    ) -> web.StreamResponse:
        scope, entity = _car_options(request)
        params = f"{scope}|{entity.start}:{entity.stop}" if entity else scope
        tag = hashlib.sha256(f"{request.path}|{params}".encode()).hexdigest()[:16]
        etag = f'W/"{resolved.cid}.car.{tag}"'
        headers = self._headers(request, CAR_TYPE, etag, resolved.roots)
        headers["Content-Disposition"] = f'attachment; filename="{resolved.cid}.car"'
        if self._not_modified(request, etag):
            return web.Response(status=304, headers=headers)
        get = self.gateway.store.get_block
        blocks = trustless.car_blocks(get, resolved, scope, entity)
        frames = _car_frames(blocks)
        # The terminal block is read before the status goes out: a missing or damaged
        # root is a 404/502, anything later cuts the stream.
        first: list[bytes] = await _guarded(path, lambda: _take(frames))
        response = web.StreamResponse(headers=headers)
        if request.method == "HEAD":
            await response.prepare(request)
            return response
        return await self._stream(request, response, [car.encode_header([root]), *first], frames)

    async def _file(
        self, request: web.Request, path: str, resolved: trustless.Resolved
    ) -> web.StreamResponse:
        get = self.gateway.store.get_block
        what: str = await _guarded(path, lambda: trustless.kind(get, resolved.cid))
        if what != "file":
            raise GatewayError(
                404,
                f"/ipfs/{path} is a {what}, not a file: ask for it with ?format=car "
                "(or ?format=raw for the block)",
            )
        size: int = await _guarded(path, lambda: trustless.file_size(get, resolved.cid))
        etag = f'"{resolved.cid}"'
        kind = mimetypes.guess_type(resolved.name)[0]
        headers = self._headers(request, kind or "application/octet-stream", etag, resolved.roots)
        headers["Accept-Ranges"] = "bytes"
        if self._not_modified(request, etag):
            return web.Response(status=304, headers=headers)
        try:
            span = _byte_range(request.headers.get("Range"), size)
        except GatewayError:
            headers["Content-Range"] = f"bytes */{size}"
            message = f"expected a range inside the {size}-byte file"
            raise _WithHeaders(416, message, headers) from None
        first_byte, end = span or (0, size)
        chunks = trustless.file_range(get, resolved.cid, first_byte, end)
        first: list[bytes] = await _guarded(path, lambda: _take(chunks))
        if kind is None and first and first[0].lstrip()[:1] in (b"{", b"["):
            headers["Content-Type"] = "application/json"
        response = web.StreamResponse(status=206 if span else 200, headers=headers)
        response.content_length = end - first_byte
        if span:
            response.headers["Content-Range"] = f"bytes {first_byte}-{end - 1}/{size}"
        if request.method == "HEAD":
            await response.prepare(request)
            return response
        return await self._stream(request, response, first, chunks)

    async def _stream(
        self,
        request: web.Request,
        response: web.StreamResponse,
        first: list[bytes],
        rest: Iterator[bytes],
    ) -> web.StreamResponse:
        """Send ``first`` then ``rest`` (each chunk verified as it is produced); a chunk
        that fails aborts the connection, so the client sees an error, never an end."""
        await response.prepare(request)
        batch = first
        while batch:
            for chunk in batch:
                await response.write(chunk)
            try:
                batch = await asyncio.to_thread(_take, rest)
            except DatasoilError as exc:
                self.log(f"aborted {request.path} mid-stream: {exc}")
                if request.transport is not None:
                    request.transport.abort()
                return response
        await response.write_eof()
        return response


class _WithHeaders(GatewayError):
    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(status, message)
        self.headers = headers


# --------------------------------------------------------------------------- the app


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    out = dict(headers or {})
    out.pop("Content-Type", None)
    out["Cache-Control"] = "no-store"
    return web.Response(
        status=status, text=f"{message}\n", content_type="text/plain", charset="utf-8", headers=out
    )


def make_app(gateway: Gateway, log: Callable[[str], None] = lambda _m: None) -> web.Application:
    """The aiohttp application: ``/ipfs/``, ``/deployment.json``, ``/rpc`` and the page."""

    @web.middleware
    async def sentences(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except _WithHeaders as exc:
            response = _text(exc.status, str(exc), exc.headers)
        except GatewayError as exc:
            response = _text(exc.status, str(exc))
        except DeploymentError as exc:
            response = _text(503, str(exc))
        except DatasoilError as exc:
            response = _text(500, str(exc))
        except web.HTTPException as exc:
            response = _text(exc.status, f"{exc.reason}: {request.method} {request.path}")
        if not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = "*"
        log(f"{request.remote} {request.method} {request.path_qs} {response.status}")
        return response

    async def options(_request: web.Request) -> web.Response:
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, HEAD, POST",
                "Access-Control-Allow-Headers": "Content-Type, Accept, Range, If-None-Match",
            },
        )

    async def deployment(_request: web.Request) -> web.Response:
        body = await asyncio.to_thread(gateway.deployment)
        return web.Response(
            body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def rpc(request: web.Request) -> web.Response:
        length = request.content_length or 0
        if not 0 < length <= _MAX_RPC_BODY:
            raise GatewayError(400, f"expected a body of 1..{_MAX_RPC_BODY} bytes")
        body = await request.read()
        answer = await asyncio.to_thread(gateway.rpc, body)
        return web.Response(
            body=answer, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def api(request: web.Request) -> web.Response:
        route = request.match_info["route"]
        body, kind = await asyncio.to_thread(gateway.api, route, request.query)
        headers = {"Cache-Control": "no-store"}
        if route.rstrip("/").endswith("/bom"):
            fmt = request.query.get("format") or "cyclonedx"
            name = route.strip("/").replace("/", "-")
            headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}.json"'
        return web.Response(body=body, content_type=kind, headers=headers)

    async def static(request: web.Request) -> web.StreamResponse:
        file = gateway.static(request.match_info["tail"])
        return web.FileResponse(file, headers={"Cache-Control": "no-store"})

    app = web.Application(middlewares=[sentences], client_max_size=_MAX_RPC_BODY)
    app.router.add_get("/ipfs/{path:.*}", _Ipfs(gateway, log))
    app.router.add_get("/deployment.json", deployment)
    app.router.add_post("/rpc", rpc)
    app.router.add_get("/api/{route:.*}", api)
    app.router.add_route("OPTIONS", "/{tail:.*}", options)
    app.router.add_get("/{tail:.*}", static)
    return app


class Server:
    """The gateway running on its own event loop in a daemon thread."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        started: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()

        async def start() -> None:
            await self._runner.setup()
            site = web.TCPSite(self._runner, host, port)
            await site.start()
            address = self._runner.addresses[0]
            started.set_result((address[0], address[1]))

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="datasoil-gateway", daemon=True)
        self._thread.start()
        #: ``(host, port)`` actually bound (``port`` 0 picks a free one).
        self.server_address = started.result(timeout=30)
        self.url = f"http://{self.server_address[0]}:{self.server_address[1]}"

    def shutdown(self) -> None:
        """Stop serving and close every connection."""
        if not self._loop.is_running():
            return
        done = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        with contextlib.suppress(Exception):
            done.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def serve(
    gateway: Gateway,
    port: int,
    *,
    host: str = "127.0.0.1",
    log: Callable[[str], None] = lambda _m: None,
) -> Server:
    """Start serving in a daemon thread and return the :class:`Server`
    (``shutdown()`` stops it). ``port`` 0 picks a free port (``server.server_address[1]``).
    """
    return Server(make_app(gateway, log), host, port)


def _reason(exc: BaseException) -> str:
    """The innermost cause of ``exc`` in a few words (``connection refused``), for one sentence.

    >>> try:
    ...     try:
    ...         raise ConnectionRefusedError(111, "Connection refused")
    ...     except OSError as inner:
    ...         raise RuntimeError("Max retries exceeded with url: /") from inner
    ... except RuntimeError as outer:
    ...     _reason(outer)
    'connection refused'
    """
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@click.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Serve the web page, the deployment, the event index, read-only /rpc and /ipfs/ "
    "on 127.0.0.1 until interrupted.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8600, show_default=True)
@click.option(
    "--node", default="http://127.0.0.1:8545", show_default=True, help="the chain's JSON-RPC URL"
)
@click.option(
    "--dist", type=click.Path(path_type=Path), default=DEFAULT_DIST, help="the built page"
)
@click.option(
    "--build", type=click.Path(path_type=Path), default=DEFAULT_BUILD, help="ape's build manifest"
)
@click.option("--quiet", is_flag=True, help="do not log requests")
def cli(port: int, node: str, dist: Path, build: Path, quiet: bool) -> None:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(node, request_kwargs={"timeout": 10}))
    try:
        document = deployment_document(w3, build=build)
    except DatasoilError:
        raise
    except Exception as exc:  # web3 raises requests' errors when the node is down
        raise click.ClickException(
            f"expected a node at {node}, found none ({_reason(exc)})"
        ) from exc
    gateway = Gateway(w3, open_store(), node=node, dist=dist, build=build)
    log: Callable[[str], None] = (lambda _m: None) if quiet else click.echo
    try:
        server = serve(gateway, port, log=log)
    except OSError as exc:  # the port is taken, or not ours to bind
        raise click.ClickException(
            f"expected port {port} on 127.0.0.1 to be free, found it refused ({_reason(exc)})"
        ) from exc
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    click.echo(f"datasoil web page on {url} (chain {document['chainId']}, node {node})")
    if not (dist / "index.html").is_file():
        click.echo(f"warning: no built page in {dist}: run `cd web && npm run build`")
    stop = threading.Event()
    try:
        # Woken twice a second: once Polars is imported (the row proofs import it), an
        # untimed wait sleeps through SIGINT, and Ctrl-C would not stop the gateway.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def main(argv: list[str] | None = None) -> int:
    """``python -m datasoil.app.gateway``: serve until interrupted; the exit status (0 when
    interrupted, 1 with one line on stderr for an error, 2 for a usage error)."""
    try:
        cli.main(args=argv, prog_name="python -m datasoil.app.gateway", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return 1
    except DatasoilError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
