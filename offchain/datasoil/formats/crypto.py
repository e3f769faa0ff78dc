"""Encryption for private datasets: a streaming AEAD, keyed-row keys, and key delivery.

Three pieces, all built from reviewed primitives (``cryptography`` and PyNaCl); the
exact formats are in docs/formats/encryption.md.

* **Content encryption** — ``datasoil-enc-v1``: the STREAM construction
  (Hoang, Reyhanitabar, Rogaway, Vizár 2015) laid out like Tink's
  ``AesGcmHkdfStreaming`` and age's payload. A 59-byte header (magic, algorithm,
  segment size, random salt, random nonce prefix), then the plaintext cut into
  fixed-size segments, each sealed with ChaCha20-Poly1305 under a key derived
  with HKDF-SHA256 from the content key, the salt and the header, with
  nonce = prefix (7 bytes) ‖ segment counter (4 bytes, big-endian) ‖ last-segment
  flag (1 byte). Truncation, reordering, dropping and appending segments all fail
  authentication. Memory is bounded by one segment, whatever the file size.
* **Keyed row leaves** — :func:`row_hmac_key` derives the HMAC-SHA-256 key for a
  private dataset's row leaves from its content key.
* **Key delivery** — the content key is sealed to a buyer's X25519 key in the
  ``x25519-xsalsa20-poly1305`` envelope of MetaMask's ``eth-sig-util``
  (:func:`seal_key`, :func:`open_envelope`); a buyer's X25519 key can be derived
  from a deterministic wallet signature (:func:`derive_encryption_key`).

Every failure to authenticate or derive raises :class:`~datasoil.errors.CryptoError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_address, to_checksum_address
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.public import Box, PrivateKey, PublicKey

from datasoil._fs import read_full, write_atomic
from datasoil.errors import CryptoError

__all__ = [
    "ALG_CHACHA20_POLY1305",
    "DEFAULT_SEGMENT_SIZE",
    "ENCRYPTION_KEY_INFO",
    "ENCRYPTION_KEY_SALT",
    "ENVELOPE_VERSION",
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAGIC",
    "MAX_SEGMENT_SIZE",
    "ROW_HMAC_KEY_INFO",
    "SEGMENT_KEY_INFO",
    "TAG_SIZE",
    "Reader",
    "ciphertext_size",
    "decrypt_file",
    "decrypt_stream",
    "derive_encryption_key",
    "encrypt_file",
    "encrypt_stream",
    "encryption_message",
    "encryption_public_key",
    "envelope_from_bytes",
    "envelope_to_bytes",
    "new_content_key",
    "open_envelope",
    "row_hmac_key",
    "seal_key",
]

# -- content encryption -------------------------------------------------------------

#: First bytes of every encrypted file (15 ASCII bytes; the version is part of it).
MAGIC = b"datasoil-enc-v1"
#: Algorithm byte of the header: ChaCha20-Poly1305 (RFC 8439), the only one in v1.
ALG_CHACHA20_POLY1305 = 0x01
_SALT_SIZE = 32
_NONCE_PREFIX_SIZE = 7
_HEADER = struct.Struct(f">{len(MAGIC)}sBI{_SALT_SIZE}s{_NONCE_PREFIX_SIZE}s")
#: Header length in bytes: magic (15) ‖ alg (1) ‖ segment size (4) ‖ salt (32) ‖ prefix (7).
HEADER_SIZE = _HEADER.size
#: Poly1305 tag appended to every segment.
TAG_SIZE = 16
#: Length of content keys, segment keys and derived keys.
KEY_SIZE = 32
#: Plaintext bytes per segment unless the writer chooses otherwise (64 KiB, as age).
DEFAULT_SEGMENT_SIZE = 64 * 1024
#: Largest segment size a reader accepts, so a hostile header cannot demand huge buffers.
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
_MAX_SEGMENTS = 2**32  # the counter is 4 bytes
#: HKDF ``info`` prefix for the segment key; the whole header follows it.
SEGMENT_KEY_INFO = b"datasoil-enc-v1 segment key"


class Reader(Protocol):
    """Anything with ``read(n) -> bytes`` (an open binary file, a socket file, BytesIO)."""

    def read(self, n: int = -1, /) -> bytes: ...


def new_content_key() -> bytes:
    """Return a fresh random content key (32 bytes from the OS CSPRNG)."""
    return secrets.token_bytes(KEY_SIZE)


def _check_key(key: bytes, what: str = "content key") -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        found = f"{len(key)} bytes" if isinstance(key, bytes | bytearray) else type(key).__name__
        raise CryptoError(f"expected a {KEY_SIZE}-byte {what}, found {found}")


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info).derive(ikm)


def _segment_aead(key: bytes, header: bytes, salt: bytes) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(_hkdf(key, salt, SEGMENT_KEY_INFO + header))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_SEGMENTS:
        raise CryptoError(f"expected at most {_MAX_SEGMENTS} segments, found more")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(
    reader: Reader, key: bytes, *, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> Iterator[bytes]:
    """Encrypt ``reader`` under ``key``; yield the header, then one sealed segment at a time.

    Every segment but the last holds exactly ``segment_size`` plaintext bytes; the last
    holds 1..``segment_size`` bytes, or 0 only when the whole plaintext is empty.
    Memory stays at about two segments.

    Raises:
        CryptoError: the key is not 32 bytes, the segment size is outside
            1..:data:`MAX_SEGMENT_SIZE`, or the input needs more than 2**32 segments.
    """
    _check_key(key)
    if not 1 <= segment_size <= MAX_SEGMENT_SIZE:
        raise CryptoError(
            f"expected a segment size in 1..{MAX_SEGMENT_SIZE} bytes, found {segment_size}"
        )
    salt = secrets.token_bytes(_SALT_SIZE)
    prefix = secrets.token_bytes(_NONCE_PREFIX_SIZE)
    header = _HEADER.pack(MAGIC, ALG_CHACHA20_POLY1305, segment_size, salt, prefix)
    aead = _segment_aead(bytes(key), header, salt)
    yield header
    counter = 0
    current = read_full(reader, segment_size)
    while True:
        # One segment of look-ahead tells whether ``current`` is the last one.
        following = read_full(reader, segment_size) if len(current) == segment_size else b""
        last = not following
        yield aead.encrypt(_nonce(prefix, counter, last), current, None)
        if last:
            return
        counter += 1
        current = following


def _parse_header(header: bytes) -> tuple[int, bytes, bytes]:
    if len(header) < HEADER_SIZE:
        raise CryptoError(
            f"expected a {HEADER_SIZE}-byte datasoil-enc-v1 header, found {len(header)} bytes"
        )
    magic, alg, segment_size, salt, prefix = _HEADER.unpack(header)
    if magic != MAGIC:
        raise CryptoError(f"expected magic {MAGIC!r}, found {magic!r}: not a datasoil-enc-v1 file")
    if alg != ALG_CHACHA20_POLY1305:
        raise CryptoError(
            f"expected algorithm {ALG_CHACHA20_POLY1305:#04x} (ChaCha20-Poly1305), found {alg:#04x}"
        )
    if not 1 <= segment_size <= MAX_SEGMENT_SIZE:
        raise CryptoError(
            f"expected a segment size in 1..{MAX_SEGMENT_SIZE} bytes, found {segment_size}"
        )
    return segment_size, salt, prefix


def decrypt_stream(reader: Reader, key: bytes) -> Iterator[bytes]:
    """Decrypt a ``datasoil-enc-v1`` stream; yield each plaintext segment once it authenticates.

    A segment is yielded only after its tag verifies, but a later segment can still
    fail (or the stream can turn out truncated): a caller that must not act on partial
    plaintext writes to a temporary place and commits only when the generator finishes
    without raising, as :func:`decrypt_file` does.

    Raises:
        CryptoError: bad header, wrong key, any modified byte, a truncated stream, a
            segment appended after the last one, reordered segments, or a non-canonical
            empty last segment.
    """
    _check_key(key)
    header = read_full(reader, HEADER_SIZE)
    segment_size, salt, prefix = _parse_header(header)
    aead = _segment_aead(bytes(key), header, salt)
    sealed_size = segment_size + TAG_SIZE
    counter = 0
    current = read_full(reader, sealed_size)
    while True:
        if len(current) < TAG_SIZE:
            raise CryptoError(
                f"expected segment {counter} of at least {TAG_SIZE} bytes, found "
                f"{len(current)}: the ciphertext is truncated"
            )
        following = read_full(reader, sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), current, None)
        except InvalidTag:
            where = "last segment" if last else "segment"
            raise CryptoError(
                f"{where} {counter} does not authenticate: wrong key, modified, reordered "
                "or truncated ciphertext"
            ) from None
        if last and not plain and counter > 0:
            # Only an empty plaintext has an empty last segment; the writer never makes one.
            raise CryptoError(f"expected a non-empty last segment {counter}, found an empty one")
        yield plain
        if last:
            return
        counter += 1
        current = following


def ciphertext_size(plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Return the exact ciphertext length for a plaintext of ``plaintext_size`` bytes.

    >>> ciphertext_size(0, 4), ciphertext_size(4, 4), ciphertext_size(5, 4)
    (75, 79, 96)
    """
    segments = max(1, -(-plaintext_size // segment_size))
    return HEADER_SIZE + plaintext_size + segments * TAG_SIZE


def encrypt_file(
    src: Path, dst: Path, key: bytes, *, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> None:
    """Encrypt the file ``src`` into ``dst`` (written to a temp file, then renamed).

    Raises:
        CryptoError: as :func:`encrypt_stream`.
        OSError: ``src`` cannot be read or ``dst``'s directory cannot be written.
    """
    with open(src, "rb") as reader:
        write_atomic(Path(dst), encrypt_stream(reader, key, segment_size=segment_size))


def decrypt_file(src: Path, dst: Path, key: bytes) -> None:
    """Decrypt ``src`` into ``dst``; ``dst`` appears only once the last segment authenticates.

    The plaintext goes to a temp file in ``dst``'s directory, which is renamed over
    ``dst`` after the whole stream verified; on any failure the temp file is removed
    and ``dst`` is left as it was (absent, if it did not exist).

    Raises:
        CryptoError: as :func:`decrypt_stream`.
        OSError: ``src`` cannot be read or ``dst``'s directory cannot be written.
    """
    with open(src, "rb") as reader:
        write_atomic(Path(dst), decrypt_stream(reader, key))


# -- keyed row leaves ---------------------------------------------------------------

#: HKDF ``info`` for the keyed-row HMAC key (no salt: RFC 5869's default of 32 zero bytes).
ROW_HMAC_KEY_INFO = b"datasoil row hmac key v1"


def row_hmac_key(content_key: bytes) -> bytes:
    """Return the HMAC-SHA-256 key for a private dataset's keyed row leaves.

    ``HKDF-SHA256(ikm=content_key, salt=none, info="datasoil row hmac key v1", L=32)``.
    It travels with the content key (whoever can decrypt can recompute the root) and
    is independent of the segment keys, which use a random salt and another info.

    Raises:
        CryptoError: ``content_key`` is not 32 bytes.
    """
    _check_key(content_key)
    return _hkdf(bytes(content_key), None, ROW_HMAC_KEY_INFO)


# -- key sealing (eth-sig-util's x25519-xsalsa20-poly1305) ---------------------------

#: The ``version`` field of the envelope, as MetaMask's eth-sig-util names it.
ENVELOPE_VERSION = "x25519-xsalsa20-poly1305"
_ENVELOPE_FIELDS = ("version", "nonce", "ephemPublicKey", "ciphertext")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, field: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise CryptoError(f"expected envelope field {field!r} as a base64 string, found {value!r}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"expected envelope field {field!r} in base64, found {value!r}") from None
    if size is not None and len(raw) != size:
        raise CryptoError(f"expected envelope field {field!r} of {size} bytes, found {len(raw)}")
    return raw


def seal_key(recipient_public: bytes, content_key: bytes) -> dict[str, str]:
    """Seal ``content_key`` to an X25519 public key, as eth-sig-util's ``encrypt`` does.

    The sealed message is the key's 64 lowercase hex characters (eth-sig-util carries
    UTF-8 strings), boxed with ``crypto_box`` (X25519, XSalsa20-Poly1305) from a fresh
    ephemeral key pair and a random 24-byte nonce. The result opens with MetaMask's
    ``decrypt`` (and ``eth_decrypt``) as well as :func:`open_envelope`.

    Raises:
        CryptoError: the public key or the content key is not 32 bytes.
    """
    _check_key(recipient_public, "X25519 public key")
    _check_key(content_key)
    ephemeral = PrivateKey.generate()
    nonce = secrets.token_bytes(Box.NONCE_SIZE)
    box = Box(ephemeral, PublicKey(bytes(recipient_public)))
    sealed = box.encrypt(bytes(content_key).hex().encode("ascii"), nonce).ciphertext
    return {
        "version": ENVELOPE_VERSION,
        "nonce": _b64(nonce),
        "ephemPublicKey": _b64(bytes(ephemeral.public_key)),
        "ciphertext": _b64(sealed),
    }


def _check_envelope(envelope: object) -> tuple[bytes, bytes, bytes]:
    if not isinstance(envelope, dict):
        raise CryptoError(f"expected an envelope object, found {type(envelope).__name__}")
    if set(envelope) != set(_ENVELOPE_FIELDS):
        raise CryptoError(
            f"expected envelope fields {sorted(_ENVELOPE_FIELDS)}, found {sorted(envelope)}"
        )
    if envelope["version"] != ENVELOPE_VERSION:
        raise CryptoError(
            f"expected envelope version {ENVELOPE_VERSION!r}, found {envelope['version']!r}"
        )
    nonce = _unb64(envelope["nonce"], "nonce", Box.NONCE_SIZE)
    ephem = _unb64(envelope["ephemPublicKey"], "ephemPublicKey", KEY_SIZE)
    ciphertext = _unb64(envelope["ciphertext"], "ciphertext")
    if len(ciphertext) < TAG_SIZE:
        raise CryptoError(
            f"expected a ciphertext of at least {TAG_SIZE} bytes, found {len(ciphertext)}"
        )
    return nonce, ephem, ciphertext


def open_envelope(envelope: dict[str, str], secret: bytes) -> bytes:
    """Open an envelope from :func:`seal_key` (or eth-sig-util) with an X25519 secret key.

    Returns the 32-byte content key.

    Raises:
        CryptoError: malformed envelope, wrong secret, any modified field, or a sealed
            message that is not a 64-hex-character key.
    """
    _check_key(secret, "X25519 secret key")
    nonce, ephem, ciphertext = _check_envelope(envelope)
    try:
        plain = Box(PrivateKey(bytes(secret)), PublicKey(ephem)).decrypt(ciphertext, nonce)
    except NaclCryptoError:
        raise CryptoError("envelope does not open: sealed to another key, or modified") from None
    try:
        text = plain.decode("ascii")
        if len(text) != 2 * KEY_SIZE or text != text.lower():
            raise ValueError(text)
        return bytes.fromhex(text)
    except ValueError:
        raise CryptoError(
            f"expected a sealed key of {2 * KEY_SIZE} lowercase hex characters, "
            f"found {len(plain)} bytes"
        ) from None


def envelope_to_bytes(envelope: dict[str, str]) -> bytes:
    """Return the canonical JSON bytes of an envelope (sorted keys, no spaces, ASCII).

    Raises:
        CryptoError: the envelope is malformed.
    """
    _check_envelope(envelope)
    return json.dumps(
        {k: envelope[k] for k in _ENVELOPE_FIELDS}, sort_keys=True, separators=(",", ":")
    ).encode("ascii")


def envelope_from_bytes(data: bytes) -> dict[str, str]:
    """Parse envelope JSON (canonical or as eth-sig-util's ``JSON.stringify`` writes it).

    Raises:
        CryptoError: not UTF-8 JSON, or not a well-formed envelope.
    """
    try:
        envelope = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CryptoError(f"expected envelope JSON, found undecodable bytes ({exc})") from None
    _check_envelope(envelope)
    return {k: str(envelope[k]) for k in _ENVELOPE_FIELDS}


# -- buyer keys from a wallet signature -----------------------------------------------

#: HKDF salt for the wallet-derived X25519 secret.
ENCRYPTION_KEY_SALT = b"datasoil encryption key v1"
#: HKDF info for the wallet-derived X25519 secret.
ENCRYPTION_KEY_INFO = b"x25519 secret key"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def encryption_message(address: str, chain_id: int) -> str:
    """Return the EIP-191 message a buyer signs to derive their datasoil encryption key.

    >>> print(encryption_message("0x" + "ab" * 20, 1))
    datasoil encryption key v1
    chain: 1
    address: 0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB

    Raises:
        CryptoError: ``address`` is not an Ethereum address or ``chain_id`` is not positive.
    """
    if not isinstance(address, str) or not is_address(address):
        raise CryptoError(f"expected an Ethereum address, found {address!r}")
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise CryptoError(f"expected a positive integer chain id, found {chain_id!r}")
    return f"datasoil encryption key v1\nchain: {chain_id}\naddress: {to_checksum_address(address)}"


def _normalise_signature(signature: bytes) -> bytes:
    """Return r ‖ s ‖ v with low s and v in {27, 28}, whatever the wallet returned."""
    if not isinstance(signature, bytes | bytearray) or len(signature) != 65:
        found = (
            f"{len(signature)} bytes"
            if isinstance(signature, bytes | bytearray)
            else type(signature).__name__
        )
        raise CryptoError(f"expected a 65-byte signature r || s || v, found {found}")
    r = bytes(signature[:32])
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise CryptoError(f"expected signature v in 0, 1, 27 or 28, found {signature[64]}")
    if s > _SECP256K1_N // 2:
        s = _SECP256K1_N - s
        v = 55 - v  # 27 <-> 28
    return r + s.to_bytes(32, "big") + bytes([v])


def encryption_public_key(secret: bytes) -> bytes:
    """Return the X25519 public key of a secret (what eth-sig-util's getEncryptionPublicKey gives).

    Raises:
        CryptoError: ``secret`` is not 32 bytes.
    """
    _check_key(secret, "X25519 secret key")
    return bytes(PrivateKey(bytes(secret)).public_key)


def derive_encryption_key(
    sign: Callable[[str], bytes], address: str, chain_id: int, *, confirm: bool = False
) -> tuple[bytes, bytes]:
    """Derive a buyer's X25519 key pair from their wallet's signature; return (secret, public).

    ``sign`` signs a text with EIP-191 ``personal_sign`` and returns the 65 signature
    bytes. The signature must recover to ``address``; it is normalised (low s,
    v in {27, 28}) and
    ``secret = HKDF-SHA256(ikm=signature, salt="datasoil encryption key v1",
    info="x25519 secret key", L=32)``. Wallets that sign with RFC 6979 deterministic
    nonces (eth-account, ape, viem/ethers local accounts, MetaMask, Ledger, Trezor)
    give the same key every time; ``confirm=True`` signs twice and checks.

    Raises:
        CryptoError: the signature is malformed, does not recover to ``address``, or
            (with ``confirm``) the wallet's signatures are not deterministic.
    """
    message = encryption_message(address, chain_id)
    signature = _normalise_signature(sign(message))
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception as exc:  # eth-keys raises several types for invalid signatures
        raise CryptoError(
            f"expected a valid secp256k1 signature, found one that fails ({exc})"
        ) from None
    if signer.lower() != address.lower():
        raise CryptoError(
            f"expected the signature of {to_checksum_address(address)}, found one by {signer}"
        )
    if confirm and _normalise_signature(sign(message)) != signature:
        raise CryptoError(
            "expected the wallet to sign deterministically (RFC 6979), found two different "
            "signatures of the same message: this wallet cannot derive a stable key"
        )
    secret = _hkdf(signature, ENCRYPTION_KEY_SALT, ENCRYPTION_KEY_INFO)
    return secret, encryption_public_key(secret)
