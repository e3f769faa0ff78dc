# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title fate
@custom:contract-name fate
@license Apache-2.0
@notice The `datasoil-fate-v1` record on chain: what happened to one input row of a
        cleaning, 34 bytes, big-endian, no framing (docs/cleaning.md, docs/proofs.md):

            offset  size  field
                 0     8  input_index   the input row's position
                 8     1  kept          0 or 1
                 9     8  output_index  its position in the output; NO_ROW when dropped
                17     8  kept_before   input rows before it that were kept
                25     1  step          the recipe step that dropped it; NO_STEP when kept
                26     8  dup_of        the earlier row it duplicates; NO_ROW when none

        `_opens` checks a record against a claim's fate root (one RFC 9162 leaf per
        input row, SHA-256(0x00 || record), never keyed); `_rules` decodes it and
        checks the fate rules. The off-chain writer is
        `datasoil.engine.clean.FateRecord.encode`; tests/boa/test_fate.py holds the two
        to the same layout and rules through contracts/test/FateMock.vy.
@dev A pure module: no storage, no initialisation; import it and call its internal
     functions (`from .modules import fate` ... `fate._rules(...)`).
@custom:security The fate tree's size MUST be the parent's row count from the registry,
                 never the caller's (see rfc9162.vy).
"""

from . import rfc9162

# @dev The record's length in bytes.
SIZE: constant(uint256) = 34

# @dev "None" in a u64 field (output_index of a dropped row, dup_of of a row that
# duplicates none): 2**64 - 1.
NO_ROW: constant(uint256) = 18446744073709551615

# @dev "None" in the step field (a kept row): 0xff.
NO_STEP: constant(uint256) = 255

# @dev Field offsets (bytes from the start of the record) and widths.
_INPUT_OFFSET: constant(uint256) = 0
_KEPT_OFFSET: constant(uint256) = 8
_OUTPUT_OFFSET: constant(uint256) = 9
_KEPT_BEFORE_OFFSET: constant(uint256) = 17
_STEP_OFFSET: constant(uint256) = 25
_DUP_OF_OFFSET: constant(uint256) = 26
_U64_BYTES: constant(uint256) = 8
_U8_BYTES: constant(uint256) = 1


@internal
@pure
def _opens(
    fate: Bytes[SIZE],
    index: uint256,
    rows_in: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
    fate_root: bytes32,
) -> bool:
    """
    @dev Whether a fate record is SIZE bytes and proven to be leaf `index` of the fate
         tree under `fate_root`.
    @param fate The fate record.
    @param index The input row it is the fate of.
    @param rows_in The parent's row count (the fate tree's size, from the registry).
    @param path The audit path, leaf to root.
    @param fate_root The claim's fate root.
    @return bool True when the record opens.
    """
    if len(fate) != SIZE:
        return False
    return rfc9162._verify_inclusion(rfc9162._leaf_hash(fate), index, rows_in, path, fate_root)


@internal
@pure
def _rules(
    fate: Bytes[SIZE], index: uint256, rows_in: uint256, rows_out: uint256
) -> (bool, uint256):
    """
    @dev Decodes the fate record of input row `index` and checks the fate rules:
         it names `index`; `kept` is 0 or 1; `kept_before` is at most `index` and
         `kept_before + kept` at most `rows_out` (equal to it for the last input row);
         `dup_of`, when set, is below `index`; a kept row's output index is
         `kept_before` and it names no step and no duplicate; a dropped row has no
         output index and names its step.
    @param fate The fate record (SIZE bytes: `_opens` checked it).
    @param index The input row it is the fate of.
    @param rows_in The parent's row count.
    @param rows_out The child's row count.
    @return bool True when the record keeps every rule.
    @return uint256 The output index of a kept row; NO_ROW for a dropped one or a broken rule.
    """
    input_index: uint256 = convert(slice(fate, _INPUT_OFFSET, _U64_BYTES), uint256)
    kept: uint256 = convert(slice(fate, _KEPT_OFFSET, _U8_BYTES), uint256)
    output: uint256 = convert(slice(fate, _OUTPUT_OFFSET, _U64_BYTES), uint256)
    kept_before: uint256 = convert(slice(fate, _KEPT_BEFORE_OFFSET, _U64_BYTES), uint256)
    step: uint256 = convert(slice(fate, _STEP_OFFSET, _U8_BYTES), uint256)
    dup_of: uint256 = convert(slice(fate, _DUP_OF_OFFSET, _U64_BYTES), uint256)
    if input_index != index or kept > 1:
        return False, NO_ROW
    # Rows kept before this one: no more than the rows before it, nor the output rows.
    if kept_before > index or kept_before + kept > rows_out:
        return False, NO_ROW
    # The last input row closes the count: every output row is accounted for.
    if index + 1 == rows_in and kept_before + kept != rows_out:
        return False, NO_ROW
    if dup_of != NO_ROW and dup_of >= index:
        return False, NO_ROW
    if kept == 1:
        if output != kept_before or step != NO_STEP or dup_of != NO_ROW:
            return False, NO_ROW
        return True, output
    if output != NO_ROW or step == NO_STEP:
        return False, NO_ROW
    return True, NO_ROW
