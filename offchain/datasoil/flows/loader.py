"""Load a registered dataset's verified rows for training: ``datasoil.load(dataset_id)``.

The rows come back as a pyarrow Table only after the content matched its registered
CID (the store verifies every block) and the rows, encoded under the schema the
dataset's Croissant record set declares, reproduced the registered RFC 9162 root.
Private datasets are fetched through the buyer's delivered key
(:func:`datasoil.flows.access.fetch`), which checks the plaintext CID and the keyed root.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from datasoil.errors import DatasoilError, ProofError
from datasoil.formats import merkle, rows
from datasoil.formats.cid import cid_to_tuple
from datasoil.formats.croissant import schema_of

if TYPE_CHECKING:
    from ape.api import AccountAPI

    from datasoil.chain.registry import Registry
    from datasoil.flows.access import Market

__all__ = [
    "PublicRegistry",
    "content_key_for",
    "load",
    "load_local",
    "metadata",
    "read_verified",
    "to_hf_dataset",
    "to_pandas",
]


def read_verified(
    path: Path, schema: rows.Schema, expected_root: bytes, count: int, key: bytes | None = None
) -> pa.Table:
    """Read ``path`` under ``schema``; return the rows only if they reproduce the root.

    ``key`` is a private dataset's row-hash key (keyed leaves). Raises ProofError when
    the root or the row count differs, and what reading raises.
    """
    builder = merkle.RootBuilder()
    batches = []
    for batch in rows.read_batches(path, schema):
        builder.extend(rows.batch_leaf_hashes(batch, schema, key))
        batches.append(batch)
    if builder.root() != expected_root or builder.size != count:
        raise ProofError(
            f"expected row root 0x{expected_root.hex()} over {count} rows, found "
            f"0x{builder.root().hex()} over {builder.size}"
        )
    if not batches:
        return schema.to_arrow().empty_table()
    return pa.Table.from_batches(batches)


def load_local(path: Path, schema: rows.Schema, row_root: bytes, row_count: int) -> pa.Table:
    """Read a local copy of a dataset and return it only if it matches the root."""
    return read_verified(Path(path), schema, row_root, row_count)


class PublicRegistry:
    """The DatasetRegistry read with web3.py alone: no ape project, no account.

    ``rpc_url`` is any JSON-RPC endpoint, ``address`` the registry's, ``start_block`` its
    deployment block (where the event scan starts). The ABI is the one shipped in the
    package (``datasoil/DatasetRegistry.abi.json``, checked against the build by the
    tests); events are read in bounded pages (:class:`datasoil.chain.events.LogReader`).
    """

    def __init__(self, rpc_url: str, address: str, start_block: int = 0) -> None:
        from importlib import resources

        from web3 import Web3

        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        abi = json.loads(
            resources.files("datasoil").joinpath("DatasetRegistry.abi.json").read_text()
        )
        self.contract = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
        self.start_block = int(start_block)

    @classmethod
    def from_deployment(cls, rpc_url: str, deployment_url: str) -> PublicRegistry:
        """The registry named by a gateway's ``/deployment.json`` (address and block).

        Raises:
            DeploymentError: the document cannot be fetched or names no DatasetRegistry.
        """
        import httpx

        from datasoil.errors import DeploymentError

        try:
            doc = httpx.get(deployment_url, timeout=30).raise_for_status().json()
            address = doc["contracts"]["DatasetRegistry"]["address"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise DeploymentError(
                f"expected a deployment document naming DatasetRegistry at {deployment_url}, "
                f"found none ({exc})"
            ) from exc
        return cls(rpc_url, address, int(doc.get("block", 0)))

    def get(self, dataset_id: int) -> Any:
        """The dataset ``dataset_id`` (:class:`datasoil.chain.registry.Dataset`).

        Raises:
            NotFound: no such dataset, or its registration event is not on the chain.
        """
        from datasoil.chain.events import LogReader, rpc_of
        from datasoil.chain.registry import Dataset
        from datasoil.errors import NotFound
        from datasoil.formats.cid import CidTuple

        functions = self.contract.functions
        if not functions.exists(dataset_id).call():
            count = functions.dataset_count().call()
            raise NotFound(f"expected a registered dataset id (1..{count}), found {dataset_id}")
        event = self.contract.events.DatasetRegistered()
        topic = str(event.topic)
        topic = topic if topic.startswith("0x") else "0x" + topic
        wanted = "0x" + int(dataset_id).to_bytes(32, "big").hex()
        reader = LogReader(rpc_of(self.w3))
        logs = reader.logs(
            self.start_block,
            self.w3.eth.block_number,
            address=self.contract.address,
            topics=[topic, wanted],
        )
        if not logs:
            raise NotFound(f"dataset {dataset_id} exists but its event was not found")
        from web3._utils.events import get_event_data

        log = get_event_data(self.w3.codec, event.abi, _attrs(logs[0]))
        args = log["args"]
        info = functions.info(dataset_id).call()
        owner, row_root, row_count, private, parents = (
            info[0],
            info[1],
            info[2],
            info[3],
            info[4],
        )
        return Dataset(
            id=int(dataset_id),
            owner=str(owner),
            content_cid=str(CidTuple.from_abi(_struct(args["content_cid"]))),
            row_root=bytes(row_root),
            row_count=int(row_count),
            private=bool(private),
            metadata_cid=str(CidTuple.from_abi(_struct(args["metadata_cid"]))),
            license=str(args["license"]),
            parents=tuple(int(p) for p in parents),
            version_of=int(args["version_of"]),
            block=int(log["blockNumber"]),
        )


def _struct(value: Any) -> tuple[Any, ...]:
    """A struct web3 decoded (a dict by field name, in ABI order) as a tuple."""
    return tuple(value.values()) if hasattr(value, "values") else tuple(value)


def _attrs(log: dict[str, Any]) -> Any:
    from hexbytes import HexBytes
    from web3.datastructures import AttributeDict

    return AttributeDict(
        {
            **log,
            "topics": [HexBytes(t) for t in log["topics"]],
            "data": HexBytes(log["data"]),
            "blockNumber": int(log["blockNumber"], 16),
            "logIndex": int(log["logIndex"], 16),
            "transactionIndex": int(log["transactionIndex"], 16),
            "blockHash": HexBytes(log["blockHash"]),
            "transactionHash": HexBytes(log["transactionHash"]),
        }
    )


def load(
    dataset_id: int,
    *,
    registry: Registry | PublicRegistry | None = None,
    store: Any = None,
    account: AccountAPI | None = None,
    market: Market | None = None,
    timeout: float = 120.0,
    rpc_url: str | None = None,
    registry_address: str | None = None,
    deployment_url: str | None = None,
    gateways: Sequence[str] | None = None,
) -> pa.Table:
    """The verified rows of dataset ``dataset_id`` as a pyarrow Table.

    ``registry`` is a :class:`datasoil.chain.registry.Registry` (default: the deployment on
    ape's connected chain). Without ape, for public data: ``rpc_url`` with
    ``registry_address`` or ``deployment_url`` (a gateway's ``/deployment.json``) reads the
    chain with web3.py (:class:`PublicRegistry`), and ``gateways`` (default
    ``DATASOIL_GATEWAYS``, if set) fetches the blocks, verified, into the local store.
    For a private dataset, ``account`` is the buyer whose delivered key opens it
    (``market`` defaults to the deployment's AccessMarket).

    Raises DatasoilError subclasses: NotFound (no such dataset or content), CidMismatch
    (content does not match its CID), ProofError (rows do not reproduce the root),
    KeyTimeout / PurchaseInvalid (no key for a private dataset).
    """
    from datasoil import config
    from datasoil.store import open_store

    if registry is None and rpc_url is not None:
        if deployment_url is not None:
            registry = PublicRegistry.from_deployment(rpc_url, deployment_url)
        elif registry_address is not None:
            registry = PublicRegistry(rpc_url, registry_address)
        else:
            raise DatasoilError(
                "expected registry_address= or deployment_url= with rpc_url=, found neither"
            )
    if store is None and (gateways or config.gateways()):
        from datasoil.store.gateway import open_gateways

        store = open_gateways(gateways, cache=open_store())
    if registry is None or (market is None and account is not None):
        from ape import project

        from datasoil import chain
        from datasoil.chain.registry import Registry

        contracts = chain.contracts(project)
        registry = registry or Registry(contracts.registry, contracts.deployment.block)
        market = market or contracts.market
    store = store or open_store()
    dataset = registry.get(dataset_id)
    with tempfile.TemporaryDirectory(prefix="datasoil-load-") as tmp:
        if dataset.private:
            if account is None or market is None:
                raise DatasoilError(
                    f"expected a buyer account for private dataset #{dataset_id}, found none: "
                    "pass account= (and buy access first)"
                )
            from datasoil.flows import access

            purchase = access.latest_purchase(market, dataset_id, str(account.address))
            if purchase is None:
                raise DatasoilError(
                    f"expected a purchase of dataset #{dataset_id} by {account.address}, "
                    "found none: run `ape run market buy` first"
                )
            chain_id = int(account.provider.chain_id) if hasattr(account, "provider") else 31337
            envelope = access.wait_for_key(market, purchase, timeout=timeout)
            secret, _public = access.encryption_keypair(account, chain_id)
            target = access.fetch(dataset, envelope, secret, Path(tmp), store=store)
            # fetch checked the plaintext CID and the keyed root under the manifest's
            # schema, which the public record set repeats.
            schema = schema_of(metadata(store, dataset.metadata_cid))
            batches = list(rows.read_batches(target, schema))
            return pa.Table.from_batches(batches, schema.to_arrow())
        dest, schema = materialize(dataset, store, Path(tmp))
        return read_verified(dest, schema, dataset.row_root, dataset.row_count)


def content_key_for(
    dataset: Any,
    *,
    key_file: Path | None = None,
    account: AccountAPI | None = None,
    market: Market | None = None,
    timeout: float = 0.0,
) -> bytes | None:
    """The content key of private ``dataset``, or None for a public one.

    From ``key_file`` (the key as hex) when given; else from the local key store when it
    holds the key (the owner's machine); else, with ``account`` and ``market``, from the
    key delivered for ``account``'s latest purchase (opened with the encryption key its
    wallet derives). None when none of these has it.

    Raises:
        CryptoError: ``key_file`` does not hold a 32-byte hex key, or the delivered
            envelope does not open.
    """
    from datasoil.errors import CryptoError
    from datasoil.flows import access
    from datasoil.formats import crypto

    if key_file is not None:
        text = Path(key_file).read_text().strip().removeprefix("0x")
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise CryptoError(
                f"expected a hex content key in {key_file}, found {text[:16]!r}"
            ) from None
        if len(key) != crypto.KEY_SIZE:
            raise CryptoError(
                f"expected a {crypto.KEY_SIZE}-byte content key in {key_file}, found {len(key)}"
            )
        return key
    if not dataset.private:
        return None
    try:
        return access.load_content_key(dataset.content_cid).key
    except DatasoilError:
        pass
    if account is None or market is None:
        return None
    purchase = access.latest_purchase(market, int(dataset.id), str(account.address))
    if purchase is None:
        return None
    try:
        envelope = access.wait_for_key(market, purchase, timeout=timeout)
    except DatasoilError:
        return None
    chain_id = int(account.provider.chain_id) if hasattr(account, "provider") else 31337
    secret, _public = access.encryption_keypair(account, chain_id)
    return crypto.open_envelope(crypto.envelope_from_bytes(envelope), secret)


def materialize(
    dataset: Any, store: Any, directory: Path, *, verify_rows: bool = False
) -> tuple[Path, rows.Schema]:
    """Export a public dataset's content into ``directory``; return its path and schema.

    Every block is verified against its CID on the way. A single-file dataset keeps its
    file name (readers pick the format by suffix); a directory is written as
    ``directory/content``. With ``verify_rows`` the rows must also reproduce the
    registered root (ProofError otherwise).
    """
    if dataset.private:
        raise DatasoilError(
            f"expected a public dataset, found #{dataset.id} private: fetch it with a "
            "delivered key (datasoil.flows.access.fetch)"
        )
    document = metadata(store, dataset.metadata_cid)
    schema = schema_of(document)
    files = [d for d in document.get("distribution", []) if d.get("@type") == "cr:FileObject"]
    name = str(files[0].get("name", "")) if len(files) == 1 else ""
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / (Path(name).name if name else "content")
    store.get(cid_to_tuple(dataset.content_cid).to_cid(), dest)
    if verify_rows:
        read_verified(dest, schema, dataset.row_root, dataset.row_count)
    return dest, schema


def metadata(store: Any, metadata_cid: str) -> dict[str, Any]:
    """A dataset's Croissant document from the store (every block verified)."""
    document: dict[str, Any] = json.loads(b"".join(store.cat(cid_to_tuple(metadata_cid).to_cid())))
    return document


def to_pandas(table: pa.Table) -> Any:
    """The table as a pandas DataFrame (pandas must be installed)."""
    return table.to_pandas()


def to_hf_dataset(table: pa.Table) -> Any:
    """The table as a Hugging Face ``datasets.Dataset`` (the ``[hf]`` extra installs it).

    Raises:
        DatasoilError: ``datasets`` is not installed, or does not import beside the
            installed pyarrow and fsspec (``pip install 'datasoil[hf]'`` pins ones that do).
    """
    try:
        import datasets
    except ModuleNotFoundError as exc:
        if exc.name != "datasets":
            raise DatasoilError(
                f"expected the Hugging Face `datasets` package to import, found {exc}: "
                "pip install 'datasoil[hf]'"
            ) from exc
        raise DatasoilError(
            "expected the Hugging Face `datasets` package, found it missing: "
            "pip install 'datasoil[hf]'"
        ) from exc
    except ImportError as exc:
        raise DatasoilError(
            f"expected the Hugging Face `datasets` package to import, found {exc}: "
            "pip install 'datasoil[hf]'"
        ) from exc
    return datasets.Dataset(table)
