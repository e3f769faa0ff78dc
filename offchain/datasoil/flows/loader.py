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
from pathlib import Path
from typing import Any

import pyarrow as pa

from datasoil.errors import DatasoilError, ProofError
from datasoil.formats import merkle, rows
from datasoil.formats.cid import cid_to_tuple
from datasoil.formats.croissant import schema_of

__all__ = [
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


def load(
    dataset_id: int,
    *,
    registry: Any = None,
    store: Any = None,
    account: Any = None,
    market: Any = None,
    timeout: float = 120.0,
) -> pa.Table:
    """The verified rows of dataset ``dataset_id`` as a pyarrow Table.

    ``registry`` is a :class:`datasoil.chain.registry.Registry` (default: the deployment on
    ape's connected chain). For a private dataset, ``account`` is the buyer whose
    delivered key opens it (``market`` defaults to the deployment's AccessMarket).

    Raises DatasoilError subclasses: NotFound (no such dataset or content), CidMismatch
    (content does not match its CID), ProofError (rows do not reproduce the root),
    KeyTimeout / PurchaseInvalid (no key for a private dataset).
    """
    from datasoil.store import open_store

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
    account: Any = None,
    market: Any = None,
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
    """The table as a Hugging Face ``datasets.Dataset`` (``datasets`` must be installed)."""
    try:
        import datasets
    except ImportError as exc:
        raise DatasoilError(
            "expected the Hugging Face `datasets` package, found it missing: pip install datasets"
        ) from exc
    return datasets.Dataset(table)
