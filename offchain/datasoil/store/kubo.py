"""A Kubo RPC node as the block store: a thin typed client over httpx.

datasoil computes CIDs and blocks itself, so the import profile never depends on the
node's configuration: :meth:`KuboStore.add_path` streams the blocks to
``/api/v0/dag/import`` as a CAR while :mod:`datasoil.formats.unixfs` produces them, then sends
the root block in a last small CAR and checks that the node reports the same root.
Every block read back (``block/get``) is hashed and compared with its CID before it is
used, so ``cat`` and ``get`` go block by block rather than through ``/api/v0/cat``,
whose bytes cannot be checked against a CID.

``ipfshttpclient`` is not used: it is unmaintained and refuses Kubo 0.8 and newer.

Calls have a timeout; idempotent calls are retried a bounded number of times on
connection errors and 502/503/504; a node that cannot be reached raises
:class:`~datasoil.errors.BackendUnavailable` naming its URL.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from multiformats import CID, varint

from datasoil.errors import (
    BackendUnavailable,
    CidMismatch,
    DatasoilError,
    NotFound,
    StoreError,
)
from datasoil.store.base import HttpClientOwner, fetch_to, normalize, resolve_profile, verify_block
from datasoil.store.car import encode_header

if TYPE_CHECKING:
    from datasoil.formats.unixfs import Profile

__all__ = ["KuboStore"]

_RETRY_STATUS = frozenset({502, 503, 504})
_NOT_FOUND_HINTS = (
    "not found",
    "not pinned",
    "no link named",
    "could not find",
    # js-ipfs and an offline Kubo give up on an absent block with a timeout
    "timed out",
    "deadline exceeded",
)


class _Cancelled(Exception):
    pass


class KuboStore(HttpClientOwner):
    """A :class:`~datasoil.store.base.Store` backed by a Kubo RPC endpoint."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Talk to the node whose RPC listens at ``url`` (e.g. ``http://127.0.0.1:5001``).

        ``timeout`` bounds each connect/read/write; ``retries`` is how many more times
        an idempotent call is tried after a connection error or a 502/503/504.
        """
        self.url = url.rstrip("/")
        if "://" not in self.url:
            self.url = "http://" + self.url
        if self.url.endswith("/api/v0"):
            self.url = self.url[: -len("/api/v0")]
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.Client(
            base_url=self.url + "/api/v0/",
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"KuboStore({self.url!r})"

    # -- transport ------------------------------------------------------------------

    def _unavailable(self, exc: Exception) -> BackendUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            what = f"did not answer within {self.timeout:g} s"
        else:
            what = f"is not reachable ({type(exc).__name__}: {exc})"
        return BackendUnavailable(
            f"the IPFS node at {self.url} {what}; start it, or unset DATASOIL_IPFS_API "
            "to use the embedded store"
        )

    def _error(self, command: str, response: httpx.Response) -> DatasoilError:
        try:
            message = str(response.json().get("Message", ""))
        except ValueError:
            message = response.text[:300]
        text = (
            f"the IPFS node at {self.url} refused {command}: expected success, found HTTP "
            f"{response.status_code} {message!r}"
        )
        if any(h in message.lower() for h in _NOT_FOUND_HINTS):
            return NotFound(text)
        return StoreError(text)

    def _post(
        self,
        command: str,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """POST one RPC call and return the (fully read) successful response.

        Raises:
            BackendUnavailable: the node cannot be reached after the retries.
            NotFound: the node says the object does not exist. StoreError: other errors.
        """
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                response = self._client.post(
                    command, params=params, content=content, headers=headers
                )
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt + 1 >= attempts:
                    raise self._unavailable(exc) from exc
            else:
                if response.status_code in _RETRY_STATUS and attempt + 1 < attempts:
                    pass
                elif response.is_success:
                    return response
                else:
                    raise self._error(command, response)
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _node_timeout(self) -> str:
        """The ``timeout`` argument for the node: a little under the client's own."""
        return f"{max(1, int(self.timeout * 0.8))}s"

    def version(self) -> str:
        """The node's version string (a cheap liveness check).

        Raises:
            BackendUnavailable: the node cannot be reached.
        """
        return str(self._post("version").json().get("Version", ""))

    # -- blocks ---------------------------------------------------------------------

    def put_block(self, cid: CID, data: bytes) -> None:
        """Store one block on the node and check the node files it under ``cid``.

        Raises:
            CidMismatch: ``data`` does not hash to ``cid``, or the node reports another key.
        """
        verify_block(cid, data)
        self._import([cid], iter([(cid, data)]), pin=False)

    def get_block(self, cid: CID) -> bytes:
        """Fetch one block with ``block/get`` and verify it.

        Raises:
            NotFound: the node does not have it. CidMismatch: it returned other bytes.
            BackendUnavailable: the node cannot be reached.
        """
        response = self._post(
            "block/get", {"arg": str(normalize(cid)), "timeout": self._node_timeout()}
        )
        data = response.content
        verify_block(cid, data)
        return data

    def has(self, cid: CID) -> bool:
        """Whether the node holds the block locally (``block/stat --offline``)."""
        try:
            self._post(
                "block/stat",
                {
                    "arg": str(normalize(cid)),
                    "offline": "true",
                    "timeout": "2s",
                    "cid-base": "base32",
                },
            )
        except NotFound:
            return False
        return True

    # -- streaming import -----------------------------------------------------------

    def _import(
        self, roots: list[CID], blocks: Iterator[tuple[CID, bytes]], *, pin: bool
    ) -> list[dict[str, Any]]:
        """Send ``blocks`` as one CAR to ``dag/import``; return the node's output lines."""
        boundary = "datasoil-" + secrets.token_hex(12)

        def body() -> Iterator[bytes]:
            yield (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="data.car"\r\n'
                "Content-Type: application/vnd.ipld.car\r\n\r\n"
            ).encode()
            yield encode_header(roots)
            for cid, data in blocks:
                raw = bytes(cid)
                yield bytes(varint.encode(len(raw) + len(data))) + raw
                yield data
            yield f"\r\n--{boundary}--\r\n".encode()

        response = self._post(
            "dag/import",
            {"pin-roots": "true" if pin else "false", "cid-base": "base32"},
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            idempotent=False,
        )
        out = []
        for line in response.text.splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def _push(
        self,
        produce: Callable[[Callable[[CID, bytes], None]], CID],
        *,
        pin: bool,
        name: str | None,
    ) -> CID:
        """Run ``produce`` (which emits blocks to a sink and returns the root) in a thread,
        streaming its blocks to the node, then confirm the root and pin it."""
        self.version()  # fail fast, with retries, if the node is down
        q: queue.Queue[tuple[CID, bytes] | None] = queue.Queue(maxsize=16)
        cancel = threading.Event()
        result: dict[str, Any] = {}

        def sink(cid: CID, data: bytes) -> None:
            item = (cid, data)
            while not cancel.is_set():
                try:
                    q.put(item, timeout=0.2)
                    result["last"] = item
                    return
                except queue.Full:
                    continue
            raise _Cancelled

        def worker() -> None:
            try:
                result["root"] = produce(sink)
            except BaseException as exc:  # handed to the consumer thread
                result["error"] = exc
            finally:
                while not cancel.is_set():
                    try:
                        q.put(None, timeout=0.2)
                        break
                    except queue.Full:
                        continue

        thread = threading.Thread(target=worker, name="datasoil-kubo-add", daemon=True)
        thread.start()
        try:
            first = q.get()
            if first is not None:

                def blocks() -> Iterator[tuple[CID, bytes]]:
                    assert first is not None
                    yield first
                    while (item := q.get()) is not None:
                        yield item

                self._import([first[0]], blocks(), pin=False)
            thread.join()
        finally:
            cancel.set()
            thread.join(timeout=5)
        if "error" in result:
            error = result["error"]
            if isinstance(error, _Cancelled):  # pragma: no cover - consumer failed first
                raise StoreError(f"import to the IPFS node at {self.url} was interrupted")
            raise error
        root: CID = result["root"]
        last = result.get("last")
        if last is None or normalize(last[0]) != normalize(root):
            raise StoreError(f"expected the encoder to emit the root {root} last, it did not")
        self._confirm_root(root, last[1], pin=pin, name=name)
        return root

    def _confirm_root(self, root: CID, root_block: bytes, *, pin: bool, name: str | None) -> None:
        """Send the root block under a CAR naming it; check the node reports that root."""
        # The CIDv1 form of the root, so the node records and reports the pin in base32.
        lines = self._import([normalize(root)], iter([(normalize(root), root_block)]), pin=pin)
        if pin:
            reported = [
                line["Root"]["Cid"]["/"] for line in lines if isinstance(line.get("Root"), dict)
            ]
            if not reported:
                raise StoreError(
                    f"the IPFS node at {self.url} imported the CAR but reported no root; "
                    f"expected {root}"
                )
            for text in reported:
                got = CID.decode(text)
                if normalize(got) != normalize(root):
                    raise CidMismatch(
                        f"the IPFS node at {self.url} reports root {got} for the CAR whose "
                        f"root datasoil computed as {root}"
                    )
            errors = [
                line["Root"].get("PinErrorMsg")
                for line in lines
                if isinstance(line.get("Root"), dict)
            ]
            if any(errors):
                raise StoreError(f"the IPFS node at {self.url} could not pin {root}: {errors}")
            self.pin(root, name)
        else:
            stat = self._post(
                "block/stat", {"arg": str(normalize(root)), "cid-base": "base32"}
            ).json()
            got = CID.decode(stat["Key"])
            if normalize(got) != normalize(root) or int(stat["Size"]) != len(root_block):
                raise CidMismatch(
                    f"the IPFS node at {self.url} holds {got} ({stat['Size']} bytes) where "
                    f"datasoil sent {root} ({len(root_block)} bytes)"
                )

    def import_blocks(
        self, roots: Iterable[CID], blocks: Iterator[tuple[CID, bytes]], *, pin: bool = True
    ) -> None:
        """Stream already verified ``blocks`` to the node as one CAR naming ``roots``."""
        root_list = list(roots)
        lines = self._import(root_list, blocks, pin=pin)
        if pin:
            reported = {
                normalize(CID.decode(line["Root"]["Cid"]["/"]))
                for line in lines
                if isinstance(line.get("Root"), dict)
            }
            missing = [r for r in root_list if normalize(r) not in reported]
            if missing:
                raise CidMismatch(
                    f"the IPFS node at {self.url} did not report the roots {missing}; "
                    f"it reported {sorted(map(str, reported))}"
                )

    # -- UnixFS ---------------------------------------------------------------------

    def add_path(
        self,
        path: Path,
        profile: Profile | str | None = None,
        *,
        pin: bool = True,
        name: str | None = None,
    ) -> CID:
        """Encode ``path`` locally and stream its blocks to the node; return the root.

        Raises:
            BackendUnavailable: the node is down. CidMismatch: it reports another root.
        """
        from datasoil.formats import unixfs

        prof = resolve_profile(profile)
        p = Path(path)
        return self._push(
            lambda sink: unixfs.add_path(p, prof, sink=sink).cid,
            pin=pin,
            name=name if name is not None else p.name,
        )

    def add_bytes(
        self, data: bytes, profile: Profile | str | None = None, *, pin: bool = True
    ) -> CID:
        """Encode ``data`` as one UnixFS file and push it; return the root."""
        from datasoil.formats import unixfs

        prof = resolve_profile(profile)
        return self._push(
            lambda sink: unixfs.add_bytes(data, prof, sink=sink).cid, pin=pin, name=None
        )

    def cat(self, cid: CID) -> Iterator[bytes]:
        """Yield a UnixFS file's bytes, fetched and verified block by block."""
        from datasoil.formats import unixfs

        return unixfs.cat(self.get_block, cid)

    def get(self, cid: CID, dest: Path) -> None:
        """Write the file or directory ``cid`` to ``dest`` (verified, atomic)."""
        fetch_to(self.get_block, cid, Path(dest))

    # -- pins -----------------------------------------------------------------------

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Pin ``cid`` recursively on the node (``pin/add``; ``name`` needs Kubo >= 0.26)."""
        params: dict[str, Any] = {
            "arg": str(normalize(cid)),
            "recursive": "true",
            "cid-base": "base32",
        }
        if name:
            params["name"] = name
        self._post("pin/add", params)

    def unpin(self, cid: CID) -> None:
        """Remove the recursive pin (``pin/rm``).

        Raises:
            NotFound: the node says ``cid`` is not pinned.
        """
        self._post(
            "pin/rm", {"arg": str(normalize(cid)), "recursive": "true", "cid-base": "base32"}
        )

    def pins(self) -> list[CID]:
        """The node's recursive pins (``pin/ls --type=recursive``)."""
        # No cid-base here: js-ipfs cannot print a CIDv0 pin in base32 and fails the
        # whole listing; CID.decode reads whichever base the node uses.
        response = self._post("pin/ls", {"type": "recursive"})
        found: list[CID] = []
        for line in response.text.splitlines():
            if not line.strip():
                continue
            doc = json.loads(line)
            if "Keys" in doc:
                found.extend(CID.decode(k) for k in doc["Keys"])
            elif "Cid" in doc:
                found.append(CID.decode(doc["Cid"]))
        return found
