"""RFC 9162 row roots: checked against pymerkle (an independent RFC 9162 implementation) and
the RFC 6962 reference vectors of transparency-dev/merkle (tests/offchain/data)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasoil.errors import ProofError
from datasoil.formats import merkle

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc6962_vectors.json").read_text())
VEC_LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
VEC_ROOTS = [bytes.fromhex(h) for h in VECTORS["roots_hex"]]


def _data(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * (i % 3) for i in range(n)]


def _pymerkle_tree(data: list[bytes]) -> pymerkle.InmemoryTree:
    # sha256 with the 0x00/0x01 prefixes (security on): RFC 9162's leaf and node hashes.
    tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
    for d in data:
        tree.append_entry(d)
    return tree


SIZES = [*range(0, 40), 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025]


def test_empty_root__is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert merkle.RootBuilder().root() == merkle.EMPTY_ROOT


def test_leaf_and_node_hash__rfc_prefixes() -> None:
    assert merkle.leaf_hash(b"ab") == hashlib.sha256(b"\x00ab").digest()
    left, right = b"\x11" * 32, b"\x22" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_root__rfc6962_reference_vectors() -> None:
    for n in range(1, 9):
        hashes = [merkle.leaf_hash(d) for d in VEC_LEAVES[:n]]
        assert merkle.root(hashes) == VEC_ROOTS[n - 1], n


@pytest.mark.parametrize("n", SIZES)
def test_root__matches_pymerkle(n: int) -> None:
    data = _data(n)
    hashes = [merkle.leaf_hash(d) for d in data]
    expected = _pymerkle_tree(data).get_root()
    assert merkle.root(hashes) == expected
    one_by_one = merkle.RootBuilder()
    for h in hashes:
        one_by_one.append(h)
    assert one_by_one.root() == expected
    assert one_by_one.size == n


def test_root_builder__root_readable_midway_and_extend_mixes_with_append() -> None:
    data = _data(300)
    hashes = [merkle.leaf_hash(d) for d in data]
    tree = _pymerkle_tree(data)
    builder = merkle.RootBuilder()
    pos = 0
    for step in (1, 3, 64, 5, 100, 2, 124):
        builder.extend(hashes[pos : pos + step])
        pos += step
        assert builder.root() == tree.get_root(pos)
    builder.append(hashes[pos])
    assert builder.root() == tree.get_root(pos + 1)


def test_root_builder__append_subtree_misaligned_raises() -> None:
    builder = merkle.RootBuilder()
    builder.append(merkle.leaf_hash(b"a"))
    with pytest.raises(ProofError, match="multiple of 4"):
        builder.append_subtree(b"\x00" * 32, 2)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 31, 32, 33, 100, 257])
def test_inclusion_proof__same_path_as_pymerkle_and_verifies(n: int) -> None:
    data = _data(n)
    hashes = [merkle.leaf_hash(d) for d in data]
    tree = _pymerkle_tree(data)
    for i in range(n):
        proof = merkle.inclusion_proof(hashes, i)
        theirs = tree.prove_inclusion(i + 1)  # pymerkle counts from one
        # pymerkle's path is the base leaf followed by the RFC audit path.
        assert theirs.path[0] == proof.leaf == hashes[i]
        assert list(proof.path) == theirs.path[1:]
        assert proof.root == tree.get_root()
        merkle.verify_inclusion(proof)
        pymerkle.verify_inclusion(proof.leaf, proof.root, theirs)
        assert merkle.inclusion_proof_from_iter(iter(hashes), i, n) == proof


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 64, 100])
def test_inclusion_proof__wrong_index_fails(n: int) -> None:
    hashes = [merkle.leaf_hash(d) for d in _data(n)]
    for i in range(n):
        proof = merkle.inclusion_proof(hashes, i)
        for j in range(n):
            if hashes[j] == hashes[i] and j != i:
                continue
            moved = merkle.InclusionProof(j, n, proof.leaf, proof.path, proof.root)
            if j == i:
                merkle.verify_inclusion(moved)
            else:
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(moved)


def test_inclusion_proof__pymerkle_rejects_our_proof_at_wrong_index() -> None:
    data = _data(11)
    hashes = [merkle.leaf_hash(d) for d in data]
    tree = _pymerkle_tree(data)
    for i in range(11):
        ours = merkle.inclusion_proof(hashes, i)
        for j in range(11):
            theirs = tree.prove_inclusion(j + 1)
            if j == i:
                pymerkle.verify_inclusion(ours.leaf, ours.root, theirs)
            elif hashes[j] != hashes[i]:
                with pytest.raises(pymerkle.InvalidProof):
                    pymerkle.verify_inclusion(ours.leaf, ours.root, theirs)


def test_inclusion_proof__rfc6962_vectors_and_corruptions() -> None:
    for vec in VECTORS["inclusion"]:
        index, size = vec["leaf"] - 1, vec["size"]
        path = tuple(bytes.fromhex(h) for h in vec["proof"])
        hashes = [merkle.leaf_hash(d) for d in VEC_LEAVES[:size]]
        ours = merkle.inclusion_proof(hashes, index)
        assert ours.path == path
        good = merkle.InclusionProof(index, size, hashes[index], path, VEC_ROOTS[size - 1])
        merkle.verify_inclusion(good)
        bad = [
            merkle.InclusionProof(index + 1, size, good.leaf, path, good.root),
            merkle.InclusionProof(index, size * 2, good.leaf, path, good.root),
            merkle.InclusionProof(index, size, merkle.leaf_hash(b"x"), path, good.root),
            merkle.InclusionProof(index, size, good.leaf, path, merkle.EMPTY_ROOT),
            merkle.InclusionProof(index, size, good.leaf, (*path, good.root), good.root),
            merkle.InclusionProof(index, size, good.leaf, (good.root, *path), good.root),
        ]
        if index > 0:
            bad.append(merkle.InclusionProof(index - 1, size, good.leaf, path, good.root))
        if path:
            bad.append(merkle.InclusionProof(index, size, good.leaf, path[:-1], good.root))
            flipped = bytes([path[0][0] ^ 8]) + path[0][1:]
            bad.append(
                merkle.InclusionProof(index, size, good.leaf, (flipped, *path[1:]), good.root)
            )
        for proof in bad:
            with pytest.raises(ProofError):
                merkle.verify_inclusion(proof)


def test_inclusion_proof__index_out_of_range_raises() -> None:
    hashes = [merkle.leaf_hash(b"a")]
    with pytest.raises(ProofError, match="below the size 1"):
        merkle.inclusion_proof(hashes, 1)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(merkle.InclusionProof(1, 1, hashes[0], (), hashes[0]))


def test_inclusion_proof__json_round_trip() -> None:
    hashes = [merkle.leaf_hash(d) for d in _data(9)]
    proof = merkle.inclusion_proof(hashes, 4)
    data = json.loads(json.dumps(proof.to_json()))
    assert data["leaf"].startswith("0x") and all(p.startswith("0x") for p in data["path"])
    assert merkle.InclusionProof.from_json(data) == proof
    with pytest.raises(ProofError):
        merkle.InclusionProof.from_json({**data, "root": "0x12"})


def test_consistency_proof__rfc6962_vectors() -> None:
    for vec in VECTORS["consistency"]:
        m, n = vec["size1"], vec["size2"]
        path = tuple(bytes.fromhex(h) for h in vec["proof"])
        hashes = [merkle.leaf_hash(d) for d in VEC_LEAVES[:n]]
        assert merkle.consistency_proof(hashes, m) == path
        merkle.verify_consistency(m, n, VEC_ROOTS[m - 1], VEC_ROOTS[n - 1], path)
        with pytest.raises(ProofError):
            merkle.verify_consistency(m, n, VEC_ROOTS[n - 1], VEC_ROOTS[m - 1], path)
        with pytest.raises(ProofError):
            merkle.verify_consistency(m, n, VEC_ROOTS[m - 1], VEC_ROOTS[n - 1], path[:-1])
        with pytest.raises(ProofError):
            merkle.verify_consistency(m + 1, n, VEC_ROOTS[m - 1], VEC_ROOTS[n - 1], path)


@pytest.mark.parametrize("n", [*range(1, 34), 100, 129])
def test_consistency_proof__every_prefix_verifies_and_tampering_fails(n: int) -> None:
    hashes = [merkle.leaf_hash(d) for d in _data(n)]
    tree = _pymerkle_tree(_data(n))
    new_root = merkle.root(hashes)
    for m in range(0, n + 1):
        old_root = merkle.root(hashes[:m])
        if m:
            assert old_root == tree.get_root(m)
        proof = merkle.consistency_proof(hashes, m)
        merkle.verify_consistency(m, n, old_root, new_root, proof)
        if 0 < m < n:
            other = merkle.root([*hashes[: n - 1], merkle.leaf_hash(b"changed")])
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, old_root, other, proof)
            flipped = bytes([proof[-1][0] ^ 16]) + proof[-1][1:]
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, old_root, new_root, (*proof[:-1], flipped))


def test_consistency__edge_cases() -> None:
    r = merkle.root([merkle.leaf_hash(b"a")])
    merkle.verify_consistency(0, 1, merkle.EMPTY_ROOT, r, ())
    merkle.verify_consistency(1, 1, r, r, ())
    with pytest.raises(ProofError):
        merkle.verify_consistency(1, 1, r, merkle.EMPTY_ROOT, ())
    with pytest.raises(ProofError):
        merkle.verify_consistency(2, 1, r, r, ())
    with pytest.raises(ProofError):
        merkle.verify_consistency(1, 2, r, r, ())


@pytest.mark.parametrize("shard_size", [1, 2, 4, 8, 16, 64])
def test_combine_shards__equals_flat_root(shard_size: int) -> None:
    for n in [*range(0, 70), 127, 128, 129, 200, 257]:
        hashes = [merkle.leaf_hash(d) for d in _data(n)]
        shards = [merkle.root(hashes[i : i + shard_size]) for i in range(0, n, shard_size)]
        assert merkle.combine_shards(shards, shard_size, n) == merkle.root(hashes), n


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3000), k=st.integers(0, 9))
def test_combine_shards__equals_flat_root_hypothesis(n: int, k: int) -> None:
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]
    size = 1 << k
    shards = [merkle.root(hashes[i : i + size]) for i in range(0, n, size)]
    assert merkle.combine_shards(shards, size, n) == merkle.root(hashes)


def test_combine_shards__bad_arguments_raise() -> None:
    with pytest.raises(ProofError, match="power-of-two"):
        merkle.combine_shards([], 3, 0)
    with pytest.raises(ProofError, match="expected 2 shard roots"):
        merkle.combine_shards([merkle.EMPTY_ROOT], 4, 5)


def test_keyed_leaf_hash__is_hmac_of_prefixed_row() -> None:
    key = bytes(range(32))
    assert merkle.keyed_leaf_hash(key, b"row") == hmac.digest(key, b"\x00row", "sha256")
    assert merkle.leaf_hashes([b"row"], key) == [merkle.keyed_leaf_hash(key, b"row")]
    assert merkle.keyed_leaf_hash(key, b"row") != merkle.leaf_hash(b"row")
    with pytest.raises(ProofError, match="expected 32 bytes"):
        merkle.keyed_leaf_hash(b"short", b"row")


@given(st.integers(min_value=0, max_value=300), st.data())
@settings(max_examples=60, deadline=None)
def test_consistency_proof_from_iter__same_as_the_in_memory_proof(n: int, data) -> None:
    m = data.draw(st.integers(min_value=0, max_value=n))
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    proof = merkle.consistency_proof_from_iter(iter(hashes), m, n)
    assert proof.path == merkle.consistency_proof(hashes, m)
    assert proof.old_root == merkle.root(hashes[:m]) and proof.new_root == merkle.root(hashes)
    assert (proof.old_size, proof.new_size) == (m, n)
    proof.verify()


def test_consistency_proof_from_iter__rfc6962_vectors() -> None:
    for vec in VECTORS["consistency"]:
        m, n = vec["size1"], vec["size2"]
        path = tuple(bytes.fromhex(h) for h in vec["proof"])
        hashes = [merkle.leaf_hash(d) for d in VEC_LEAVES[:n]]
        proof = merkle.consistency_proof_from_iter(hashes, m, n)
        assert proof.path == path
        assert proof.old_root == VEC_ROOTS[m - 1] and proof.new_root == VEC_ROOTS[n - 1]


def test_consistency_proof_from_iter__short_input_and_bad_sizes() -> None:
    hashes = [merkle.leaf_hash(b"%d" % i) for i in range(5)]
    with pytest.raises(ProofError, match=r"expected 9, found fewer \(5\)"):
        merkle.consistency_proof_from_iter(hashes, 2, 9)
    with pytest.raises(ProofError, match=r"old size in 0\.\.5, found 6"):
        merkle.consistency_proof_from_iter(hashes, 6, 5)
