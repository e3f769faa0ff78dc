"""Ctrl-C during a publish (issue 18 item 11) and a refused registration (item 6).

A forked child runs the library's publish path (:func:`datasoil.flows.publish.publish`, what
``ape run publish`` calls) and, at a point the test chooses, tells the parent and
waits; the parent sends it a real SIGINT. The child ends as the script does: the
interrupt's one line on stderr and exit status 130. Each test then checks the state
left behind: the registry's count and the store's pins and blocks.
"""

from __future__ import annotations

import faulthandler
import os
import random
import select
import signal
import string
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from multiformats import CID

from datasoil.app.cli import cli
from datasoil.chain.registry import Registry
from datasoil.errors import ChainError, DatasoilError
from datasoil.flows import publish
from datasoil.formats.cid import cid_to_tuple
from datasoil.store.local import LocalStore

INTERRUPTED = 130


class PausingStore(LocalStore):
    """The real local store, which stops after its ``pause_after``-th block write and
    lets the test interrupt it there (every block it writes is real)."""

    pause_after = 0
    on_pause: Callable[[], None] = staticmethod(lambda: None)
    _written = 0

    def put_block(self, cid: CID, data: bytes) -> None:
        super().put_block(cid, data)
        self._written += 1
        if self._written == self.pause_after:
            self.on_pause()


@pytest.fixture
def wrapped(registry):
    return Registry(registry)


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    """A 2.3 MB CSV: 3 raw leaves and a root under unixfs-v1-2025's 1 MiB chunks."""
    rnd = random.Random(18)
    path = tmp_path / "wide.csv"
    with path.open("w") as handle:
        handle.write("id,text\n")
        for i in range(2300):
            handle.write(f"{i},{''.join(rnd.choices(string.ascii_letters, k=1000))}\n")
    return path


def _interrupt_publish(
    tmp_path: Path,
    data: Path,
    wrapped: Registry,
    sender,
    *,
    at: str | None = None,
    after_blocks: int = 0,
    hold: float = 30.0,
) -> tuple[int, list[str]]:
    """Fork a child that publishes ``data``; SIGINT it when its progress line starts with
    ``at`` (or after its ``after_blocks``-th block write). Returns (exit code, stderr)."""
    ready_r, ready_w = os.pipe()
    err_path = tmp_path / "child-stderr"
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(ready_r)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(err, 2)
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 (not pytest's capture)
            faulthandler.dump_traceback_later(20, file=sys.stderr)  # if it ever hangs
            # ape, imported here as in `ape run`, exits 130 silently on SIGINT
            signal.signal(signal.SIGINT, lambda _s, _f: sys.exit(INTERRUPTED))

            def pause() -> None:
                os.write(ready_w, b"!")
                deadline = time.monotonic() + hold
                while time.monotonic() < deadline:  # a handler that only notes the
                    time.sleep(0.01)  # interrupt lets this loop run to its end

            def progress(message: str) -> None:
                if at is not None and message.startswith(at):
                    pause()

            store = PausingStore(tmp_path / "ipfs")
            store.pause_after, store.on_pause = after_blocks, pause
            try:
                publish.publish(
                    data, store=store, registry=wrapped, sender=sender, progress=progress
                )
                code = 0
            except publish.PublishInterrupted as exc:  # as scripts/publish.py ends
                print(exc, file=sys.stderr)
                code = INTERRUPTED
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(ready_w)
    try:
        readable, _, _ = select.select([ready_r], [], [], 30)
        assert readable, "the child never reached the pause point"
        assert os.read(ready_r, 1) == b"!", err_path.read_text()
        os.kill(pid, signal.SIGINT)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(ready_r)
    return os.waitstatus_to_exitcode(status), err_path.read_text().splitlines()


def _store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs")


def test_interrupt__before_the_data_pass_leaves_nothing(tmp_path, wide, wrapped, owner):
    code, err = _interrupt_publish(tmp_path, wide, wrapped, owner, at="schema:")
    assert (code, err) == (
        INTERRUPTED,
        ["interrupted: nothing registered; nothing pinned by this run"],
    )
    assert wrapped.count() == 0
    assert _store(tmp_path).pins() == [] and list(_store(tmp_path).iter_blocks()) == []


def test_interrupt__while_committing_rows_leaves_only_unpinned_blocks(
    tmp_path, wide, wrapped, owner
):
    # One pass feeds the rows and the store: by the last "rows:" line every block of the
    # file is written (3 leaves and its root), and none is pinned.
    code, err = _interrupt_publish(tmp_path, wide, wrapped, owner, at="rows:")
    assert (code, err) == (
        INTERRUPTED,
        [
            "interrupted: nothing registered; nothing pinned by this run "
            "(4 unpinned blocks stay until `datasoil store gc`)"
        ],
    )
    store = _store(tmp_path)
    assert wrapped.count() == 0 and store.pins() == [] and len(list(store.iter_blocks())) == 4
    assert len(store.gc().removed) == 4 and list(store.iter_blocks()) == []


def test_interrupt__mid_add_leaves_unpinned_blocks_that_gc_collects(
    tmp_path, wide, wrapped, owner, monkeypatch
):
    code, err = _interrupt_publish(tmp_path, wide, wrapped, owner, after_blocks=2)
    assert (code, err) == (
        INTERRUPTED,
        [
            "interrupted: nothing registered; nothing pinned by this run "
            "(2 unpinned blocks stay until `datasoil store gc`)"
        ],
    )
    store = _store(tmp_path)
    assert wrapped.count() == 0 and store.pins() == [] and len(list(store.iter_blocks())) == 2

    monkeypatch.delenv("DATASOIL_IPFS_API", raising=False)
    gc = CliRunner(mix_stderr=False).invoke(cli, ["store", "gc", "--store", str(store.root)])
    assert gc.exit_code == 0, gc.stderr
    assert len(gc.stdout.split()) == 2
    assert gc.stderr.startswith("removed 2 unpinned blocks and 0 temporary files (2.1 MB)")
    assert list(store.iter_blocks()) == []


def test_interrupt__after_the_content_is_pinned_keeps_it_for_a_rerun(
    tmp_path, wide, wrapped, owner
):
    code, err = _interrupt_publish(tmp_path, wide, wrapped, owner, at="content:")
    assert (code, err) == (
        INTERRUPTED,
        ["interrupted: nothing registered; 4 blocks kept pinned for a rerun"],
    )
    store = _store(tmp_path)
    assert wrapped.count() == 0
    (content,) = store.pins()
    assert len(store.reachable([content])) == 4 and store.gc(dry_run=True).removed == ()

    done = publish.publish(wide, store=store, registry=wrapped, sender=owner)
    assert done.dataset_id == 1 == wrapped.count()
    assert cid_to_tuple(done.prepared.content_cid).to_cid() == content
    assert len(store.pins()) == 2  # content and metadata


def test_interrupt__before_the_transaction_is_sent_registers_nothing(
    tmp_path, wide, wrapped, owner
):
    code, err = _interrupt_publish(tmp_path, wide, wrapped, owner, at="registering")
    assert (code, err) == (
        INTERRUPTED,
        ["interrupted: nothing registered; 5 blocks kept pinned for a rerun"],
    )
    assert wrapped.count() == 0
    assert len(_store(tmp_path).pins()) == 2


def test_interrupt__once_the_transaction_is_sent_says_what_was_registered(
    tmp_path, wide, wrapped, owner
):
    code, err = _interrupt_publish(
        tmp_path, wide, wrapped, owner, at="registering: sending the transaction", hold=0.3
    )
    assert (code, err) == (
        INTERRUPTED,
        ["interrupted after the registration transaction was sent: registered as #1"],
    )
    assert wrapped.count() == 1
    assert wrapped.get(1).row_count == 2300


def test_publish__returns_the_id_and_what_was_prepared(tmp_path, wide, wrapped, owner):
    store = _store(tmp_path)
    done = publish.publish(wide, store=store, registry=wrapped, sender=owner, license="MIT")
    got = wrapped.get(done.dataset_id)
    assert (got.content_cid, got.row_count, got.license) == (
        done.prepared.content_cid,
        2300,
        "MIT",
    )


def test_refused_registration__unpins_what_this_publish_pinned(
    tmp_path, wide, wrapped, owner, other
):
    store = _store(tmp_path)
    first = tmp_path / "first.csv"
    first.write_text("id\n1\n2\n")
    v1 = publish.publish(first, store=store, registry=wrapped, sender=owner)
    pins_before = store.pins()

    with pytest.raises(ChainError) as info:
        publish.publish(wide, store=store, registry=wrapped, sender=other, version_of=v1.dataset_id)

    message = str(info.value)
    assert "registry: not the owner of version_of" in message
    assert message.endswith(
        "; unpinned the 2 pins this publish made (5 blocks; `datasoil store gc` frees them)"
    )
    assert wrapped.count() == 1
    assert store.pins() == pins_before
    assert len(store.gc().removed) == 5
    assert b"".join(store.cat(cid_to_tuple(v1.prepared.content_cid).to_cid())) == (
        first.read_bytes()
    )


def test_refused_duplicate__keeps_the_pins_of_the_registered_copy(tmp_path, wide, wrapped, owner):
    store = _store(tmp_path)
    first = publish.publish(wide, store=store, registry=wrapped, sender=owner)
    pins = store.pins()
    with pytest.raises(DatasoilError) as info:
        publish.publish(wide, store=store, registry=wrapped, sender=owner)
    assert str(info.value) == (
        "expected new data, found the same content and row root already registered as "
        f"dataset #{first.dataset_id} (pass --allow-duplicate to register it again)"
    )
    assert store.pins() == pins and store.gc().removed == ()
