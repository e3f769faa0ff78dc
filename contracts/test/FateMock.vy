# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title FateMock
@custom:contract-name FateMock
@license Apache-2.0
@notice Test only: exposes the `fate` module's internal functions and constants.
"""

from ..modules import fate
from ..modules import rfc9162


@external
@pure
def size() -> uint256:
    """
    @dev `fate.SIZE`.
    @return uint256 The record's length in bytes.
    """
    return fate.SIZE


@external
@pure
def no_row() -> uint256:
    """
    @dev `fate.NO_ROW`.
    @return uint256 "None" in a u64 field.
    """
    return fate.NO_ROW


@external
@pure
def no_step() -> uint256:
    """
    @dev `fate.NO_STEP`.
    @return uint256 "None" in the step field.
    """
    return fate.NO_STEP


@external
@pure
def opens(
    record: Bytes[fate.SIZE],
    index: uint256,
    rows_in: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
    fate_root: bytes32,
) -> bool:
    """
    @dev `fate._opens`.
    @param record The fate record.
    @param index The input row.
    @param rows_in The fate tree's size.
    @param path The audit path.
    @param fate_root The fate root.
    @return bool Whether the record opens.
    """
    return fate._opens(record, index, rows_in, path, fate_root)


@external
@pure
def rules(
    record: Bytes[fate.SIZE], index: uint256, rows_in: uint256, rows_out: uint256
) -> (bool, uint256):
    """
    @dev `fate._rules`.
    @param record The fate record.
    @param index The input row.
    @param rows_in The parent's row count.
    @param rows_out The child's row count.
    @return bool Whether the record keeps the fate rules.
    @return uint256 The kept row's output index, else NO_ROW.
    """
    return fate._rules(record, index, rows_in, rows_out)
