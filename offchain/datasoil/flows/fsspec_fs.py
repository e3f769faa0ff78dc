"""``datasoil://DATASET_ID/PATH``: a registered public dataset as a read-only fsspec filesystem.

pandas, pyarrow, Dask and Hugging Face ``datasets`` open ``datasoil://`` URLs through fsspec
(the protocol is registered by the ``fsspec.specs`` entry point in pyproject.toml)::

    pandas.read_csv("datasoil://3/people.csv")
    datasets.load_dataset("csv", data_files="datasoil://3/people.csv")

On the first access to a dataset the filesystem reads its record from the registry, exports
its content from the store (every block checked against its CID) into a directory of its
own, and reads the rows there back against the registered RFC 9162 root; only then is any
byte of it handed out. A single-file dataset is the file under its name
(``datasoil://3/people.csv``); a directory dataset is its tree (``datasoil://7/train/a.csv``).

Where the record and the blocks come from, as storage options (``storage_options=`` in
pandas and ``datasets``), as in :func:`datasoil.flows.loader.load`: ``registry=`` and
``store=`` objects; or ``rpc_url=`` with ``registry_address=`` or ``deployment_url=`` (web3.py
alone, no ape), and ``gateways=`` (default ``DATASOIL_GATEWAYS``) for the blocks; else the
deployment on ape's connected chain and the local store. Private datasets are refused:
load them with a delivered key (``datasoil.load(..., account=...)``).
"""

from __future__ import annotations

import io
import tempfile
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractFileSystem

from datasoil.errors import DatasoilError, NotFound

__all__ = ["DatasoilFileSystem"]


class DatasoilFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """Read-only fsspec filesystem over registered public datasets (``datasoil://ID/PATH``).

    Raises (from any read): DatasoilError subclasses — NotFound (no such dataset, no such
    path in it), CidMismatch (content does not match its CID), ProofError (rows do not
    reproduce the registered root), or DatasoilError for a private dataset.
    """

    protocol = "datasoil"
    root_marker = ""

    def __init__(
        self,
        *,
        registry: Any = None,
        store: Any = None,
        rpc_url: str | None = None,
        registry_address: str | None = None,
        deployment_url: str | None = None,
        gateways: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._registry = registry
        self._store = store
        self._rpc_url = rpc_url
        self._registry_address = registry_address
        self._deployment_url = deployment_url
        self._gateways = list(gateways) if gateways else None
        self._roots: dict[int, Path] = {}
        self._lock = threading.Lock()
        tmp = tempfile.TemporaryDirectory(prefix="datasoil-fsspec-")
        self._tmp = Path(tmp.name)
        weakref.finalize(self, tmp.cleanup)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        if text.startswith("datasoil://"):
            text = text[len("datasoil://") :]
        return text.strip("/")

    # -- where the data comes from

    def _sources(self) -> tuple[Any, Any]:
        from datasoil import config
        from datasoil.flows.loader import PublicRegistry
        from datasoil.store import open_store

        registry, store = self._registry, self._store
        if registry is None and self._rpc_url is not None:
            if self._deployment_url is not None:
                registry = PublicRegistry.from_deployment(self._rpc_url, self._deployment_url)
            elif self._registry_address is not None:
                registry = PublicRegistry(self._rpc_url, self._registry_address)
            else:
                raise DatasoilError(
                    "expected registry_address= or deployment_url= with rpc_url=, found neither"
                )
        if registry is None:
            from ape import project

            from datasoil import chain
            from datasoil.chain.registry import Registry

            contracts = chain.contracts(project)
            registry = Registry(contracts.registry, contracts.deployment.block)
        if store is None:
            if self._gateways or config.gateways():
                from datasoil.store.gateway import open_gateways

                store = open_gateways(self._gateways, cache=open_store())
            else:
                store = open_store()
        self._registry, self._store = registry, store
        return registry, store

    def _root(self, dataset_id: int) -> Path:
        """The verified local copy of dataset ``dataset_id`` (exported on first use)."""
        from datasoil.flows.loader import materialize

        with self._lock:
            if dataset_id not in self._roots:
                registry, store = self._sources()
                dataset = registry.get(dataset_id)
                dest, _schema = materialize(
                    dataset, store, self._tmp / str(dataset_id), verify_rows=True
                )
                # a single file is listed under its name; a directory is its own tree
                self._roots[dataset_id] = dest.parent if dest.is_file() else dest
            return self._roots[dataset_id]

    def _local(self, path: str) -> tuple[int, str, Path]:
        stripped = self._strip_protocol(path)
        head, _, rest = stripped.partition("/")
        try:
            dataset_id = int(head)
        except ValueError:
            raise NotFound(
                f"expected datasoil://DATASET_ID/PATH with a numeric id, found {path!r}"
            ) from None
        root = self._root(dataset_id)
        local = (root / rest).resolve() if rest else root
        if local != root and root not in local.parents:
            raise NotFound(f"expected a path inside dataset #{dataset_id}, found {rest!r}")
        if not local.exists():
            raise NotFound(f"dataset #{dataset_id} has no file {rest!r}")
        return dataset_id, rest, local

    # -- the read-only filesystem

    def _entry(self, dataset_id: int, rel: str, local: Path) -> dict[str, Any]:
        name = f"{dataset_id}/{rel}" if rel else str(dataset_id)
        if local.is_dir():
            return {"name": name, "size": 0, "type": "directory"}
        return {"name": name, "size": local.stat().st_size, "type": "file"}

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            dataset_id, rel, local = self._local(path)
        except NotFound as exc:
            raise FileNotFoundError(str(exc)) from exc
        return self._entry(dataset_id, rel, local)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        try:
            dataset_id, rel, local = self._local(path)
        except NotFound as exc:
            raise FileNotFoundError(str(exc)) from exc
        if local.is_dir():
            root = self._roots[dataset_id]
            entries = [
                self._entry(dataset_id, child.relative_to(root).as_posix(), child)
                for child in sorted(local.iterdir())
            ]
        else:
            entries = [self._entry(dataset_id, rel, local)]
        return entries if detail else [e["name"] for e in entries]

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> io.BufferedReader:
        if mode != "rb":
            raise PermissionError(f"datasoil:// is read-only: expected mode 'rb', found {mode!r}")
        try:
            _dataset_id, _rel, local = self._local(path)
        except NotFound as exc:
            raise FileNotFoundError(str(exc)) from exc
        if local.is_dir():
            raise IsADirectoryError(f"{path} is a directory")
        return local.open("rb")

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        with self._open(path) as f:
            data = f.read()
        return data[start:end]
