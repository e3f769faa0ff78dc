"""Progress bars of the long commands (issue 16): on stderr, only on a terminal or with
--progress, never in what stdout carries or in the files written."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from datasoil.app.cli import cli
from datasoil.engine import progress
from datasoil.engine.clean import clean
from datasoil.formats.recipe import load_recipe
from datasoil.store.local import LocalStore

RECIPE = """version: 1
steps:
  - {kind: trim, columns: [email]}
  - {kind: dedupe, columns: [email]}
  - {kind: outliers, columns: [score], action: clip, k: 1.5}
"""
ROWS = 70_000  # more than one 65,536-row batch


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("progress")
    rng = np.random.default_rng(16)
    pl.DataFrame(
        {
            "id": np.arange(ROWS),
            "email": [f" u{i}@x.org" for i in rng.integers(0, ROWS // 2, ROWS)],
            "score": rng.normal(size=ROWS),
        }
    ).write_parquet(d / "d.parquet")
    (d / "r.yaml").write_text(RECIPE)
    return d


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner(mix_stderr=False).invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


class _Recorder:
    def __init__(self) -> None:
        self.tasks: list[tuple[str, int | None, str, int]] = []

    def begin(self, what: str, total: int | None, unit: str) -> None:
        self.tasks.append((what, total, unit, 0))

    def advance(self, done: int) -> None:
        what, total, unit, so_far = self.tasks[-1]
        self.tasks[-1] = (what, total, unit, so_far + done)


def test_clean__reports_every_input_and_written_row(data: Path, tmp_path: Path) -> None:
    recorder = _Recorder()
    with progress.reporting(recorder):
        clean(data / "d.parquet", load_recipe(data / "r.yaml"), tmp_path / "o")
    reading, *steps, writing = recorder.tasks
    assert reading == ("reading and hashing d.parquet", ROWS, "rows", ROWS)
    assert [s[0] for s in steps] == ["step 1 (dedupe)", "step 2 (outliers)"]
    assert writing == ("writing data.parquet and fate.bin", ROWS, "rows", ROWS)
    with progress.reporting(None):  # uninstalled again: nothing recorded
        progress.advance(1)
    assert recorder.tasks[-1][3] == ROWS


def test_clean__row_local_recipe_counts_the_rows_once(data: Path, tmp_path: Path) -> None:
    """No whole-dataset step: the output writer pulls the input, and counts it alone."""
    recorder = _Recorder()
    (tmp_path / "trim.yaml").write_text("version: 1\nsteps:\n  - {kind: trim, columns: [email]}\n")
    with progress.reporting(recorder):
        clean(data / "d.parquet", load_recipe(tmp_path / "trim.yaml"), tmp_path / "o")
    assert recorder.tasks == [("writing data.parquet and fate.bin", ROWS, "rows", ROWS)]


def test_root__no_terminal_no_bar_and_forced_bar_on_stderr_only(data: Path) -> None:
    code, plain, err = _run("root", str(data / "d.parquet"))
    assert code == 0 and err == ""
    code, forced, err = _run("root", str(data / "d.parquet"), "--progress")
    assert code == 0 and forced == plain
    assert "hashing d.parquet" in err and f"{ROWS:,} of {ROWS:,} rows" in err
    assert _run("root", str(data / "d.parquet"), "--progress", "--quiet")[1:] == (plain, "")


def test_clean_verify__forced_bar_leaves_stdout_and_files_unchanged(
    data: Path, tmp_path: Path
) -> None:
    args = [str(data / "d.parquet"), "--recipe", str(data / "r.yaml"), "--out"]
    code, plain, plain_err = _run("clean", *args, str(tmp_path / "a"))
    assert code == 0
    code, forced, err = _run("clean", *args, str(tmp_path / "b"), "--progress")
    assert code == 0 and forced == plain
    summary = plain_err.split("; wrote")[0]  # the summary line, as without the bar
    assert "writing data.parquet and fate.bin" in err and summary in err
    for name in ("data.parquet", "fate.bin", "proof.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    ver = ["verify", str(tmp_path / "a" / "proof.json"), "--input", str(data / "d.parquet")]
    ver += ["--output", str(tmp_path / "a" / "data.parquet")]
    code, plain, err = _run(*ver)
    assert code == 0 and err == ""
    code, forced, err = _run(*ver, "--progress")
    assert code == 0 and forced == plain and "comparing data.parquet" in err


def test_quality__forced_bar_counts_the_passes(data: Path) -> None:
    code, plain, err = _run("quality", str(data / "d.parquet"), "--json")
    assert code == 0 and err == ""
    code, forced, err = _run("quality", str(data / "d.parquet"), "--json", "--progress")
    assert code == 0 and forced == plain and "4 of 4 passes" in err


def test_car__forced_bar_counts_bytes_and_the_car_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    store = LocalStore(tmp_path / "s")
    cid = str(store.add_bytes(os.urandom(3 << 20)))
    export = ["car", "export", cid, "--store", str(store.root)]
    assert _run(*export[:3], str(tmp_path / "a.car"), *export[3:])[0] == 0
    code, _, err = _run(*export[:3], str(tmp_path / "b.car"), *export[3:], "--progress")
    assert code == 0 and "exporting b.car" in err and "MiB" in err
    assert (tmp_path / "a.car").read_bytes() == (tmp_path / "b.car").read_bytes()
    imp = ["car", "import", str(tmp_path / "b.car"), "--store"]
    code, out, err = _run(*imp, str(tmp_path / "t"), "--progress")
    size = (tmp_path / "b.car").stat().st_size / (1 << 20)
    assert code == 0 and out == cid + "\n" and f"{size:.1f} MiB of {size:.1f} MiB" in err
    assert _run(*imp, str(tmp_path / "u"))[1:] == (out, "")


def test_root__draws_on_a_terminal_by_default(data: Path) -> None:
    """A real terminal on stderr (a pty): the bar by default, nothing with --quiet."""

    def stderr_on_a_pty(*extra: str) -> tuple[str, bytes]:
        leader, follower = pty.openpty()
        command = Path(sys.executable).with_name("datasoil")
        with (
            open(os.devnull, "rb") as stdin,
            subprocess.Popen(
                [command, "root", str(data / "d.parquet"), *extra],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=follower,
                env={**os.environ, "COLUMNS": "120"},
            ) as run,
        ):
            os.close(follower)
            got = b""
            while True:  # read while it runs: a full pty would block it
                try:
                    chunk = os.read(leader, 1 << 16)
                except OSError:  # EIO: the child closed its end
                    break
                if not chunk:
                    break
                got += chunk
            assert run.stdout is not None
            out = run.stdout.read().decode()
        os.close(leader)
        assert run.returncode == 0, got
        return out, got

    out, err = stderr_on_a_pty()
    assert b"hashing d.parquet" in err
    quiet_out, quiet_err = stderr_on_a_pty("--quiet")
    assert quiet_out == out and quiet_err == b""
