"""Access to private datasets through the AccessMarket: buy, deliver keys, fetch.

* Owners keep each private dataset's content key under ``.datasoil/keys/<content
  CID>.json`` (mode 0600), written by the private-publish flow through
  :func:`save_content_key` and read by the keeper through :func:`load_content_key`.
* Every purchase pins its terms (:class:`Terms`: seller, ownership period, token,
  price, duration, key commitment and royalty credits); the contract keeps their
  hash and every later call passes them back (:func:`purchase_terms` reads them from
  the ``Purchased`` event).
* :func:`run_keeper` (one round: :func:`keeper_step`) watches ``Purchased`` events,
  seals the content key to each buyer's X25519 key (:func:`datasoil.formats.crypto.seal_key`)
  and calls ``deliver_key``; it settles deliveries once their objection window is
  over and reveals the committed key when a buyer objects. Its state is kept per
  chain, market and account (:func:`keeper_state_path`), under a file lock, and it
  acts only on what the chain shows, so a restart never delivers twice.
* Buyers derive their X25519 key from a wallet signature (:func:`encryption_keypair`),
  :func:`buy`, :func:`wait_for_key`, :func:`check_delivery` (the delivered key must
  match the pinned commitment, else :func:`object_delivery`), then :func:`fetch`:
  download the ciphertext by CID, decrypt it streaming, check the plaintext CID and
  the keyed row root, and only then move the file into place.

Contract calls go through ape contract instances (``market``, ``token``) and a
:class:`datasoil.chain.registry.Registry`; nothing here imports ape at module load.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasoil import config
from datasoil._fs import write_atomic
from datasoil.chain import event_logs
from datasoil.chain.session import MarketClient, TokenClient
from datasoil.chain.tx import revert_reason
from datasoil.errors import CidMismatch, CryptoError, DatasoilError, NotFound
from datasoil.formats import crypto

if TYPE_CHECKING:
    from ape.api import AccountAPI
    from ape.contracts.base import ContractInstance

    from datasoil.chain.index import EventIndex
    from datasoil.chain.registry import Registry

    #: The AccessMarket as a plain ape instance or its typed client.
    Market = ContractInstance | MarketClient

__all__ = [
    "DEFAULT_ROOT",
    "DELIVERED",
    "OBJECTED",
    "PENDING",
    "REFUNDED",
    "RELEASED",
    "ContentKey",
    "KeeperState",
    "KeyMismatch",
    "KeyTimeout",
    "OutputExists",
    "PurchaseInvalid",
    "Terms",
    "buy",
    "check_delivery",
    "check_encryption_key",
    "encryption_keypair",
    "fetch",
    "keeper_state_path",
    "keeper_step",
    "key_commitment",
    "latest_purchase",
    "load_content_key",
    "object_delivery",
    "purchase_terms",
    "refund",
    "revert_reason",
    "run_keeper",
    "save_content_key",
    "settle",
    "wait_for_key",
]

#: Where datasoil keeps local state (keys, keeper state) unless told otherwise.
DEFAULT_ROOT = config.DEFAULT_HOME


def home() -> Path:
    """datasoil's state directory (:func:`datasoil.config.home`)."""
    return config.home()


#: Purchase states as the contract numbers them.
PENDING, DELIVERED, OBJECTED, RELEASED, REFUNDED = 1, 2, 3, 4, 5
_KEY_FORMAT = "datasoil-content-key-v1"
_STATUS_NAMES = {1: "pending", 2: "delivered", 3: "objected", 4: "released", 5: "refunded"}


class KeyTimeout(DatasoilError, TimeoutError):
    """No key was delivered for a purchase within the time waited."""


class PurchaseInvalid(DatasoilError, ValueError):
    """A purchase cannot be served (unknown, settled, or a bad encryption key)."""


class KeyMismatch(DatasoilError, ValueError):
    """A delivered envelope does not open, or its key is not the one the purchase pinned."""


class OutputExists(DatasoilError, FileExistsError):
    """A fetch would overwrite data already in its output folder (pass ``force``)."""


def key_commitment(content_key: bytes) -> bytes:
    """The commitment a listing carries: keccak256 of the 32-byte content key.

    >>> key_commitment(bytes(32)).hex()[:16]
    '290decd9548b62a8'

    Raises:
        CryptoError: ``content_key`` is not 32 bytes.
    """
    from eth_utils.crypto import keccak

    if not isinstance(content_key, bytes | bytearray) or len(content_key) != crypto.KEY_SIZE:
        raise CryptoError(
            f"expected a {crypto.KEY_SIZE}-byte content key, found {content_key!r:.20}"
        )
    return bytes(keccak(bytes(content_key)))


@dataclass(frozen=True)
class Terms:
    """Everything a purchase pinned (AccessMarket's ``Terms``), as ``Purchased`` logs it."""

    buyer: str
    dataset_id: int
    seller: str
    period: int
    token: str
    price: int
    duration: int
    created: int
    key_commitment: bytes
    credits: tuple[tuple[int, str, int], ...]

    _ABI = (
        "(address,uint256,address,uint256,address,uint256,uint256,uint256,bytes32,"
        "(uint256,address,uint256)[])"
    )

    @classmethod
    def from_event(cls, terms: Any) -> Terms:
        """Terms from a decoded ``Purchased.terms`` (an ape struct, mapping or tuple)."""
        get = (lambda k, i: terms[k]) if isinstance(terms, Mapping) else None
        if get is None and hasattr(terms, "buyer"):
            get = lambda k, i: getattr(terms, k)  # noqa: E731
        if get is None:
            get = lambda k, i: terms[i]  # noqa: E731

        from eth_utils.address import to_checksum_address as address

        def credit(c: Any) -> tuple[int, str, int]:
            if isinstance(c, Mapping):
                return int(c["dataset_id"]), address(str(c["account"])), int(c["amount"])
            if hasattr(c, "account"):
                return int(c.dataset_id), address(str(c.account)), int(c.amount)
            return int(c[0]), address(str(c[1])), int(c[2])

        return cls(
            buyer=address(str(get("buyer", 0))),
            dataset_id=int(get("dataset_id", 1)),
            seller=address(str(get("seller", 2))),
            period=int(get("period", 3)),
            token=address(str(get("token", 4))),
            price=int(get("price", 5)),
            duration=int(get("duration", 6)),
            created=int(get("created", 7)),
            key_commitment=_bytes(get("key_commitment", 8)),
            credits=tuple(credit(c) for c in get("credits", 9)),
        )

    def as_arg(self) -> tuple[Any, ...]:
        """The tuple a contract call takes for the ``Terms`` argument."""
        return (
            self.buyer,
            self.dataset_id,
            self.seller,
            self.period,
            self.token,
            self.price,
            self.duration,
            self.created,
            self.key_commitment,
            [list(c) for c in self.credits],
        )

    def hash(self, purchase_id: int) -> int:
        """keccak256(abi.encode(purchase_id, terms)) as an integer (the contract keeps
        its top 216 bits)."""
        from eth_abi.abi import encode
        from eth_utils.crypto import keccak

        data = encode(["uint256", self._ABI], [int(purchase_id), self.as_arg()])
        return int.from_bytes(keccak(data), "big")


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
    write_atomic(path, data, mode=0o600)


def _key_path(dataset_cid: str, root: Path | None) -> Path:
    name = str(dataset_cid)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"expected a CID or dataset id as the key name, found {name!r}")
    return (Path(root) / "keys" if root is not None else config.keys_dir()) / f"{name}.json"


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


def _market(market: Market) -> MarketClient:
    return market if isinstance(market, MarketClient) else MarketClient(market)


def _instance(market: Market) -> ContractInstance:
    return market.contract if isinstance(market, MarketClient) else market


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


def encryption_keypair(account: AccountAPI, chain_id: int) -> tuple[bytes, bytes]:
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
    market: Market,
    token: ContractInstance | TokenClient,
    dataset_id: int,
    encryption_public: bytes,
    *,
    sender: AccountAPI,
    max_price: int | None = None,
    min_duration: int | None = None,
) -> int:
    """Buy access to ``dataset_id`` for ``sender``; approve the price if needed.

    The buyer pins the token and (by default) the price and duration currently
    listed, so a change before the transaction lands makes it revert; the contract
    pins the rest (seller, key commitment, royalty credits). Everything is checked
    before anything is sent (:meth:`datasoil.chain.session.MarketClient.buy`): a short
    balance sends no approval, a refused purchase is never mined.

    Raises:
        PurchaseInvalid: the dataset is not for sale, the sender owns it, or the key is
            not a usable X25519 key.
        ChainError: the balance is short or the market refused (the reason says why).
    """
    check_encryption_key(encryption_public)
    client = _market(market)
    tokens = token if isinstance(token, TokenClient) else TokenClient(token)
    reason = client.buy_refusal(dataset_id, str(sender.address), str(tokens.address))
    if reason is not None:
        raise PurchaseInvalid(reason)
    return client.buy(
        dataset_id,
        encryption_public,
        tokens,
        max_price=max_price,
        min_duration=min_duration,
        sender=sender,
    )


def _bytes(value: Any) -> bytes:
    """Bytes from an ape value or the event index's ``0x`` hex."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def purchase_terms(
    market: Market, purchase_id: int, from_block: int = 0, *, index: EventIndex | None = None
) -> tuple[Terms, bytes]:
    """The pinned terms of a purchase and the buyer's encryption key, from ``Purchased``
    (in ``index`` as synced, else read from the logs after ``from_block``).

    Raises:
        PurchaseInvalid: no such purchase was logged.
    """
    if index is not None:
        for found in index.events("AccessMarket", "Purchased", purchase_id=int(purchase_id)):
            args = found["args"]
            return Terms.from_event(args["terms"]), _bytes(args["encryption_key"])
    else:
        market = _instance(market)
        for event in event_logs(market.Purchased, from_block, purchase_id=int(purchase_id)):
            return Terms.from_event(event.terms), bytes(event.encryption_key)
    raise PurchaseInvalid(f"expected a Purchased event for purchase {purchase_id}, found none")


def wait_for_key(
    market: Market,
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
    market = _instance(market)
    deadline = time.monotonic() + timeout
    while True:
        status = int(market.purchase(purchase_id).status)
        if status == 0:
            raise PurchaseInvalid(f"expected purchase {purchase_id} to exist, found none")
        if status == REFUNDED:
            raise PurchaseInvalid(f"purchase {purchase_id} was refunded: no key will come")
        if status != PENDING:
            for log in event_logs(market.KeyDelivered, from_block, purchase_id=int(purchase_id)):
                return bytes(log.envelope)
        if time.monotonic() >= deadline:
            timeout_s = int(market.refund_timeout())
            raise KeyTimeout(
                f"expected a key for purchase {purchase_id} within {timeout:g} s, found none: "
                f"the owner's keeper may be down; {timeout_s} s after buying, "
                f"`ape run market refund {purchase_id}` returns the payment"
            )
        time.sleep(poll)


def check_delivery(terms: Terms, envelope: bytes, secret: bytes) -> bytes:
    """Open a delivered envelope and check its key against the pinned commitment.

    Returns the content key. A key that matches the commitment but does not decrypt
    the data is caught later, by :func:`fetch`; objecting would not help then (the
    seller would reveal that same key).

    Raises:
        KeyMismatch: the envelope does not open with ``secret``, or its key's keccak256
            is not the purchase's key commitment (object within the window).
    """
    try:
        key = crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret)
    except CryptoError as exc:
        raise KeyMismatch(f"expected an envelope that opens with your key, found ({exc})") from None
    found = key_commitment(key)
    if found != terms.key_commitment:
        raise KeyMismatch(
            f"expected a content key with commitment 0x{terms.key_commitment.hex()}, "
            f"found one with 0x{found.hex()}"
        )
    return key


def object_delivery(market: ContractInstance, purchase_id: int, *, sender: AccountAPI) -> int:
    """Object to a delivery (buyer only, within the objection window); return the
    reveal deadline (unix seconds), after which :func:`refund` returns the payment.

    Raises:
        ChainError: the market refused (not the buyer, not delivered, window over).
    """
    terms, _key = purchase_terms(market, purchase_id)
    receipt = _market(market).object_key(purchase_id, terms.as_arg(), sender=sender)
    (event,) = receipt.decode_logs(_instance(market).Objected)
    return int(event.reveal_deadline)


def refund(market: ContractInstance, purchase_id: int, *, sender: AccountAPI) -> int:
    """Take back the payment of an undelivered purchase after the refund timeout, or of
    an objected one whose key was not revealed in time; return the amount.

    Raises:
        ChainError: the market refused (the revert string says why).
    """
    terms, _key = purchase_terms(market, purchase_id)
    receipt = _market(market).refund(purchase_id, terms.as_arg(), sender=sender)
    (event,) = receipt.decode_logs(_instance(market).Refunded)
    return int(event.amount)


def settle(
    market: ContractInstance, purchase_id: int, *, sender: AccountAPI
) -> list[tuple[int, str, int]]:
    """Make the pinned credits of a delivery after its objection window (anyone may);
    return them as ``(dataset id, account, amount)``.

    Raises:
        ChainError: the market refused (not delivered, window still open).
    """
    terms, _key = purchase_terms(market, purchase_id)
    receipt = _market(market).settle(purchase_id, terms.as_arg(), sender=sender)
    return [
        (int(e.dataset_id), str(e.account), int(e.amount))
        for e in receipt.decode_logs(_instance(market).Credited)
    ]


def latest_purchase(market: Market, dataset_id: int, buyer: str, from_block: int = 0) -> int | None:
    """The id of ``buyer``'s most recent purchase of ``dataset_id``, or None."""
    market = _instance(market)
    found = None
    for event in event_logs(
        market.Purchased, from_block, dataset_id=int(dataset_id), buyer=str(buyer)
    ):
        found = max(found or 0, int(event.purchase_id))
    return found


# -- the keeper -------------------------------------------------------------------------


def keeper_state_path(
    chain_id: int, market: str, account: str, *, root: Path | None = None
) -> Path:
    """Where the keeper of ``account`` on ``market`` keeps its state:
    ``<home>/keepers/<chain id>-<market>-<account>.json``, so no two keepers share it."""
    base = Path(root) / "keepers" if root is not None else config.keepers_dir()
    return base / f"{int(chain_id)}-{str(market).lower()}-{str(account).lower()}.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path``'s ``.lock`` file (waits for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class KeeperState:
    """Where a keeper resumes: the last block processed and the purchases to revisit
    (waiting for a content key, or delivered and not yet settled).

    A state file holds one section per (chain id, market, account); sections of other
    keepers in the same file are kept as they are.
    """

    last_block: int
    watch: tuple[int, ...] = ()
    #: purchases whose missing content key was already logged (logged once, not per round)
    noted: tuple[int, ...] = ()

    @classmethod
    def load(cls, path: Path, start_block: int, section: str = "") -> KeeperState:
        """The saved state of ``section``, or a fresh one starting before ``start_block``."""
        try:
            data = json.loads(Path(path).read_text())
            data = data.get("keepers", {}).get(section) if "keepers" in data else data
            if data is None:
                return cls(max(start_block - 1, -1))
            watch = data.get("watch", data.get("retry", []))
            noted = tuple(int(i) for i in data.get("noted", []))
            return cls(int(data["last_block"]), tuple(int(i) for i in watch), noted)
        except FileNotFoundError:
            return cls(max(start_block - 1, -1))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasoilError(f"expected keeper state JSON in {path}, found ({exc})") from None

    def save(self, path: Path, section: str = "") -> None:
        """Write the state into ``section`` atomically (temp file, fsync, rename)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            keepers = dict(data.get("keepers", {})) if isinstance(data, dict) else {}
        except (FileNotFoundError, ValueError):
            keepers = {}
        keepers[section] = {"last_block": self.last_block, "watch": list(self.watch)}
        if self.noted:
            keepers[section]["noted"] = list(self.noted)
        _write_private(path, json.dumps({"keepers": keepers}, sort_keys=True).encode())


def _ours(market: ContractInstance, registry: Registry, me: str, terms: Terms) -> bool:
    """Whether ``me`` is the purchase's seller, or the keeper of its ownership period."""
    if terms.seller.lower() == me.lower():
        return True
    if str(market.keeper(terms.dataset_id)).lower() != me.lower():
        return False
    _owner, period = registry.contract.ownership(terms.dataset_id)
    return int(period) == terms.period


def _content_key(registry: Registry, terms: Terms, key_root: Path | None) -> ContentKey:
    return load_content_key(registry.get(terms.dataset_id).content_cid, root=key_root)


def _serve(
    market: ContractInstance,
    registry: Registry,
    sender: AccountAPI,
    purchase_id: int,
    key_root: Path | None,
    now: int,
    index: EventIndex | None = None,
) -> str:
    """Take the next step a purchase of ours needs; return what happened."""
    terms, encryption_key = purchase_terms(market, purchase_id, index=index)
    if not _ours(market, registry, str(sender.address), terms):
        return "not ours"
    p = market.purchase(purchase_id)
    status = int(p.status)
    if status in (RELEASED, REFUNDED):
        return _STATUS_NAMES[status]
    if status == DELIVERED:
        if now < int(p.since) + int(market.objection_window()):
            return "waiting"
        _market(market).settle(purchase_id, terms.as_arg(), sender=sender)
        return "settled"
    try:
        content = _content_key(registry, terms, key_root)
    except NotFound:
        return "no content key"
    if status == OBJECTED:
        _market(market).reveal_key(purchase_id, terms.as_arg(), content.key, sender=sender)
        return "revealed"
    if now >= terms.created + int(market.refund_timeout()):
        return "delivery window over"
    try:
        check_encryption_key(encryption_key)
        envelope = crypto.envelope_to_bytes(crypto.seal_key(encryption_key, content.key))
    except (PurchaseInvalid, CryptoError):
        return "invalid key"
    if key_commitment(content.key) != terms.key_commitment:
        return "content key does not match the listing's commitment"
    _market(market).deliver_key(purchase_id, terms.as_arg(), envelope, sender=sender)
    return "delivered"


#: Outcomes after which a purchase needs the keeper again on a later round.
_REVISIT = ("no content key", "delivered", "waiting")


def keeper_step(
    market: Market,
    registry: Registry,
    sender: AccountAPI,
    state_path: Path | None = None,
    *,
    start_block: int = 0,
    key_root: Path | None = None,
    head: int | None = None,
    index: EventIndex | None = None,
    log: Callable[[str], None] = print,
) -> list[int]:
    """Process purchases since the saved block and revisit open ones; return the ids
    delivered in this round.

    Delivers pending purchases of which the sender is the pinned seller (or the keeper
    of the pinned ownership period); settles deliveries once their objection window
    is over; reveals the committed key when a buyer objected. Purchases whose content
    key is missing are retried while pending; ones with an invalid encryption key are
    skipped (the buyer can refund). The state (``state_path``, default
    :func:`keeper_state_path`) is a section per chain, market and account, read and
    written under a file lock, so keepers of different accounts never skip each
    other's purchases.

    New purchases and their pinned terms come from ``index`` (a
    :class:`datasoil.chain.index.EventIndex`, synced up to the head first; give it a
    ``registry`` reading the same index, :attr:`Session.indexed_registry
    <datasoil.chain.session.Session.indexed_registry>`, and no round scans logs) or,
    without one, from bounded log reads. A purchase
    made while the keeper was down is found on the next round (the state keeps the
    last block processed); one it cannot serve for want of the content key is logged
    once, with the reason, and retried quietly while it is pending.

    Raises:
        ChainError: a transaction was refused, or the node could not be read (the
            state is not advanced: the next round reads the same blocks again).
    """
    market = _instance(market)
    from ape import chain

    me = str(sender.address)
    section = f"{int(chain.chain_id)}:{str(market.address).lower()}:{me.lower()}"
    if state_path is None:
        state_path = keeper_state_path(chain.chain_id, str(market.address), me)
    state_path = Path(state_path)
    with _locked(state_path):
        state = KeeperState.load(state_path, start_block, section)
        block = chain.blocks.head
        head = int(block.number) if head is None else head
        now = int(block.timestamp)
        todo = set(state.watch)
        if head > state.last_block:
            if index is not None:
                head = min(head, index.sync(head))
            todo.update(_purchased(market, index, state.last_block + 1, head))
        delivered: list[int] = []
        watch: list[int] = []
        noted = set(state.noted)
        for pid in sorted(todo):
            outcome = _serve(market, registry, sender, pid, key_root, now, index)
            if outcome == "delivered":
                delivered.append(pid)
            if outcome in _REVISIT:
                watch.append(pid)
            if outcome == "no content key":
                if pid not in noted:
                    why = _missing_key(registry, market, pid, key_root, index)
                    log(f"purchase {pid}: cannot deliver: {why}")
                    noted.add(pid)
            elif outcome not in ("not ours", "waiting", "released", "refunded", "delivered"):
                log(f"purchase {pid}: {outcome}")
        kept = tuple(sorted(noted & set(watch)))
        KeeperState(max(head, state.last_block), tuple(watch), kept).save(state_path, section)
    return delivered


def _purchased(
    market: ContractInstance, index: EventIndex | None, first: int, last: int
) -> list[int]:
    """Ids of the purchases on ``market`` made in blocks ``first..last``."""
    if last < first:
        return []
    if index is None:
        return [int(e.purchase_id) for e in event_logs(market.Purchased, first, to_block=last)]
    return [
        int(e["args"]["purchase_id"])
        for e in index.events("AccessMarket", "Purchased")
        if first <= e["block"] <= last
    ]


def _missing_key(
    registry: Registry,
    market: Market,
    purchase_id: int,
    key_root: Path | None,
    index: EventIndex | None = None,
) -> str:
    """Why a purchase cannot be served: the content key that is not on this machine."""
    terms, _key = purchase_terms(market, purchase_id, index=index)
    cid = registry.get(terms.dataset_id).content_cid
    return (
        f"no content key for dataset {terms.dataset_id} at {_key_path(cid, key_root)}; "
        "it stays pending until the key is restored or the buyer "
        "takes a refund"
    )


def run_keeper(
    market: Market,
    registry: Registry,
    sender: AccountAPI,
    state_path: Path | None = None,
    *,
    start_block: int = 0,
    key_root: Path | None = None,
    interval: float = 2.0,
    rounds: int | None = None,
    index: EventIndex | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Run :func:`keeper_step` every ``interval`` seconds (``rounds`` times, or for ever).

    A round that fails (node down, a refused transaction) is logged in one sentence and
    the next round starts over from the saved state.
    """
    from datasoil.errors import ChainError

    done = 0
    while rounds is None or done < rounds:
        try:
            delivered = keeper_step(
                market,
                registry,
                sender,
                state_path,
                start_block=start_block,
                key_root=key_root,
                index=index,
                log=log,
            )
        except ChainError as exc:
            log(f"keeper round failed, retrying in {interval:g} s: {exc}")
            delivered = []
        for pid in delivered:
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
    terms: Terms | None = None,
    force: bool = False,
) -> Path:
    """Download, decrypt and verify a private dataset; return its final path.

    With ``terms``, the envelope's key is first checked against the purchase's
    pinned key commitment (:func:`check_delivery`).

    ``dataset`` is a :class:`datasoil.chain.registry.Dataset` (ciphertext CID and keyed row
    root from the chain). The ciphertext holds a tar of the data files and the
    encrypted manifest (see :mod:`datasoil.flows.publish`); the manifest names the plaintext
    CID, profile and schema. Everything happens in a temporary directory inside
    ``out_dir``; the data (a file, or a directory for multi-file datasets) is moved
    into ``out_dir`` only after the plaintext CID and the keyed row root both match. Data
    already there is replaced only with ``force``, in one rename for a file (a directory
    is moved aside first and put back if the rename fails). A failed fetch leaves nothing:
    not even the folders it created for ``out_dir``.

    Raises:
        OutputExists: the data is already in ``out_dir`` and ``force`` is false.
        KeyMismatch: with ``terms``, the envelope does not open or its key is not the
            committed one.
        CryptoError: the envelope does not open or the ciphertext does not authenticate.
        CidMismatch: the plaintext's CID differs from the manifest's.
        ProofError: the keyed row root differs from the registered one.
        NotFound: the ciphertext is not in the store.
    """
    from datasoil.errors import ProofError
    from datasoil.flows import publish
    from datasoil.formats import rows, unixfs
    from datasoil.store import open_store
    from datasoil.store.base import as_cid

    if terms is not None:
        content_key = check_delivery(terms, envelope, secret)
    else:
        content_key = crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret)
    out_dir = Path(out_dir)
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    store = open_store() if store is None else store
    try:
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
            final = out_dir / (target.name if len(names) == 1 else f"dataset-{dataset.id}")
            if (final.exists() or final.is_symlink()) and not force:
                raise OutputExists(
                    f"expected {final} not to exist, found it: pass --force to replace it"
                )
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
            _replace(target, final, Path(tmp) / "previous")
    except BaseException:
        for folder in created:  # innermost first; only the ones this fetch made, if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return final


def _replace(source: Path, final: Path, aside: Path) -> None:
    """Move ``source`` to ``final``: one rename over a file; a directory (or a file
    replaced by a directory) moves what was there to ``aside`` first, back on failure."""
    if not final.exists() or (final.is_file() and source.is_file()):
        os.replace(source, final)
        return
    os.replace(final, aside)
    try:
        os.replace(source, final)
    except BaseException:
        os.replace(aside, final)
        raise
