"""The on-chain RFC 9162 verifier against datasoil.formats.merkle and pymerkle (independent)."""

from __future__ import annotations

import hashlib

import pytest
from pymerkle import InmemoryTree

from datasoil.formats import merkle

# Every index of every size up to 17, then a few larger trees at chosen indices.
SMALL = range(1, 18)
LARGE = [31, 32, 33, 64, 100, 257]


def _rows(n: int) -> list[bytes]:
    return [b"row %d" % i for i in range(n)]


def _pymerkle(rows: list[bytes]) -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for r in rows:
        tree.append_entry(r)
    return tree


def _cases():
    for n in SMALL:
        for i in range(n):
            yield n, i
    for n in LARGE:
        for i in sorted({0, 1, n // 2, n - 2, n - 1}):
            yield n, i


def test_leaf_and_node_hash__match_python_and_pymerkle(rfc9162):
    for data in (b"", b"\x00", b"hello", bytes(range(256)) * 16):
        expected = merkle.leaf_hash(data)
        assert rfc9162.leaf_hash(data) == expected
        assert _pymerkle([data]).get_root() == expected
    a, b = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    assert rfc9162.node_hash(a, b) == merkle.node_hash(a, b)


@pytest.mark.parametrize(("n", "i"), list(_cases()))
def test_verify_inclusion__accepts_python_and_pymerkle_proofs(rfc9162, n, i):
    rows = _rows(n)
    leaves = merkle.leaf_hashes(rows)
    tree = _pymerkle(rows)
    root = merkle.root(leaves)
    assert tree.get_root() == root
    proof = merkle.inclusion_proof(leaves, i)
    theirs = tree.prove_inclusion(i + 1, n)  # pymerkle counts from 1, path[0] is the leaf
    assert [bytes.fromhex(p) for p in theirs.serialize()["path"]] == [leaves[i], *proof.path]
    assert rfc9162.verify_inclusion(leaves[i], i, n, list(proof.path), root) is True


@pytest.mark.parametrize(("n", "i"), [c for c in _cases() if c[0] > 1])
def test_verify_inclusion__wrong_index_fails(rfc9162, n, i):
    leaves = merkle.leaf_hashes(_rows(n))
    root = merkle.root(leaves)
    path = list(merkle.inclusion_proof(leaves, i).path)
    for j in {i - 1, i + 1, n - 1 - i, i ^ 1}:
        if j == i or not 0 <= j < n + 1:
            continue
        assert rfc9162.verify_inclusion(leaves[i], j, n, path, root) is False, (n, i, j)


@pytest.mark.parametrize(("n", "i"), list(_cases()))
def test_verify_inclusion__mutations_agree_with_python(rfc9162, n, i):
    """Wrong sizes, paths, roots and leaves: the contract gives Python's verdict, and
    every mutation other than a size relabelling fails."""
    leaves = merkle.leaf_hashes(_rows(n))
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, i)
    path = list(proof.path)
    bad = hashlib.sha256(b"bad").digest()
    must_fail = [
        (leaves[i], i, n, path, bad),
        (bad, i, n, path, root),
        (leaves[i], n, n, path, root),  # index == size
        (leaves[i], i, n, [*path, bad], root),
    ]
    if path:
        must_fail.append((leaves[i], i, n, path[:-1], root))
        must_fail.append((leaves[i], i, n, [bad, *path[1:]], root))
    for args in must_fail:
        assert rfc9162.verify_inclusion(*args) is False
    for size in {n - 1, n + 1, 2 * n, n + 7}:
        if size < 1:
            continue
        python = _python_verifies(leaves[i], i, size, path, root)
        assert rfc9162.verify_inclusion(leaves[i], i, size, path, root) is python, (n, i, size)


def _python_verifies(leaf, index, size, path, root) -> bool:
    try:
        merkle.verify_inclusion(merkle.InclusionProof(index, size, leaf, tuple(path), root))
    except ValueError:
        return False
    return True


def test_verify_inclusion__size_relabelling_is_accepted_as_the_rfc_says(rfc9162):
    """Why callers must take the size from the registry: leaf 0 of 4 passes as leaf 0 of 3."""
    leaves = merkle.leaf_hashes(_rows(4))
    root = merkle.root(leaves)
    path = list(merkle.inclusion_proof(leaves, 0).path)
    assert rfc9162.verify_inclusion(leaves[0], 0, 3, path, root) is True
    assert rfc9162.verify_inclusion(leaves[0], 0, 5, path, root) is False


def test_verify_inclusion__empty_tree_and_single_leaf(rfc9162):
    leaf = merkle.leaf_hash(b"only")
    assert rfc9162.verify_inclusion(leaf, 0, 0, [], merkle.EMPTY_ROOT) is False
    assert rfc9162.verify_inclusion(leaf, 0, 1, [], leaf) is True
    assert rfc9162.verify_inclusion(leaf, 0, 1, [leaf], leaf) is False


def test_verify_inclusion__keyed_leaves_verify_unchanged(rfc9162):
    key = bytes(range(32))
    rows = _rows(9)
    leaves = [merkle.keyed_leaf_hash(key, r) for r in rows]
    root = merkle.root(leaves)
    for i in (0, 4, 8):
        proof = merkle.inclusion_proof(leaves, i)
        assert rfc9162.verify_inclusion(leaves[i], i, 9, list(proof.path), root) is True
