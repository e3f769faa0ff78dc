"""A small local HTTP server for the web page: the built page, the deployment, and /ipfs/.

``python -m datasoil.gateway --port 8600 --node http://127.0.0.1:8545`` serves, on
127.0.0.1 only:

* ``/`` and the files of ``web/dist`` (the page ``npm run build`` makes in ``web/``);
* ``/deployment.json``: the connected chain's id and genesis, and for every recorded
  contract its address (from ``.datasoil/deployments/<chain id>-<genesis>.json``, read
  through :func:`datasoil.deployments.load`, which checks the chain) and its ABI (from
  ape's build, ``.build/__local__.json``). Nothing is copied by hand: redeploy or
  recompile and the next request sees it;
* ``POST /rpc``: read-only JSON-RPC calls forwarded to ``--node`` (:data:`READ_METHODS`),
  so the page can browse before a wallet is connected and always reads the chain the
  deployment lives on; transactions and signatures go through the wallet only;
* ``/ipfs/<cid>[/<path>]``: UnixFS files from the embedded store
  (:func:`datasoil.store.open_store`), every block verified against its CID before a
  byte is sent; a directory path is resolved name by name. The embedded store has no
  gateway of its own; this is it, read-only and for files only.

Errors are answered with a status and one sentence (``text/plain``), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from datasoil import deployments, unixfs
from datasoil.errors import CidMismatch, DatasoilError, DeploymentError, InvalidCid, NotFound
from datasoil.store.base import Store, as_cid, open_store

__all__ = [
    "DEFAULT_BUILD",
    "DEFAULT_DIST",
    "READ_METHODS",
    "Gateway",
    "GatewayError",
    "deployment_document",
    "main",
    "resolve_ipfs_path",
    "serve",
]

_ROOT = Path(__file__).resolve().parents[2]
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


def _abis(build: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(build.read_text())
    except FileNotFoundError:
        raise DeploymentError(
            f"expected ape's build manifest at {build}, found nothing: run `ape compile`"
        ) from None
    types = manifest.get("contractTypes", {})
    return {name: ctype.get("abi", []) for name, ctype in types.items()}


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


@dataclass(frozen=True)
class _Resolved:
    cid: Any
    name: str


def resolve_ipfs_path(store: Store, path: str) -> _Resolved:
    """Resolve ``<cid>[/<name>...]`` to the CID of a UnixFS file, verifying every block.

    Raises:
        GatewayError: 400 for a malformed CID, 404 when a block or name is absent or the
            path names a directory, 502 when a stored block does not match its CID.
    """
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts:
        raise GatewayError(400, "expected /ipfs/<cid>[/<path>], found no CID")
    try:
        cid = as_cid(parts[0])
    except InvalidCid as exc:
        raise GatewayError(400, f"expected a CID after /ipfs/, found {parts[0]!r}") from exc
    rest = "/".join(parts[1:])
    if not rest:
        return _Resolved(cid, parts[0])
    try:
        for rel, child, is_dir in unixfs.walk(store.get_block, cid):
            if rel == rest:
                if is_dir:
                    raise GatewayError(
                        404, f"/ipfs/{path} is a directory; this gateway serves files only"
                    )
                return _Resolved(child, parts[-1])
    except NotFound as exc:
        raise GatewayError(404, f"the store does not hold {path}: {exc}") from exc
    except CidMismatch as exc:
        raise GatewayError(502, f"a stored block failed verification: {exc}") from exc
    except unixfs.InvalidBlock as exc:
        raise GatewayError(404, f"{parts[0]} is not a directory holding {rest}: {exc}") from exc
    raise GatewayError(404, f"the directory {parts[0]} has no entry {rest!r}")


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

    def deployment(self) -> bytes:
        """The ``/deployment.json`` body (read afresh; raises what
        :func:`deployment_document` raises)."""
        doc = deployment_document(self.w3, build=self.build, directory=self.deployments_dir)
        return json.dumps(doc).encode()

    def rpc(self, body: bytes) -> bytes:
        """Forward one read-only JSON-RPC request (or a batch) to the node.

        Raises:
            GatewayError: 400 for a body that is not JSON-RPC, 403 for a method outside
                :data:`READ_METHODS`, 502 when the node cannot be reached.
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

    def ipfs(self, path: str) -> tuple[str, Iterator[bytes]]:
        """(content type, verified chunks) of ``/ipfs/<path>``; the first chunk is read
        before returning so that absence is reported as a status, not a cut stream."""
        resolved = resolve_ipfs_path(self.store, path)
        chunks = iter(self.store.cat(resolved.cid))
        try:
            first = next(chunks, b"")
        except NotFound as exc:
            raise GatewayError(404, f"the store does not hold {path}: {exc}") from exc
        except CidMismatch as exc:
            raise GatewayError(502, f"a stored block failed verification: {exc}") from exc
        except unixfs.InvalidBlock as exc:
            raise GatewayError(404, f"{path} is not a UnixFS file: {exc}") from exc
        kind = mimetypes.guess_type(resolved.name)[0]
        if kind is None:
            kind = (
                "application/json"
                if first.lstrip()[:1] in (b"{", b"[")
                else "application/octet-stream"
            )

        def stream() -> Iterator[bytes]:
            yield first
            yield from chunks

        return kind, stream()


def _handler(gateway: Gateway, log: Callable[[str], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "datasoil-gateway"

        def log_message(self, format: str, *args: Any) -> None:
            log(f"{self.address_string()} {format % args}")

        def _send(self, status: int, kind: str, body: Iterator[bytes] | bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-store")
            if isinstance(body, bytes):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in body:
                self.wfile.write(chunk)

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.end_headers()

        def do_POST(self) -> None:
            try:
                if urlsplit(self.path).path != "/rpc":
                    raise GatewayError(404, f"there is nothing to POST to at {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= _MAX_RPC_BODY:
                    raise GatewayError(400, f"expected a body of 1..{_MAX_RPC_BODY} bytes")
                self._send(200, "application/json", gateway.rpc(self.rfile.read(length)))
            except GatewayError as exc:
                self._send(exc.status, "text/plain; charset=utf-8", f"{exc}\n".encode())

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            try:
                if path == "/deployment.json":
                    self._send(200, "application/json", gateway.deployment())
                elif path.startswith("/ipfs/"):
                    kind, chunks = gateway.ipfs(path[len("/ipfs/") :])
                    self._send(200, kind, chunks)
                else:
                    file = gateway.static(path)
                    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                    self._send(200, kind, file.read_bytes())
            except GatewayError as exc:
                self._send(exc.status, "text/plain; charset=utf-8", f"{exc}\n".encode())
            except DeploymentError as exc:
                self._send(503, "text/plain; charset=utf-8", f"{exc}\n".encode())
            except DatasoilError as exc:
                self._send(500, "text/plain; charset=utf-8", f"{exc}\n".encode())

    return Handler


def serve(
    gateway: Gateway,
    port: int,
    *,
    host: str = "127.0.0.1",
    log: Callable[[str], None] = lambda _m: None,
) -> ThreadingHTTPServer:
    """Start serving in a daemon thread and return the server (``shutdown()`` stops it).

    ``port`` 0 picks a free port (``server.server_address[1]``).
    """
    server = ThreadingHTTPServer((host, port), _handler(gateway, log))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="datasoil-gateway", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    """``python -m datasoil.gateway``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m datasoil.gateway", description=__doc__)
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument("--node", default="http://127.0.0.1:8545", help="the chain's JSON-RPC URL")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="the built page")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="ape's build manifest")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(args.node, request_kwargs={"timeout": 10}))
    try:
        document = deployment_document(w3, build=args.build)
    except DatasoilError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # web3 raises requests' errors when the node is down
        print(f"error: expected a node at {args.node}, found none ({exc})", file=sys.stderr)
        return 1
    gateway = Gateway(w3, open_store(), node=args.node, dist=args.dist, build=args.build)
    log: Callable[[str], None] = (lambda _m: None) if args.quiet else print
    server = serve(gateway, args.port, log=log)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"datasoil web page on {url} (chain {document['chainId']}, node {args.node})")
    if not (args.dist / "index.html").is_file():
        print(f"warning: no built page in {args.dist}: run `cd web && npm run build`")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
