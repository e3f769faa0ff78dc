# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title rfc9162
@custom:contract-name rfc9162
@license Apache-2.0
@notice RFC 9162 (Certificate Transparency v2) Merkle inclusion proofs over SHA-256,
        the tree datasoil commits rows and fate records with:
        leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).
        `_verify_inclusion` is the algorithm of RFC 9162 section 2.1.3.2, step by step;
        the SHA-256 precompile (`sha256` builtin) does the hashing.
@dev A pure module: no storage, no initialisation; import it and call its internal
     functions (`import rfc9162` ... `rfc9162._verify_inclusion(...)`).
@custom:security The tree size MUST come from a trusted source -- the registry's row
                 count for a dataset, or the parent's row count for a fate tree --
                 never from the caller. The RFC's algorithm accepts some proofs
                 relabelled with another size: the path for leaf 0 of a 4-leaf tree
                 also verifies, against the same root, as leaf 0 of a 3-leaf tree
                 (the steps only see whether each node is a left or right child).
                 Taking `size` from storage, and the index from the verifier's own
                 expectation, closes that door.
"""

# @dev The deepest audit path: tree sizes fit in 64 bits.
MAX_DEPTH: constant(uint256) = 64

# @dev The most row bytes an opening carries inline, among the other openings of an
# answer; longer rows are opened one per transaction (CleaningProofs.open_row).
MAX_ROW_BYTES: constant(uint256) = 4096

# @dev The longest row `open_row` takes (384 KiB): a transaction carrying it in
# calldata (40 gas a byte under EIP-7623's floor) fits EIP-7825's 2**24 gas cap.
MAX_LONG_ROW_BYTES: constant(uint256) = 393216


@internal
@pure
def _leaf_hash(data: Bytes[MAX_ROW_BYTES]) -> bytes32:
    """
    @dev The RFC 9162 leaf hash SHA-256(0x00 || data).
    @param data The leaf's bytes (an encoded row or a fate record).
    @return bytes32 The leaf hash.
    """
    return sha256(concat(b"\x00", data))


@internal
@pure
def _node_hash(left: bytes32, right: bytes32) -> bytes32:
    """
    @dev The RFC 9162 interior node hash SHA-256(0x01 || left || right).
    @param left The left child.
    @param right The right child.
    @return bytes32 The node hash.
    """
    return sha256(concat(b"\x01", left, right))


@internal
@pure
def _verify_inclusion(
    leaf_hash: bytes32,
    index: uint256,
    size: uint256,
    path: DynArray[bytes32, MAX_DEPTH],
    root: bytes32,
) -> bool:
    """
    @dev RFC 9162 section 2.1.3.2: whether `path` proves that `leaf_hash` is leaf
         `index` (from 0) of the tree of `size` leaves whose root is `root`.
    @notice `size` must be read from the registry (or, for a fate tree, the parent's
            row count), never taken from the caller: see the module header.
    @param leaf_hash The leaf hash (`_leaf_hash` of the row, or a keyed leaf).
    @param index The leaf's position.
    @param size The number of leaves in the tree.
    @param path The audit path, leaf to root.
    @param root The tree's root.
    @return bool True when the proof verifies.
    """
    # 1. leaf_index >= tree_size fails.
    if index >= size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1; 3. r = hash.
    fn: uint256 = index
    # index < size, so size >= 1.
    sn: uint256 = unsafe_sub(size, 1)
    r: bytes32 = leaf_hash
    # 4. For each p in the path:
    for p: bytes32 in path:
        # a. sn == 0: the path is too long.
        if sn == 0:
            return False
        # b.
        if fn & 1 == 1 or fn == sn:
            r = sha256(concat(b"\x01", p, r))
            # ii. Shift until LSB(fn) is set or fn is 0 (at most 256 shifts).
            if fn & 1 == 0:
                for _: uint256 in range(256):
                    if fn & 1 == 1 or fn == 0:
                        break
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(concat(b"\x01", r, p))
        # c.
        fn >>= 1
        sn >>= 1
    # 5. sn == 0 and r == root.
    return sn == 0 and r == root
