"""`datasoil fetch CID --out PATH --gateway URL`: through real loopback gateways.

The seller's gateway is datasoil's own; the faulty ones are real HTTP servers
(tests/offchain/store/lying_gateway.py) flipping a byte, cutting a body off, or not
listening at all. Each fault is one warning line and the next gateway is used; with no
good gateway the command exits 1 with one line and leaves no file.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from datasoil.app import gateway
from datasoil.app.cli import cli
from datasoil.store.local import LocalStore
from tests.offchain.store.lying_gateway import LyingGateway


@pytest.fixture(scope="module")
def seller(tmp_path_factory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("seller")
    store = LocalStore(base / "ipfs", sync=False)
    data = os.urandom(2 * 1024 * 1024 + 7)
    big = store.add_bytes(data)
    server = gateway.serve(gateway.Gateway(None, store, dist=base / "dist"), 0)
    liars = {m: LyingGateway(server.url, m) for m in ("flip", "truncate")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    yield {
        "url": server.url,
        "big": big,
        "data": data,
        "down": down,
        **{m: g.url for m, g in liars.items()},
    }
    for liar in liars.values():
        liar.shutdown()
    server.shutdown()


def _fetch(seller, tmp_path, *gateways: str, extra: tuple[str, ...] = ()) -> Any:
    args = ["fetch", str(seller["big"]), "--out", str(tmp_path / "big.bin")]
    for g in gateways:
        args += ["--gateway", g]
    args += ["--store", str(tmp_path / "cache"), *extra]
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("fault", ["flip", "truncate", "down"])
def test_fetch__faulty_gateway_first_then_the_seller(seller, tmp_path, fault):
    first = seller[fault] if fault != "down" else seller["down"]
    result = _fetch(seller, tmp_path, first, seller["url"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "big.bin").read_bytes() == seller["data"]
    assert "warning:" in result.output and "every block verified" in result.output


@pytest.mark.parametrize(
    "fault, message",
    [
        ("flip", "error: no gateway served block .* intact"),
        ("down", "error: no gateway answered for block"),
    ],
)
def test_fetch__only_a_faulty_gateway_fails_in_one_line_and_writes_nothing(
    seller, tmp_path, fault, message
):
    import re

    result = _fetch(seller, tmp_path, seller[fault] if fault != "down" else seller["down"])
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert not (tmp_path / "big.bin").exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "cache"]


def test_fetch__rerun_resumes_from_the_local_store(seller, tmp_path):
    assert _fetch(seller, tmp_path, seller["url"], extra=("--blocks",)).exit_code == 0
    (tmp_path / "big.bin").unlink()
    again = _fetch(seller, tmp_path, seller["down"], extra=("--blocks",))  # no gateway needed
    assert again.exit_code == 0, again.output
    assert "0 from a CAR, 0 one by one" in again.output


def test_fetch__existing_out_is_a_usage_error(seller, tmp_path):
    (tmp_path / "big.bin").write_text("mine")
    result = _fetch(seller, tmp_path, seller["url"])
    assert result.exit_code == 2 and "already exists" in result.output


def test_fetch__forced_bar_on_stderr_counts_the_bytes_and_the_file_is_unchanged(seller, tmp_path):
    """--progress draws on stderr only: what was fetched and written, in MiB; stdout
    stays empty and the file is the same bytes as without the bar."""
    args = ["fetch", str(seller["big"]), "--gateway", seller["url"]]
    runner = CliRunner(mix_stderr=False)
    plain = runner.invoke(
        cli, [*args, "--out", str(tmp_path / "a"), "--store", str(tmp_path / "c1")]
    )
    drawn = runner.invoke(
        cli,
        [*args, "--out", str(tmp_path / "b"), "--store", str(tmp_path / "c2"), "--progress"],
    )
    assert plain.exit_code == drawn.exit_code == 0, drawn.stderr
    assert plain.stdout == drawn.stdout == ""
    assert "fetching" not in plain.stderr
    assert f"fetching {seller['big']}" in drawn.stderr and "writing b" in drawn.stderr
    assert "MiB" in drawn.stderr
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == seller["data"]
