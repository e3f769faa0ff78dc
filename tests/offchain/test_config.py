"""One home for state paths and environment variables (datasoil.config) and for files
written whole or not at all (datasoil._fs)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from datasoil import _fs, config
from datasoil.chain import deployments
from datasoil.flows import access
from datasoil.store import LocalStore, open_store


def test_home__moves_every_state_path(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("DATASOIL_IPFS_PATH", raising=False)
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    home = tmp_path / "h"
    assert config.home() == home
    assert deployments.default_dir() == home / "deployments"
    assert access.keeper_state_path(1, "0xAb", "0xCd").parent == home / "keepers"
    access.save_content_key("bafykey", b"k" * 32, {})
    assert (home / "keys" / "bafykey.json").is_file()
    store = open_store()
    assert isinstance(store, LocalStore) and store.root == home / "ipfs"


def test_ipfs_path__overrides_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("DATASOIL_IPFS_PATH", str(tmp_path / "blocks"))
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    assert config.ipfs_path() == tmp_path / "blocks"
    assert open_store().root == tmp_path / "blocks"


def test_defaults__relative_dot_datasoil(monkeypatch):
    for name in ("DATASOIL_HOME", "DATASOIL_IPFS_PATH", "DATASOIL_IPFS_API"):
        monkeypatch.delenv(name, raising=False)
    assert config.home() == Path(".datasoil")
    assert config.ipfs_path() == Path(".datasoil/ipfs")
    assert config.ipfs_api() is None


def test_write_atomic__nothing_under_the_name_after_a_failure(tmp_path):
    target = tmp_path / "out.bin"

    def chunks():
        yield b"first"
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        _fs.write_atomic(target, chunks())
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        _fs.write_atomic(target, chunks())
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_write_atomic__mode_and_content(tmp_path):
    target = tmp_path / "key.json"
    _fs.write_atomic(target, b"secret", mode=0o600)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


class _Trickle(io.RawIOBase):
    """A stream that returns at most 3 bytes a read, as pipes and sockets may."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        out, self.data = self.data[: min(n, 3)], self.data[min(n, 3) :]
        return out


def test_read_full__loops_over_short_reads():
    assert _fs.read_full(_Trickle(b"abcdefghij"), 8) == b"abcdefgh"
    assert _fs.read_full(_Trickle(b"abc"), 8) == b"abc"
    assert _fs.read_full(_Trickle(b""), 8) == b""
