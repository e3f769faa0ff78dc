"""datasoil.flows.models on a chain: register a model trained on a bought private dataset
(receipt found and checked before sending), read it back, prove rows in and out (off chain,
by ModelRegistry's views and by `datasoil model prove-row` from the bundle), sell a
licence and withdraw the credits; refusals before anything is sent."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from datasoil.app.cli import cli
from datasoil.chain.registry import Registry
from datasoil.errors import ManifestError, NotFound, ProofError
from datasoil.flows import access, publish
from datasoil.flows import models as flow
from datasoil.formats import manifest as mf
from datasoil.store.local import LocalStore

CSV = "id,name,score\n" + "".join(f"{i},n{i},{i / 10}\n" for i in range(12))
USED = [0, 2, 3, 5, 7, 11, 3, 2]  # repeats: epochs


@pytest.fixture
def world(project, deployer, registry, token, owner, buyer, chain, tmp_path, monkeypatch):
    monkeypatch.setenv("DATASOIL_HOME", str(tmp_path / "home"))
    market = deployer.deploy(project.AccessMarket, registry, 600, 60, 60)
    market.set_token_allowed(token, True, sender=deployer)
    models = deployer.deploy(project.ModelRegistry, market)
    store = LocalStore(tmp_path / "ipfs")
    reg = Registry(registry)
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    prepared = publish.prepare(path, store=store, private=True)
    dataset_id = publish.register(prepared, reg, sender=owner)
    commitment = access.key_commitment(access.load_content_key(prepared.content_cid).key)
    market.list_dataset(dataset_id, token, 10**18, 3600, 0, commitment, sender=owner)
    return dict(
        market=market, models=models, store=store, reg=reg, dataset_id=dataset_id,
        path=path, tmp=tmp_path, commitment=commitment,
    )  # fmt: skip


def _buy_and_deliver(world, buyer, owner, chain):
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    pid = access.buy(world["market"], world["token"], world["dataset_id"], public, sender=buyer)
    access.keeper_step(world["market"], world["reg"], owner, world["tmp"] / "keeper.json")
    return pid


def _manifest(world, rows=USED):
    d = world["reg"].get(world["dataset_id"])
    return mf.build({d.id: (d.row_root, d.row_count, rows)})


def _register(world, buyer, token, manifest=None):
    return flow.register(
        manifest or _manifest(world),
        models=world["models"],
        registry=world["reg"],
        market=world["market"],
        store=world["store"],
        sender=buyer,
        weights_cid=str(world["store"].add_bytes(b"weights")),
        license="MIT",
        data_bps=5000,
    )


@pytest.fixture
def trained(world, token, buyer, owner, chain):
    world["token"] = token
    _buy_and_deliver(world, buyer, owner, chain)
    model_id = _register(world, buyer, token)
    leaves = {
        world["dataset_id"]: flow.leaves_for(
            world["dataset_id"],
            registry=world["reg"],
            store=world["store"],
            account=buyer,
            market=world["market"],
        )
    }
    return dict(world, model_id=model_id, leaves=leaves)


def test_register__reads_back_with_its_receipt(trained, buyer):
    model = flow.get(trained["models"], trained["model_id"])
    assert model.owner == str(buyer.address)
    assert model.manifest_size == len(set(USED))
    assert model.composition.datasets[0].rows_used == len(set(USED))
    assert model.composition.data_bps == 5000
    assert len(model.receipts) == 1
    manifest = flow.load_manifest(model, trained["store"])
    assert manifest.root == model.manifest_root
    assert [m.id for m in flow.all_models(trained["models"])] == [trained["model_id"]]


def test_prove_row__present_and_absent_verify_off_and_on_chain(trained, tmp_path):
    args = dict(
        models=trained["models"], registry=trained["reg"], store=trained["store"],
        leaves=trained["leaves"],
    )  # fmt: skip
    d, m = trained["dataset_id"], trained["model_id"]
    yes = flow.prove_row(m, d, 7, **args)
    no = flow.prove_row(m, d, 6, **args)
    assert yes.used and not no.used
    for bundle in (yes, no):
        assert bundle.verify() is None
        flow.verify_on_chain(bundle, models=trained["models"], registry=trained["reg"])
        again = flow.RowProof.loads(bundle.dumps())
        assert again.verify() is None and again.used == bundle.used
    runner = CliRunner()
    for row, bundle, status in ((7, yes, 0), (6, no, 1)):
        path = tmp_path / f"row{row}.json"
        path.write_text(bundle.dumps())
        out = runner.invoke(
            cli, ["model", "prove-row", str(m), str(d), str(row), "--bundle", str(path)]
        )
        assert out.exit_code == status, out.output
        assert out.output.strip().splitlines()[-1].startswith("yes" if status == 0 else "no")
    # A bundle for another row, or with a forged path, proves nothing: exit 2.
    path = tmp_path / "row7.json"
    out = runner.invoke(cli, ["model", "prove-row", str(m), str(d), "8", "--bundle", str(path)])
    assert out.exit_code == 2
    forged = yes.dumps().replace(yes.to_json()["direct"]["inclusion"]["path"][0], "0x" + "00" * 32)
    path.write_text(forged)
    out = runner.invoke(cli, ["model", "prove-row", str(m), str(d), "7", "--bundle", str(path)])
    assert out.exit_code == 2 and "does not verify" in out.output


def test_prove_row__past_the_row_count_is_refused(trained):
    with pytest.raises(ProofError, match="below dataset"):
        flow.prove_row(
            trained["model_id"], trained["dataset_id"], 12,
            models=trained["models"], registry=trained["reg"], store=trained["store"],
        )  # fmt: skip


def test_buy_and_withdraw__pays_owner_and_data(trained, token, buyer, owner, other, deployer):
    models = trained["models"]
    flow.list_for_sale(
        models, token, trained["model_id"], price=10**18, duration=3600, sender=buyer
    )
    expiry, credits = flow.buy(models, token, trained["model_id"], sender=other)
    assert expiry > 0 and models.has_licence(trained["model_id"], other)
    paid = {who: amount for who, _d, _s, amount in credits}
    assert paid[str(owner.address)] == 5 * 10**17  # the data share to the dataset's owner
    assert paid[str(buyer.address)] == 5 * 10**17
    before = int(token.balanceOf(owner))
    assert flow.withdraw(models, token, sender=owner) == 5 * 10**17
    assert int(token.balanceOf(owner)) == before + 5 * 10**17
    assert flow.withdraw(models, token, sender=owner) == 0


def test_register__without_a_receipt_is_refused_before_sending(world, token, buyer):
    count = int(world["models"].model_count())
    with pytest.raises(ManifestError, match="expected a purchase"):
        _register(world, buyer, token)
    assert int(world["models"].model_count()) == count


def test_register__undelivered_receipt_is_refused(world, token, buyer, chain):
    _secret, public = access.encryption_keypair(buyer, chain.chain_id)
    access.buy(world["market"], token, world["dataset_id"], public, sender=buyer)
    with pytest.raises(ManifestError, match="delivered or settled"):
        _register(world, buyer, token)


def test_register__row_root_not_the_registry_s_is_refused(world, token, owner):
    d = world["reg"].get(world["dataset_id"])
    bad = mf.build({d.id: (b"\x01" * 32, d.row_count, [1])})
    with pytest.raises(ManifestError, match="the registry holds"):
        _register(world, owner, token, bad)


def test_register__tampered_document_and_unknown_parent_are_refused(world, token, owner):
    doc = _manifest(world).dumps().replace(b'"size":6', b'"size":7')
    with pytest.raises(ManifestError, match="expected root"):
        flow.check_manifest(doc, world["reg"])
    with pytest.raises(NotFound, match="existing model"):
        flow.register(
            _manifest(world), models=world["models"], registry=world["reg"],
            market=world["market"], store=world["store"], sender=owner,
            weights_cid=str(world["store"].add_bytes(b"w")), license="MIT", parents=[5],
        )  # fmt: skip
