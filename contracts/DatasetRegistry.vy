# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title DatasetRegistry
@custom:contract-name DatasetRegistry
@license Apache-2.0
@notice Registers datasets: who owns them, what they contain (content CID, RFC 9162
        row root and row count), whether their row hashes are keyed (private data),
        what they were made from (up to 8 parents, immutable, lower ids, so lineage
        has no cycles) and which dataset they supersede (`version_of`).
        A dataset never changes once registered, except for its owner, which moves
        in two steps (propose, accept).
@dev Only what other contracts read is stored: owner, row count and private flag
     packed in one slot, the row root in a second, the parent ids (8 x uint32)
     packed in a third when there are parents. Everything else (CIDs, license,
     version links) lives in the `DatasetRegistered` event; indexers rebuild it.
@custom:security Registering a CID is not a claim of authorship: anyone watching
                 the mempool can register the same CID first. Trust owners, not
                 first registrations.
"""

from interfaces import IDatasetRegistry

implements: IDatasetRegistry

# @dev The most parents a dataset may name.
MAX_PARENTS: public(constant(uint256)) = 8

# @dev Dataset ids are uint32 so eight parent ids pack into one slot, 32 bits each.
_PARENT_BITS: constant(uint256) = 32
MAX_ID: constant(uint256) = (1 << _PARENT_BITS) - 1

# @dev The RFC 9162 root of the empty tree, SHA-256 of the empty string: the only
# valid root for a dataset with no rows.
EMPTY_ROOT: public(constant(bytes32)) = (
    0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
)

# @dev The multicodec code of dag-pb, the only codec a CIDv0 can have.
DAG_PB: constant(uint256) = 112

# @dev Where a packed CID's prefix keeps the CID version (above the 64-bit multicodec).
_CID_VERSION_SHIFT: constant(uint256) = 64

# @dev Bit masks and shifts of the packed record:
# owner (bits 0-159) | row count (bits 160-223) | private flag (bit 224) |
# ownership period, the number of completed transfers (bits 225-255).
_COUNT_SHIFT: constant(uint256) = 160
_PRIVATE_BIT: constant(uint256) = 1 << 224
_PERIOD_SHIFT: constant(uint256) = 225
_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_COUNT_MASK: constant(uint256) = (1 << 64) - 1


# @dev The number of datasets registered; ids run from 1 to `dataset_count`.
dataset_count: public(uint256)

# @dev Packed owner, row count and private flag per dataset id.
_record: HashMap[uint256, uint256]

# @dev RFC 9162 row root per dataset id.
_row_root: HashMap[uint256, bytes32]

# @dev Parent ids per dataset id, eight uint32 packed, first parent in the low bits,
# zero where there is none.
_parents: HashMap[uint256, uint256]

# @dev The proposed next owner per dataset id, zero when no transfer is pending.
pending_owner: public(HashMap[uint256, address])


# @dev Emitted once per dataset with everything an indexer needs.
event DatasetRegistered:
    dataset_id: indexed(uint256)
    owner: indexed(address)
    version_of: uint256
    content_cid: IDatasetRegistry.PackedCid
    row_root: bytes32
    row_count: uint64
    private: bool
    metadata_cid: IDatasetRegistry.PackedCid
    license: String[64]
    parents: DynArray[uint256, MAX_PARENTS]


# @dev Emitted when an owner proposes a new owner (zero cancels a proposal).
event OwnershipTransferStarted:
    dataset_id: indexed(uint256)
    owner: indexed(address)
    pending_owner: indexed(address)


# @dev Emitted when the proposed owner accepts.
event OwnershipTransferred:
    dataset_id: indexed(uint256)
    previous_owner: indexed(address)
    new_owner: indexed(address)


@deploy
def __init__():
    """
    @dev Starts with no datasets.
    """
    pass


@external
def register(
    content_cid: IDatasetRegistry.PackedCid,
    row_root: bytes32,
    row_count: uint64,
    private: bool,
    metadata_cid: IDatasetRegistry.PackedCid,
    license: String[64],
    parents: DynArray[uint256, MAX_PARENTS],
    version_of: uint256,
) -> uint256:
    """
    @dev Registers a dataset owned by the caller and returns its id.
    @param content_cid The content CID (the ciphertext's for private data).
    @param row_root The RFC 9162 root over the dataset's encoded rows (keyed leaves
           when `private`).
    @param row_count The number of rows (the tree size).
    @param private Whether row leaves are keyed (HMAC); fixed for ever.
    @param metadata_cid The CID of the Croissant metadata document.
    @param license An SPDX license id or a license document's CID string.
    @param parents Ids of the datasets this one was made from, strictly
           increasing, each registered already.
    @param version_of The id this dataset supersedes (0 for none); the caller must
           own it.
    @return uint256 The new dataset's id.
    """
    self._check_cid(content_cid, "content")
    self._check_cid(metadata_cid, "metadata")
    assert row_root != empty(bytes32), "registry: zero row root"
    assert row_count != 0 or row_root == EMPTY_ROOT, "registry: empty dataset needs the empty root"
    count: uint256 = self.dataset_count
    # The count is bounded by MAX_ID below, so this cannot overflow.
    dataset_id: uint256 = unsafe_add(count, 1)
    assert dataset_id <= MAX_ID, "registry: id space exhausted"
    if version_of != 0:
        assert version_of <= count, "registry: unknown version_of"
        assert self._owner(version_of) == msg.sender, "registry: not the owner of version_of"

    packed: uint256 = 0
    previous: uint256 = 0
    offset: uint256 = 0
    for parent: uint256 in parents:
        assert parent > previous, "registry: parents not strictly increasing"
        assert parent <= count, "registry: unknown parent"
        packed |= parent << offset
        previous = parent
        # At most 8 parents of 32 bits: offset stays below 256.
        offset = unsafe_add(offset, _PARENT_BITS)

    record: uint256 = convert(msg.sender, uint256) | (convert(row_count, uint256) << _COUNT_SHIFT)
    if private:
        record |= _PRIVATE_BIT
    self.dataset_count = dataset_id
    self._record[dataset_id] = record
    self._row_root[dataset_id] = row_root
    if packed != 0:
        self._parents[dataset_id] = packed

    log DatasetRegistered(
        dataset_id=dataset_id,
        owner=msg.sender,
        version_of=version_of,
        content_cid=content_cid,
        row_root=row_root,
        row_count=row_count,
        private=private,
        metadata_cid=metadata_cid,
        license=license,
        parents=parents,
    )
    return dataset_id


@external
def propose_owner(dataset_id: uint256, new_owner: address):
    """
    @dev Proposes `new_owner` for a dataset the caller owns; zero cancels.
    @param dataset_id The dataset.
    @param new_owner The proposed owner, who must call `accept_owner`.
    """
    assert self._owner(dataset_id) == msg.sender, "registry: not the dataset owner"
    self.pending_owner[dataset_id] = new_owner
    log OwnershipTransferStarted(dataset_id=dataset_id, owner=msg.sender, pending_owner=new_owner)


@external
def accept_owner(dataset_id: uint256):
    """
    @dev Completes a transfer: the proposed owner becomes the owner.
    @param dataset_id The dataset.
    """
    assert self.pending_owner[dataset_id] == msg.sender, "registry: not the pending owner"
    record: uint256 = self._record[dataset_id]
    previous: address = convert(record & _ADDRESS_MASK, address)
    self.pending_owner[dataset_id] = empty(address)
    # The period is the top 31 bits; adding one there wraps only after 2**31 transfers
    # (each a transaction of ~29k gas), and a wrap clears nothing below bit 225.
    self._record[dataset_id] = unsafe_add(
        (record & ~_ADDRESS_MASK) | convert(msg.sender, uint256), 1 << _PERIOD_SHIFT
    )
    log OwnershipTransferred(dataset_id=dataset_id, previous_owner=previous, new_owner=msg.sender)


@external
@view
def exists(dataset_id: uint256) -> bool:
    """
    @dev Whether `dataset_id` is registered.
    @param dataset_id The dataset.
    @return bool True for ids 1..dataset_count.
    """
    return dataset_id != 0 and dataset_id <= self.dataset_count


@external
@view
def owner_of(dataset_id: uint256) -> address:
    """
    @dev The owner of a dataset; reverts for an unknown id.
    @param dataset_id The dataset.
    @return address The owner.
    """
    return self._existing_owner(dataset_id)


@external
@view
def ownership(dataset_id: uint256) -> (address, uint256):
    """
    @dev The owner and the ownership period of a dataset; reverts for an unknown id.
         The period counts completed transfers, so it never repeats, even when a
         dataset returns to an earlier owner (the market keys listings by it).
    @param dataset_id The dataset.
    @return address The owner.
    @return uint256 The ownership period (0 until the first transfer).
    """
    owner: address = self._existing_owner(dataset_id)
    return owner, self._record[dataset_id] >> _PERIOD_SHIFT


@external
@view
def row_root(dataset_id: uint256) -> bytes32:
    """
    @dev The RFC 9162 row root; zero for an unknown id (a registered dataset never has
         a zero root), so callers comparing a root need one storage read, not two.
    @param dataset_id The dataset.
    @return bytes32 The root, or zero.
    """
    return self._row_root[dataset_id]


@external
@view
def row_count(dataset_id: uint256) -> uint64:
    """
    @dev The number of rows (the tree size); reverts for an unknown id.
    @param dataset_id The dataset.
    @return uint64 The row count.
    """
    self._existing_owner(dataset_id)
    return convert((self._record[dataset_id] >> _COUNT_SHIFT) & _COUNT_MASK, uint64)


@external
@view
def is_private(dataset_id: uint256) -> bool:
    """
    @dev Whether the dataset's row leaves are keyed; reverts for an unknown id.
    @param dataset_id The dataset.
    @return bool The private flag.
    """
    self._existing_owner(dataset_id)
    return self._record[dataset_id] & _PRIVATE_BIT != 0


@external
@view
def parents(dataset_id: uint256) -> DynArray[uint256, MAX_PARENTS]:
    """
    @dev The parent ids in registration order; reverts for an unknown id.
    @param dataset_id The dataset.
    @return DynArray The parent ids.
    """
    self._existing_owner(dataset_id)
    return self._unpack_parents(self._parents[dataset_id])


@external
@view
def info(dataset_id: uint256) -> IDatasetRegistry.DatasetInfo:
    """
    @dev Everything stored about a dataset in one call; reverts for an unknown id.
    @param dataset_id The dataset.
    @return DatasetInfo Owner, row root, row count, private flag and parents.
    """
    owner: address = self._existing_owner(dataset_id)
    record: uint256 = self._record[dataset_id]
    return IDatasetRegistry.DatasetInfo(
        owner=owner,
        row_root=self._row_root[dataset_id],
        row_count=convert((record >> _COUNT_SHIFT) & _COUNT_MASK, uint64),
        private=record & _PRIVATE_BIT != 0,
        parents=self._unpack_parents(self._parents[dataset_id]),
    )


@internal
@pure
def _check_cid(cid: IDatasetRegistry.PackedCid, what: String[8]):
    """
    @dev Reverts unless a packed CID is well formed: a non-zero digest, version 0 or 1,
         and a CIDv0 only with the dag-pb codec.
    @param cid The packed CID.
    @param what What the CID is, for the revert string ("metadata", "schema", ...).
    """
    assert cid.digest != empty(bytes32), concat("registry: zero ", what, " digest")
    version: uint256 = cid.prefix >> _CID_VERSION_SHIFT
    assert version <= 1, concat("registry: ", what, " CID version not 0 or 1")
    assert version == 1 or cid.prefix == DAG_PB, concat("registry: ", what, " CIDv0 not dag-pb")


@internal
@view
def _owner(dataset_id: uint256) -> address:
    """
    @dev The dataset's owner; the zero address for an unknown id.
    @param dataset_id The dataset.
    @return address Its owner.
    """
    return convert(self._record[dataset_id] & _ADDRESS_MASK, address)


@internal
@view
def _existing_owner(dataset_id: uint256) -> address:
    """
    @dev The dataset's owner; reverts for an unknown id.
    @param dataset_id The dataset.
    @return address Its owner.
    """
    owner: address = self._owner(dataset_id)
    assert owner != empty(address), "registry: unknown dataset"
    return owner


@internal
@pure
def _unpack_parents(packed: uint256) -> DynArray[uint256, MAX_PARENTS]:
    """
    @dev The parent ids packed in one word, 32 bits each from the lowest, up to the
         first zero.
    @param packed The packed parents.
    @return DynArray The parent ids, in registration order.
    """
    result: DynArray[uint256, MAX_PARENTS] = []
    word: uint256 = packed
    for _: uint256 in range(MAX_PARENTS):
        if word == 0:
            break
        result.append(word & MAX_ID)
        word = word >> _PARENT_BITS
    return result
