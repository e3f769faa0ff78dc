# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title JudgeMock
@custom:contract-name JudgeMock
@license Apache-2.0
@notice Test only: exposes the `rows` and `judge` modules' internal functions.
"""

from ..modules import judge
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


@external
@pure
def run(
    row: Bytes[rows.MAX_ROW_BYTES],
    earlier: Bytes[rows.MAX_ROW_BYTES],
    program: Bytes[rows.MAX_PROGRAM_BYTES],
    row_step: uint256,
    row_dup: uint256,
    earlier_index: uint256,
    earlier_step: uint256,
) -> (uint256, uint256, uint256, Bytes[rows.ENCODED_BYTES]):
    """
    @dev `judge._judge` on a row, an earlier row (empty: none) and a program.
    @param row The disputed row's bytes.
    @param earlier The earlier row's bytes, or empty.
    @param program The judge program.
    @param row_step The step the row's fate names (255: kept).
    @param row_dup The row its fate says it duplicates (2**64 - 1: none).
    @param earlier_index The earlier row's index (2**64 - 1: none).
    @param earlier_step The step the earlier row's fate names (255: kept).
    @return uint256 The outcome.
    @return uint256 The step.
    @return uint256 The duplicated row.
    @return Bytes The output row when kept.
    """
    return judge._judge(
        concat(row, earlier, program, empty(bytes32)),
        len(row),
        len(earlier),
        len(program),
        row_step,
        row_dup,
        earlier_index,
        earlier_step,
    )
