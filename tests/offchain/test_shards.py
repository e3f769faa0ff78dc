"""Ray shards give exactly one process's roots and files (datasoil.engine.shards).

One local Ray cluster of two CPUs for the module; inputs of a few hundred rows in shards
whose size does not divide the row count, so partial last shards, shards smaller than a
fate batch and outputs that straddle shards are all met.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'datasoil[ray]')")

from datasoil.engine import clean as engine
from datasoil.engine import progress, shards
from datasoil.errors import SchemaError
from datasoil.formats import rows
from datasoil.formats.recipe import load_recipe

REPO = Path(__file__).parents[2]
MESSY = REPO / "examples" / "messy" / "people.csv"
DEMO = REPO / "examples" / "recipes" / "clean.yaml"


@pytest.fixture(scope="module")
def ray() -> Iterator[Any]:
    with shards.ray_session(num_cpus=2) as session:
        yield session


def _random_table(n: int, seed: int) -> pa.Table:
    rnd = random.Random(seed)
    return pa.table(
        {
            "id": list(range(n)),
            "name": [rnd.choice([" Ada", "bob ", "CHLOE", "dan\t", None]) for _ in range(n)],
            "email": [
                rnd.choice([None, f"U{rnd.randrange(n // 3)}@X.ORG", f"u{rnd.randrange(n)}@x.org"])
                for _ in range(n)
            ],
            "score": [
                rnd.choice([None, -0.0, 0.0, rnd.gauss(50, 10), rnd.gauss(50, 10) * 40])
                for _ in range(n)
            ],
        }
    )


RECIPE = """version: 1
steps:
  - {kind: trim, columns: [name, email]}
  - {kind: normalise, columns: [email], unicode: NFKC, case: lower}
  - {kind: drop_nulls, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: outliers, columns: [score], action: clip, k: 1.5}
  - {kind: dedupe, columns: [name, score]}
  - {kind: outliers, columns: [id], action: drop, k: 0.5}
"""


def _files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in ("data.parquet", "fate.bin", "proof.json")}


@pytest.mark.parametrize(("n", "shard_rows"), [(700, 64), (700, 256), (300, 1024), (5, 1)])
def test_clean__sharded_files_are_one_process_files(
    tmp_path: Path, ray: Any, n: int, shard_rows: int
) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(_random_table(n, n + shard_rows), src, row_group_size=100)
    recipe = load_recipe(RECIPE)
    for key in (None, bytes(range(32))):
        one = engine.clean(src, recipe, tmp_path / "one", key=key)
        many = shards.clean(src, recipe, tmp_path / "many", key=key, shard_rows=shard_rows, ray=ray)
        assert _files(many.out_dir) == _files(one.out_dir)
        assert 0 < one.rows_out < n
    steps = one.proof["steps"]
    assert steps[3]["rows_dropped"] > 0 or n < 10  # duplicates met across shards


STAGE_ORDERS = [
    # a dedupe first (the input read as its keys are partitioned), two in a row
    "  - {kind: dedupe, columns: [email]}\n  - {kind: dedupe, columns: [name]}\n"
    "  - {kind: outliers, columns: [score], action: drop, k: 0.5}\n",
    # a measuring step first (a full checkpoint), then one after a row-local step
    "  - {kind: outliers, columns: [score], action: clip, k: 1.0}\n"
    "  - {kind: trim, columns: [name]}\n  - {kind: outliers, columns: [id], action: drop, k: 0.5}\n"
    "  - {kind: dedupe, columns: [name, score]}\n",
]


@pytest.mark.parametrize("steps", STAGE_ORDERS)
def test_clean__every_order_of_stages_gives_one_process_files(
    tmp_path: Path, ray: Any, steps: str
) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(_random_table(300, 7), src, row_group_size=100)
    recipe = load_recipe("version: 1\nsteps:\n" + steps)
    one = engine.clean(src, recipe, tmp_path / "one")
    many = shards.clean(src, recipe, tmp_path / "many", shard_rows=32, ray=ray)
    assert _files(many.out_dir) == _files(one.out_dir)
    assert sum(s.get("rows_dropped", 0) for s in one.proof["steps"]) > 0


def test_clean__the_demo_recipe_on_csv(tmp_path: Path, ray: Any) -> None:
    recipe = load_recipe(DEMO)
    one = engine.clean(MESSY, recipe, tmp_path / "one")
    told: list[list[Any]] = []
    with progress.reporting(_Told(told)):
        many = shards.clean(MESSY, recipe, tmp_path / "many", shard_rows=8, ray=ray)
    assert _files(many.out_dir) == _files(one.out_dir)
    # progress: every stage's shards counted as they finish, all of them
    count = -(-one.rows_in // 8)
    stages = [t for t in told if t[0].startswith("stage ")]
    assert stages and all(t[1:] == [count, "shards", count] for t in stages)
    assert told[-1] == ["fate records and output rows in shards", count, "shards", count]


class _Told:
    def __init__(self, told: list[list[Any]]) -> None:
        self.told = told

    def begin(self, what: str, total: int | None, unit: str) -> None:
        self.told.append([what, total, unit, 0])

    def advance(self, done: int) -> None:
        self.told[-1][3] += done


def test_clean__a_failed_strict_cast_is_the_same_error(tmp_path: Path, ray: Any) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n" + "".join(f"{i}\n" for i in range(40)) + "x\n1\n")
    recipe = load_recipe("version: 1\nsteps:\n  - {kind: cast, columns: {a: int64}}\n")
    with pytest.raises(engine.CastFailed) as one:
        engine.clean(src, recipe, tmp_path / "one")
    with pytest.raises(engine.CastFailed) as many:
        shards.clean(src, recipe, tmp_path / "many", shard_rows=16, ray=ray)
    assert str(many.value) == str(one.value)
    assert not (tmp_path / "many").exists()


@pytest.mark.parametrize("shard_rows", [1, 16, 128, 4096])
def test_dataset_root__sharded_root_is_the_flat_root(
    tmp_path: Path, ray: Any, shard_rows: int
) -> None:
    d = tmp_path / "ds"
    d.mkdir()
    pq.write_table(_random_table(333, 1), d / "a.parquet", row_group_size=50)
    (d / "b.csv").write_text("id,name,email,score\n" + "".join(f"{i},n,e,1.5\n" for i in range(77)))
    schema = rows.infer_schema(d)
    for key in (None, bytes(range(32))):
        flat = rows.dataset_root(d, schema, key)
        assert shards.dataset_root(d, schema, key, shard_rows=shard_rows, ray=ray) == flat
    assert flat[1] == 410


def test_shard_size__must_be_a_power_of_two(tmp_path: Path, ray: Any) -> None:
    with pytest.raises(shards.ShardError, match="power of two, found 100"):
        shards.dataset_root(MESSY, shard_rows=100, ray=ray)


def test_cli__root_and_clean_with_ray_print_what_they_print_without(
    tmp_path: Path, ray: Any
) -> None:
    from click.testing import CliRunner

    from datasoil.app.cli import cli

    runner = CliRunner()
    flat = runner.invoke(cli, ["root", str(MESSY)])
    sharded = runner.invoke(cli, ["root", str(MESSY), "--ray", "--shard-rows", "4"])
    assert flat.exit_code == sharded.exit_code == 0, sharded.output
    assert sharded.output == flat.output
    args = ["clean", str(MESSY), "--recipe", str(DEMO), "--out"]
    one = runner.invoke(cli, [*args, str(tmp_path / "one")])
    many = runner.invoke(cli, [*args, str(tmp_path / "many"), "--ray", "--shard-rows", "16"])
    assert one.exit_code == many.exit_code == 0, many.output
    assert _files(tmp_path / "many") == _files(tmp_path / "one")
    bad = runner.invoke(cli, ["root", str(MESSY), "--ray", "--shard-rows", "3"])
    assert bad.exit_code == 1 and "power of two, found 3" in bad.output


def test_dataset_root__a_task_s_schema_error_is_raised_as_itself(tmp_path: Path, ray: Any) -> None:
    src = tmp_path / "a.parquet"  # counted by its footer: the bad value is met in a task
    pq.write_table(pa.table({"a": [str(i) for i in range(20)] + ["x"]}), src)
    schema = rows.Schema((rows.Column("a", "int64"),))
    with pytest.raises(SchemaError) as flat:
        rows.dataset_root(src, schema)
    with pytest.raises(SchemaError) as sharded:
        shards.dataset_root(src, schema, shard_rows=8, ray=ray)
    assert str(sharded.value) == str(flat.value)
