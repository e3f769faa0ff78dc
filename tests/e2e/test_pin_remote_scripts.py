"""`ape run publish PATH --pin-remote NAME` and `ape run clean ID --pin-remote NAME`: after the
local pins, the dataset's CIDs are pinned on the named Pinning Service API (the test server
of tests/offchain/store/pinning_test_server.py) and followed to `pinned`; a refusal is one
sentence, exit status 1, saying the dataset is registered but not pinned remotely."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasoil import chain
from datasoil.chain.registry import Registry
from datasoil.flows import publish
from tests import script
from tests.offchain.store.pinning_test_server import PinningTestServer, serve

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "examples" / "messy" / "people.csv"
RECIPE = ROOT / "examples" / "recipes" / "clean.yaml"


@pytest.fixture
def remote(monkeypatch):
    state = PinningTestServer(token="s3cret")
    with serve(state) as url:
        monkeypatch.setenv("DATASOIL_PINNING_SERVICES", f"public={url}")
        monkeypatch.delenv("DATASOIL_PINNING_TOKEN", raising=False)
        monkeypatch.setenv("DATASOIL_PINNING_TOKEN_PUBLIC", "s3cret")
        # The real client against the real server, polled faster than the 2 s default.
        fast = functools.partial(publish.pin_remote, interval=0.02, timeout=10)
        monkeypatch.setattr(publish, "pin_remote", fast)
        yield state


@pytest.fixture(scope="module")
def registry_(project, deployer, owner, tmp_path_factory):
    home = tmp_path_factory.mktemp("pin-remote")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATASOIL_HOME", str(home / "home"))
        mp.setenv("DATASOIL_IPFS_PATH", str(home / "ipfs"))
        record = chain.deploy_all(project, deployer, mint_to=[owner], log=lambda _m: None)
        yield Registry(chain.contracts(project).registry, record.block)


def _run(name, args):
    return CliRunner().invoke(script.load(name).cli, [*args, "--account", "TEST::1", "-v", "INFO"])


def _summary(output):
    return json.loads(output[output.index("{") :])


def _publish():
    published = _run("publish", [str(RAW), "--allow-duplicate"])
    assert published.exit_code == 0, published.output
    return int(_summary(published.output)["dataset_id"])


def _pinned(state):
    return {p["pin"]["cid"]: p["status"] for p in state.pins.values()}


def test_publish_script__pin_remote_pins_content_and_metadata(registry_, remote):
    result = _run("publish", [str(RAW), "--pin-remote", "public", "--allow-duplicate"])
    assert result.exit_code == 0, result.output
    summary = _summary(result.output)
    cids = {summary["content_cid"], summary["metadata_cid"]}
    assert _pinned(remote) == dict.fromkeys(cids, "pinned")
    for cid in cids:
        assert f"{cid} pinned on public" in result.output
    assert registry_.get(summary["dataset_id"]).content_cid == summary["content_cid"]


def test_publish_script__pin_remote_refused_token_is_registered_but_not_pinned(
    registry_, remote, monkeypatch
):
    monkeypatch.setenv("DATASOIL_PINNING_TOKEN_PUBLIC", "wrong")
    before = registry_.count()
    result = _run("publish", [str(RAW), "--pin-remote", "public", "--allow-duplicate"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"ERROR: dataset #{before + 1} is registered but not pinned on")
    assert "rejected the access token" in errors[0]
    assert registry_.count() == before + 1 and remote.pins == {}


def test_publish_script__pin_remote_unknown_service_is_one_sentence(registry_, remote):
    result = _run("publish", [str(RAW), "--pin-remote", "nowhere", "--allow-duplicate"])
    assert result.exit_code == 1
    assert "registered but not pinned on nowhere: expected a pinning service" in result.output


def test_clean_script__pin_remote_pins_the_child(registry_, remote, tmp_path):
    parent = _publish()
    args = [str(parent), "--recipe", str(RECIPE), "--work", str(tmp_path / "work")]
    result = _run("clean", [*args, "--no-claim", "--pin-remote", "public"])
    assert result.exit_code == 0, result.output
    summary = _summary(result.output)
    child = registry_.get(summary["child_id"])
    want = {child.content_cid, child.metadata_cid, summary["recipe_cid"], summary["proof_cid"]}
    assert _pinned(remote) == dict.fromkeys(want, "pinned")


def test_clean_script__pin_remote_failure_leaves_the_child_registered(registry_, remote, tmp_path):
    parent = _publish()
    remote.quota = 0  # the service refuses every pin: 409 INSUFFICIENT_FUNDS
    args = [str(parent), "--recipe", str(RECIPE), "--work", str(tmp_path / "work")]
    result = _run("clean", [*args, "--no-claim", "--pin-remote", "public"])
    assert result.exit_code == 1
    (error,) = [line for line in result.output.splitlines() if line.startswith("ERROR: ")]
    child = registry_.count()
    assert error.startswith(f"ERROR: dataset #{child} is registered but not pinned on public")
    assert registry_.get(child).parents == (parent,)
