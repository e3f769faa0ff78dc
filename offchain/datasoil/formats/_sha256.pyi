"""Types of the C module ``datasoil.formats._sha256`` (_sha256.c): SHA-256 of many messages."""

from typing_extensions import Buffer

def items(
    data: Buffer, offsets: Buffer, wide: bool, start: int, count: int, prefix: Buffer = ..., /
) -> bytes:
    """SHA-256 of ``prefix`` + ``data[offsets[i]:offsets[i + 1]]`` for each ``i`` from
    ``start``, ``count`` of them; ``offsets`` are int64 when ``wide``, else int32."""

def fixed(data: Buffer, width: int, prefix: Buffer = ..., /) -> bytes:
    """SHA-256 of ``prefix`` + each ``width``-byte item of ``data``."""

def backend() -> str:
    """``"sha-ni"`` or ``"portable"``: the compression function in use."""

def use(name: str, /) -> str:
    """Compress with ``name`` from now on; returns the previous name."""
