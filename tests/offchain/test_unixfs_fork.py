"""A forked child adds files as its parent does (the hashing pool is not inherited)."""

from __future__ import annotations

import os
import select
from pathlib import Path

from datasoil.formats import unixfs


def test_add_path__works_in_a_child_forked_after_an_add(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 * (1 << 20)))  # several chunks: the pool does the hashing
    expected = unixfs.add_path(path, unixfs.profile_for(None)).cid
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            cid = unixfs.add_path(path, unixfs.profile_for(None)).cid
            os.write(done_w, str(cid).encode())
        finally:
            os._exit(0)
    os.close(done_w)
    try:
        ready, _, _ = select.select([done_r], [], [], 20)
        assert ready, "the child's add hung"
        assert os.read(done_r, 200).decode() == str(expected)
    finally:
        os.close(done_r)
        if not ready:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
