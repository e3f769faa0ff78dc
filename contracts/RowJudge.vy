# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title RowJudge
@custom:contract-name RowJudge
@license Apache-2.0
@notice Judges one input row of a cleaning on chain: runs a `datasoil-judge-v1` program
        (docs/formats/judge.md) on the row, with the earlier row its dedupe is checked
        against, and returns what the row's fate record must say. Stateless and pure:
        anyone may call it; RowDisputes does, to settle a disputed row.
@dev Its own contract because the reader and the judge (contracts/modules/rows.vy and
     judge.vy) are 24.5 KB of code: with CleaningProofs (24 KB) or the dispute game
     they would pass EIP-170's 24,576-byte limit.
@custom:security Pure: no storage, no calls; every read of the row, the earlier row
                 and the program is bounds-checked, and a malformed program or row is an
                 outcome (INVALID), never a revert.
"""

from interfaces import IRowJudge
from .modules import judge as judging
from .modules import rows

implements: IRowJudge


@external
@pure
def judge(
    row: Bytes[rows.MAX_ROW_BYTES],
    earlier: Bytes[rows.MAX_ROW_BYTES],
    program: Bytes[rows.MAX_PROGRAM_BYTES],
    row_index: uint256,
    row_step: uint256,
    row_dup: uint256,
    earlier_index: uint256,
    earlier_step: uint256,
) -> (uint256, uint256, uint256, Bytes[rows.ENCODED_BYTES]):
    """
    @dev Runs `program` on the input row `row`, with `earlier` (empty: none) as the
         earlier row dedupe steps compare it with.
    @param row The disputed input row's DAG-CBOR bytes.
    @param earlier The earlier row's bytes (the row the fate's dup_of names, or one a
           disputer names), or empty.
    @param program The judge program.
    @param row_index The disputed row's input index (drop_rows names rows by it).
    @param row_step The step the row's fate record says dropped it (255: kept).
    @param row_dup The row its fate record says it duplicates (2**64 - 1: none).
    @param earlier_index The earlier row's index (2**64 - 1: none).
    @param earlier_step The step the earlier row's fate record says dropped it (255: kept).
    @return uint256 The outcome: 1 kept, 2 dropped, 3 failed (a strict cast), 4 a
            duplicate the earlier row does not confirm, 5 invalid.
    @return uint256 The dropping, failing or unconfirmed step (255 otherwise).
    @return uint256 The earlier row a dedupe drop duplicates (2**64 - 1 otherwise).
    @return Bytes The output row, re-encoded, when kept.
    """
    return judging._judge(
        concat(row, earlier, program, empty(bytes32)),
        len(row),
        len(earlier),
        len(program),
        row_index,
        row_step,
        row_dup,
        earlier_index,
        earlier_step,
    )
