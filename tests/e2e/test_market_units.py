"""Prices in whole tokens (issue 18 item 9): `market list --price 0.5` means half a token
under the token's decimals, `listing` shows both forms, and an amount that is not one is
refused in one sentence with nothing sent."""

from __future__ import annotations

import json

import pytest

from datasoil import chain
from datasoil.chain.session import format_units, parse_units
from datasoil.errors import ChainError
from tests.e2e.test_tx_market import _market, _one_line_error, _state, env  # noqa: F401

OWNER = "TEST::1"  # the `owner` fixture


def test_units__exact_both_ways():
    for text, base in (("10", 10 * 10**18), ("0.5", 5 * 10**17), ("0.000000000000000001", 1)):
        assert parse_units(text, 18) == base and format_units(base, 18) == text
    assert format_units(123, 0) == "123" and parse_units("7", 6) == 7_000_000


@pytest.mark.parametrize("bad", ["-1", "abc", "nan", "1e400x", "0.0000000000000000001"])
def test_units__bad_amounts_are_one_sentence(bad):
    with pytest.raises(ChainError, match="expected"):
        parse_units(bad, 18, "SOIL")


def test_list__whole_tokens_and_listing_shows_both(env, owner):  # noqa: F811
    dataset_id = env["ids"][0]
    result = _market("list", str(dataset_id), "--price", "0.5", "--account", OWNER, "-v", "INFO")
    assert result.exit_code == 0, result.output
    assert "listed at 0.5 SOIL (500000000000000000 base units, 18 decimals)" in result.output
    listing = env["session"].market.listing(dataset_id)
    assert int(listing.price) == 5 * 10**17
    shown = json.loads(_market("listing", str(dataset_id)).output)
    assert shown["price"] == 5 * 10**17 and shown["price_tokens"] == "0.5 SOIL"


def test_list__base_units_flag(env):  # noqa: F811
    dataset_id = env["ids"][1]
    result = _market("list", str(dataset_id), "--price", "7", "--base-units", "--account", OWNER)
    assert result.exit_code == 0, result.output
    assert int(env["session"].market.listing(dataset_id).price) == 7


def test_list__bad_price_sends_nothing(env, owner):  # noqa: F811
    before = _state(owner.address)
    result = _market("list", str(env["ids"][0]), "--price", "ten", "--account", OWNER)
    _one_line_error(result, "expected an amount of SOIL such as 10 or 0.5, found 'ten'")
    assert _state(owner.address) == before
    assert chain.web3().eth.block_number == before[1]
