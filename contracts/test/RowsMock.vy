# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title RowsMock
@custom:contract-name RowsMock
@license Apache-2.0
@notice Test only: exposes the `rows` module's internal functions (RowJudge runs `judge`).
"""

from ..modules import rows


@external
@pure
def decode(row: Bytes[rows.MAX_ROW_BYTES]) -> (bool, DynArray[rows.Value, rows.MAX_COLUMNS]):
    """
    @dev `rows._decode` of a row alone in its buffer.
    @param row The row's bytes.
    @return bool Whether it is a rows-v1 row.
    @return DynArray Its values.
    """
    return rows._decode(concat(row, empty(bytes32)), 0, len(row))


@external
@pure
def reencode(row: Bytes[rows.MAX_ROW_BYTES]) -> (bool, Bytes[rows.ENCODED_BYTES]):
    """
    @dev `rows._encode` of `rows._decode` of a row.
    @param row The row's bytes.
    @return bool Whether it decoded and encoded.
    @return Bytes The row written back.
    """
    buf: Bytes[rows.BUFFER_BYTES] = concat(row, empty(bytes32))
    ok: bool = False
    values: DynArray[rows.Value, rows.MAX_COLUMNS] = []
    ok, values = rows._decode(buf, 0, len(row))
    if not ok:
        return False, b""
    return rows._encode(buf, values)


@external
@pure
def to_float(num: int256) -> uint256:
    """
    @dev `rows._to_float`.
    @param num An integer.
    @return uint256 The nearest double's bits.
    """
    return rows._to_float(num)
