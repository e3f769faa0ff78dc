# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title RowDisputes
@custom:contract-name RowDisputes
@license Apache-2.0
@notice One row of a cleaning claim disputed and judged on chain (docs/proofs.md, "Row
        disputes"). A claimant whose recipe compiled to a judge program commits its hash
        (`commit_judge`, the proof's `judge.hash`) within `response_blocks` of the
        submission. Then, within the claim's challenge window, anyone may dispute input
        row `i` (`dispute_row`, with a bond equal to the claim bond), naming, if they
        like, an earlier row they say it repeats. Anyone may answer before the deadline with the openings: input row `i`
        and its fate record, the output row its fate names if kept, and the earlier row
        (the one its fate says it duplicates, else the disputer's) with its fate record.
        RowJudge runs the claim's program on the row; the claim agrees when the fate
        record says what the judge computed. Agreement credits the disputer's bond to
        the claimant; disagreement, a fate record that breaks the fate rules, or no
        answer by the deadline (`expire_row`) upholds the dispute: the claim fails
        (CleaningProofs credits its whole bond to the disputer) and the disputer's bond
        comes back.
        Claims without a committed program (a step the chain cannot judge:
        docs/cleaning.md) and claims over private data (row bytes are not public) cannot
        be disputed here:
        `dispute_row` refuses them, and CleaningProofs' `dispute` with reproduction
        attestations stays their route.
@dev Stores the program hash per claim, one slot per dispute (disputer, opening block,
     state, outcome) and one for its rows; roots, counts and private flags are read from the registry, the claim's
     facts from CleaningProofs, at each call. Payouts are pull payments (`credits`,
     `withdraw`) in CleaningProofs' bond token; the claimant's slashed bond is credited in
     CleaningProofs itself.
@custom:security No block hash is read: the disputer picks the row, so the answer window
                 (CleaningProofs' `response_blocks`, at least 10 blocks) is bounded by
                 nothing but itself. Every opening is checked against roots and sizes
                 from the registry; an answer whose openings do not verify reverts (it
                 does not address the dispute), so a bad answer from a third party cannot
                 lose the claimant's case. The verdict is a function of committed data
                 alone: any valid answer gets the same one.
"""

from interfaces import ICleaningProofs
from interfaces import IDatasetRegistry
from interfaces import IRowDisputes
from interfaces import IRowJudge
from ethereum.ercs import IERC20
from .modules import fate
from .modules import rfc9162

implements: IRowDisputes


# @dev "None" for a row index (an earlier row not named).
NO_ROW: public(constant(uint256)) = fate.NO_ROW

# @dev Dispute states.
OPEN: public(constant(uint8)) = 1
UPHELD: public(constant(uint8)) = 2
REJECTED: public(constant(uint8)) = 3

# @dev What CleaningProofs is told of a dispute (`row_dispute_changed`).
_OPENED: constant(uint256) = 0
_REJECTED: constant(uint256) = 1
_UPHELD: constant(uint256) = 2

# @dev RowJudge outcomes (judge.vy): kept and dropped are the ones a claim can agree with.
KEPT: public(constant(uint8)) = 1
DROPPED: public(constant(uint8)) = 2

# @dev The longest row an opening carries, and the longest judge program.
MAX_ROW_BYTES: public(constant(uint256)) = 4096

# @dev Field offsets and masks of the packed words.
_BLOCK_SHIFT: constant(uint256) = 160
_STATE_SHIFT: constant(uint256) = 224
_OUTCOME_SHIFT: constant(uint256) = 232
_EARLIER_SHIFT: constant(uint256) = 64
_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_U64: constant(uint256) = (1 << 64) - 1
_U8: constant(uint256) = 255
_NO_STEP: constant(uint256) = 255


# @dev The claims contract whose claims are disputed (it holds their bonds).
proofs: public(immutable(ICleaningProofs))
# @dev The stateless judge.
row_judge: public(immutable(IRowJudge))
# @dev The dataset registry (CleaningProofs').
registry: public(immutable(IDatasetRegistry))
# @dev The bond token (CleaningProofs').
bond_token: public(immutable(IERC20))
# @dev The dispute bond: CleaningProofs' claim bond.
bond: public(immutable(uint256))
# @dev Blocks after a dispute within which an answer must land (CleaningProofs').
response_blocks: public(immutable(uint256))

# @dev The keccak-256 of each claim's judge program (zero: none committed).
judge_program: public(HashMap[uint256, bytes32])
# @dev Row disputes per claim.
row_dispute_count: public(HashMap[uint256, uint256])
# @dev Per claim and dispute: disputer (bits 0-159) | opening block (160-223) | state
# (224-231) | outcome (232-239).
_record: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Per claim and dispute: disputed row (bits 0-63) | earlier row named (64-127).
_rows: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Tokens each account may withdraw (dispute bonds back, or won by a claimant).
credits: public(HashMap[address, uint256])


# @dev A claim's judge program committed: its rows may now be disputed one at a time.
event JudgeCommitted:
    claim_id: indexed(uint256)
    claimant: indexed(address)
    judge_program: bytes32


# @dev A row disputed: answer by `deadline` with the openings of `index` (and `earlier`).
event RowDisputed:
    claim_id: indexed(uint256)
    number: indexed(uint256)
    disputer: indexed(address)
    index: uint256
    earlier: uint256
    deadline: uint256
    bond: uint256


# @dev A row dispute settled: `upheld` when the claim was wrong about the row (or no
# answer came), with the judge's outcome, step and duplicated row (0, 255, 2**64 - 1
# without a verdict).
event RowJudged:
    claim_id: indexed(uint256)
    number: indexed(uint256)
    disputer: indexed(address)
    upheld: bool
    outcome: uint256
    step: uint256
    dup_of: uint256
    paid_to: address


# @dev Credits withdrawn.
event Withdrawn:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(proofs_: address, row_judge_: address):
    """
    @dev Binds the claims contract and the judge; the registry, bond token, bond and
         answer window are CleaningProofs'. Its deployer then enables this contract there
         (`CleaningProofs.enable_row_disputes`).
    @param proofs_ The CleaningProofs contract.
    @param row_judge_ The RowJudge contract.
    """
    assert proofs_ != empty(address), "disputes: zero proofs"
    assert row_judge_ != empty(address), "disputes: zero judge"
    proofs = ICleaningProofs(proofs_)
    row_judge = IRowJudge(row_judge_)
    registry = IDatasetRegistry(staticcall ICleaningProofs(proofs_).registry())
    bond_token = IERC20(staticcall ICleaningProofs(proofs_).bond_token())
    bond = staticcall ICleaningProofs(proofs_).bond()
    response_blocks = staticcall ICleaningProofs(proofs_).response_blocks()


@external
def commit_judge(claim_id: uint256, judge_program_: bytes32):
    """
    @dev The claimant commits the keccak-256 of its recipe's judge program (the proof's
         `judge.hash`), once, within `response_blocks` of the submission and before any
         row can be disputed, so the program is fixed before anyone names a row.
    @param claim_id The claim.
    @param judge_program_ The program's hash; non-zero.
    """
    facts: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    assert facts.claimant == msg.sender, "disputes: not the claimant"
    assert facts.status < 3, "disputes: claim settled"
    assert block.number <= facts.submitted + response_blocks, "disputes: commitment window closed"
    assert self.judge_program[claim_id] == empty(bytes32), "disputes: judge program already committed"
    assert judge_program_ != empty(bytes32), "disputes: zero judge program"
    self.judge_program[claim_id] = judge_program_
    log JudgeCommitted(claim_id=claim_id, claimant=msg.sender, judge_program=judge_program_)


@external
def dispute_row(claim_id: uint256, index: uint256, earlier: uint256 = NO_ROW) -> uint256:
    """
    @dev Disputes input row `index` of an active claim with a judge program, within its
         challenge window, with a bond (approve it first). `earlier` names an earlier row
         the disputer says the row repeats (for a row the claim keeps through a dedupe).
    @param claim_id The claim.
    @param index The disputed input row.
    @param earlier An earlier row with the same key, or NO_ROW.
    @return uint256 The dispute's number (from 0).
    """
    facts: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    assert self.judge_program[claim_id] != empty(bytes32), "disputes: claim has no judge program"
    parent: IDatasetRegistry.DatasetInfo = staticcall registry.info(facts.parent_id)
    child: IDatasetRegistry.DatasetInfo = staticcall registry.info(facts.child_id)
    assert not parent.private and not child.private, "disputes: private rows cannot be judged"
    assert index < convert(parent.row_count, uint256), "disputes: no such input row"
    assert earlier == NO_ROW or earlier < index, "disputes: earlier row not before the row"
    assert staticcall bond_token.allowance(msg.sender, self) >= bond, "disputes: bond not approved"
    assert staticcall bond_token.balanceOf(msg.sender) >= bond, "disputes: bond exceeds balance"
    # Active and within the challenge window, or it reverts; the claim now waits for us.
    extcall proofs.row_dispute_changed(claim_id, msg.sender, _OPENED)

    number: uint256 = self.row_dispute_count[claim_id]
    # Bounded by the number of transactions ever sent.
    self.row_dispute_count[claim_id] = unsafe_add(number, 1)
    self._record[claim_id][number] = (
        convert(msg.sender, uint256) | (block.number << _BLOCK_SHIFT) | (convert(OPEN, uint256) << _STATE_SHIFT)
    )
    self._rows[claim_id][number] = index | (earlier << _EARLIER_SHIFT)
    log RowDisputed(
        claim_id=claim_id,
        number=number,
        disputer=msg.sender,
        index=index,
        earlier=earlier,
        deadline=block.number + response_blocks,
        bond=bond,
    )
    before: uint256 = staticcall bond_token.balanceOf(self)
    assert extcall bond_token.transferFrom(msg.sender, self, bond, default_return_value=True), "disputes: transfer failed"
    assert staticcall bond_token.balanceOf(self) == before + bond, "disputes: token took a fee"
    return number


@external
def answer_row(
    claim_id: uint256,
    number: uint256,
    program: Bytes[MAX_ROW_BYTES],
    opening: IRowDisputes.RowOpening,
    output: IRowDisputes.OutputRow,
    earlier: IRowDisputes.RowOpening,
):
    """
    @dev Answers an open row dispute before its deadline (anyone may): the claim's judge
         program, input row `index` with its fate record, the output row at the index
         the record names when kept (else empty), and the earlier row with its fate
         record when one is needed (the row's fate names a duplicate, or the disputer
         named one; else ignored). Openings that do not verify revert. RowJudge judges the
         row, and the dispute is settled: rejected when the fate record says what the
         judge computed, upheld otherwise (and when a fate record breaks the fate rules).
    @param claim_id The claim.
    @param number The dispute.
    @param program The judge program (keccak-256 equal to the claim's).
    @param opening The disputed input row and its fate record.
    @param output The output row (when kept).
    @param earlier The earlier row and its fate record (when needed).
    """
    record: uint256 = self._open_record(claim_id, number)
    assert block.number <= ((record >> _BLOCK_SHIFT) & _U64) + response_blocks, "disputes: answer deadline passed"
    facts: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    assert keccak256(program) == self.judge_program[claim_id], "disputes: not the claim's judge program"
    parent: IDatasetRegistry.DatasetInfo = staticcall registry.info(facts.parent_id)
    child: IDatasetRegistry.DatasetInfo = staticcall registry.info(facts.child_id)
    rows_in: uint256 = convert(parent.row_count, uint256)
    rows_out: uint256 = convert(child.row_count, uint256)
    targets: uint256 = self._rows[claim_id][number]
    index: uint256 = targets & _U64

    assert rfc9162._verify_inclusion(
        rfc9162._leaf_hash(opening.row), index, rows_in, opening.path, parent.row_root
    ), "disputes: input row does not open"
    assert fate._opens(opening.fate, index, rows_in, opening.fate_path, facts.fate_root), "disputes: fate record does not open"
    ok: bool = False
    out: uint256 = 0
    ok, out = fate._rules(opening.fate, index, rows_in, rows_out)
    if not ok:
        self._settle(claim_id, number, record, facts.claimant, True, 0, _NO_STEP, NO_ROW)
        return
    if out != fate.NO_ROW:
        assert rfc9162._verify_inclusion(
            rfc9162._leaf_hash(output.row), out, rows_out, output.path, child.row_root
        ), "disputes: output row does not open"
    step: uint256 = convert(slice(opening.fate, 25, 1), uint256)
    dup_of: uint256 = convert(slice(opening.fate, 26, 8), uint256)
    # The earlier row: the one the fate record says it duplicates, else the disputer's.
    j: uint256 = dup_of
    if j == fate.NO_ROW:
        j = targets >> _EARLIER_SHIFT
    j_step: uint256 = _NO_STEP
    if j != fate.NO_ROW:
        assert rfc9162._verify_inclusion(
            rfc9162._leaf_hash(earlier.row), j, rows_in, earlier.path, parent.row_root
        ), "disputes: earlier row does not open"
        assert fate._opens(earlier.fate, j, rows_in, earlier.fate_path, facts.fate_root), "disputes: earlier fate record does not open"
        ok, out = fate._rules(earlier.fate, j, rows_in, rows_out)
        if not ok:
            self._settle(claim_id, number, record, facts.claimant, True, 0, _NO_STEP, NO_ROW)
            return
        j_step = convert(slice(earlier.fate, 25, 1), uint256)

    outcome: uint256 = 0
    judged_step: uint256 = 0
    judged_dup: uint256 = 0
    row: Bytes[4192] = b""
    no_row: Bytes[MAX_ROW_BYTES] = b""
    if j == fate.NO_ROW:
        outcome, judged_step, judged_dup, row = staticcall row_judge.judge(
            opening.row, no_row, program, index, step, dup_of, j, j_step
        )
    else:
        outcome, judged_step, judged_dup, row = staticcall row_judge.judge(
            opening.row, earlier.row, program, index, step, dup_of, j, j_step
        )
    agrees: bool = False
    if outcome == convert(KEPT, uint256):
        agrees = step == _NO_STEP and row == output.row
    elif outcome == convert(DROPPED, uint256):
        agrees = step == judged_step and dup_of == judged_dup
    self._settle(claim_id, number, record, facts.claimant, not agrees, outcome, judged_step, judged_dup)


@external
def expire_row(claim_id: uint256, number: uint256):
    """
    @dev Upholds an open row dispute nobody answered by its deadline; anyone may call it.
    @param claim_id The claim.
    @param number The dispute.
    """
    record: uint256 = self._open_record(claim_id, number)
    assert block.number > ((record >> _BLOCK_SHIFT) & _U64) + response_blocks, "disputes: answer deadline not passed"
    facts: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    self._settle(claim_id, number, record, facts.claimant, True, 0, _NO_STEP, NO_ROW)


@external
def withdraw() -> uint256:
    """
    @dev Sends the caller's credits (dispute bonds back, or won by a claimant).
    @return uint256 The amount sent.
    """
    amount: uint256 = self.credits[msg.sender]
    assert amount != 0, "disputes: nothing to withdraw"
    self.credits[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall bond_token.transfer(msg.sender, amount, default_return_value=True), "disputes: transfer failed"
    return amount


@external
@view
def row_dispute(claim_id: uint256, number: uint256) -> IRowDisputes.RowDisputeView:
    """
    @dev One row dispute.
    @param claim_id The claim.
    @param number The dispute.
    @return RowDisputeView The dispute.
    """
    record: uint256 = self._record[claim_id][number]
    assert record != 0, "disputes: unknown dispute"
    targets: uint256 = self._rows[claim_id][number]
    opened: uint256 = (record >> _BLOCK_SHIFT) & _U64
    return IRowDisputes.RowDisputeView(
        disputer=convert(record & _ADDRESS_MASK, address),
        index=targets & _U64,
        earlier=targets >> _EARLIER_SHIFT,
        opened=opened,
        deadline=opened + response_blocks,
        state=convert((record >> _STATE_SHIFT) & _U8, uint8),
        outcome=convert((record >> _OUTCOME_SHIFT) & _U8, uint8),
    )


@internal
@view
def _open_record(claim_id: uint256, number: uint256) -> uint256:
    """
    @dev An open dispute's record; reverts unless it exists and is open.
    @param claim_id The claim.
    @param number The dispute.
    @return uint256 The packed record.
    """
    record: uint256 = self._record[claim_id][number]
    assert record != 0, "disputes: unknown dispute"
    assert (record >> _STATE_SHIFT) & _U8 == convert(OPEN, uint256), "disputes: dispute not open"
    return record


@internal
def _settle(
    claim_id: uint256,
    number: uint256,
    record: uint256,
    claimant: address,
    upheld: bool,
    outcome: uint256,
    step: uint256,
    dup_of: uint256,
):
    """
    @dev Closes a dispute. Upheld: the disputer's bond comes back and CleaningProofs fails
         the claim (if still active) crediting the claim bond to the disputer. Rejected:
         the disputer's bond is credited to the claimant.
    @param claim_id The claim.
    @param number The dispute.
    @param record The dispute's record.
    @param claimant The claimant.
    @param upheld Whether the claim was wrong about the row (or did not answer).
    @param outcome The judge's outcome (0: no verdict).
    @param step The judged step.
    @param dup_of The judged duplicate.
    """
    disputer: address = convert(record & _ADDRESS_MASK, address)
    state: uint8 = REJECTED
    paid_to: address = claimant
    if upheld:
        state = UPHELD
        paid_to = disputer
    # Outcomes are below 256.
    self._record[claim_id][number] = (
        (record & ((1 << _STATE_SHIFT) - 1))
        | (convert(state, uint256) << _STATE_SHIFT)
        | ((outcome & _U8) << _OUTCOME_SHIFT)
    )
    self.credits[paid_to] += bond
    log RowJudged(
        claim_id=claim_id,
        number=number,
        disputer=disputer,
        upheld=upheld,
        outcome=outcome,
        step=step,
        dup_of=dup_of,
        paid_to=paid_to,
    )
    change: uint256 = _REJECTED
    if upheld:
        change = _UPHELD
    extcall proofs.row_dispute_changed(claim_id, disputer, change)
