# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title CleaningProofs
@custom:contract-name CleaningProofs
@license Apache-2.0
@notice Bonded cleaning claims parent -> child: the child's owner commits a recipe
        CID, a proof CID and a fate root (one RFC 9162 leaf per input row, the
        34-byte `datasoil-fate-v1` record of docs/cleaning.md) and locks a bond.
        During a challenge window anyone may open structural audits, each with a
        deposit: a seed fixed by the block hash of the block after the opening picks
        SAMPLES input rows and SAMPLES output rows, and the claimant must open them
        (rows, fate records, output rows) against the registered roots before a
        deadline. A missed deadline or a failed check slashes the bond (most of it
        burned, a share to the auditor, whose deposit comes back); a passed audit
        pays the auditor's deposit to the claimant. After the window, `finalize`
        releases the bond of a claim that has not failed.
        What the chain checks is structure: the rows opened exist at their indices,
        the fate records are committed and consistent, kept rows land where their
        fate says. Whether a row was cleaned *correctly* is not judged here: anyone
        re-applies the recipe to the sampled rows (public in `AuditPassed`) or to the
        whole dataset, and records the verdict as a reproduction attestation in the
        Attestations contract (metric set `reproduction_metric_set(claim_id)`; score
        10000 reproduced, 0 not). `dispute` puts a bond behind a refutation and marks
        the claim disputed until finalisation.
@dev Storage per claim is three slots (packed header, ids + disputer, fate root) and
     one slot per audit plus its seed; roots, counts and private flags are read from
     the registry (immutable there) whenever they are needed; CIDs and the sampled
     rows live in events only.
     Payouts are pull payments (`credits`, `withdraw`): a claim's settlement pays up to
     three parties (claimant, auditors, disputer), and one recipient a token refuses
     (a blocklisted address, a reverting hook) must not block the others' settlement
     or the slashing of a failed claim. Burned tokens stay in this contract for ever:
     no function moves them (`burned` counts them), which works with every ERC-20,
     including tokens that forbid transfers to 0x0 or 0x...dEaD.
@custom:security The seed's block hash is read through snekmate's `block_hash`
                 (EIP-2935 history, 8,191 blocks; BLOCKHASH, 256 blocks, where the
                 history contract is absent); the response window is bounded well
                 inside that reach at deploy. Nobody can choose the seed: it is the
                 hash of a block mined after the audit was opened. On a local anvil
                 the block after the opening only exists once something is mined:
                 the off-chain side calls `evm_mine` after opening an audit.
                 Tree sizes always come from the registry (row counts), never from
                 the caller: the RFC 9162 algorithm accepts some relabelled proofs.
"""

from ethereum.ercs import IERC20
from snekmate.utils import block_hash
from .modules import rfc9162


# @dev A content identifier as the registry holds it: a prefix word (CID version in
# bits 64-71, multicodec in bits 0-63) and the SHA-256 digest (datasoil.cid.CidTuple).
struct Cid:
    prefix: uint256
    digest: bytes32


# @dev The registry's view of a dataset (DatasetRegistry.info).
struct DatasetInfo:
    owner: address
    row_root: bytes32
    row_count: uint64
    private: bool
    parents: DynArray[uint256, 8]


interface DatasetRegistry:
    def info(dataset_id: uint256) -> DatasetInfo: view


# @dev Openings for one sampled input row.
struct InputOpening:
    # @dev The sampled input index (must equal the seed's).
    index: uint256
    # @dev The row's DAG-CBOR bytes (public parents); ignored for private parents.
    row: Bytes[rfc9162.MAX_ROW_BYTES]
    # @dev The row's keyed leaf hash (private parents); ignored for public parents.
    leaf: bytes32
    # @dev Audit path of the row under the parent's row root.
    row_path: DynArray[bytes32, rfc9162.MAX_DEPTH]
    # @dev The row's 34-byte fate record.
    fate: Bytes[FATE_SIZE]
    # @dev Audit path of the fate record under the claim's fate root.
    fate_path: DynArray[bytes32, rfc9162.MAX_DEPTH]
    # @dev The output row's bytes when kept (public children); else ignored.
    output_row: Bytes[rfc9162.MAX_ROW_BYTES]
    # @dev The output row's keyed leaf hash when kept (private children); else ignored.
    output_leaf: bytes32
    # @dev Audit path of the output row under the child's row root when kept.
    output_path: DynArray[bytes32, rfc9162.MAX_DEPTH]


# @dev Openings for one sampled output row: the fate record of its source row.
struct OutputOpening:
    # @dev The sampled output index (must equal the seed's).
    index: uint256
    # @dev The input index whose fate record produced this output row.
    source: uint256
    # @dev That input row's 34-byte fate record.
    fate: Bytes[FATE_SIZE]
    # @dev Audit path of the fate record under the claim's fate root.
    fate_path: DynArray[bytes32, rfc9162.MAX_DEPTH]


# @dev One audit as `claim` returns it.
struct AuditView:
    auditor: address
    opened: uint256
    deadline: uint256
    state: uint8
    reason: uint8
    seed: bytes32


# @dev A claim and its audit history, in one call.
struct ClaimView:
    claimant: address
    parent_id: uint256
    child_id: uint256
    fate_root: bytes32
    submitted: uint256
    window_end: uint256
    status: uint8
    disputer: address
    open_audits: uint256
    audits: DynArray[AuditView, MAX_AUDITS]


# @dev Input and output rows each audit samples.
SAMPLES: public(constant(uint256)) = 4

# @dev Audits one claim can have.
MAX_AUDITS: public(constant(uint256)) = 16

# @dev Share of a slashed bond paid to the auditor, in basis points; the rest burns.
AUDITOR_SHARE_BPS: public(constant(uint256)) = 2000

# @dev The longest response window: well inside EIP-2935's 8,191 readable blocks...
MAX_RESPONSE_BLOCKS: public(constant(uint256)) = 4096
# @dev ... or inside BLOCKHASH's 256 where the history contract is absent.
MAX_RESPONSE_BLOCKS_NO_HISTORY: public(constant(uint256)) = 200

# @dev Claim status codes returned by `status` and `claim`.
PENDING: public(constant(uint8)) = 0
AUDITED: public(constant(uint8)) = 1
DISPUTED: public(constant(uint8)) = 2
FINALISED: public(constant(uint8)) = 3
FAILED: public(constant(uint8)) = 4

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

# @dev `datasoil-fate-v1`: u64 input | u8 kept | u64 output | u64 kept_before |
# u8 step | u64 dup_of, big-endian, 34 bytes; "none" is 2**64-1 (step: 0xff).
FATE_SIZE: constant(uint256) = 34
FATE_NONE: constant(uint256) = 18446744073709551615
FATE_STEP_NONE: constant(uint256) = 255

# @dev Prefix of the reproduction metric set in the Attestations contract.
REPRODUCTION_TAG: constant(Bytes[24]) = b"datasoil.reproduction.v1"

# @dev Internal claim states (packed in the header).
_ACTIVE: constant(uint256) = 1
_FINALISED: constant(uint256) = 2
_FAILED: constant(uint256) = 3

_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_U64: constant(uint256) = (1 << 64) - 1
_U32: constant(uint256) = (1 << 32) - 1
_U8: constant(uint256) = 255


# @dev The dataset registry the roots, counts and owners come from.
registry: public(immutable(DatasetRegistry))
# @dev The Attestations contract holding reproduction attestations (read by consumers).
attestations: public(immutable(address))
# @dev The ERC-20 of bonds and deposits.
bond_token: public(immutable(IERC20))
# @dev The claimant's bond, also the dispute bond.
bond: public(immutable(uint256))
# @dev The deposit an audit takes.
audit_deposit: public(immutable(uint256))
# @dev Blocks after submission during which audits and disputes may open.
challenge_blocks: public(immutable(uint256))
# @dev Blocks after an audit's opening within which the claimant must answer.
response_blocks: public(immutable(uint256))

# @dev The number of claims; ids run from 1 to `claim_count`.
claim_count: public(uint256)
# @dev Claim header: claimant (bits 0-159) | submission block (160-223) |
# state (224-231) | audits opened (232-239) | audits open (240-247).
_head: HashMap[uint256, uint256]
# @dev Claim ids: parent id (bits 0-31) | child id (32-63) | disputer (64-223).
_ids: HashMap[uint256, uint256]
# @dev The claim's fate root.
_fate_root: HashMap[uint256, bytes32]
# @dev Audit record per claim and audit number: auditor (bits 0-159) |
# opening block (160-223) | state (224-231) | failure reason (232-239).
_audit: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Audit seeds, stored the first time they are read.
_seed: HashMap[uint256, HashMap[uint256, bytes32]]
# @dev Tokens each account may withdraw.
credits: public(HashMap[address, uint256])
# @dev Tokens burned by slashing, locked in this contract for ever.
burned: public(uint256)


# @dev A bonded claim; the CIDs and the registry's facts at submission for indexers.
event ClaimSubmitted:
    claim_id: indexed(uint256)
    parent_id: indexed(uint256)
    child_id: indexed(uint256)
    claimant: address
    recipe_cid: Cid
    proof_cid: Cid
    fate_root: bytes32
    parent_root: bytes32
    child_root: bytes32
    rows_in: uint64
    rows_out: uint64
    bond: uint256


# @dev An audit opened; its seed is fixed by the hash of block `seed_block`.
event AuditOpened:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    auditor: indexed(address)
    seed_block: uint256
    deadline: uint256
    deposit: uint256


# @dev An audit answered correctly; the openings' rows for re-execution off chain.
event AuditPassed:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    seed: bytes32
    input_indices: DynArray[uint256, SAMPLES]
    input_rows: DynArray[Bytes[rfc9162.MAX_ROW_BYTES], SAMPLES]
    input_leaves: DynArray[bytes32, SAMPLES]
    fates: DynArray[Bytes[FATE_SIZE], SAMPLES]
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


# @dev An audit made void because its claim failed another audit; deposit credited back.
event AuditVoided:
    claim_id: indexed(uint256)
    audit: indexed(uint256)
    auditor: indexed(address)


# @dev A claim disputed: settled by reproduction attestations under `metric_set`.
event ClaimDisputed:
    claim_id: indexed(uint256)
    disputer: indexed(address)
    bond: uint256
    metric_set: bytes32


# @dev A claim finalised: the bond (and any dispute bond) credited back.
event ClaimFinalised:
    claim_id: indexed(uint256)
    claimant: indexed(address)
    bond: uint256
    disputed: bool


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
    response_blocks_: uint256,
):
    """
    @dev Fixes the registry, token, bond sizes and windows for ever.
    @param registry_ The DatasetRegistry.
    @param attestations_ The Attestations contract (stored for consumers, never called).
    @param bond_token_ The ERC-20 of bonds and deposits.
    @param bond_ The claim bond (also the dispute bond); non-zero.
    @param audit_deposit_ The audit deposit.
    @param challenge_blocks_ The challenge window in blocks; non-zero.
    @param response_blocks_ The response window in blocks: at least 2 (the seed block
           must be mined before an answer), at most MAX_RESPONSE_BLOCKS (or
           MAX_RESPONSE_BLOCKS_NO_HISTORY without the EIP-2935 history contract).
    """
    assert registry_ != empty(address), "proofs: zero registry"
    assert bond_token_ != empty(address), "proofs: zero bond token"
    assert bond_ != 0, "proofs: zero bond"
    assert challenge_blocks_ != 0, "proofs: zero challenge window"
    assert response_blocks_ >= 2, "proofs: response window under 2 blocks"
    limit: uint256 = MAX_RESPONSE_BLOCKS
    if block_hash._HISTORY_STORAGE_ADDRESS.codehash != block_hash._HISTORY_STORAGE_RUNTIME_BYTECODE_HASH:
        limit = MAX_RESPONSE_BLOCKS_NO_HISTORY
    assert response_blocks_ <= limit, "proofs: response window beyond block hash reach"
    assert challenge_blocks_ <= _U64 // 2, "proofs: challenge window too long"
    registry = DatasetRegistry(registry_)
    attestations = attestations_
    bond_token = IERC20(bond_token_)
    bond = bond_
    audit_deposit = audit_deposit_
    challenge_blocks = challenge_blocks_
    response_blocks = response_blocks_


@external
def submit_claim(
    parent_id: uint256, child_id: uint256, recipe_cid: Cid, proof_cid: Cid, fate_root: bytes32
) -> uint256:
    """
    @dev Claims that `child_id` is `parent_id` cleaned by the recipe `recipe_cid`, with
         the fate of every input row committed under `fate_root`; takes the bond
         (approve it first). Only the child's owner may claim.
    @param parent_id The input dataset, listed among the child's parents.
    @param child_id The cleaned dataset.
    @param recipe_cid The recipe's CID.
    @param proof_cid The cleaning proof document's CID.
    @param fate_root The RFC 9162 root over the parent's rows' fate records.
    @return uint256 The claim id.
    """
    child: DatasetInfo = staticcall registry.info(child_id)
    assert child.owner == msg.sender, "proofs: not the child's owner"
    assert parent_id in child.parents, "proofs: child does not list the parent"
    parent: DatasetInfo = staticcall registry.info(parent_id)
    assert child.row_count <= parent.row_count, "proofs: child has more rows than parent"
    assert fate_root != empty(bytes32), "proofs: zero fate root"
    assert parent.row_count != 0 or fate_root == EMPTY_ROOT, "proofs: empty parent needs the empty fate root"
    assert recipe_cid.digest != empty(bytes32), "proofs: zero recipe digest"
    assert proof_cid.digest != empty(bytes32), "proofs: zero proof digest"
    self._check_funds(bond, "bond")

    # Claim ids are bounded by the number of transactions ever sent: no overflow.
    claim_id: uint256 = unsafe_add(self.claim_count, 1)
    self.claim_count = claim_id
    self._head[claim_id] = (
        convert(msg.sender, uint256) | (block.number << 160) | (_ACTIVE << 224)
    )
    # Registry ids are at most 2**32 - 1.
    self._ids[claim_id] = parent_id | (child_id << 32)
    self._fate_root[claim_id] = fate_root
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
def open_audit(claim_id: uint256) -> uint256:
    """
    @dev Opens a structural audit of an active claim within its challenge window, taking
         the audit deposit (approve it first). The seed is the hash of the next block:
         the claimant answers from that block on, until `deadline`.
    @param claim_id The claim.
    @return uint256 The audit number (from 0).
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number <= self._window_end(head), "proofs: challenge window closed"
    count: uint256 = (head >> 232) & _U8
    assert count < MAX_AUDITS, "proofs: too many audits"
    ids: uint256 = self._ids[claim_id]
    assert (staticcall registry.info(ids & _U32)).row_count != 0, "proofs: nothing to audit"
    self._check_funds(audit_deposit, "deposit")

    # count < MAX_AUDITS = 16, and open <= count, so both bytes stay below 256.
    self._head[claim_id] = unsafe_add(head, (1 << 232) | (1 << 240))
    self._audit[claim_id][count] = (
        convert(msg.sender, uint256) | (block.number << 160) | (convert(AUDIT_OPEN, uint256) << 224)
    )
    log AuditOpened(
        claim_id=claim_id,
        audit=count,
        auditor=msg.sender,
        seed_block=block.number + 1,
        deadline=block.number + response_blocks,
        deposit=audit_deposit,
    )
    self._pull(audit_deposit)
    return count


@external
def respond(
    claim_id: uint256,
    audit: uint256,
    inputs: DynArray[InputOpening, SAMPLES],
    outputs: DynArray[OutputOpening, SAMPLES],
):
    """
    @dev The claimant answers an open audit with the openings of the sampled rows (see
         `sample`). Answers that address other indices revert; openings that do not
         verify, or fate records that break the fate rules, fail the audit and slash
         the bond. A passing answer credits the auditor's deposit to the claimant.
    @param claim_id The claim.
    @param audit The audit number.
    @param inputs One opening per sampled input row, in sample order.
    @param outputs One opening per sampled output row, in sample order (none for a
           0-row child).
    """
    head: uint256 = self._active_head(claim_id)
    assert convert(head & _ADDRESS_MASK, address) == msg.sender, "proofs: not the claimant"
    record: uint256 = self._open_audit(claim_id, audit)
    assert block.number <= ((record >> 160) & _U64) + response_blocks, "proofs: response deadline passed"
    seed: bytes32 = self._seed[claim_id][audit]
    if seed == empty(bytes32):
        seed = self._compute_seed(claim_id, audit, record)
        assert seed != empty(bytes32), "proofs: seed block not mined yet"
        self._seed[claim_id][audit] = seed

    ids: uint256 = self._ids[claim_id]
    parent: DatasetInfo = staticcall registry.info(ids & _U32)
    child: DatasetInfo = staticcall registry.info((ids >> 32) & _U32)
    rows_in: uint256 = convert(parent.row_count, uint256)
    rows_out: uint256 = convert(child.row_count, uint256)
    fate_root: bytes32 = self._fate_root[claim_id]
    wanted_in: DynArray[uint256, SAMPLES] = self._indices(seed, 0, rows_in)
    wanted_out: DynArray[uint256, SAMPLES] = self._indices(seed, SAMPLES, rows_out)
    assert len(inputs) == len(wanted_in), "proofs: wrong number of input openings"
    assert len(outputs) == len(wanted_out), "proofs: wrong number of output openings"

    rows: DynArray[Bytes[rfc9162.MAX_ROW_BYTES], SAMPLES] = []
    leaves: DynArray[bytes32, SAMPLES] = []
    fates: DynArray[Bytes[FATE_SIZE], SAMPLES] = []
    sources: DynArray[uint256, SAMPLES] = []
    reason: uint8 = 0
    at: uint256 = 0
    for j: uint256 in range(SAMPLES):
        if j == len(inputs):
            break
        i: uint256 = inputs[j].index
        assert i == wanted_in[j], "proofs: wrong input index"
        if reason != 0:
            continue
        leaf: bytes32 = inputs[j].leaf
        if not parent.private:
            leaf = rfc9162._leaf_hash(inputs[j].row)
        if not rfc9162._verify_inclusion(leaf, i, rows_in, inputs[j].row_path, parent.row_root):
            reason = REASON_INPUT_ROW
            at = j
            continue
        fate: Bytes[FATE_SIZE] = inputs[j].fate
        if not self._fate_opens(fate, i, rows_in, inputs[j].fate_path, fate_root):
            reason = REASON_FATE_OPENING
            at = j
            continue
        output: uint256 = 0
        ok: bool = False
        ok, output = self._fate_rules(fate, i, rows_in, rows_out)
        if not ok:
            reason = REASON_FATE_RULE
            at = j
            continue
        if output != FATE_NONE:
            out_leaf: bytes32 = inputs[j].output_leaf
            if not child.private:
                out_leaf = rfc9162._leaf_hash(inputs[j].output_row)
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
        fates.append(fate)
    for j: uint256 in range(SAMPLES):
        if j == len(outputs):
            break
        o: uint256 = outputs[j].index
        assert o == wanted_out[j], "proofs: wrong output index"
        if reason != 0:
            continue
        source: uint256 = outputs[j].source
        if not self._fate_opens(outputs[j].fate, source, rows_in, outputs[j].fate_path, fate_root):
            reason = REASON_FATE_OPENING
            at = SAMPLES + j
            continue
        output: uint256 = 0
        ok: bool = False
        ok, output = self._fate_rules(outputs[j].fate, source, rows_in, rows_out)
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
    self._head[claim_id] = unsafe_sub(head, 1 << 240)
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
    @dev Fails an audit the claimant did not answer by its deadline, slashing the bond.
         Anyone may call it.
    @param claim_id The claim.
    @param audit The audit number.
    """
    head: uint256 = self._active_head(claim_id)
    record: uint256 = self._open_audit(claim_id, audit)
    assert block.number > ((record >> 160) & _U64) + response_blocks, "proofs: response deadline not passed"
    self._fail(claim_id, audit, head, record, REASON_NO_RESPONSE, 0)


@external
def dispute(claim_id: uint256):
    """
    @dev Disputes an active claim within its challenge window with a bond equal to the
         claim bond (approve it first). The claim reads as disputed until it is
         finalised or fails; the dispute bond is credited back then. The contract does
         not judge the dispute: re-execution does, recorded as reproduction
         attestations under `reproduction_metric_set(claim_id)`.
    @param claim_id The claim.
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number <= self._window_end(head), "proofs: challenge window closed"
    ids: uint256 = self._ids[claim_id]
    assert ids >> 64 == 0, "proofs: already disputed"
    self._check_funds(bond, "bond")
    self._ids[claim_id] = ids | (convert(msg.sender, uint256) << 64)
    log ClaimDisputed(
        claim_id=claim_id,
        disputer=msg.sender,
        bond=bond,
        metric_set=self._metric_set(claim_id),
    )
    self._pull(bond)


@external
def finalize(claim_id: uint256):
    """
    @dev Closes an active claim after its challenge window once no audit is open,
         crediting the bond to the claimant (and a dispute bond to its disputer).
    @param claim_id The claim.
    """
    head: uint256 = self._active_head(claim_id)
    assert block.number > self._window_end(head), "proofs: challenge window not over"
    assert (head >> 240) & _U8 == 0, "proofs: audit pending"
    claimant: address = convert(head & _ADDRESS_MASK, address)
    self._head[claim_id] = (head & ~(_U8 << 224)) | (_FINALISED << 224)
    self.credits[claimant] += bond
    disputer: address = convert((self._ids[claim_id] >> 64) & _ADDRESS_MASK, address)
    if disputer != empty(address):
        self.credits[disputer] += bond
    log ClaimFinalised(
        claim_id=claim_id, claimant=claimant, bond=bond, disputed=disputer != empty(address)
    )


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
    return self._status(self._existing_head(claim_id), self._ids[claim_id])


@external
@view
def claim(claim_id: uint256) -> ClaimView:
    """
    @dev A claim with its status and audit history, in one call.
    @param claim_id The claim.
    @return ClaimView The claim; `audits` in opening order.
    """
    head: uint256 = self._existing_head(claim_id)
    ids: uint256 = self._ids[claim_id]
    audits: DynArray[AuditView, MAX_AUDITS] = []
    for n: uint256 in range(MAX_AUDITS):
        if n == (head >> 232) & _U8:
            break
        record: uint256 = self._audit[claim_id][n]
        opened: uint256 = (record >> 160) & _U64
        audits.append(
            AuditView(
                auditor=convert(record & _ADDRESS_MASK, address),
                opened=opened,
                deadline=opened + response_blocks,
                state=convert((record >> 224) & _U8, uint8),
                reason=convert((record >> 232) & _U8, uint8),
                seed=self._read_seed(claim_id, n, record),
            )
        )
    return ClaimView(
        claimant=convert(head & _ADDRESS_MASK, address),
        parent_id=ids & _U32,
        child_id=(ids >> 32) & _U32,
        fate_root=self._fate_root[claim_id],
        submitted=(head >> 160) & _U64,
        window_end=self._window_end(head),
        status=self._status(head, ids),
        disputer=convert((ids >> 64) & _ADDRESS_MASK, address),
        open_audits=(head >> 240) & _U8,
        audits=audits,
    )


@external
@view
def audit_seed(claim_id: uint256, audit: uint256) -> bytes32:
    """
    @dev An audit's seed: stored once read, else computed from the block after the
         opening; zero while that block is not mined (or no longer readable).
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
def sample(
    claim_id: uint256, audit: uint256
) -> (DynArray[uint256, SAMPLES], DynArray[uint256, SAMPLES]):
    """
    @dev The input and output indices an audit asks for.
    @param claim_id The claim.
    @param audit The audit number.
    @return DynArray The input indices (SAMPLES, or none for a 0-row parent).
    @return DynArray The output indices (SAMPLES, or none for a 0-row child).
    """
    self._existing_head(claim_id)
    record: uint256 = self._audit[claim_id][audit]
    assert record != 0, "proofs: unknown audit"
    seed: bytes32 = self._read_seed(claim_id, audit, record)
    assert seed != empty(bytes32), "proofs: seed block not mined yet"
    ids: uint256 = self._ids[claim_id]
    rows_in: uint256 = convert((staticcall registry.info(ids & _U32)).row_count, uint256)
    rows_out: uint256 = convert((staticcall registry.info((ids >> 32) & _U32)).row_count, uint256)
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


@internal
@pure
def _metric_set(claim_id: uint256) -> bytes32:
    return keccak256(concat(REPRODUCTION_TAG, convert(claim_id, bytes32)))


@internal
@view
def _existing_head(claim_id: uint256) -> uint256:
    head: uint256 = self._head[claim_id]
    assert head != 0, "proofs: unknown claim"
    return head


@internal
@view
def _active_head(claim_id: uint256) -> uint256:
    head: uint256 = self._existing_head(claim_id)
    assert (head >> 224) & _U8 == _ACTIVE, "proofs: claim not active"
    return head


@internal
@view
def _open_audit(claim_id: uint256, audit: uint256) -> uint256:
    record: uint256 = self._audit[claim_id][audit]
    assert record != 0, "proofs: unknown audit"
    assert (record >> 224) & _U8 == convert(AUDIT_OPEN, uint256), "proofs: audit not open"
    return record


@internal
@view
def _window_end(head: uint256) -> uint256:
    return ((head >> 160) & _U64) + challenge_blocks


@internal
@pure
def _status(head: uint256, ids: uint256) -> uint8:
    state: uint256 = (head >> 224) & _U8
    if state == _FAILED:
        return FAILED
    if state == _FINALISED:
        return FINALISED
    if ids >> 64 != 0:
        return DISPUTED
    if (head >> 232) & _U8 != 0:
        return AUDITED
    return PENDING


@internal
@pure
def _set_state(record: uint256, state: uint8, reason: uint8) -> uint256:
    return (
        (record & ((1 << 224) - 1))
        | (convert(state, uint256) << 224)
        | (convert(reason, uint256) << 232)
    )


@internal
@view
def _compute_seed(claim_id: uint256, audit: uint256, record: uint256) -> bytes32:
    # The seed block is the one after the opening.
    hash: bytes32 = block_hash._block_hash(((record >> 160) & _U64) + 1)
    if hash == empty(bytes32):
        return empty(bytes32)
    return keccak256(abi_encode(hash, claim_id, audit))


@internal
@view
def _read_seed(claim_id: uint256, audit: uint256, record: uint256) -> bytes32:
    seed: bytes32 = self._seed[claim_id][audit]
    if seed != empty(bytes32):
        return seed
    return self._compute_seed(claim_id, audit, record)


@internal
@pure
def _indices(seed: bytes32, offset: uint256, size: uint256) -> DynArray[uint256, SAMPLES]:
    # Index j is keccak256(seed || uint256(offset + j)) mod size: inputs use offsets
    # 0..SAMPLES-1, outputs SAMPLES..2*SAMPLES-1. The modulo bias is below 2**-190.
    result: DynArray[uint256, SAMPLES] = []
    if size == 0:
        return result
    for j: uint256 in range(SAMPLES):
        result.append(convert(keccak256(abi_encode(seed, offset + j)), uint256) % size)
    return result


@internal
@pure
def _fate_opens(
    fate: Bytes[FATE_SIZE],
    index: uint256,
    rows_in: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
    fate_root: bytes32,
) -> bool:
    if len(fate) != FATE_SIZE:
        return False
    return rfc9162._verify_inclusion(rfc9162._leaf_hash(fate), index, rows_in, path, fate_root)


@internal
@pure
def _fate_rules(
    fate: Bytes[FATE_SIZE], index: uint256, rows_in: uint256, rows_out: uint256
) -> (bool, uint256):
    """
    @dev Decodes a 34-byte fate record of input row `index` and checks the fate rules;
         returns (ok, output index or FATE_NONE).
    """
    input_index: uint256 = convert(slice(fate, 0, 8), uint256)
    kept: uint256 = convert(slice(fate, 8, 1), uint256)
    output: uint256 = convert(slice(fate, 9, 8), uint256)
    kept_before: uint256 = convert(slice(fate, 17, 8), uint256)
    step: uint256 = convert(slice(fate, 25, 1), uint256)
    dup_of: uint256 = convert(slice(fate, 26, 8), uint256)
    if input_index != index or kept > 1:
        return False, FATE_NONE
    # Rows kept before this one: no more than the rows before it, nor the output rows.
    if kept_before > index or kept_before + kept > rows_out:
        return False, FATE_NONE
    # The last input row closes the count: every output row is accounted for.
    if index + 1 == rows_in and kept_before + kept != rows_out:
        return False, FATE_NONE
    if dup_of != FATE_NONE and dup_of >= index:
        return False, FATE_NONE
    if kept == 1:
        if output != kept_before or step != FATE_STEP_NONE or dup_of != FATE_NONE:
            return False, FATE_NONE
        return True, output
    if output != FATE_NONE or step == FATE_STEP_NONE:
        return False, FATE_NONE
    return True, FATE_NONE


@internal
def _fail(claim_id: uint256, audit: uint256, head: uint256, record: uint256, reason: uint8, at: uint256):
    auditor: address = convert(record & _ADDRESS_MASK, address)
    self._audit[claim_id][audit] = self._set_state(record, AUDIT_FAILED, reason)
    count: uint256 = (head >> 232) & _U8
    # The failing auditor's deposit comes back; other open audits become void.
    for n: uint256 in range(MAX_AUDITS):
        if n == count:
            break
        if n == audit:
            continue
        other: uint256 = self._audit[claim_id][n]
        if (other >> 224) & _U8 == convert(AUDIT_OPEN, uint256):
            self._audit[claim_id][n] = self._set_state(other, AUDIT_VOID, 0)
            who: address = convert(other & _ADDRESS_MASK, address)
            self.credits[who] += audit_deposit
            log AuditVoided(claim_id=claim_id, audit=n, auditor=who)
    # Clear the open count and mark the claim failed.
    self._head[claim_id] = (head & ((1 << 224) - 1)) | (_FAILED << 224) | (count << 232)
    share: uint256 = bond * AUDITOR_SHARE_BPS // 10000
    # share <= bond since AUDITOR_SHARE_BPS <= 10000.
    burn: uint256 = unsafe_sub(bond, share)
    self.burned += burn
    self.credits[auditor] += share + audit_deposit
    disputer: address = convert((self._ids[claim_id] >> 64) & _ADDRESS_MASK, address)
    if disputer != empty(address):
        self.credits[disputer] += bond
    log AuditFailed(claim_id=claim_id, audit=audit, reason=reason, opening=at)
    log ClaimSlashed(claim_id=claim_id, auditor=auditor, burned=burn, auditor_share=share)


@internal
@view
def _check_funds(amount: uint256, what: String[7]):
    assert staticcall bond_token.allowance(msg.sender, self) >= amount, concat("proofs: ", what, " not approved")
    assert staticcall bond_token.balanceOf(msg.sender) >= amount, concat("proofs: ", what, " exceeds balance")


@internal
def _pull(amount: uint256):
    if amount != 0:
        assert extcall bond_token.transferFrom(msg.sender, self, amount, default_return_value=True), "proofs: transfer failed"
