"""The DatasetRegistry for Python users: register, get, lineage, versions.

The contract stores only what other contracts read (owner, row root, row count,
private flag, parents); CIDs, license and version links come from its
`DatasetRegistered` events, which this module reads and joins: from the event index
(:class:`datasoil.chain.index.EventIndex`) when it is given one, else through bounded
log reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datasoil.chain import tx
from datasoil.errors import NotFound, ProofError
from datasoil.formats.cid import CidTuple, cid_to_tuple
from datasoil.formats.merkle import ConsistencyProof

if TYPE_CHECKING:
    from ape.api import AccountAPI
    from ape.contracts.base import ContractInstance
    from ape.types import ContractLog

    from datasoil.chain.index import EventIndex

__all__ = ["MAX_PARENTS", "Dataset", "LineageNode", "Registry", "check_consistency"]

MAX_PARENTS = 8


@dataclass(frozen=True)
class Dataset:
    """A registered dataset, joined from storage (owner may have moved) and its event."""

    id: int
    owner: str
    content_cid: str
    row_root: bytes
    row_count: int
    private: bool
    metadata_cid: str
    license: str
    parents: tuple[int, ...]
    version_of: int
    block: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner,
            "content_cid": self.content_cid,
            "row_root": "0x" + self.row_root.hex(),
            "row_count": self.row_count,
            "private": self.private,
            "metadata_cid": self.metadata_cid,
            "license": self.license,
            "parents": list(self.parents),
            "version_of": self.version_of,
            "block": self.block,
        }


@dataclass(frozen=True)
class LineageNode:
    """A dataset and the lineage trees of its parents (a DAG unrolled as a tree)."""

    dataset: Dataset
    parents: tuple[LineageNode, ...] = field(default=())

    def render(self) -> str:
        """The tree as text, the dataset first and its ancestors below it."""
        lines: list[str] = []

        def walk(node: LineageNode, prefix: str, last: bool, top: bool) -> None:
            d = node.dataset
            label = f"#{d.id} {d.content_cid} rows={d.row_count} license={d.license}"
            if d.private:
                label += " (private)"
            if top:
                lines.append(label)
                below = ""
            else:
                lines.append(prefix + ("└── " if last else "├── ") + label)
                below = prefix + ("    " if last else "│   ")
            for i, parent in enumerate(node.parents):
                walk(parent, below, i == len(node.parents) - 1, False)

        walk(self, "", True, True)
        return "\n".join(lines)


def _cid_str(value: Any) -> str:
    return str(CidTuple.from_abi(tuple(value)))


@dataclass(frozen=True)
class _Registration:
    """What a ``DatasetRegistered`` event says that storage does not keep."""

    content_cid: str
    metadata_cid: str
    row_root: bytes
    license: str
    parents: tuple[int, ...]
    version_of: int
    block: int

    @classmethod
    def from_log(cls, log: ContractLog) -> _Registration:
        return cls(
            content_cid=_cid_str(log.content_cid),
            metadata_cid=_cid_str(log.metadata_cid),
            row_root=bytes(log.row_root),
            license=str(log.license),
            parents=tuple(int(p) for p in log.parents),
            version_of=int(log.version_of),
            block=int(log.block_number),
        )

    @classmethod
    def from_index(cls, row: dict[str, Any]) -> _Registration:
        return cls(
            content_cid=str(row["content_cid"]),
            metadata_cid=str(row["metadata_cid"]),
            row_root=bytes.fromhex(str(row["row_root"]).removeprefix("0x")),
            license=str(row["license"]),
            parents=tuple(int(p) for p in row["parents"]),
            version_of=int(row["version_of"]),
            block=int(row["block"]),
        )


class Registry:
    """A DatasetRegistry ape contract instance with Python-friendly calls.

    ``index`` (an :class:`~datasoil.chain.index.EventIndex` of the same deployment) is
    where the registration events come from, synced when they are first needed;
    without one they are read with bounded ``eth_getLogs`` from ``start_block``.
    """

    def __init__(
        self, contract: ContractInstance, start_block: int = 0, *, index: EventIndex | None = None
    ) -> None:
        self.contract = contract
        self.start_block = start_block
        self.index = index
        self._events: dict[int, _Registration] | None = None

    # --- writes -----------------------------------------------------------------

    def register(
        self,
        *,
        content_cid: str,
        row_root: bytes,
        row_count: int,
        metadata_cid: str,
        license: str,
        parents: list[int] | tuple[int, ...] = (),
        version_of: int = 0,
        private: bool = False,
        sender: AccountAPI,
    ) -> int:
        """Register a dataset and return its id (validating inputs before sending).

        Raises InvalidCid for a malformed CID, ValueError for bad parents, NotFound
        for a parent or version that does not exist, ChainError if the call reverts.
        """
        content = cid_to_tuple(content_cid)
        metadata = cid_to_tuple(metadata_cid)
        ordered = sorted(set(parents))
        if len(ordered) > MAX_PARENTS:
            raise ValueError(f"expected at most {MAX_PARENTS} parents, found {len(ordered)}")
        count = int(self.contract.dataset_count())
        for parent in [*ordered, *([version_of] if version_of else [])]:
            if not 1 <= parent <= count:
                raise NotFound(f"expected an existing dataset id (1..{count}), found {parent}")
        if len(license.encode()) > 64:
            raise ValueError(f"expected a license id of at most 64 bytes, found {license!r}")
        receipt = tx.send(
            "the dataset to be registered",
            self.contract,
            "register",
            content.as_abi(),
            row_root,
            row_count,
            private,
            metadata.as_abi(),
            license,
            ordered,
            version_of,
            sender=sender,
        )
        self._events = None
        (event,) = receipt.decode_logs(self.contract.DatasetRegistered)
        return int(event.dataset_id)

    # --- reads ------------------------------------------------------------------

    def _all_events(self) -> dict[int, _Registration]:
        if self._events is None:
            if self.index is not None:
                self.index.sync()
                found = self.index.datasets()
                self._events = {int(d["id"]): _Registration.from_index(d) for d in found}
            else:
                from datasoil.chain import event_logs

                logs = event_logs(self.contract.DatasetRegistered, self.start_block)
                self._events = {int(log.dataset_id): _Registration.from_log(log) for log in logs}
        return self._events

    def count(self) -> int:
        return int(self.contract.dataset_count())

    def get(self, dataset_id: int) -> Dataset:
        """The dataset ``dataset_id``; NotFound if it is not registered."""
        if not self.contract.exists(dataset_id):
            raise NotFound(
                f"expected a registered dataset id (1..{self.count()}), found {dataset_id}"
            )
        event = self._all_events().get(int(dataset_id))
        if event is None:
            self._events = None
            event = self._all_events().get(int(dataset_id))
        if event is None:
            raise NotFound(f"dataset {dataset_id} exists but its event was not found")
        info = self.contract.info(dataset_id)
        return Dataset(
            id=int(dataset_id),
            owner=str(info.owner),
            content_cid=event.content_cid,
            row_root=bytes(info.row_root),
            row_count=int(info.row_count),
            private=bool(info.private),
            metadata_cid=event.metadata_cid,
            license=event.license,
            parents=tuple(int(p) for p in info.parents),
            version_of=event.version_of,
            block=event.block,
        )

    def all(self) -> list[Dataset]:
        return [self.get(i) for i in sorted(self._all_events())]

    def lineage(self, dataset_id: int) -> LineageNode:
        """The ancestor tree of ``dataset_id`` (parents have lower ids: it terminates)."""
        dataset = self.get(dataset_id)
        return LineageNode(dataset, tuple(self.lineage(p) for p in dataset.parents))

    def ancestors(self, dataset_id: int) -> list[int]:
        """Distinct ancestor ids, breadth-first (the order royalties use)."""
        seen: list[int] = []
        queue = list(self.get(dataset_id).parents)
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.append(current)
            queue.extend(self.get(current).parents)
        return seen

    def find(self, content_cid: str, row_root: bytes) -> int | None:
        """The lowest id registered with this content CID and row root, from events alone."""
        for dataset_id, event in sorted(self._all_events().items()):
            if event.row_root == row_root and event.content_cid == content_cid:
                return dataset_id
        return None

    def children(self, dataset_id: int) -> list[int]:
        return [i for i, e in sorted(self._all_events().items()) if dataset_id in e.parents]

    def versions(self, dataset_id: int) -> list[int]:
        """The version chain through ``dataset_id``: oldest first, newest last."""
        events = self._all_events()
        chain = [int(dataset_id)]
        current = int(dataset_id)
        while (previous := events[current].version_of) != 0:
            chain.insert(0, previous)
            current = previous
        successors = {e.version_of: i for i, e in sorted(events.items()) if e.version_of}
        current = int(dataset_id)
        while current in successors:
            current = successors[current]
            chain.append(current)
        return chain


def check_consistency(old: Dataset, new: Dataset, proof: ConsistencyProof) -> None:
    """Check that registered dataset ``new`` extends ``old``: ``proof`` (an RFC 9162
    consistency proof, e.g. from ``datasoil consistency``) must name both registered
    roots and row counts and verify. No data is needed.

    Raises ProofError saying which of the roots, counts or path does not match.
    """
    for what, dataset, root, size in (
        ("old", old, proof.old_root, proof.old_size),
        ("new", new, proof.new_root, proof.new_size),
    ):
        if root != dataset.row_root or size != dataset.row_count:
            raise ProofError(
                f"expected the proof's {what} tree to be dataset #{dataset.id}'s "
                f"(root 0x{dataset.row_root.hex()}, {dataset.row_count} rows), found root "
                f"0x{root.hex()} over {size} rows"
            )
    proof.verify()
