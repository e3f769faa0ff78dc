"""The event index: every event of a deployment in SQLite, so nobody scans logs twice.

:class:`EventIndex` keeps one file per chain (:func:`datasoil.config.index_path`, under
``$DATASOIL_HOME/index/``). :meth:`EventIndex.sync` reads the logs of every recorded
contract from the deployment block on, through :class:`~datasoil.chain.events.LogReader`
(bounded pages, retries), decodes them with the contracts' ABIs and commits page by
page with the block reached, so a sync cut short (node down, rate limit) resumes where
it stopped and loses nothing.

Reorgs: the index keeps the hashes of the blocks it read within :data:`REORG_WINDOW`
of the head. Before reading on it compares the last one with the chain; when it
changed it walks down to the newest kept block the chain still has, deletes every
event above it and reads again from there (from the deployment block when none
matches). The same logs give the same rows, so an index rebuilt from scratch equals
one filled incrementally (:meth:`EventIndex.dump`).

The questions the scripts, the keeper and the page ask are methods: :meth:`datasets`
(by owner), :meth:`lineage`, :meth:`attestations`, :meth:`claims`, :meth:`listings`,
:meth:`purchases` (``awaiting=True``: paid, no key delivered) and the generic
:meth:`events`. Values are JSON: integers as decimal strings (uint256 does not fit a
JavaScript number), bytes as ``0x`` hex, addresses checksummed, structs as objects.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from datasoil import config
from datasoil.chain import deployments
from datasoil.chain.events import LogReader, rpc_of
from datasoil.errors import ChainError, NotFound
from datasoil.formats.cid import CidTuple

__all__ = [
    "PAGE_MAX",
    "REORG_WINDOW",
    "SCHEMA",
    "EventIndex",
    "abi_of",
    "abis_of_project",
    "decode_log",
]

#: Block hashes kept below the head; a reorg deeper than this rebuilds the index.
REORG_WINDOW = 256
#: The most items one ``/api`` list answer holds (:meth:`EventIndex.answer`).
PAGE_MAX = 1000
#: Bumped when the tables change; an index of another schema is rebuilt.
SCHEMA = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    dataset_id INTEGER,
    purchase_id INTEGER,
    claim_id INTEGER,
    args TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS events_name ON events (contract, name);
CREATE INDEX IF NOT EXISTS events_dataset ON events (dataset_id);
CREATE INDEX IF NOT EXISTS events_purchase ON events (purchase_id);
CREATE INDEX IF NOT EXISTS events_claim ON events (claim_id);
"""

# Purchase status after each market event (no later event: "pending").
_PURCHASE_STATUS = {
    "KeyDelivered": "delivered",
    "Objected": "objected",
    "KeyRevealed": "revealed",
    "Refunded": "refunded",
    "Credited": "settled",
}


# -- decoding -------------------------------------------------------------------------


def _canonical(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def _topic0(event: Mapping[str, Any]) -> str:
    signature = f"{event['name']}({','.join(_canonical(i) for i in event['inputs'])})"
    return "0x" + keccak(text=signature).hex()


def _is_dynamic(param: Mapping[str, Any]) -> bool:
    kind = str(param["type"])
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple")


def _jsonable(param: Mapping[str, Any], value: Any) -> Any:
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_jsonable(inner, v) for v in value]
    if kind == "tuple":
        components = param.get("components", [])
        return {c["name"]: _jsonable(c, v) for c, v in zip(components, value, strict=True)}
    if kind == "address":
        return to_checksum_address(value)
    if kind == "bool":
        return bool(value)
    if kind.startswith(("uint", "int")):
        return str(int(value))
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def decode_log(event: Mapping[str, Any], log: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of ``log`` as JSON values, decoded with the event's ABI entry.

    An indexed argument of a dynamic type is only its hash (``0x`` hex).
    """
    topics = [bytes.fromhex(str(t)[2:]) for t in log["topics"]][1:]
    indexed = [p for p in event["inputs"] if p.get("indexed")]
    plain = [p for p in event["inputs"] if not p.get("indexed")]
    data = bytes.fromhex(str(log["data"])[2:])
    values = abi_decode([_canonical(p) for p in plain], data) if plain else ()
    out: dict[str, Any] = {}
    for param, topic in zip(indexed, topics, strict=True):
        if _is_dynamic(param):
            out[param["name"]] = "0x" + topic.hex()
        else:
            out[param["name"]] = _jsonable(param, abi_decode([_canonical(param)], topic)[0])
    for param, value in zip(plain, values, strict=True):
        out[param["name"]] = _jsonable(param, value)
    return out


def _hex_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def abi_of(contract: Any) -> list[dict[str, Any]]:
    """The ABI (JSON) of an ape contract container or instance."""
    return [entry.model_dump(by_alias=True, mode="json") for entry in contract.contract_type.abi]


def abis_of_project(project: Any, names: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The ABIs (JSON) of the ape project's contract types ``names`` that it has."""
    found = {name: getattr(project, name, None) for name in names}
    return {name: abi_of(ctype) for name, ctype in found.items() if ctype is not None}


def _cid(value: Mapping[str, Any]) -> str:
    prefix, digest = value["prefix"], value["digest"]
    return str(CidTuple.from_abi((int(prefix), bytes.fromhex(str(digest)[2:]))))


# -- the index ------------------------------------------------------------------------


class EventIndex:
    """The SQLite event index of one deployment (see the module docstring).

    ``contracts`` maps contract names to ``(address, ABI)``; ``start_block`` is the
    deployment block. An index file made for another chain, deployment, set of
    contracts or schema is emptied and filled again.
    """

    def __init__(
        self,
        path: Path,
        reader: LogReader,
        contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]],
        *,
        start_block: int,
        chain: str = "",
    ) -> None:
        self.path = Path(path)
        self.reader = reader
        self.start_block = int(start_block)
        self._names: dict[str, str] = {}  # lowercase address -> contract name
        self._events: dict[tuple[str, str], Mapping[str, Any]] = {}
        for name, (address, abi) in contracts.items():
            self._names[address.lower()] = name
            for entry in abi:
                if entry.get("type") == "event" and not entry.get("anonymous"):
                    self._events[(address.lower(), _topic0(entry))] = entry
        identity = json.dumps(
            [SCHEMA, chain, self.start_block, sorted((a, n) for a, n in self._names.items())],
        )
        abi_text = json.dumps(sorted(self._events.items()), sort_keys=True, default=str)
        self._identity = hashlib.sha256((identity + abi_text).encode()).hexdigest()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._sync_lock():
            self._db.executescript(_TABLES)
            if self._meta("identity") != self._identity:
                self._reset()

    @classmethod
    def open(
        cls,
        w3: Any,
        abis: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        path: Path | None = None,
        directory: Path | None = None,
        page: int | None = None,
    ) -> EventIndex:
        """The index of the deployment recorded for ``w3``'s chain, reading through ``w3``.

        ``abis`` maps contract names to ABIs (contracts without one are not indexed);
        ``path`` defaults to :func:`datasoil.config.index_path`.

        Raises:
            DeploymentError: no deployment recorded for this chain, or the chain was reset.
        """
        record = deployments.load(w3, directory)
        contracts = {
            name: (address, abis[name])
            for name, address in record.contracts.items()
            if name in abis
        }
        where = path or config.index_path(record.chain_id, record.genesis)
        return cls(
            where,
            LogReader(rpc_of(w3), page=page),
            contracts,
            start_block=record.block,
            chain=f"{record.chain_id}:{record.genesis}",
        )

    def close(self) -> None:
        self._db.close()

    # -- bookkeeping ----------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    def _reset(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM events")
        self._db.execute("DELETE FROM blocks")
        self._db.execute("DELETE FROM meta")
        self._set_meta("identity", self._identity)
        self._set_meta("synced", self.start_block - 1)
        self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _sync_lock(self) -> Iterator[None]:
        with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @property
    def synced(self) -> int:
        """The last block whose logs are in the index (``start_block - 1`` when empty)."""
        with self._lock:
            return int(self._meta("synced") or self.start_block - 1)

    # -- filling --------------------------------------------------------------------

    def sync(self, stop: int | None = None) -> int:
        """Read the logs of the blocks after the last synced one up to ``stop`` (default
        the head), after rewinding past any reorged block; return the block reached.

        Raises:
            ChainError: the node refused or stayed unreachable (every page read before
                is kept; the next sync goes on from there).
        """
        with self._sync_lock():
            head = self.reader.head()
            target = head if stop is None else min(int(stop), head)
            synced = self._rewind(int(self._meta("synced") or self.start_block - 1), head)
            if target <= synced:
                return synced
            addresses = sorted(self._names)
            for first, last, logs in self.reader.pages(synced + 1, target, address=addresses):
                self._commit_page(first, last, logs, head)
            return target

    def _rewind(self, synced: int, head: int) -> int:
        """Check the newest kept block hash against the chain; rewind past a reorg."""
        kept = self._db.execute(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC", (synced,)
        ).fetchall()
        if not kept:
            return synced if synced <= head else self._rewind_to(self.start_block - 1)
        for position, row in enumerate(kept):
            number, expected = int(row["number"]), str(row["hash"])
            if number <= head and self.reader.block_hash(number) == expected:
                fine = position == 0 and synced <= head
                return synced if fine else self._rewind_to(number)
        return self._rewind_to(self.start_block - 1)

    def _rewind_to(self, number: int) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM events WHERE block > ?", (number,))
        self._db.execute("DELETE FROM blocks WHERE number > ?", (number,))
        self._set_meta("synced", number)
        self._db.execute("COMMIT")
        return number

    def _commit_page(self, first: int, last: int, logs: list[dict[str, Any]], head: int) -> None:
        recent = head - REORG_WINDOW
        hashes: dict[int, str] = {}
        rows = []
        for log in logs:
            if log.get("removed"):
                continue
            address = str(log["address"]).lower()
            topics = log.get("topics") or []
            event = self._events.get((address, str(topics[0]).lower())) if topics else None
            if event is None:
                continue
            number = _hex_int(log["blockNumber"])
            block_hash = str(log["blockHash"]).lower()
            if number > recent:
                hashes[number] = block_hash
            args = decode_log(event, log)
            ids = [_optional_int(args.get(k)) for k in ("dataset_id", "purchase_id", "claim_id")]
            if ids[0] is None and "child_id" in args:
                ids[0] = _optional_int(args["child_id"])
            rows.append(
                (
                    number,
                    _hex_int(log["logIndex"]),
                    block_hash,
                    str(log["transactionHash"]).lower(),
                    self._names[address],
                    str(event["name"]),
                    *ids,
                    json.dumps(args, sort_keys=True),
                )
            )
        if last > recent and last not in hashes:
            found = self.reader.block_hash(last)
            if found is None:
                raise ChainError(f"expected block {last} on the chain, found none: it reorged")
            hashes[last] = found
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?)", sorted(hashes.items())
            )
            self._db.execute(
                "DELETE FROM blocks WHERE number < ? AND number < (SELECT MAX(number) FROM blocks)",
                (recent,),
            )
            self._set_meta("synced", last)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- answers --------------------------------------------------------------------

    def answer(self, route: str, query: Mapping[str, str]) -> Any:
        """The JSON answer to ``GET /api/<route>?<query>`` (the gateway serves these):
        ``status``; ``datasets[?owner=]``; ``datasets/<id>``; ``datasets/<id>/lineage``;
        ``datasets/<id>/attestations``; ``datasets/<id>/claims``; ``listings``;
        ``purchases[?dataset=&buyer=&seller=&awaiting=1]``;
        ``events?contract=&name=[&<argument>=<value>...]``.

        A list answers at most ``limit`` items (default and most :data:`PAGE_MAX`) from
        ``offset`` (default 0), in the list's own order; a full page means there may be
        more at ``offset + limit``.

        Raises:
            NotFound: no such route or dataset.
            ValueError: a malformed id, argument, ``limit`` or ``offset``.
        """
        limit = _page_number(query.get("limit"), "limit", PAGE_MAX, 1)
        offset = _page_number(query.get("offset"), "offset", 0, 0)
        query = {k: v for k, v in query.items() if k not in ("limit", "offset")}
        found = self._answer(route, query)
        if isinstance(found, list):
            return found[offset : offset + limit]
        return found

    def _answer(self, route: str, query: Mapping[str, str]) -> Any:
        parts = [p for p in route.strip("/").split("/") if p]
        if parts == ["status"]:
            return {"start_block": self.start_block, "synced": self.synced}
        if parts == ["datasets"]:
            return self.datasets(owner=query.get("owner"))
        if len(parts) in (2, 3) and parts[0] == "datasets":
            dataset_id = int(parts[1])
            what = parts[2] if len(parts) == 3 else ""
            answers = {
                "": self.dataset,
                "lineage": self.lineage,
                "attestations": self.attestations,
                "claims": self.claims,
            }
            if what in answers:
                return answers[what](dataset_id)
        if parts == ["listings"]:
            return self.listings()
        if parts == ["purchases"]:
            dataset = query.get("dataset")
            return self.purchases(
                dataset_id=int(dataset) if dataset else None,
                buyer=query.get("buyer"),
                seller=query.get("seller"),
                awaiting=query.get("awaiting", "") in ("1", "true", "yes"),
            )
        if parts == ["events"]:
            ids = ("dataset_id", "purchase_id", "claim_id")
            rest: dict[str, Any] = {
                k: v for k, v in query.items() if k not in ("contract", "name", *ids)
            }
            found = {k: int(query[k]) for k in ids if query.get(k)}
            return self.events(query.get("contract"), query.get("name"), **found, **rest)
        raise NotFound(f"expected an /api route of the event index, found /api/{route}")

    def events(
        self,
        contract: str | None = None,
        name: str | None = None,
        *,
        dataset_id: int | None = None,
        purchase_id: int | None = None,
        claim_id: int | None = None,
        **args: Any,
    ) -> list[dict[str, Any]]:
        """Indexed events in chain order, filtered by contract, event name, the id
        columns and equality of any other argument (addresses match in any case)."""
        where, params = [], []
        for column, value in (
            ("contract", contract),
            ("name", name),
            ("dataset_id", dataset_id),
            ("purchase_id", purchase_id),
            ("claim_id", claim_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value if isinstance(value, str) else int(value))
        for key, value in args.items():
            if not key.isidentifier():
                raise ValueError(f"expected an event argument name, found {key!r}")
            where.append(f"lower(json_extract(args, '$.{key}')) = lower(?)")
            params.append(_match_text(value))
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY block, log_index", params).fetchall()
        return [_event_json(row) for row in rows]

    def dump(self) -> list[tuple[Any, ...]]:
        """Every indexed event as plain tuples, in chain order (to compare two indexes)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM events ORDER BY block, log_index").fetchall()
        return [tuple(row) for row in rows]

    def datasets(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every registered dataset (with its current owner), or those ``owner`` holds."""
        owners: dict[str, str] = {}
        for e in self.events("DatasetRegistry", "OwnershipTransferred"):
            owners[e["args"]["dataset_id"]] = e["args"]["new_owner"]
        out = []
        for e in self.events("DatasetRegistry", "DatasetRegistered"):
            a = e["args"]
            current = owners.get(a["dataset_id"], a["owner"])
            if owner is not None and current.lower() != owner.lower():
                continue
            out.append(
                {
                    "id": int(a["dataset_id"]),
                    "owner": current,
                    "registrant": a["owner"],
                    "content_cid": _cid(a["content_cid"]),
                    "metadata_cid": _cid(a["metadata_cid"]),
                    "row_root": a["row_root"],
                    "row_count": int(a["row_count"]),
                    "private": a["private"],
                    "license": a["license"],
                    "parents": [int(p) for p in a["parents"]],
                    "version_of": int(a["version_of"]),
                    "block": e["block"],
                    "tx": e["tx"],
                }
            )
        return out

    def dataset(self, dataset_id: int) -> dict[str, Any]:
        """One dataset with its children and version chain.

        Raises NotFound when the index has no such dataset.
        """
        everything = {d["id"]: d for d in self.datasets()}
        if int(dataset_id) not in everything:
            raise NotFound(
                f"expected a registered dataset id, found {dataset_id} (the index has "
                f"{len(everything)} datasets up to block {self.synced})"
            )
        found = dict(everything[int(dataset_id)])
        found["children"] = [d["id"] for d in everything.values() if dataset_id in d["parents"]]
        found["versions"] = _versions(everything, int(dataset_id))
        found["ancestors"] = _ancestors(everything, int(dataset_id))
        return found

    def lineage(self, dataset_id: int) -> dict[str, Any]:
        """The ancestor tree: ``{"dataset": ..., "parents": [<lineage>, ...]}``."""
        everything = {d["id"]: d for d in self.datasets()}
        if int(dataset_id) not in everything:
            raise NotFound(f"expected a registered dataset id, found {dataset_id}")

        def tree(i: int) -> dict[str, Any]:
            return {
                "dataset": everything[i],
                "parents": [tree(p) for p in everything[i]["parents"]],
            }

        return tree(int(dataset_id))

    def attestations(self, dataset_id: int) -> list[dict[str, Any]]:
        """The ``Attested`` events of a dataset, each marked ``revoked`` when a later
        ``Revoked`` names the same attester, metric set and nonce."""
        revoked = {
            (e["args"]["attester"], e["args"]["metric_set"], e["args"]["nonce"])
            for e in self.events("Attestations", "Revoked", dataset_id=dataset_id)
        }
        out = []
        for e in self.events("Attestations", "Attested", dataset_id=dataset_id):
            a = e["args"]
            out.append({**e, "revoked": (a["attester"], a["metric_set"], a["nonce"]) in revoked})
        return out

    def claims(self, dataset_id: int | None = None) -> list[dict[str, Any]]:
        """Cleaning claims (``ClaimSubmitted``) with ``dataset_id`` as parent or child,
        or all, each with the names of the later events about it (``history``)."""
        out = []
        for e in self.events("CleaningProofs", "ClaimSubmitted"):
            a = e["args"]
            if dataset_id is not None and str(dataset_id) not in (a["parent_id"], a["child_id"]):
                continue
            later = self.events("CleaningProofs", claim_id=int(a["claim_id"]))
            out.append({**e, "history": [x["name"] for x in later if x["name"] != e["name"]]})
        return out

    def listings(self) -> list[dict[str, Any]]:
        """The current listing of every listed dataset: its last ``Listed`` with no
        ``Delisted`` after it and no change of owner since (the market keys a listing
        by the ownership period it was made in, so a transfer lapses it)."""
        current: dict[str, dict[str, Any] | None] = {}
        for e in self.events("AccessMarket"):
            if e["name"] == "Listed":
                current[e["args"]["dataset_id"]] = e
            elif e["name"] == "Delisted":
                current[e["args"]["dataset_id"]] = None
        for t in self.events("DatasetRegistry", "OwnershipTransferred"):
            listed = current.get(t["args"]["dataset_id"])
            if listed is not None and (listed["block"], listed["log_index"]) < (
                t["block"],
                t["log_index"],
            ):
                current[t["args"]["dataset_id"]] = None
        return [e for e in current.values() if e is not None]

    def purchases(
        self,
        *,
        dataset_id: int | None = None,
        buyer: str | None = None,
        seller: str | None = None,
        awaiting: bool = False,
        after_block: int | None = None,
    ) -> list[dict[str, Any]]:
        """Purchases (``Purchased``) with their ``status`` from the market events after
        them (``pending`` until a key is delivered, then ``delivered``, ``objected``,
        ``revealed``, ``refunded`` or ``settled``) and the delivered ``envelope``;
        ``awaiting=True`` keeps the pending ones; ``after_block`` those bought later."""
        filters: dict[str, Any] = {}
        if buyer is not None:
            filters["buyer"] = buyer
        out = []
        for e in self.events("AccessMarket", "Purchased", dataset_id=dataset_id, **filters):
            if after_block is not None and e["block"] <= after_block:
                continue
            terms = e["args"]["terms"]
            if seller is not None and terms["seller"].lower() != seller.lower():
                continue
            status, envelope = "pending", None
            for later in self.events("AccessMarket", purchase_id=int(e["args"]["purchase_id"])):
                status = _PURCHASE_STATUS.get(later["name"], status)
                if later["name"] == "KeyDelivered":
                    envelope = later["args"]["envelope"]
            if awaiting and status != "pending":
                continue
            out.append({**e, "status": status, "envelope": envelope})
        return out


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _match_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _event_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "contract": row["contract"],
        "name": row["name"],
        "block": int(row["block"]),
        "log_index": int(row["log_index"]),
        "block_hash": row["block_hash"],
        "tx": row["tx"],
        "args": json.loads(row["args"]),
    }


def _versions(everything: Mapping[int, Mapping[str, Any]], dataset_id: int) -> list[int]:
    chain = [dataset_id]
    while (previous := int(everything[chain[0]]["version_of"])) != 0:
        chain.insert(0, previous)
    successors = {int(d["version_of"]): i for i, d in sorted(everything.items()) if d["version_of"]}
    while chain[-1] in successors:
        chain.append(successors[chain[-1]])
    return chain


def _ancestors(everything: Mapping[int, Mapping[str, Any]], dataset_id: int) -> list[int]:
    seen: list[int] = []
    queue = list(everything[dataset_id]["parents"])
    while queue:
        current = queue.pop(0)
        if current not in seen:
            seen.append(current)
            queue.extend(everything[current]["parents"])
    return seen


def _page_number(text: str | None, name: str, default: int, least: int) -> int:
    """``limit``/``offset`` of a list query.

    >>> _page_number("5", "limit", 1000, 1), _page_number(None, "offset", 0, 0)
    (5, 0)
    >>> _page_number("0", "limit", 1000, 1)
    Traceback (most recent call last):
    ...
    ValueError: expected limit to be an integer from 1 to 1000, found '0'
    """
    if text is None or text == "":
        return default
    most = PAGE_MAX if name == "limit" else 2**62
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not least <= value <= most:
        span = f"from {least} to {most}" if name == "limit" else f"of at least {least}"
        raise ValueError(f"expected {name} to be an integer {span}, found {text!r}")
    return value
