"""Access to private datasets through the AccessMarket: buy, deliver keys, fetch.

* Owners keep each private dataset's content key under ``.datasoil/keys/<content
  CID>.json`` (mode 0600), written by the private-publish flow through
  :func:`save_content_key` and read by the keeper through :func:`load_content_key`.
* :func:`run_keeper` (one round: :func:`keeper_step`) watches ``Purchased`` events,
  seals the content key to each buyer's X25519 key (:func:`datasoil.crypto.seal_key`)
  and calls ``deliver_key``. It resumes from the last block recorded in its state
  file (written atomically) and delivers only purchases the chain still shows
  pending, so a restart never delivers twice.
* Buyers derive their X25519 key from a wallet signature (:func:`encryption_keypair`),
  :func:`buy`, :func:`wait_for_key`, then :func:`fetch`: download the ciphertext by
  CID, decrypt it streaming, check the plaintext CID and the keyed row root, and only
  then move the file into place.

Contract calls go through ape contract instances (``market``, ``token``) and a
:class:`datasoil.registry.Registry`; nothing here imports ape at module load.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasoil import crypto
from datasoil.chain import event_logs
from datasoil.errors import ChainError, CidMismatch, CryptoError, DatasoilError, NotFound

__all__ = [
    "DEFAULT_ROOT",
    "DELIVERED",
    "PENDING",
    "REFUNDED",
    "ContentKey",
    "KeeperState",
    "KeyTimeout",
    "PurchaseInvalid",
    "buy",
    "check_encryption_key",
    "encryption_keypair",
    "fetch",
    "keeper_step",
    "latest_purchase",
    "load_content_key",
    "revert_reason",
    "run_keeper",
    "save_content_key",
    "transact",
    "wait_for_key",
]

#: Where datasoil keeps local state (keys, keeper state) unless told otherwise.
DEFAULT_ROOT = Path(".datasoil")


def home() -> Path:
    """datasoil's state directory: ``$DATASOIL_HOME``, default ``.datasoil``."""
    return Path(os.environ.get("DATASOIL_HOME", str(DEFAULT_ROOT)))


#: Purchase states as the contract numbers them.
PENDING, DELIVERED, REFUNDED = 1, 2, 3
_KEY_FORMAT = "datasoil-content-key-v1"


class KeyTimeout(DatasoilError, TimeoutError):
    """No key was delivered for a purchase within the time waited."""


class PurchaseInvalid(DatasoilError, ValueError):
    """A purchase cannot be served (unknown, settled, or a bad encryption key)."""


# -- content keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContentKey:
    """A private dataset's content key and its (plaintext) manifest."""

    dataset_cid: str
    key: bytes
    manifest: Mapping[str, Any] = field(default_factory=dict)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _key_path(dataset_cid: str, root: Path | None) -> Path:
    name = str(dataset_cid)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"expected a CID or dataset id as the key name, found {name!r}")
    return Path(root if root is not None else home()) / "keys" / f"{name}.json"


def save_content_key(
    dataset_cid: str, key: bytes, manifest: Mapping[str, Any], *, root: Path | None = None
) -> Path:
    """Save a content key and manifest under ``root/keys/<dataset_cid>.json`` (0600).

    ``dataset_cid`` is the registered content CID (the ciphertext's). The manifest
    holds what :func:`fetch` checks: ``plaintext_cid``, ``schema``, ``profile``, ``name``.

    Raises:
        CryptoError: ``key`` is not 32 bytes.
        ValueError: the name would escape the key directory.
    """
    if not isinstance(key, bytes | bytearray) or len(key) != crypto.KEY_SIZE:
        raise CryptoError(f"expected a {crypto.KEY_SIZE}-byte content key, found {key!r:.20}")
    path = _key_path(dataset_cid, root)
    record = {
        "format": _KEY_FORMAT,
        "dataset_cid": str(dataset_cid),
        "content_key": bytes(key).hex(),
        "manifest": dict(manifest),
    }
    _write_private(path, json.dumps(record, indent=2, sort_keys=True).encode())
    return path


def load_content_key(dataset_cid: str, *, root: Path | None = None) -> ContentKey:
    """Load what :func:`save_content_key` saved.

    Raises:
        NotFound: no key is stored for ``dataset_cid``.
        CryptoError: the file is not a datasoil content-key record.
    """
    path = _key_path(dataset_cid, root)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFound(f"expected a content key at {path}, found none") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CryptoError(f"expected a JSON content-key record at {path}, found ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != _KEY_FORMAT:
        raise CryptoError(f"expected format {_KEY_FORMAT!r} in {path}")
    try:
        key = bytes.fromhex(record["content_key"])
    except (KeyError, TypeError, ValueError):
        raise CryptoError(f"expected a hex content_key in {path}") from None
    if len(key) != crypto.KEY_SIZE:
        raise CryptoError(f"expected a {crypto.KEY_SIZE}-byte key in {path}, found {len(key)}")
    return ContentKey(str(record.get("dataset_cid", dataset_cid)), key, record.get("manifest", {}))


# -- chain helpers ----------------------------------------------------------------------


def revert_reason(exc: BaseException) -> str:
    """The revert string of a failed call (ape's ContractLogicError message), or the text."""
    message = getattr(exc, "message", None) or str(exc)
    return str(message).strip().splitlines()[0] if message else type(exc).__name__


def transact(what: str, call: Callable[[], Any]) -> Any:
    """Run a transaction; turn a revert into ChainError carrying the revert string."""
    try:
        return call()
    except DatasoilError:
        raise
    except Exception as exc:
        raise ChainError(f"{what} was refused: {revert_reason(exc)}") from exc


def check_encryption_key(public: bytes) -> None:
    """Check that ``public`` is an X25519 public key a content key can be sealed to.

    Rejects wrong lengths, the zero key, and low-order points (which give every
    sender the same shared secret, so the sealed key would be readable by anyone).

    Raises:
        PurchaseInvalid: the key is unusable.
    """
    from nacl.bindings import crypto_scalarmult
    from nacl.exceptions import CryptoError as NaclCryptoError
    from nacl.exceptions import RuntimeError as NaclRuntimeError

    if not isinstance(public, bytes | bytearray) or len(public) != 32:
        raise PurchaseInvalid(f"expected a 32-byte X25519 public key, found {public!r:.40}")
    if not any(public):
        raise PurchaseInvalid("expected a non-zero X25519 public key, found zero")
    try:
        shared = crypto_scalarmult(crypto.new_content_key(), bytes(public))
    except (NaclCryptoError, NaclRuntimeError):
        shared = b""
    if not any(shared):
        raise PurchaseInvalid(
            f"expected an X25519 public key of large order, found low-order point {public.hex()}"
        )


def encryption_keypair(account: Any, chain_id: int) -> tuple[bytes, bytes]:
    """Derive ``(secret, public)`` X25519 keys from an ape account's EIP-191 signature.

    Raises:
        CryptoError: the account's signature does not recover to it.
    """
    from eth_account.messages import encode_defunct

    def sign(text: str) -> bytes:
        sig = account.sign_message(encode_defunct(text=text))
        if sig is None:
            raise CryptoError(f"expected {account.address} to sign the key message, it refused")
        return bytes(sig.r) + bytes(sig.s) + bytes([int(sig.v)])

    return crypto.derive_encryption_key(sign, str(account.address), int(chain_id))


# -- buying -----------------------------------------------------------------------------


def buy(
    market: Any,
    token: Any,
    dataset_id: int,
    encryption_public: bytes,
    *,
    sender: Any,
    max_price: int | None = None,
    min_duration: int | None = None,
) -> int:
    """Buy access to ``dataset_id`` for ``sender``; approve the price if needed.

    The buyer pins the token and (by default) the price and duration currently
    listed, so a change before the transaction lands makes it revert.

    Raises:
        PurchaseInvalid: the dataset is not for sale, or the key is not 32 non-zero bytes.
        ChainError: the market refused (the revert string says why).
    """
    check_encryption_key(encryption_public)
    listing = market.listing(dataset_id)
    if not listing.active:
        raise PurchaseInvalid(f"expected dataset {dataset_id} to be listed for sale, it is not")
    if str(listing.token).lower() != str(token.address).lower():
        raise PurchaseInvalid(f"expected the listing in {token.address}, found {listing.token}")
    price = int(listing.price) if max_price is None else int(max_price)
    duration = int(listing.duration) if min_duration is None else int(min_duration)
    if int(token.allowance(sender, market)) < price:
        transact("approve", lambda: token.approve(market, price, sender=sender))
    receipt = transact(
        f"buying dataset {dataset_id}",
        lambda: market.buy(dataset_id, token, price, duration, encryption_public, sender=sender),
    )
    (event,) = receipt.decode_logs(market.Purchased)
    return int(event.purchase_id)


def wait_for_key(
    market: Any,
    purchase_id: int,
    *,
    timeout: float = 120.0,
    poll: float = 1.0,
    from_block: int = 0,
) -> bytes:
    """Wait for the ``KeyDelivered`` event of a purchase; return the envelope bytes.

    Raises:
        PurchaseInvalid: the purchase is unknown or was refunded.
        KeyTimeout: nothing was delivered within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        p = market.purchase(purchase_id)
        if int(p.status) == 0:
            raise PurchaseInvalid(f"expected purchase {purchase_id} to exist, found none")
        if int(p.status) == REFUNDED:
            raise PurchaseInvalid(f"purchase {purchase_id} was refunded: no key will come")
        if int(p.status) == DELIVERED:
            for log in event_logs(market.KeyDelivered, from_block):
                if int(log.purchase_id) == int(purchase_id):
                    return bytes(log.envelope)
        if time.monotonic() >= deadline:
            timeout_s = int(market.refund_timeout())
            raise KeyTimeout(
                f"expected a key for purchase {purchase_id} within {timeout:g} s, found none: "
                f"the owner's keeper may be down; {timeout_s} s after buying, "
                f"`ape run market refund {purchase_id}` returns the payment"
            )
        time.sleep(poll)


def latest_purchase(market: Any, dataset_id: int, buyer: str, from_block: int = 0) -> int | None:
    """The id of ``buyer``'s most recent purchase of ``dataset_id``, or None."""
    found = None
    for event in event_logs(market.Purchased, from_block):
        if int(event.dataset_id) == int(dataset_id) and str(event.buyer) == str(buyer):
            found = int(event.purchase_id)
    return found


# -- the keeper -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeeperState:
    """Where a keeper resumes: the last block processed and purchases to retry."""

    last_block: int
    retry: tuple[int, ...] = ()

    @classmethod
    def load(cls, path: Path, start_block: int) -> KeeperState:
        """The saved state, or a fresh one starting before ``start_block``."""
        try:
            data = json.loads(Path(path).read_text())
            return cls(int(data["last_block"]), tuple(int(i) for i in data.get("retry", [])))
        except FileNotFoundError:
            return cls(max(start_block - 1, -1))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasoilError(f"expected keeper state JSON in {path}, found ({exc})") from None

    def save(self, path: Path) -> None:
        """Write the state atomically (temp file, fsync, rename)."""
        body = {"last_block": self.last_block, "retry": list(self.retry)}
        _write_private(Path(path), json.dumps(body).encode())


def _serve(
    market: Any,
    registry: Any,
    sender: Any,
    purchase_id: int,
    encryption_key: bytes,
    key_root: Path | None,
) -> str:
    """Deliver one purchase if it is ours and pending; return what happened."""
    p = market.purchase(purchase_id)
    if int(p.status) != PENDING:
        return "settled"
    dataset_id = int(p.dataset_id)
    owner = str(registry.contract.owner_of(dataset_id))
    me = str(sender.address)
    if owner.lower() != me.lower() and str(market.keeper(dataset_id)).lower() != me.lower():
        return "not ours"
    try:
        check_encryption_key(encryption_key)
    except PurchaseInvalid:
        return "invalid key"
    cid = registry.get(dataset_id).content_cid
    try:
        content = load_content_key(cid, root=key_root)
    except NotFound:
        return "no content key"
    try:
        envelope = crypto.envelope_to_bytes(crypto.seal_key(encryption_key, content.key))
    except CryptoError:
        return "invalid key"
    transact(
        f"deliver_key for purchase {purchase_id}",
        lambda: market.deliver_key(purchase_id, envelope, sender=sender),
    )
    return "delivered"


def keeper_step(
    market: Any,
    registry: Any,
    sender: Any,
    state_path: Path,
    *,
    start_block: int = 0,
    key_root: Path | None = None,
    head: int | None = None,
    log: Callable[[str], None] = print,
) -> list[int]:
    """Process ``Purchased`` events since the saved block; return the ids delivered.

    Purchases of datasets the sender neither owns nor keeps are ignored; ones whose
    content key is missing are retried on later rounds while still pending; ones
    with an invalid encryption key are skipped (the buyer can refund).

    Raises:
        ChainError: a delivery transaction was refused.
    """
    state = KeeperState.load(state_path, start_block)
    if head is None:
        from ape import chain

        head = int(chain.blocks.head.number)
    todo: dict[int, bytes] = {}
    for pid in state.retry:
        todo[pid] = b""
    if head > state.last_block:
        for event in market.Purchased.range(state.last_block + 1, head + 1):
            todo[int(event.purchase_id)] = bytes(event.encryption_key)
    delivered: list[int] = []
    retry: list[int] = []
    for pid, key in sorted(todo.items()):
        if not key:
            key = _key_of(market, pid)
        outcome = _serve(market, registry, sender, pid, key, key_root)
        if outcome == "delivered":
            delivered.append(pid)
        elif outcome == "no content key":
            retry.append(pid)
        if outcome not in ("settled", "not ours"):
            log(f"purchase {pid}: {outcome}")
    KeeperState(max(head, state.last_block), tuple(retry)).save(state_path)
    return delivered


def _key_of(market: Any, purchase_id: int) -> bytes:
    for event in event_logs(market.Purchased, 0, purchase_id=purchase_id):
        return bytes(event.encryption_key)
    return b""


def run_keeper(
    market: Any,
    registry: Any,
    sender: Any,
    state_path: Path,
    *,
    start_block: int = 0,
    key_root: Path | None = None,
    interval: float = 2.0,
    rounds: int | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Run :func:`keeper_step` every ``interval`` seconds (``rounds`` times, or for ever)."""
    done = 0
    while rounds is None or done < rounds:
        for pid in keeper_step(
            market,
            registry,
            sender,
            state_path,
            start_block=start_block,
            key_root=key_root,
            log=log,
        ):
            log(f"delivered the key for purchase {pid}")
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)


# -- fetching ---------------------------------------------------------------------------


def _stream_to(path: Path, chunks: Iterator[bytes]) -> None:
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)


def fetch(
    dataset: Any,
    envelope: bytes,
    secret: bytes,
    out_dir: Path,
    *,
    store: Any = None,
) -> Path:
    """Download, decrypt and verify a private dataset; return its final path.

    ``dataset`` is a :class:`datasoil.registry.Dataset` (ciphertext CID and keyed row
    root from the chain). The ciphertext holds a tar of the data files and the
    encrypted manifest (see :mod:`datasoil.publish`); the manifest names the plaintext
    CID, profile and schema. Everything happens in a temporary directory inside
    ``out_dir``; the data (a file, or a directory for multi-file datasets) is moved
    into ``out_dir`` only after the plaintext CID and the keyed row root both match.

    Raises:
        CryptoError: the envelope does not open or the ciphertext does not authenticate.
        CidMismatch: the plaintext's CID differs from the manifest's.
        ProofError: the keyed row root differs from the registered one.
        NotFound: the ciphertext is not in the store.
    """
    from datasoil import publish, rows, unixfs
    from datasoil.errors import ProofError
    from datasoil.store import open_store
    from datasoil.store.base import as_cid

    content_key = crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = open_store() if store is None else store
    with tempfile.TemporaryDirectory(prefix=".datasoil-fetch-", dir=out_dir) as tmp:
        cipher, archive = Path(tmp) / "ciphertext", Path(tmp) / "data.tar"
        _stream_to(cipher, store.cat(as_cid(dataset.content_cid)))
        crypto.decrypt_file(cipher, archive, content_key)
        cipher.unlink()
        unpacked = Path(tmp) / "data"
        manifest = publish.extract_private(archive, unpacked)
        archive.unlink()
        names = [str(f["path"]) for f in manifest.get("files", [])]
        target = unpacked / names[0] if len(names) == 1 else unpacked
        profile = unixfs.profile_for(manifest.get("profile"))
        found_cid = unixfs.add_path(target, profile).cid
        expected_cid = as_cid(str(manifest["plaintext_cid"]))
        if str(found_cid) != str(expected_cid.set(base=found_cid.base)):
            raise CidMismatch(f"expected plaintext CID {expected_cid}, found {found_cid}")
        schema = rows.Schema.from_json(dict(manifest["schema"]))
        root, count = rows.dataset_root(target, schema, key=crypto.row_hmac_key(content_key))
        if root != bytes(dataset.row_root) or count != int(dataset.row_count):
            raise ProofError(
                f"expected keyed row root {bytes(dataset.row_root).hex()} over "
                f"{dataset.row_count} rows, found {root.hex()} over {count}"
            )
        final = out_dir / (target.name if len(names) == 1 else f"dataset-{dataset.id}")
        if final.exists():
            raise FileExistsError(f"expected {final} not to exist, found it: remove it first")
        os.replace(target, final)
    return final
