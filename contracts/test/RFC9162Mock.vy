# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title RFC9162Mock
@custom:contract-name RFC9162Mock
@license Apache-2.0
@notice Test only: exposes the `rfc9162` module's internal functions.
"""

from ..modules import rfc9162


@external
@pure
def leaf_hash(data: Bytes[rfc9162.MAX_ROW_BYTES]) -> bytes32:
    """
    @dev `rfc9162._leaf_hash`.
    @param data The leaf bytes.
    @return bytes32 SHA-256(0x00 || data).
    """
    return rfc9162._leaf_hash(data)


@external
@pure
def node_hash(left: bytes32, right: bytes32) -> bytes32:
    """
    @dev `rfc9162._node_hash`.
    @param left The left child.
    @param right The right child.
    @return bytes32 SHA-256(0x01 || left || right).
    """
    return rfc9162._node_hash(left, right)


@external
@pure
def verify_inclusion(
    leaf_hash: bytes32,
    index: uint256,
    size: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
    root: bytes32,
) -> bool:
    """
    @dev `rfc9162._verify_inclusion`.
    @param leaf_hash The leaf hash.
    @param index The leaf index.
    @param size The tree size.
    @param path The audit path.
    @param root The root.
    @return bool Whether the proof verifies.
    """
    return rfc9162._verify_inclusion(leaf_hash, index, size, path, root)
