"""Tests for datasoil.formats.crypto: the datasoil-enc-v1 streaming AEAD, keyed-row keys,
eth-sig-util envelopes and wallet-derived encryption keys.

Independent references: the format is re-implemented here from docs/formats/encryption.md
with the bare primitives; HKDF is recomputed from RFC 5869 with ``hmac``; envelopes and the
wallet-derived key are checked against MetaMask's eth-sig-util and against viem +
@noble/hashes + tweetnacl (the web page's steps) run with node (tests/npm-crypto/).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct

from datasoil.errors import CryptoError, DatasoilError
from datasoil.formats import crypto
from datasoil.formats.crypto import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    ciphertext_size,
    decrypt_file,
    decrypt_stream,
    derive_encryption_key,
    encrypt_file,
    encrypt_stream,
    encryption_message,
    encryption_public_key,
    envelope_from_bytes,
    envelope_to_bytes,
    new_content_key,
    open_envelope,
    row_hmac_key,
    seal_key,
)

NPM_DIR = Path(__file__).resolve().parents[1] / "npm-crypto"
SEG = 64  # a small segment size keeps the many-segment cases fast
KEY = bytes(range(32))
# Well-known throwaway keys (anvil's first two dev accounts); never hold value.
BUYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _enc(data: bytes, key: bytes = KEY, segment_size: int = SEG) -> bytes:
    return b"".join(encrypt_stream(io.BytesIO(data), key, segment_size=segment_size))


def _dec(data: bytes, key: bytes = KEY) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(data), key))


def _segments(ct: bytes, segment_size: int = SEG) -> list[bytes]:
    body = ct[HEADER_SIZE:]
    step = segment_size + TAG_SIZE
    return [body[i : i + step] for i in range(0, len(body), step)] or [b""]


def _only(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# -- an independent decryptor written from docs/formats/encryption.md -------------------


def _hkdf_rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def _spec_decrypt(ct: bytes, key: bytes) -> bytes:
    magic, alg, seg, salt, prefix = struct.unpack(">15sBI32s7s", ct[:59])
    assert (magic, alg) == (b"datasoil-enc-v1", 1)
    aead = ChaCha20Poly1305(_hkdf_rfc5869(key, salt, b"datasoil-enc-v1 segment key" + ct[:59]))
    parts = _segments(ct, seg)
    return b"".join(
        aead.decrypt(prefix + i.to_bytes(4, "big") + bytes([i == len(parts) - 1]), part, None)
        for i, part in enumerate(parts)
    )


def _spec_encrypt(plain_segments: list[bytes], key: bytes, seg: int = SEG) -> bytes:
    salt, prefix = os.urandom(32), os.urandom(7)
    header = struct.pack(">15sBI32s7s", b"datasoil-enc-v1", 1, seg, salt, prefix)
    aead = ChaCha20Poly1305(_hkdf_rfc5869(key, salt, b"datasoil-enc-v1 segment key" + header))
    last = len(plain_segments) - 1
    return header + b"".join(
        aead.encrypt(prefix + i.to_bytes(4, "big") + bytes([i == last]), p, None)
        for i, p in enumerate(plain_segments)
    )


# -- round trips --------------------------------------------------------------------

SIZES = [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 5, 3 * 1024 * 1024 + 7]


@pytest.mark.parametrize("size", SIZES)
def test_encrypt_stream__round_trips_and_matches_the_spec(size: int) -> None:
    data = os.urandom(size)
    segment_size = SEG if size < 1024 * 1024 else 4096
    ct = _enc(data, segment_size=segment_size)
    assert len(ct) == ciphertext_size(size, segment_size)
    assert _dec(ct) == data
    assert _spec_decrypt(ct, KEY) == data


def test_encrypt_stream__last_segment_is_full_on_exact_multiples_and_empty_only_for_empty() -> None:
    assert [len(s) for s in _segments(_enc(b"x" * (2 * SEG)))] == [SEG + TAG_SIZE] * 2
    assert [len(s) for s in _segments(_enc(b""))] == [TAG_SIZE]


@pytest.mark.parametrize("size", [0, 1, DEFAULT_SEGMENT_SIZE, DEFAULT_SEGMENT_SIZE + 1, 5 << 20])
def test_encrypt_file__default_segment_size_round_trips(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "plain").write_bytes(data)
    encrypt_file(tmp_path / "plain", tmp_path / "ct", KEY)
    assert (tmp_path / "ct").stat().st_size == ciphertext_size(size)
    decrypt_file(tmp_path / "ct", tmp_path / "out", KEY)
    assert (tmp_path / "out").read_bytes() == data
    assert _only(tmp_path / "x") == ["ct", "out", "plain"]


class _Trickle(io.RawIOBase):
    """A reader returning at most 7 bytes per read, as pipes and sockets may."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1, /) -> bytes:
        return self._buf.read(min(n, 7) if n >= 0 else 7)


def test_streams__tolerate_short_reads() -> None:
    data = os.urandom(5 * SEG + 3)
    ct = b"".join(encrypt_stream(_Trickle(data), KEY, segment_size=SEG))
    assert ct[HEADER_SIZE:] != _enc(data)[HEADER_SIZE:]  # fresh salt and prefix each time
    assert b"".join(decrypt_stream(_Trickle(ct), KEY)) == data


def test_encrypt_stream__is_lazy_over_an_endless_reader() -> None:
    class Endless:
        requested = 0

        def read(self, n: int = -1, /) -> bytes:
            Endless.requested += n
            return b"\0" * n

    stream = encrypt_stream(Endless(), KEY, segment_size=SEG)
    chunks = [next(stream) for _ in range(4)]  # header and three segments
    assert [len(c) for c in chunks] == [HEADER_SIZE] + [SEG + TAG_SIZE] * 3
    assert Endless.requested <= 5 * SEG  # one segment of look-ahead


def test_decrypt_stream__yields_one_segment_at_a_time() -> None:
    ct = _enc(os.urandom(10 * SEG))
    assert [len(p) for p in decrypt_stream(io.BytesIO(ct), KEY)] == [SEG] * 10


# -- tampering ----------------------------------------------------------------------


def test_decrypt__a_flipped_bit_anywhere_fails() -> None:
    ct = _enc(os.urandom(2 * SEG + 22))
    for i in range(len(ct)):
        bad = bytearray(ct)
        bad[i] ^= 1 << (i % 8)
        with pytest.raises(CryptoError):
            _dec(bytes(bad))


@pytest.mark.parametrize(
    "where",
    [
        0,  # magic
        15,  # algorithm
        19,  # segment size
        30,  # salt
        HEADER_SIZE - 1,  # nonce prefix
        HEADER_SIZE + 3,  # first segment body
        HEADER_SIZE + SEG + TAG_SIZE - 1,  # first segment tag
        -1,  # last tag
    ],
)
def test_decrypt_file__flipped_bit_writes_nothing(tmp_path: Path, where: int) -> None:
    ct = bytearray(_enc(os.urandom(3 * SEG + 9)))
    ct[where] ^= 0x80
    (tmp_path / "ct").write_bytes(ct)
    with pytest.raises(CryptoError):
        decrypt_file(tmp_path / "ct", tmp_path / "out", KEY)
    assert _only(tmp_path / "ct") == ["ct"]


def test_decrypt_file__failure_leaves_an_existing_destination_untouched(tmp_path: Path) -> None:
    ct = bytearray(_enc(os.urandom(5 * SEG)))
    ct[-3] ^= 1  # the very last segment: earlier segments authenticate and are written first
    (tmp_path / "ct").write_bytes(ct)
    (tmp_path / "out").write_bytes(b"previous version")
    with pytest.raises(CryptoError, match="last segment 4 does not authenticate"):
        decrypt_file(tmp_path / "ct", tmp_path / "out", KEY)
    assert (tmp_path / "out").read_bytes() == b"previous version"
    assert _only(tmp_path / "ct") == ["ct", "out"]


@pytest.mark.parametrize("size", [0, 1, SEG, 3 * SEG, 3 * SEG + 1])
def test_decrypt__every_truncation_fails(size: int) -> None:
    ct = _enc(os.urandom(size))
    for cut in range(len(ct)):
        with pytest.raises(CryptoError):
            _dec(ct[:cut])


@pytest.mark.parametrize("size", [0, 5, SEG, 2 * SEG + 5])
def test_decrypt__appending_fails(size: int) -> None:
    ct = _enc(os.urandom(size))
    segs = _segments(ct)
    for extra in (segs[-1], segs[0], b"\0" * TAG_SIZE, b"\0", _enc(b"more")[HEADER_SIZE:]):
        with pytest.raises(CryptoError):
            _dec(ct + extra)


def test_decrypt__swapped_or_dropped_segments_fail() -> None:
    ct = _enc(os.urandom(4 * SEG))
    header, segs = ct[:HEADER_SIZE], _segments(ct)
    for order in ([1, 0, 2, 3], [0, 2, 1, 3], [0, 1, 3, 2], [0, 1, 3], [1, 2, 3], [0, 0, 1, 2, 3]):
        with pytest.raises(CryptoError):
            _dec(header + b"".join(segs[i] for i in order))


def test_decrypt__segments_from_another_file_under_the_same_key_fail() -> None:
    a, b = _enc(b"a" * (2 * SEG)), _enc(b"b" * (2 * SEG))
    with pytest.raises(CryptoError):
        _dec(a[:HEADER_SIZE] + _segments(b)[0] + _segments(a)[1])


def test_decrypt__wrong_key_fails_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "ct").write_bytes(_enc(b"secret rows"))
    with pytest.raises(CryptoError, match="does not authenticate"):
        decrypt_file(tmp_path / "ct", tmp_path / "out", new_content_key())
    assert _only(tmp_path / "ct") == ["ct"]


def test_decrypt__rejects_a_non_canonical_empty_last_segment() -> None:
    ct = _spec_encrypt([b"x" * SEG, b""], KEY)
    assert _spec_decrypt(ct, KEY) == b"x" * SEG  # authentic, but not what the writer makes
    with pytest.raises(CryptoError, match="non-empty last segment 1"):
        _dec(ct)


def test_decrypt__accepts_what_the_spec_encryptor_writes() -> None:
    segments = [b"a" * SEG, b"b" * SEG, b"c"]
    assert _dec(_spec_encrypt(segments, KEY)) == b"".join(segments)


@pytest.mark.parametrize(
    ("ct", "message"),
    [
        (b"", "header"),
        (b"datasoil-enc-v1", "header"),
        (b"datasoil-enc-v2" + bytes(44), "magic"),
        (struct.pack(">15sBI32s7s", b"datasoil-enc-v1", 2, 64, bytes(32), bytes(7)), "algorithm"),
        (struct.pack(">15sBI32s7s", b"datasoil-enc-v1", 1, 0, bytes(32), bytes(7)), "segment"),
        (struct.pack(">15sBI32s7s", b"datasoil-enc-v1", 1, 2**31, bytes(32), bytes(7)), "segment"),
        (struct.pack(">15sBI32s7s", b"datasoil-enc-v1", 1, 64, bytes(32), bytes(7)), "truncated"),
    ],
)
def test_decrypt__malformed_headers_fail_clearly(ct: bytes, message: str) -> None:
    with pytest.raises(CryptoError, match=message):
        _dec(ct)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(33)])
def test_keys_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(CryptoError, match="32-byte content key"):
        _enc(b"x", key)
    with pytest.raises(CryptoError, match="32-byte content key"):
        _dec(_enc(b"x"), key)
    with pytest.raises(CryptoError, match="32-byte content key"):
        row_hmac_key(key)


@pytest.mark.parametrize("segment_size", [0, -1, crypto.MAX_SEGMENT_SIZE + 1])
def test_encrypt__segment_size_out_of_range_fails(segment_size: int) -> None:
    with pytest.raises(CryptoError, match="segment size"):
        _enc(b"x", segment_size=segment_size)


def test_crypto_error_is_a_datasoil_value_error() -> None:
    assert issubclass(CryptoError, DatasoilError) and issubclass(CryptoError, ValueError)


# -- keyed rows ---------------------------------------------------------------------


def test_row_hmac_key__is_rfc5869_hkdf_with_the_documented_info() -> None:
    key = new_content_key()
    assert len(key) == 32 and key != new_content_key()
    assert row_hmac_key(key) == _hkdf_rfc5869(key, b"", b"datasoil row hmac key v1")
    assert row_hmac_key(key) == row_hmac_key(key) != key
    assert row_hmac_key(KEY).hex() == (  # the vector in docs/formats/encryption.md
        "836120fd2787cee511478bcec7738eb5518d6d455cc3a8a1512344c5531dc395"
    )


# -- envelopes ----------------------------------------------------------------------


def _x25519_pair(seed: int = 1) -> tuple[bytes, bytes]:
    secret = hashlib.sha256(bytes([seed])).digest()
    return secret, encryption_public_key(secret)


def test_seal_key__opens_with_the_recipient_secret_only() -> None:
    secret, public = _x25519_pair()
    envelope = seal_key(public, KEY)
    assert envelope["version"] == "x25519-xsalsa20-poly1305"
    assert open_envelope(envelope, secret) == KEY
    assert seal_key(public, KEY) != envelope  # fresh ephemeral key and nonce
    with pytest.raises(CryptoError, match="does not open"):
        open_envelope(envelope, _x25519_pair(2)[0])


@pytest.mark.parametrize("field", ["nonce", "ephemPublicKey", "ciphertext"])
def test_open_envelope__tampered_field_fails(field: str) -> None:
    import base64

    secret, public = _x25519_pair()
    envelope = seal_key(public, KEY)
    raw = bytearray(base64.b64decode(envelope[field]))
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        with pytest.raises(CryptoError):
            open_envelope({**envelope, field: base64.b64encode(bad).decode()}, secret)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "x25519-chacha20-poly1305"}, "version"),
        ({"nonce": "AAAA"}, "24 bytes"),
        ({"ephemPublicKey": "not base64!"}, "base64"),
        ({"ciphertext": ""}, "at least 16"),
        ({"extra": "x"}, "fields"),
    ],
)
def test_open_envelope__malformed_fails_clearly(change: dict[str, str], message: str) -> None:
    secret, public = _x25519_pair()
    with pytest.raises(CryptoError, match=message):
        open_envelope({**seal_key(public, KEY), **change}, secret)


def test_envelope_bytes__canonical_and_round_trip() -> None:
    _, public = _x25519_pair()
    envelope = seal_key(public, KEY)
    data = envelope_to_bytes(envelope)
    assert data == json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    assert data.startswith(b'{"ciphertext":"') and b" " not in data
    assert envelope_from_bytes(data) == envelope
    # eth-sig-util's JSON.stringify order and spacing parse too
    assert envelope_from_bytes(json.dumps(envelope, indent=2).encode()) == envelope
    with pytest.raises(CryptoError, match="JSON"):
        envelope_from_bytes(b"\xff")
    with pytest.raises(CryptoError, match="envelope object"):
        envelope_from_bytes(b"[]")


# -- wallet-derived keys ------------------------------------------------------------


def _signer(private_key: str) -> Callable[[str], bytes]:
    def sign(message: str) -> bytes:
        return bytes(Account.sign_message(encode_defunct(text=message), private_key).signature)

    return sign


def test_encryption_message__exact_text() -> None:
    address = Account.from_key(BUYER_KEY).address
    assert encryption_message(address.lower(), 31337) == (
        "datasoil encryption key v1\nchain: 31337\naddress: "
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    )
    with pytest.raises(CryptoError, match="Ethereum address"):
        encryption_message("0x1234", 1)
    with pytest.raises(CryptoError, match="chain id"):
        encryption_message(address, 0)


def test_derive_encryption_key__is_reproducible_with_eth_account() -> None:
    address = Account.from_key(BUYER_KEY).address
    secret, public = derive_encryption_key(_signer(BUYER_KEY), address, 31337, confirm=True)
    assert (secret, public) == derive_encryption_key(_signer(BUYER_KEY), address, 31337)
    assert public == encryption_public_key(secret) and len(secret) == 32
    assert derive_encryption_key(_signer(BUYER_KEY), address, 1)[0] != secret
    other = Account.from_key(OTHER_KEY).address
    assert derive_encryption_key(_signer(OTHER_KEY), other, 31337)[0] != secret
    assert open_envelope(seal_key(public, KEY), secret) == KEY
    # the vector in docs/formats/encryption.md
    assert secret.hex() == "60ad7d1bf75139a48997567996aaefcc84c22b74e34325f5c4c4b6b99e5e7afd"
    assert public.hex() == "54d1267535325efc9ebc1f4e3a4b4b6dd886b51b7d5acf1db0605676fca0b34d"


def test_derive_encryption_key__normalises_v_and_high_s() -> None:
    address = Account.from_key(BUYER_KEY).address
    sign = _signer(BUYER_KEY)
    expected = derive_encryption_key(sign, address, 5)

    def v01(message: str) -> bytes:
        sig = sign(message)
        return sig[:64] + bytes([sig[64] - 27])

    def high_s(message: str) -> bytes:
        sig = sign(message)
        s = SECP256K1_N - int.from_bytes(sig[32:64], "big")
        return sig[:32] + s.to_bytes(32, "big") + bytes([55 - sig[64]])

    assert derive_encryption_key(v01, address, 5) == expected
    assert derive_encryption_key(high_s, address, 5) == expected


def test_derive_encryption_key__signature_by_someone_else_fails() -> None:
    address = Account.from_key(BUYER_KEY).address
    with pytest.raises(CryptoError, match="expected the signature of 0xf39F"):
        derive_encryption_key(_signer(OTHER_KEY), address, 1)
    with pytest.raises(CryptoError, match="65-byte signature"):
        derive_encryption_key(lambda m: b"\1" * 64, address, 1)
    with pytest.raises(CryptoError, match="v in 0, 1, 27 or 28"):
        derive_encryption_key(lambda m: b"\1" * 64 + b"\x05", address, 1)


def test_derive_encryption_key__confirm_catches_a_randomised_signer() -> None:
    """A wallet with random ECDSA nonces (here: `cryptography`'s signer) gives no stable key."""
    private = ec.derive_private_key(int(BUYER_KEY, 16), ec.SECP256K1())
    address = Account.from_key(BUYER_KEY).address

    def random_k(message: str) -> bytes:
        digest = _hash_eip191_message(encode_defunct(text=message))
        der = private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        r, s = decode_dss_signature(der)
        s = min(s, SECP256K1_N - s)
        for v in (27, 28):
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
            if Account.recover_message(encode_defunct(text=message), signature=sig) == address:
                return sig
        raise AssertionError("no recovery id")

    derive_encryption_key(random_k, address, 1)  # valid signature, but a different key each time
    with pytest.raises(CryptoError, match="deterministically"):
        derive_encryption_key(random_k, address, 1, confirm=True)


# -- independent JavaScript implementations (tests/npm-crypto) -----------------------


@pytest.fixture(scope="module")
def node_oracle() -> Iterator[Callable[[list[dict[str, Any]]], list[Any]]]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run eth-sig-util (tests/npm-crypto)")
    if not (NPM_DIR / "node_modules" / "@metamask" / "eth-sig-util").is_dir():
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci in tests/npm-crypto failed: {done.stderr.strip()[-500:]}")

    def run(requests: list[dict[str, Any]]) -> list[Any]:
        done = subprocess.run(
            [node, "oracle.cjs"],
            cwd=NPM_DIR,
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        answers: list[Any] = json.loads(done.stdout)
        return answers

    yield run


def test_envelope__python_seals_eth_sig_util_decrypts(node_oracle: Any) -> None:
    import base64

    secret, public = _x25519_pair(7)
    keys = [new_content_key() for _ in range(3)]
    envelopes = [seal_key(public, k) for k in keys]
    tampered = dict(envelopes[0])
    tampered["ciphertext"] = base64.b64encode(
        bytes([base64.b64decode(tampered["ciphertext"])[0] ^ 1])
        + base64.b64decode(tampered["ciphertext"])[1:]
    ).decode()
    answers = node_oracle(
        [{"op": "publicKey", "privateKey": secret.hex()}]
        + [{"op": "decrypt", "envelope": e, "privateKey": secret.hex()} for e in envelopes]
        + [{"op": "decrypt", "envelope": tampered, "privateKey": secret.hex()}]
    )
    assert base64.b64decode(answers[0]) == public
    assert [a["data"] for a in answers[1:4]] == [k.hex() for k in keys]
    assert answers[4]["ok"] is False


def test_envelope__eth_sig_util_encrypts_python_opens(node_oracle: Any) -> None:
    import base64

    secret, public = _x25519_pair(8)
    key = new_content_key()
    answers = node_oracle(
        [
            {"op": "encrypt", "publicKey": base64.b64encode(public).decode(), "data": key.hex()},
            {"op": "encrypt", "publicKey": base64.b64encode(public).decode(), "data": "hello"},
        ]
    )
    assert open_envelope(answers[0], secret) == key
    assert open_envelope(envelope_from_bytes(envelope_to_bytes(answers[0])), secret) == key
    with pytest.raises(CryptoError, match="64 lowercase hex"):
        open_envelope(answers[1], secret)


def test_derive_encryption_key__matches_the_web_page_steps(node_oracle: Any) -> None:
    import base64

    for account_key, chain_id in [(BUYER_KEY, 31337), (OTHER_KEY, 11155111)]:
        [web] = node_oracle([{"op": "derive", "accountKey": account_key, "chainId": chain_id}])
        address = Account.from_key(account_key).address
        assert web["message"] == encryption_message(address, chain_id)
        secret, public = derive_encryption_key(_signer(account_key), address, chain_id)
        assert web["secret"] == secret.hex()
        assert base64.b64decode(web["publicKey"]) == public
