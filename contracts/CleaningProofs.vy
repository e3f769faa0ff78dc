# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title CleaningProofs
@custom:contract-name CleaningProofs
@license Apache-2.0
@notice Bonded cleaning claims parent -> child: the child's owner commits a recipe
        CID, a proof CID and a fate root (one RFC 9162 leaf per input row, the
        34-byte `datasoil-fate-v1` record of docs/cleaning.md) and locks a bond.
        During a challenge window anyone may open structural audits, each paid for
        by its opener with a deposit and a commitment to a secret. Once the block
        after the opening is mined the auditor reveals the secret; the seed mixes it
        with that block's hash and picks SAMPLES input rows and SAMPLES output rows,
        which the claimant must open (rows, fate records, output rows) against the
        registered roots before a deadline. Rows longer than MAX_ROW_BYTES are opened
        first, one transaction each (`open_row`). A missed deadline or a failed check
        slashes the bond (most of it burned, a share to the auditor, whose deposit
        comes back); a passed audit pays the auditor's deposit to the claimant, and so
        does an audit its auditor never revealed. After the window, `finalize` releases
        the bond of a claim that has not failed.
        What the chain checks is structure: the rows opened exist at their indices,
        the fate records are committed and consistent, kept rows land where their
        fate says. Whether a row was cleaned *correctly* is not judged here: anyone
        re-applies the recipe to the sampled rows (public in `AuditPassed` and
        `RowOpened` calldata) or to the whole dataset, and records the verdict as a
        reproduction attestation in the Attestations contract (metric set
        `reproduction_metric_set(claim_id)`). `dispute` puts a bond behind a
        refutation; it blocks nothing, and a claim that finalises keeps
        DISPUTE_FORFEIT_BPS of each dispute bond.
        A claim whose recipe compiles to a judge program (docs/formats/judge.md) can
        also have single rows judged on chain: the RowDisputes contract enabled here
        holds the program's commitment and runs the game (`dispute_row`, an answer with
        the openings, RowJudge's verdict) and reports each dispute back
        (`row_dispute_changed`); a disagreement fails the claim and credits the whole
        bond to the disputer, and the claim cannot finalise while a row dispute is open.
@dev Storage per claim is four slots (packed header, ids + dispute count, fate root,
     audit counts), one slot per audit plus its commitment/seed, one per long row
     opened and one per dispute; roots, counts and private flags are read from the
     registry (immutable there) whenever they are needed; CIDs and the sampled rows
     live in events only. Nothing loops over a claim's audits or disputes: there is
     no per-claim cap anyone could fill, and settlements that touch many parties are
     pulled one at a time (`reclaim`, `settle_dispute`).
     Payouts are pull payments (`credits`, `withdraw`): one recipient a token refuses
     (a blocklisted address, a reverting hook) must not block the others' settlement
     or the slashing of a failed claim. Burned tokens stay in this contract for ever:
     no function moves them (`burned` counts them), which works with every ERC-20,
     including tokens that forbid transfers to 0x0 or 0x...dEaD.
@custom:security The seed is keccak256(secret, blockhash(opened + 1), claim, audit):
                 the auditor is bound to its secret before that block exists, and
                 whoever produces that block does not know the secret, so neither
                 alone can choose the sample. The only freedom left is not to reveal,
                 which forfeits the deposit to the claimant. The block hash is read
                 once, at the reveal, within MAX_REVEAL_BLOCKS (256: BLOCKHASH's own
                 reach, so no EIP-2935 history contract is trusted); the seed is
                 stored then, so the answer deadline is not bounded by any block-hash
                 window. Tree sizes always come from the registry (row counts), never
                 from the caller: the RFC 9162 algorithm accepts some relabelled
                 proofs. Every token transfer in is checked against the balance
                 change, so fee-on-transfer bond tokens are refused.
"""

from interfaces import ICleaningProofs
from ethereum.ercs import IERC20
from interfaces import IDatasetRegistry
from snekmate.utils import block_hash
from .modules import fate
from .modules import rfc9162

implements: ICleaningProofs


# @dev Input and output rows each audit samples.
SAMPLES: public(constant(uint256)) = 4

# @dev Row slots `open_row` takes per audit: 0..SAMPLES-1 the input row of input
# opening j, SAMPLES..2*SAMPLES-1 the output row of input opening j.
ROW_SLOTS: public(constant(uint256)) = 8

# @dev The longest row `open_row` takes: its calldata (40 gas a byte under EIP-7623's
# floor) must fit EIP-7825's 2**24 gas per transaction.
MAX_LONG_ROW_BYTES: public(constant(uint256)) = rfc9162.MAX_LONG_ROW_BYTES

# @dev The shortest answer window: room for an `open_row` per slot and the answer, one
# transaction a block, with a block to spare.
MIN_RESPONSE_BLOCKS: public(constant(uint256)) = ROW_SLOTS + 2

# @dev Audits `claim` lists (the latest ones); a claim may have any number.
CLAIM_VIEW_AUDITS: public(constant(uint256)) = 16

# @dev Share of a slashed bond paid to the auditor, in basis points; the rest burns.
AUDITOR_SHARE_BPS: public(constant(uint256)) = 2000

# @dev Share of a dispute bond paid to the claimant when the claim finalises anyway.
DISPUTE_FORFEIT_BPS: public(constant(uint256)) = 5000

# @dev The longest reveal window: the seed block's hash must be in BLOCKHASH's reach.
MAX_REVEAL_BLOCKS: public(constant(uint256)) = 256

# @dev Claim status codes returned by `status` and `claim`.
PENDING: public(constant(uint8)) = 0
AUDITED: public(constant(uint8)) = 1
DISPUTED: public(constant(uint8)) = 2
FINALISED: public(constant(uint8)) = 3
FAILED: public(constant(uint8)) = 4

# @dev What RowDisputes reports of a row dispute (`row_dispute_changed`).
_ROW_DISPUTE_OPENED: constant(uint256) = 0
_ROW_DISPUTE_REJECTED: constant(uint256) = 1
_ROW_DISPUTE_UPHELD: constant(uint256) = 2

# @dev Audit states.
AUDIT_OPEN: public(constant(uint8)) = 1
AUDIT_PASSED: public(constant(uint8)) = 2
AUDIT_FAILED: public(constant(uint8)) = 3
AUDIT_VOID: public(constant(uint8)) = 4

# @dev Why an audit failed (`reason`).
REASON_INPUT_ROW: public(constant(uint8)) = 1
REASON_FATE_OPENING: public(constant(uint8)) = 2
REASON_FATE_RULE: public(constant(uint8)) = 3
REASON_OUTPUT_ROW: public(constant(uint8)) = 4
REASON_NO_RESPONSE: public(constant(uint8)) = 5

# @dev The RFC 9162 root of the empty tree (a 0-row parent's fate root).
EMPTY_ROOT: constant(bytes32) = 0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# @dev Basis points in a whole.
_BPS: constant(uint256) = 10000

# @dev Blocks from an audit's opening to its earliest reveal: the seed block (the one
# after the opening) must be mined first.
_REVEAL_DELAY: constant(uint256) = 2

# @dev Prefix of the reproduction metric set in the Attestations contract.
REPRODUCTION_TAG: constant(Bytes[24]) = b"datasoil.reproduction.v1"

# @dev Internal claim states (packed in the header).
_ACTIVE: constant(uint256) = 1
_FINALISED: constant(uint256) = 2
_FAILED: constant(uint256) = 3

# @dev Field offsets of the packed words (see the storage comments).
_BLOCK_SHIFT: constant(uint256) = 160
_STATE_SHIFT: constant(uint256) = 224
_REASON_SHIFT: constant(uint256) = 232
_REVEAL_SHIFT: constant(uint256) = 240
_CHILD_SHIFT: constant(uint256) = 32
_DISPUTES_SHIFT: constant(uint256) = 64
_ROW_DISPUTES_SHIFT: constant(uint256) = 128
_OPEN_SHIFT: constant(uint256) = 128
# @dev One audit opened and one open, as added to the counts word.
_ONE_AUDIT: constant(uint256) = 1 | (1 << _OPEN_SHIFT)
# @dev One open audit, as subtracted from the counts word.
_ONE_OPEN: constant(uint256) = 1 << _OPEN_SHIFT

# @dev Field masks.
_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_LOW_224: constant(uint256) = (1 << _STATE_SHIFT) - 1
_U128: constant(uint256) = (1 << 128) - 1
_U64: constant(uint256) = (1 << 64) - 1
_U32: constant(uint256) = (1 << 32) - 1
_U16: constant(uint256) = (1 << 16) - 1
_U8: constant(uint256) = 255


# @dev The dataset registry the roots, counts and owners come from.
registry: public(immutable(IDatasetRegistry))
# @dev The Attestations contract holding reproduction attestations (read by consumers).
attestations: public(immutable(address))
# @dev The ERC-20 of bonds and deposits.
bond_token: public(immutable(IERC20))
# @dev The claimant's bond, also the dispute bond.
bond: public(immutable(uint256))
# @dev The deposit an audit takes (sized to cover a typical answer: docs/proofs.md).
audit_deposit: public(immutable(uint256))
# @dev Blocks after submission during which audits and disputes may open.
challenge_blocks: public(immutable(uint256))
# @dev Blocks after an audit's opening within which its auditor must reveal.
reveal_blocks: public(immutable(uint256))
# @dev Blocks after an audit's reveal within which the claimant must answer.
response_blocks: public(immutable(uint256))
# @dev The account that deployed this contract: the one that may enable row disputes.
_deployer: immutable(address)

# @dev The number of claims; ids run from 1 to `claim_count`.
claim_count: public(uint256)
# @dev Claim header: claimant (bits 0-159) | submission block (160-223) | state (224-231).
_head: HashMap[uint256, uint256]
# @dev Claim ids: parent id (bits 0-31) | child id (32-63) | disputes (64-127) | open row
# disputes (128-191).
_ids: HashMap[uint256, uint256]
# @dev The claim's fate root.
_fate_root: HashMap[uint256, bytes32]
# @dev Audit counts per claim: audits opened (bits 0-127) | audits open (128-255).
_counts: HashMap[uint256, uint256]
# @dev Audit record per claim and audit number: auditor (bits 0-159) | opening block
# (160-223) | state (224-231) | failure reason (232-239) | reveal block minus opening
# block (240-255; 0 before the reveal).
_audit: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Per claim and audit number: the auditor's commitment until the reveal, then the seed.
_seed: HashMap[uint256, HashMap[uint256, bytes32]]
# @dev Leaf hashes of rows opened with `open_row`, per claim, by audit * ROW_SLOTS + slot.
_row_leaf: HashMap[uint256, HashMap[uint256, bytes32]]
# @dev Whether an account's dispute of a claim awaits settlement.
disputed: public(HashMap[uint256, HashMap[address, bool]])
# @dev Tokens each account may withdraw.
credits: public(HashMap[address, uint256])
# @dev Tokens burned by slashing, locked in this contract for ever.
burned: public(uint256)
# @dev Per child dataset: its latest claim (another waits until that one is settled).
_child_claim: HashMap[uint256, uint256]
# @dev The RowDisputes contract that may open and close row disputes (zero until enabled).
row_disputes: public(address)


# @dev A bonded claim; the CIDs and the registry's facts at submission for indexers.
event ClaimSubmitted:
    claim_id: indexed(uint256)
    parent_id: indexed(uint256)
    child_id: indexed(uint256)
    claimant: address
    recipe_cid: IDatasetRegistry.PackedCid
    proof_cid: IDatasetRegistry.PackedCid
    fate_root: bytes32
    parent_root: bytes32
    child_root: bytes32
    rows_in: uint64
    rows_out: uint64
    bond: uint256


# @dev The RowDisputes contract enabled, once.
event RowDisputesEnabled:
    row_disputes: indexed(address)


# @dev An audit opened with the auditor's commitment; its seed mixes the secret with
# the hash of block `seed_block`, revealed by `reveal_deadline`.
event AuditOpened:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    auditor: indexed(address)
    commitment: bytes32
    seed_block: uint256
    reveal_deadline: uint256
    deposit: uint256


# @dev An audit's secret revealed: its seed is fixed and the claimant answers by `deadline`.
event AuditRevealed:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    secret: bytes32
    seed: bytes32
    deadline: uint256


# @dev A long row opened ahead of the answer; its bytes are this transaction's calldata.
event RowOpened:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    slot: uint256
    leaf: bytes32
    length: uint256


# @dev An audit answered correctly; the openings' rows for re-execution off chain
# (empty for rows opened with `open_row`: see their RowOpened transactions).
event AuditPassed:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    seed: bytes32
    input_indices: DynArray[uint256, SAMPLES]
    input_rows: DynArray[Bytes[rfc9162.MAX_ROW_BYTES], SAMPLES]
    input_leaves: DynArray[bytes32, SAMPLES]
    fates: DynArray[Bytes[fate.SIZE], SAMPLES]
    output_indices: DynArray[uint256, SAMPLES]
    output_sources: DynArray[uint256, SAMPLES]


# @dev An audit failed (bad opening, broken fate rule, or no answer in time).
event AuditFailed:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    reason: uint8
    opening: uint256


# @dev A claim's bond slashed: `burned` locked for ever, `auditor_share` credited.
event ClaimSlashed:
    claim_id: indexed(uint256)
    auditor: indexed(address)
    burned: uint256
    auditor_share: uint256


# @dev An audit made void, its deposit credited to `paid_to`: the auditor's own when
# the claim failed another audit, the claimant when the auditor never revealed.
event AuditVoided:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    auditor: indexed(address)
    paid_to: address


# @dev A claim disputed: settled by reproduction attestations under `metric_set`.
event ClaimDisputed:
    claim_id: indexed(uint256)
    disputer: indexed(address)
    bond: uint256
    metric_set: bytes32


# @dev A dispute settled: `refunded` to the disputer, `forfeited` to the claimant.
event DisputeSettled:
    claim_id: indexed(uint256)
    disputer: indexed(address)
    refunded: uint256
    forfeited: uint256


# @dev A claim finalised: the bond credited back (disputes settle with `settle_dispute`).
event ClaimFinalised:
    claim_id: indexed(uint256)
    claimant: indexed(address)
    bond: uint256
    disputes: uint256


# @dev Credits withdrawn.
event Withdrawn:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(
    registry_: address,
    attestations_: address,
    bond_token_: address,
    bond_: uint256,
    audit_deposit_: uint256,
    challenge_blocks_: uint256,
    reveal_blocks_: uint256,
    response_blocks_: uint256,
):
    """
    @dev Fixes the registry, token, bond sizes and windows for ever.
    @param registry_ The DatasetRegistry.
    @param attestations_ The Attestations contract (stored for consumers, never called).
    @param bond_token_ The ERC-20 of bonds and deposits; one that moves exactly the
           amounts asked (fee-on-transfer tokens fail every transfer in).
    @param bond_ The claim bond (also the dispute bond); non-zero.
    @param audit_deposit_ The audit deposit; non-zero, and sized to cover the gas of a
           typical answer (docs/proofs.md), since a passed audit pays it to the claimant.
    @param challenge_blocks_ The challenge window in blocks; non-zero.
    @param reveal_blocks_ The reveal window in blocks: at least 2 (the seed block must be
           mined before the reveal), at most MAX_REVEAL_BLOCKS.
    @param response_blocks_ The answer window in blocks after the reveal: at least
           MIN_RESPONSE_BLOCKS (eight `open_row` transactions and the answer).
    """
    assert registry_ != empty(address), "proofs: zero registry"
    assert bond_token_ != empty(address), "proofs: zero bond token"
    assert bond_ != 0, "proofs: zero bond"
    assert audit_deposit_ != 0, "proofs: zero audit deposit"
    assert challenge_blocks_ != 0, "proofs: zero challenge window"
    assert challenge_blocks_ <= _U64 // 2, "proofs: challenge window too long"
    assert reveal_blocks_ >= _REVEAL_DELAY, "proofs: reveal window under 2 blocks"
    assert reveal_blocks_ <= MAX_REVEAL_BLOCKS, "proofs: reveal window beyond block hash reach"
    assert response_blocks_ >= MIN_RESPONSE_BLOCKS, "proofs: response window under 10 blocks"
    assert response_blocks_ <= _U64 // 2, "proofs: response window too long"
    registry = IDatasetRegistry(registry_)
    attestations = attestations_
    bond_token = IERC20(bond_token_)
    bond = bond_
    audit_deposit = audit_deposit_
    challenge_blocks = challenge_blocks_
    reveal_blocks = reveal_blocks_
    response_blocks = response_blocks_
    _deployer = msg.sender


@external
def submit_claim(
    parent_id: uint256,
    child_id: uint256,
    recipe_cid: IDatasetRegistry.PackedCid,
    proof_cid: IDatasetRegistry.PackedCid,
    fate_root: bytes32,
) -> uint256:
    """
    @dev Claims that `child_id` is `parent_id` cleaned by the recipe `recipe_cid`, with
         the fate of every input row committed under `fate_root`; takes the bond
         (approve it first). Only the child's owner may claim, and only while no other
         claim on the child is active (finalised or failed ones do not count).
    @param parent_id The input dataset, listed among the child's parents.
    @param child_id The cleaned dataset.
    @param recipe_cid The recipe's CID.
    @param proof_cid The cleaning proof document's CID.
    @param fate_root The RFC 9162 root over the parent's rows' fate records.
    @return uint256 The claim id.
    """
    child: IDatasetRegistry.DatasetInfo = staticcall registry.info(child_id)
    assert child.owner == msg.sender, "proofs: not the child's owner"
    assert parent_id in child.parents, "proofs: child does not list the parent"
    parent: IDatasetRegistry.DatasetInfo = staticcall registry.info(parent_id)
    assert child.row_count <= parent.row_count, "proofs: child has more rows than parent"
    assert fate_root != empty(bytes32), "proofs: zero fate root"
    assert parent.row_count != 0 or fate_root == EMPTY_ROOT, "proofs: empty parent needs the empty fate root"
    assert recipe_cid.digest != empty(bytes32), "proofs: zero recipe digest"
    assert proof_cid.digest != empty(bytes32), "proofs: zero proof digest"
    live: uint256 = self._child_claim[child_id]
    assert live == 0 or (self._head[live] >> _STATE_SHIFT) & _U8 != _ACTIVE, "proofs: child has a live claim"
    self._check_funds(bond, "bond")

    # Claim ids are bounded by the number of transactions ever sent: no overflow.
    claim_id: uint256 = unsafe_add(self.claim_count, 1)
    self.claim_count = claim_id
    self._head[claim_id] = (
        convert(msg.sender, uint256) | (block.number << _BLOCK_SHIFT) | (_ACTIVE << _STATE_SHIFT)
    )
    # Registry ids are at most 2**32 - 1.
    self._ids[claim_id] = parent_id | (child_id << _CHILD_SHIFT)
    self._fate_root[claim_id] = fate_root
    self._child_claim[child_id] = claim_id
    log ClaimSubmitted(
        claim_id=claim_id,
        parent_id=parent_id,
        child_id=child_id,
        claimant=msg.sender,
        recipe_cid=recipe_cid,
        proof_cid=proof_cid,
        fate_root=fate_root,
        parent_root=parent.row_root,
        child_root=child.row_root,
        rows_in=parent.row_count,
        rows_out=child.row_count,
        bond=bond,
    )
    self._pull(bond)
    return claim_id


@external
def open_audit(claim_id: uint256, commitment: bytes32) -> uint256:
    """
    @dev Opens a structural audit of an active claim within its challenge window, taking
         the audit deposit (approve it first). `commitment` is
         keccak256(abi_encode(msg.sender, secret)) for a secret the auditor reveals with
         `reveal` from the block after next on, within `reveal_blocks` of this one.
         Anyone may open any number of audits; each costs its opener a deposit.
    @param claim_id The claim.
    @param commitment The auditor's commitment to its secret; non-zero.
    @return uint256 The audit number (from 0).
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number <= self._window_end(head), "proofs: challenge window closed"
    assert commitment != empty(bytes32), "proofs: zero commitment"
    ids: uint256 = self._ids[claim_id]
    assert (staticcall registry.info(ids & _U32)).row_count != 0, "proofs: nothing to audit"
    self._check_funds(audit_deposit, "deposit")

    counts: uint256 = self._counts[claim_id]
    number: uint256 = counts & _U128
    # Both counters are bounded by the number of transactions ever sent (< 2**128).
    self._counts[claim_id] = unsafe_add(counts, _ONE_AUDIT)
    self._audit[claim_id][number] = (
        convert(msg.sender, uint256)
        | (block.number << _BLOCK_SHIFT)
        | (convert(AUDIT_OPEN, uint256) << _STATE_SHIFT)
    )
    self._seed[claim_id][number] = commitment
    log AuditOpened(
        claim_id=claim_id,
        audit=number,
        auditor=msg.sender,
        commitment=commitment,
        seed_block=block.number + 1,
        reveal_deadline=block.number + reveal_blocks,
        deposit=audit_deposit,
    )
    self._pull(audit_deposit)
    return number


@external
def reveal(claim_id: uint256, audit: uint256, secret: bytes32) -> bytes32:
    """
    @dev Reveals an open audit's secret and fixes its seed:
         keccak256(abi_encode(secret, blockhash(opened + 1), claim_id, audit)). Anyone
         holding the secret may call it, from block opened + 2 to opened + reveal_blocks.
    @param claim_id The claim.
    @param audit The audit number.
    @param secret The secret the opening committed to.
    @return bytes32 The seed.
    """
    self._active_head(claim_id)
    record: uint256 = self._open_audit(claim_id, audit)
    assert record >> _REVEAL_SHIFT == 0, "proofs: audit already revealed"
    opened: uint256 = (record >> _BLOCK_SHIFT) & _U64
    assert block.number >= opened + _REVEAL_DELAY, "proofs: seed block not mined yet"
    assert block.number <= opened + reveal_blocks, "proofs: reveal window closed"
    auditor: address = convert(record & _ADDRESS_MASK, address)
    assert keccak256(abi_encode(auditor, secret)) == self._seed[claim_id][audit], "proofs: secret does not match the commitment"
    # Within MAX_REVEAL_BLOCKS <= 256 of the seed block: BLOCKHASH answers, never zero.
    seed: bytes32 = keccak256(
        abi_encode(secret, block_hash._block_hash(opened + 1), claim_id, audit)
    )
    self._seed[claim_id][audit] = seed
    # block.number - opened <= reveal_blocks <= 256 fits the 16-bit field.
    self._audit[claim_id][audit] = record | (unsafe_sub(block.number, opened) << _REVEAL_SHIFT)
    log AuditRevealed(
        claim_id=claim_id,
        audit=audit,
        secret=secret,
        seed=seed,
        deadline=block.number + response_blocks,
    )
    return seed


@external
def open_row(claim_id: uint256, audit: uint256, slot: uint256, row: Bytes[MAX_LONG_ROW_BYTES]):
    """
    @dev Opens a public row longer than MAX_ROW_BYTES ahead of the answer, one per
         transaction: stores its leaf hash for `respond`, which checks it at the index
         the seed picks for `slot` (pass an empty row there). Only the claimant, while
         the audit is revealed and not yet due; a slot may be opened again.
    @param claim_id The claim.
    @param audit The audit number.
    @param slot j < SAMPLES: input opening j's row; SAMPLES + j: its output row.
    @param row The row's DAG-CBOR bytes (more than MAX_ROW_BYTES, at most MAX_LONG_ROW_BYTES).
    """
    head: uint256 = self._active_head(claim_id)
    assert convert(head & _ADDRESS_MASK, address) == msg.sender, "proofs: not the claimant"
    record: uint256 = self._revealed_audit(claim_id, audit)
    assert slot < ROW_SLOTS, "proofs: no such row slot"
    assert len(row) > rfc9162.MAX_ROW_BYTES, "proofs: row fits in the answer"
    # RFC 9162 leaf hash, inline: passing `row` to an internal function would copy its
    # 384 KiB memory bound once more, and memory costs grow with the square of its size.
    leaf: bytes32 = sha256(concat(b"\x00", row))
    # audit < 2**128 and slot < ROW_SLOTS: no overflow.
    self._row_leaf[claim_id][unsafe_add(unsafe_mul(audit, ROW_SLOTS), slot)] = leaf
    log RowOpened(claim_id=claim_id, audit=audit, slot=slot, leaf=leaf, length=len(row))


@external
def respond(
    claim_id: uint256,
    audit: uint256,
    inputs: DynArray[ICleaningProofs.InputOpening, SAMPLES],
    outputs: DynArray[ICleaningProofs.OutputOpening, SAMPLES],
):
    """
    @dev The claimant answers a revealed audit with the openings of the sampled rows (see
         `sample`). Answers that address other indices revert; openings that do not
         verify, or fate records that break the fate rules, fail the audit and slash
         the bond. A passing answer credits the auditor's deposit to the claimant.
         A public row's bytes come inline, or, left empty, from an earlier `open_row`
         of its slot.
    @param claim_id The claim.
    @param audit The audit number.
    @param inputs One opening per sampled input row, in sample order.
    @param outputs One opening per sampled output row, in sample order (none for a
           0-row child).
    """
    head: uint256 = self._active_head(claim_id)
    assert convert(head & _ADDRESS_MASK, address) == msg.sender, "proofs: not the claimant"
    record: uint256 = self._revealed_audit(claim_id, audit)
    seed: bytes32 = self._seed[claim_id][audit]

    ids: uint256 = self._ids[claim_id]
    parent: IDatasetRegistry.DatasetInfo = staticcall registry.info(ids & _U32)
    child: IDatasetRegistry.DatasetInfo = staticcall registry.info((ids >> _CHILD_SHIFT) & _U32)
    rows_in: uint256 = convert(parent.row_count, uint256)
    rows_out: uint256 = convert(child.row_count, uint256)
    fate_root: bytes32 = self._fate_root[claim_id]
    wanted_in: DynArray[uint256, SAMPLES] = self._indices(seed, 0, rows_in)
    wanted_out: DynArray[uint256, SAMPLES] = self._indices(seed, SAMPLES, rows_out)
    assert len(inputs) == len(wanted_in), "proofs: wrong number of input openings"
    assert len(outputs) == len(wanted_out), "proofs: wrong number of output openings"

    rows: DynArray[Bytes[rfc9162.MAX_ROW_BYTES], SAMPLES] = []
    leaves: DynArray[bytes32, SAMPLES] = []
    fates: DynArray[Bytes[fate.SIZE], SAMPLES] = []
    sources: DynArray[uint256, SAMPLES] = []
    reason: uint8 = 0
    at: uint256 = 0
    # audit < 2**128: no overflow.
    slots: uint256 = unsafe_mul(audit, ROW_SLOTS)
    for j: uint256 in range(SAMPLES):
        if j == len(inputs):
            break
        i: uint256 = inputs[j].index
        assert i == wanted_in[j], "proofs: wrong input index"
        if reason != 0:
            continue
        leaf: bytes32 = inputs[j].leaf
        if not parent.private:
            leaf = self._public_leaf(claim_id, slots + j, inputs[j].row)
        if not rfc9162._verify_inclusion(leaf, i, rows_in, inputs[j].row_path, parent.row_root):
            reason = REASON_INPUT_ROW
            at = j
            continue
        fate_record: Bytes[fate.SIZE] = inputs[j].fate
        if not fate._opens(fate_record, i, rows_in, inputs[j].fate_path, fate_root):
            reason = REASON_FATE_OPENING
            at = j
            continue
        output: uint256 = 0
        ok: bool = False
        ok, output = fate._rules(fate_record, i, rows_in, rows_out)
        if not ok:
            reason = REASON_FATE_RULE
            at = j
            continue
        if output != fate.NO_ROW:
            out_leaf: bytes32 = inputs[j].output_leaf
            if not child.private:
                out_leaf = self._public_leaf(claim_id, slots + SAMPLES + j, inputs[j].output_row)
            if not rfc9162._verify_inclusion(
                out_leaf, output, rows_out, inputs[j].output_path, child.row_root
            ):
                reason = REASON_OUTPUT_ROW
                at = j
                continue
        if parent.private:
            rows.append(b"")
        else:
            rows.append(inputs[j].row)
        leaves.append(leaf)
        fates.append(fate_record)
    for j: uint256 in range(SAMPLES):
        if j == len(outputs):
            break
        o: uint256 = outputs[j].index
        assert o == wanted_out[j], "proofs: wrong output index"
        if reason != 0:
            continue
        source: uint256 = outputs[j].source
        if not fate._opens(outputs[j].fate, source, rows_in, outputs[j].fate_path, fate_root):
            reason = REASON_FATE_OPENING
            at = SAMPLES + j
            continue
        output: uint256 = 0
        ok: bool = False
        ok, output = fate._rules(outputs[j].fate, source, rows_in, rows_out)
        if not ok or output != o:
            reason = REASON_FATE_RULE
            at = SAMPLES + j
            continue
        sources.append(source)

    if reason != 0:
        self._fail(claim_id, audit, head, record, reason, at)
        return
    self._audit[claim_id][audit] = self._set_state(record, AUDIT_PASSED, 0)
    # The open count is at least 1 (this audit), so this cannot underflow.
    self._counts[claim_id] = unsafe_sub(self._counts[claim_id], _ONE_OPEN)
    self.credits[msg.sender] += audit_deposit
    log AuditPassed(
        claim_id=claim_id,
        audit=audit,
        seed=seed,
        input_indices=wanted_in,
        input_rows=rows,
        input_leaves=leaves,
        fates=fates,
        output_indices=wanted_out,
        output_sources=sources,
    )


@external
def expire(claim_id: uint256, audit: uint256):
    """
    @dev Settles an open audit whose deadline passed; anyone may call it. Unrevealed
         after `reveal_blocks`: the audit is void and its deposit credited to the
         claimant (the auditor walked away). Revealed but unanswered after
         `response_blocks`: the audit fails and the bond is slashed.
    @param claim_id The claim.
    @param audit The audit number.
    """
    head: uint256 = self._active_head(claim_id)
    record: uint256 = self._open_audit(claim_id, audit)
    opened: uint256 = (record >> _BLOCK_SHIFT) & _U64
    delta: uint256 = record >> _REVEAL_SHIFT
    if delta == 0:
        assert block.number > opened + reveal_blocks, "proofs: reveal deadline not passed"
        claimant: address = convert(head & _ADDRESS_MASK, address)
        self._void(claim_id, audit, record, claimant)
        # The open count is at least 1 (this audit), so this cannot underflow.
        self._counts[claim_id] = unsafe_sub(self._counts[claim_id], _ONE_OPEN)
        return
    assert block.number > opened + delta + response_blocks, "proofs: response deadline not passed"
    self._fail(claim_id, audit, head, record, REASON_NO_RESPONSE, 0)


@external
def reclaim(claim_id: uint256, audit: uint256):
    """
    @dev Voids an audit left open when its claim failed another audit, crediting the
         deposit back to its auditor. Anyone may call it.
    @param claim_id The failed claim.
    @param audit The audit number.
    """
    head: uint256 = self._existing_head(claim_id)
    assert (head >> _STATE_SHIFT) & _U8 == _FAILED, "proofs: claim not failed"
    record: uint256 = self._open_audit(claim_id, audit)
    self._void(claim_id, audit, record, convert(record & _ADDRESS_MASK, address))


@external
def dispute(claim_id: uint256):
    """
    @dev Disputes an active claim within its challenge window with a bond equal to the
         claim bond (approve it first); once per account and claim, by any number of
         accounts. The claim reads as disputed; nothing else is blocked (audits,
         finalisation and the bond release go on). Settled by `settle_dispute`: the bond
         comes back in full if the claim fails, less DISPUTE_FORFEIT_BPS (paid to the
         claimant) if it finalises. The contract does not judge the dispute itself:
         re-execution does, recorded as reproduction attestations under
         `reproduction_metric_set(claim_id)`.
    @param claim_id The claim.
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number <= self._window_end(head), "proofs: challenge window closed"
    assert not self.disputed[claim_id][msg.sender], "proofs: already disputed"
    self._check_funds(bond, "bond")
    self.disputed[claim_id][msg.sender] = True
    # The dispute count is bounded by the number of accounts (< 2**64 in practice).
    self._ids[claim_id] = unsafe_add(self._ids[claim_id], 1 << _DISPUTES_SHIFT)
    log ClaimDisputed(
        claim_id=claim_id,
        disputer=msg.sender,
        bond=bond,
        metric_set=self._metric_set(claim_id),
    )
    self._pull(bond)


@external
def settle_dispute(claim_id: uint256, disputer: address):
    """
    @dev Settles a dispute of a finalised or failed claim; anyone may call it. Failed:
         the dispute bond is credited back to the disputer. Finalised (the claim stood):
         DISPUTE_FORFEIT_BPS of it is credited to the claimant, the rest to the disputer.
    @param claim_id The claim.
    @param disputer The disputer.
    """
    head: uint256 = self._existing_head(claim_id)
    state: uint256 = (head >> _STATE_SHIFT) & _U8
    assert state != _ACTIVE, "proofs: claim not settled"
    assert self.disputed[claim_id][disputer], "proofs: no dispute to settle"
    self.disputed[claim_id][disputer] = False
    forfeited: uint256 = 0
    if state == _FINALISED:
        forfeited = bond * DISPUTE_FORFEIT_BPS // _BPS
        self.credits[convert(head & _ADDRESS_MASK, address)] += forfeited
    # forfeited <= bond since DISPUTE_FORFEIT_BPS <= _BPS.
    refunded: uint256 = unsafe_sub(bond, forfeited)
    self.credits[disputer] += refunded
    log DisputeSettled(
        claim_id=claim_id, disputer=disputer, refunded=refunded, forfeited=forfeited
    )


@external
def finalize(claim_id: uint256):
    """
    @dev Closes an active claim after its challenge window once no audit is open,
         crediting the bond to the claimant. Disputes settle apart (`settle_dispute`).
    @param claim_id The claim.
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number > self._window_end(head), "proofs: challenge window not over"
    assert self._counts[claim_id] >> _OPEN_SHIFT == 0, "proofs: audit pending"
    ids: uint256 = self._ids[claim_id]
    assert ids >> _ROW_DISPUTES_SHIFT == 0, "proofs: row dispute pending"
    claimant: address = convert(head & _ADDRESS_MASK, address)
    self._head[claim_id] = (head & ~(_U8 << _STATE_SHIFT)) | (_FINALISED << _STATE_SHIFT)
    self.credits[claimant] += bond
    log ClaimFinalised(
        claim_id=claim_id,
        claimant=claimant,
        bond=bond,
        disputes=(ids >> _DISPUTES_SHIFT) & _U64,
    )


@external
def enable_row_disputes(row_disputes_: address):
    """
    @dev Names the RowDisputes contract that may open and close row disputes; once, by
         the deployer (RowDisputes takes this contract's address at its deployment, so
         neither can be fixed in the other's constructor).
    @param row_disputes_ The RowDisputes contract.
    """
    assert msg.sender == _deployer, "proofs: not the deployer"
    assert self.row_disputes == empty(address), "proofs: already enabled"
    self.row_disputes = row_disputes_
    log RowDisputesEnabled(row_disputes=row_disputes_)


@external
def row_dispute_changed(claim_id: uint256, disputer: address, change: uint256):
    """
    @dev RowDisputes tells of a row dispute of a claim: 0 opened (the claim must be
         active and within its challenge window; it cannot finalise until the dispute
         closes), 1 rejected (closed, the claim was right) or 2 upheld (closed, the claim
         was wrong about the row or did not answer: an active claim fails and its whole
         bond is credited to the disputer, `ClaimSlashed` naming the disputer as its
         `auditor`).
    @param claim_id The claim.
    @param disputer The disputer.
    @param change What happened.
    """
    assert msg.sender == self.row_disputes, "proofs: not row disputes"
    if change == _ROW_DISPUTE_OPENED:
        assert block.number <= self._window_end(self._active_head(claim_id)), "proofs: challenge window closed"
        # Open row disputes are bounded by the disputes ever opened (< 2**64).
        self._ids[claim_id] = unsafe_add(self._ids[claim_id], 1 << _ROW_DISPUTES_SHIFT)
        return
    head: uint256 = self._existing_head(claim_id)
    # Reverts (underflow) when none is open: the lower fields are below 2**128.
    self._ids[claim_id] -= 1 << _ROW_DISPUTES_SHIFT
    if change == _ROW_DISPUTE_UPHELD and (head >> _STATE_SHIFT) & _U8 == _ACTIVE:
        self._head[claim_id] = (head & ~(_U8 << _STATE_SHIFT)) | (_FAILED << _STATE_SHIFT)
        self.credits[disputer] += bond
        log ClaimSlashed(claim_id=claim_id, auditor=disputer, burned=0, auditor_share=bond)


@external
def withdraw() -> uint256:
    """
    @dev Sends the caller's credits (released bonds, deposits, auditor shares).
    @return uint256 The amount sent.
    """
    amount: uint256 = self.credits[msg.sender]
    assert amount != 0, "proofs: nothing to withdraw"
    self.credits[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall bond_token.transfer(msg.sender, amount, default_return_value=True), "proofs: transfer failed"
    return amount


@external
@view
def status(claim_id: uint256) -> uint8:
    """
    @dev The claim's status: PENDING, AUDITED, DISPUTED, FINALISED or FAILED.
    @param claim_id The claim.
    @return uint8 The status code.
    """
    return self._status(claim_id, self._existing_head(claim_id))


@external
@view
def claim(claim_id: uint256) -> ICleaningProofs.ClaimView:
    """
    @dev A claim with its status, counters and latest audits, in one call.
    @param claim_id The claim.
    @return ClaimView The claim; `audits` the latest CLAIM_VIEW_AUDITS in opening order,
            numbered from `first_audit`.
    """
    head: uint256 = self._existing_head(claim_id)
    ids: uint256 = self._ids[claim_id]
    counts: uint256 = self._counts[claim_id]
    count: uint256 = counts & _U128
    first: uint256 = 0
    if count > CLAIM_VIEW_AUDITS:
        first = count - CLAIM_VIEW_AUDITS
    audits: DynArray[ICleaningProofs.AuditView, CLAIM_VIEW_AUDITS] = []
    for k: uint256 in range(CLAIM_VIEW_AUDITS):
        if first + k == count:
            break
        audits.append(self._audit_view(claim_id, first + k))
    return ICleaningProofs.ClaimView(
        claimant=convert(head & _ADDRESS_MASK, address),
        parent_id=ids & _U32,
        child_id=(ids >> _CHILD_SHIFT) & _U32,
        fate_root=self._fate_root[claim_id],
        submitted=(head >> _BLOCK_SHIFT) & _U64,
        window_end=self._window_end(head),
        status=self._status(claim_id, head),
        disputes=(ids >> _DISPUTES_SHIFT) & _U64,
        audit_count=count,
        open_audits=counts >> _OPEN_SHIFT,
        first_audit=first,
        audits=audits,
    )


@external
@view
def audit(claim_id: uint256, audit: uint256) -> ICleaningProofs.AuditView:
    """
    @dev One audit of a claim.
    @param claim_id The claim.
    @param audit The audit number.
    @return AuditView The audit.
    """
    self._existing_head(claim_id)
    assert self._audit[claim_id][audit] != 0, "proofs: unknown audit"
    return self._audit_view(claim_id, audit)


@external
@view
def audit_seed(claim_id: uint256, audit: uint256) -> bytes32:
    """
    @dev An audit's seed: zero until its secret is revealed.
    @param claim_id The claim.
    @param audit The audit number.
    @return bytes32 The seed.
    """
    self._existing_head(claim_id)
    record: uint256 = self._audit[claim_id][audit]
    assert record != 0, "proofs: unknown audit"
    return self._read_seed(claim_id, audit, record)


@external
@view
def row_leaf(claim_id: uint256, audit: uint256, slot: uint256) -> bytes32:
    """
    @dev The leaf hash `open_row` stored for a slot of an audit (zero if none).
    @param claim_id The claim.
    @param audit The audit number.
    @param slot The row slot (see `open_row`).
    @return bytes32 The leaf hash.
    """
    assert slot < ROW_SLOTS, "proofs: no such row slot"
    return self._row_leaf[claim_id][audit * ROW_SLOTS + slot]


@external
@view
def sample(
    claim_id: uint256, audit: uint256
) -> (DynArray[uint256, SAMPLES], DynArray[uint256, SAMPLES]):
    """
    @dev The input and output indices a revealed audit asks for.
    @param claim_id The claim.
    @param audit The audit number.
    @return DynArray The input indices (SAMPLES, or none for a 0-row parent).
    @return DynArray The output indices (SAMPLES, or none for a 0-row child).
    """
    self._existing_head(claim_id)
    record: uint256 = self._audit[claim_id][audit]
    assert record != 0, "proofs: unknown audit"
    seed: bytes32 = self._read_seed(claim_id, audit, record)
    assert seed != empty(bytes32), "proofs: audit not revealed"
    ids: uint256 = self._ids[claim_id]
    rows_in: uint256 = convert((staticcall registry.info(ids & _U32)).row_count, uint256)
    rows_out: uint256 = convert(
        (staticcall registry.info((ids >> _CHILD_SHIFT) & _U32)).row_count, uint256
    )
    return self._indices(seed, 0, rows_in), self._indices(seed, SAMPLES, rows_out)


@external
@pure
def reproduction_metric_set(claim_id: uint256) -> bytes32:
    """
    @dev The Attestations metric set of reproductions of a claim:
         keccak256("datasoil.reproduction.v1" || claim id as 32 bytes big-endian).
    @param claim_id The claim.
    @return bytes32 The metric set.
    """
    return self._metric_set(claim_id)


@external
@pure
def commitment_of(auditor: address, secret: bytes32) -> bytes32:
    """
    @dev The commitment `open_audit` takes: keccak256(abi_encode(auditor, secret)).
    @param auditor The account that opens the audit.
    @param secret The auditor's secret.
    @return bytes32 The commitment.
    """
    return keccak256(abi_encode(auditor, secret))


@internal
@pure
def _metric_set(claim_id: uint256) -> bytes32:
    """
    @dev keccak256("datasoil.reproduction.v1" || claim id as 32 bytes big-endian).
    @param claim_id The claim.
    @return bytes32 The Attestations metric set of its reproductions.
    """
    return keccak256(concat(REPRODUCTION_TAG, convert(claim_id, bytes32)))


@internal
@view
def _existing_head(claim_id: uint256) -> uint256:
    """
    @dev A claim's header; reverts for an unknown claim.
    @param claim_id The claim.
    @return uint256 The packed header.
    """
    head: uint256 = self._head[claim_id]
    assert head != 0, "proofs: unknown claim"
    return head


@internal
@view
def _active_head(claim_id: uint256) -> uint256:
    """
    @dev An active claim's header; reverts unless the claim exists and is active.
    @param claim_id The claim.
    @return uint256 The packed header.
    """
    head: uint256 = self._existing_head(claim_id)
    assert (head >> _STATE_SHIFT) & _U8 == _ACTIVE, "proofs: claim not active"
    return head


@internal
@view
def _open_audit(claim_id: uint256, audit: uint256) -> uint256:
    """
    @dev An open audit's record; reverts unless the audit exists and is open.
    @param claim_id The claim.
    @param audit The audit number.
    @return uint256 The packed audit record.
    """
    record: uint256 = self._audit[claim_id][audit]
    assert record != 0, "proofs: unknown audit"
    assert (record >> _STATE_SHIFT) & _U8 == convert(AUDIT_OPEN, uint256), "proofs: audit not open"
    return record


@internal
@view
def _revealed_audit(claim_id: uint256, audit: uint256) -> uint256:
    """
    @dev An open, revealed audit whose answer is not yet due; reverts otherwise.
    @param claim_id The claim.
    @param audit The audit number.
    @return uint256 The packed audit record.
    """
    record: uint256 = self._open_audit(claim_id, audit)
    delta: uint256 = record >> _REVEAL_SHIFT
    assert delta != 0, "proofs: audit not revealed"
    deadline: uint256 = ((record >> _BLOCK_SHIFT) & _U64) + delta + response_blocks
    assert block.number <= deadline, "proofs: response deadline passed"
    return record


@internal
@view
def _public_leaf(claim_id: uint256, key: uint256, row: Bytes[rfc9162.MAX_ROW_BYTES]) -> bytes32:
    """
    @dev The leaf hash of a public row: an empty inline row stands for the row
         `open_row` opened in this slot, if any; otherwise the RFC 9162 leaf of `row`.
    @param claim_id The claim.
    @param key The slot key, audit * ROW_SLOTS + slot.
    @param row The inline row (empty for one opened with `open_row`).
    @return bytes32 The leaf hash.
    """
    if len(row) == 0:
        opened: bytes32 = self._row_leaf[claim_id][key]
        if opened != empty(bytes32):
            return opened
    return rfc9162._leaf_hash(row)


@internal
@view
def _window_end(head: uint256) -> uint256:
    """
    @dev The last block of a claim's challenge window.
    @param head The claim's header.
    @return uint256 The submission block plus `challenge_blocks`.
    """
    return ((head >> _BLOCK_SHIFT) & _U64) + challenge_blocks


@internal
@view
def _status(claim_id: uint256, head: uint256) -> uint8:
    """
    @dev A claim's public status: FAILED or FINALISED when settled, else DISPUTED when
         disputed (by `dispute`, or by a row dispute still open), AUDITED when audited,
         PENDING otherwise.
    @param claim_id The claim.
    @param head The claim's header.
    @return uint8 The status code.
    """
    state: uint256 = (head >> _STATE_SHIFT) & _U8
    if state == _FAILED:
        return FAILED
    if state == _FINALISED:
        return FINALISED
    # Disputed: by `dispute`, or by a row dispute still open.
    if self._ids[claim_id] >> _DISPUTES_SHIFT != 0:
        return DISPUTED
    if self._counts[claim_id] & _U128 != 0:
        return AUDITED
    return PENDING


@internal
@view
def _audit_view(claim_id: uint256, audit: uint256) -> ICleaningProofs.AuditView:
    """
    @dev One audit unpacked for `claim` and `audit`.
    @param claim_id The claim.
    @param audit The audit number.
    @return AuditView The audit.
    """
    record: uint256 = self._audit[claim_id][audit]
    opened: uint256 = (record >> _BLOCK_SHIFT) & _U64
    delta: uint256 = record >> _REVEAL_SHIFT
    revealed: uint256 = 0
    deadline: uint256 = 0
    if delta != 0:
        revealed = opened + delta
        deadline = revealed + response_blocks
    return ICleaningProofs.AuditView(
        auditor=convert(record & _ADDRESS_MASK, address),
        opened=opened,
        reveal_deadline=opened + reveal_blocks,
        revealed=revealed,
        deadline=deadline,
        state=convert((record >> _STATE_SHIFT) & _U8, uint8),
        reason=convert((record >> _REASON_SHIFT) & _U8, uint8),
        seed=self._read_seed(claim_id, audit, record),
    )


@internal
@pure
def _set_state(record: uint256, state: uint8, reason: uint8) -> uint256:
    """
    @dev An audit record with a new state and reason; keeps the auditor, the opening
         block and the reveal delta.
    @param record The audit record.
    @param state The new state (AUDIT_*).
    @param reason The failure reason (REASON_*), or 0.
    @return uint256 The new record.
    """
    return (
        (record & (_LOW_224 | (_U16 << _REVEAL_SHIFT)))
        | (convert(state, uint256) << _STATE_SHIFT)
        | (convert(reason, uint256) << _REASON_SHIFT)
    )


@internal
@view
def _read_seed(claim_id: uint256, audit: uint256, record: uint256) -> bytes32:
    """
    @dev An audit's seed; zero before the reveal, when the slot holds the commitment.
    @param claim_id The claim.
    @param audit The audit number.
    @param record The audit record.
    @return bytes32 The seed, or zero.
    """
    if record >> _REVEAL_SHIFT == 0:
        return empty(bytes32)
    return self._seed[claim_id][audit]


@internal
@pure
def _indices(seed: bytes32, offset: uint256, size: uint256) -> DynArray[uint256, SAMPLES]:
    """
    @dev SAMPLES row indices drawn from a seed: index j is
         keccak256(seed || uint256(offset + j)) mod size, inputs with offsets
         0..SAMPLES-1, outputs SAMPLES..2*SAMPLES-1. The modulo bias is below 2**-190.
    @param seed The audit's seed.
    @param offset 0 for input rows, SAMPLES for output rows.
    @param size The number of rows sampled from.
    @return DynArray The indices (none when `size` is 0).
    """
    result: DynArray[uint256, SAMPLES] = []
    if size == 0:
        return result
    for j: uint256 in range(SAMPLES):
        result.append(convert(keccak256(abi_encode(seed, offset + j)), uint256) % size)
    return result


@internal
def _void(claim_id: uint256, audit: uint256, record: uint256, paid_to: address):
    """
    @dev Makes an open audit void and credits its deposit to `paid_to`.
    @param claim_id The claim.
    @param audit The audit number.
    @param record The audit record.
    @param paid_to The auditor (claim failed elsewhere) or the claimant (never revealed).
    """
    self._audit[claim_id][audit] = self._set_state(record, AUDIT_VOID, 0)
    self.credits[paid_to] += audit_deposit
    log AuditVoided(
        claim_id=claim_id,
        audit=audit,
        auditor=convert(record & _ADDRESS_MASK, address),
        paid_to=paid_to,
    )


@internal
def _fail(claim_id: uint256, audit: uint256, head: uint256, record: uint256, reason: uint8, at: uint256):
    """
    @dev Fails an audit and its claim and slashes the bond: AUDITOR_SHARE_BPS of it and
         the deposit credited to the auditor, the rest burned. Other open audits stay open
         until `reclaim`ed, disputes until `settle_dispute`d (no loop over either).
    @param claim_id The claim.
    @param audit The audit number.
    @param head The claim's header.
    @param record The audit record.
    @param reason Why the audit failed (REASON_*).
    @param at The opening that failed (0..2*SAMPLES-1), or 0.
    """
    auditor: address = convert(record & _ADDRESS_MASK, address)
    self._audit[claim_id][audit] = self._set_state(record, AUDIT_FAILED, reason)
    self._head[claim_id] = (head & ~(_U8 << _STATE_SHIFT)) | (_FAILED << _STATE_SHIFT)
    share: uint256 = bond * AUDITOR_SHARE_BPS // _BPS
    # share <= bond since AUDITOR_SHARE_BPS <= _BPS.
    burn: uint256 = unsafe_sub(bond, share)
    self.burned += burn
    self.credits[auditor] += share + audit_deposit
    log AuditFailed(claim_id=claim_id, audit=audit, reason=reason, opening=at)
    log ClaimSlashed(claim_id=claim_id, auditor=auditor, burned=burn, auditor_share=share)


@internal
@view
def _check_funds(amount: uint256, what: String[7]):
    """
    @dev Reverts, naming `what`, unless the caller approved and holds `amount`.
    @param amount The amount to be pulled.
    @param what "bond" or "deposit", for the revert string.
    """
    assert staticcall bond_token.allowance(msg.sender, self) >= amount, concat("proofs: ", what, " not approved")
    assert staticcall bond_token.balanceOf(msg.sender) >= amount, concat("proofs: ", what, " exceeds balance")


@internal
def _pull(amount: uint256):
    """
    @dev Takes `amount` from the caller and checks the balance grew by exactly that much.
    @param amount The amount.
    """
    before: uint256 = staticcall bond_token.balanceOf(self)
    assert extcall bond_token.transferFrom(msg.sender, self, amount, default_return_value=True), "proofs: transfer failed"
    # A token that keeps a fee would leave the last withdrawers short.
    assert staticcall bond_token.balanceOf(self) == before + amount, "proofs: token took a fee"
