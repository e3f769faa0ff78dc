"""`--pin-remote NAME` for the `ape run publish` and `ape run clean` scripts.

After a dataset is registered and pinned locally, :func:`pin_or_exit` pins its CIDs on a
named Pinning Service API (:func:`datasoil.flows.publish.pin_remote`) and logs one line per
CID once it is ``pinned``; a failure there is one line on stderr and exit status 1, saying
that the dataset is registered but not pinned remotely.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from datasoil.errors import DatasoilError
from datasoil.flows import publish

__all__ = ["pin_or_exit"]


def pin_or_exit(logger: Any, name: str, cids: Sequence[str], dataset_id: int) -> None:
    """Pin ``cids`` of dataset ``dataset_id`` on the service ``name``, or exit with status 1."""
    try:
        for line in publish.pin_remote(name, cids, label=f"dataset-{dataset_id}"):
            logger.success(line)
    except DatasoilError as exc:
        click.echo(
            f"ERROR: dataset #{dataset_id} is registered but not pinned on {name}: {exc}",
            err=True,
        )
        sys.exit(1)
