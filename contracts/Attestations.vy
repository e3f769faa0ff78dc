# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Attestations
@custom:contract-name Attestations
@license Apache-2.0
@notice EIP-712 attestations about registered datasets: an attester says that a
        dataset (bound by its RFC 9162 row root, checked against the registry) scores
        `score` out of 10,000 under a metric set, with a report (a CID) behind it.
        Quality attestations use a quality metric-set id; reproductions of cleaning
        claims use `keccak256("datasoil.reproduction.v1" ++ uint256 claim id)` with
        score 10,000 (reproduced) or 0 (did not).
        Attestations are made directly (the caller is the attester) or relayed (anyone
        submits a payload the attester signed), alone or in batches; the attester can
        revoke the latest one and cancel outstanding signatures by raising the nonce.
@dev Storage is two packed slots per attestation:
     - the attester's record per (attester, dataset, metric set): score, expiry,
       nonce and flags; the nonce lives in the record's slot, so a new attester costs
       one new slot, and a signed attestation is valid only while its nonce equals the
       stored one (replay protection never depends on signature bytes, which are
       malleable in encoding: 65-byte, EIP-2098 64-byte, (v, r, s));
     - the aggregate per (dataset, metric set): the count and the sum of every
       attester's latest unrevoked score.
     There is no on-chain minimum or maximum (one throwaway attester would pin them).
     Expired scores stay in the sums: expiry is stored and emitted, and consumers
     filter by it (and by whom they trust) off chain from the events.
@custom:security Anyone can attest; an aggregate over all attesters is only as good
                 as the least honest one. Consumers pick trusted attesters off chain.
"""

from interfaces import IAttestations
from interfaces import IDatasetRegistry
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712

implements: IAttestations

initializes: eip712

exports: eip712.eip712Domain


# @dev The highest score: 10,000 basis points.
MAX_SCORE: public(constant(uint16)) = 10000

# @dev The most attestations one batch takes.
MAX_BATCH: public(constant(uint256)) = 32

# @dev The prefix of reproduction metric-set ids (followed by the 32-byte claim id).
REPRODUCTION_PREFIX: constant(Bytes[24]) = b"datasoil.reproduction.v1"

# @dev The multicodec code of dag-pb, the only codec a CIDv0 can have.
DAG_PB: constant(uint64) = 112

# @dev EIP-712 type hashes; the type strings are in docs/attestations.md.
CID_TYPEHASH: constant(bytes32) = keccak256("Cid(uint8 version,uint64 codec,bytes32 digest)")
ATTESTATION_TYPEHASH: constant(bytes32) = keccak256(
    "Attestation(address attester,uint256 dataset_id,bytes32 row_root,bytes32 metric_set,"
    "uint16 score,Cid report,uint64 expiry,uint64 deadline,uint64 nonce)"
    "Cid(uint8 version,uint64 codec,bytes32 digest)"
)

# @dev IAttestations.Record layout: score (bits 0-15) | expiry (16-79) | nonce (80-143) |
# active (bit 144: counted in the aggregate) | revoked (bit 145: the latest was revoked).
_EXPIRY_SHIFT: constant(uint256) = 16
_NONCE_SHIFT: constant(uint256) = 80
_ACTIVE: constant(uint256) = 1 << 144
_REVOKED: constant(uint256) = 1 << 145
_SCORE_MASK: constant(uint256) = (1 << 16) - 1
_U64_MASK: constant(uint256) = (1 << 64) - 1
_MAX_NONCE: constant(uint64) = max_value(uint64)

# @dev IAttestations.Aggregate layout: count (bits 0-63) | sum (bits 64-255).
_SUM_SHIFT: constant(uint256) = 64


# @dev The registry whose row roots attestations must carry.
registry: public(immutable(IDatasetRegistry))

# @dev Packed record per keccak256(abi_encode(attester, dataset_id, metric_set)).
_records: HashMap[bytes32, uint256]

# @dev Packed count and sum per keccak256(abi_encode(dataset_id, metric_set)).
_aggregates: HashMap[bytes32, uint256]


# @dev Emitted per attestation with everything an indexer needs; `nonce` is the one
# consumed (the stored nonce is now nonce + 1). The attested row root is the
# registry's (immutable) root of `dataset_id`, so it is not repeated here.
event Attested:
    attester: indexed(address)
    dataset_id: indexed(uint256)
    metric_set: indexed(bytes32)
    score: uint16
    report: IAttestations.SignedCid
    expiry: uint64
    nonce: uint64


# @dev Emitted when an attester revokes the latest attestation; `nonce` is the new one.
event Revoked:
    attester: indexed(address)
    dataset_id: indexed(uint256)
    metric_set: indexed(bytes32)
    score: uint16
    nonce: uint64


# @dev Emitted when an attester raises the nonce, cancelling signatures below it.
event NonceBumped:
    attester: indexed(address)
    dataset_id: indexed(uint256)
    metric_set: indexed(bytes32)
    nonce: uint64


@deploy
def __init__(registry_: address):
    """
    @dev Binds the contract to a DatasetRegistry; the EIP-712 domain is
         name "datasoil Attestations", version "1", this chain and address.
    @param registry_ The DatasetRegistry.
    """
    assert registry_ != empty(address), "attestations: zero registry"
    eip712.__init__("datasoil Attestations", "1")
    registry = IDatasetRegistry(registry_)


@external
def attest(attestation: IAttestations.Attestation):
    """
    @dev Records an attestation made by the caller, who must be its attester. The
         nonce and deadline rules are those of a signed attestation.
    @param attestation The attestation (see `attest_by_sig`).
    """
    assert attestation.attester == msg.sender, "attestations: sender is not the attester"
    self._attest(attestation)


@external
def attest_by_sig(attestation: IAttestations.Attestation, signature: IAttestations.Signature):
    """
    @dev Records an attestation signed by its attester; anyone may submit it.
         The EIP-712 signer must be `attestation.attester`; `nonce` must equal the
         stored nonce (which then increases by one); the block time must not be past
         `deadline`; `row_root` must be the registry's root of `dataset_id`; `score`
         at most 10,000; `expiry` 0 (none) or in the future. A malformed signature
         reverts in snekmate's ecdsa (high s, invalid) or recovers another address.
         Replay protection is the nonce alone, never the signature's bytes.
    @param attestation The signed attestation.
    @param signature The attester's EIP-712 signature (v 27 or 28, low s).
    """
    self._check_signature(attestation, signature)
    self._attest(attestation)


@external
def attest_batch(
    attestations: DynArray[IAttestations.Attestation, MAX_BATCH],
    signatures: DynArray[IAttestations.Signature, MAX_BATCH],
):
    """
    @dev Records several attestations; a signature with v = 0 means the caller is the
         attester (direct), any other is checked as in `attest_by_sig`. All or none.
    @param attestations The attestations.
    @param signatures One signature per attestation, in the same order.
    """
    assert len(attestations) == len(signatures), "attestations: lengths differ"
    for i: uint256 in range(MAX_BATCH):
        if i == len(attestations):
            break
        attestation: IAttestations.Attestation = attestations[i]
        signature: IAttestations.Signature = signatures[i]
        if signature.v != 0:
            self._check_signature(attestation, signature)
        else:
            assert attestation.attester == msg.sender, "attestations: sender is not the attester"
        self._attest(attestation)


@external
def revoke(dataset_id: uint256, metric_set: bytes32):
    """
    @dev Revokes the caller's latest attestation of (dataset, metric set): it leaves
         the aggregate, and the nonce increases by one (saturating at 2^64 - 1), so a
         signature made before the revocation cannot bring it back.
    @param dataset_id The dataset.
    @param metric_set The metric-set id.
    """
    key: bytes32 = keccak256(abi_encode(msg.sender, dataset_id, metric_set))
    record: uint256 = self._records[key]
    assert record & _ACTIVE != 0, "attestations: no active attestation"
    score: uint256 = record & _SCORE_MASK
    nonce: uint64 = convert((record >> _NONCE_SHIFT) & _U64_MASK, uint64)
    if nonce < _MAX_NONCE:
        # Strictly below the maximum: cannot overflow.
        nonce = unsafe_add(nonce, 1)
    agg_key: bytes32 = keccak256(abi_encode(dataset_id, metric_set))
    # The record is active, so the aggregate counts it (count >= 1) and its sum
    # includes its score: neither subtraction underflows.
    self._aggregates[agg_key] = unsafe_sub(self._aggregates[agg_key], (score << _SUM_SHIFT) | 1)
    self._records[key] = (
        (record & ~(_ACTIVE | (_U64_MASK << _NONCE_SHIFT)))
        | _REVOKED
        | (convert(nonce, uint256) << _NONCE_SHIFT)
    )
    log Revoked(
        attester=msg.sender,
        dataset_id=dataset_id,
        metric_set=metric_set,
        score=convert(score, uint16),
        nonce=nonce,
    )


@external
def bump_nonce(dataset_id: uint256, metric_set: bytes32, new_nonce: uint64):
    """
    @dev Raises the caller's nonce for (dataset, metric set) to `new_nonce`,
         cancelling every signature made with a lower nonce. The record is otherwise
         unchanged. At 2^64 - 1 no attestation can be made any more.
    @param dataset_id The dataset.
    @param metric_set The metric-set id.
    @param new_nonce The new nonce, above the current one.
    """
    key: bytes32 = keccak256(abi_encode(msg.sender, dataset_id, metric_set))
    record: uint256 = self._records[key]
    nonce: uint64 = convert((record >> _NONCE_SHIFT) & _U64_MASK, uint64)
    assert new_nonce > nonce, "attestations: nonce not above the current one"
    self._records[key] = (record & ~(_U64_MASK << _NONCE_SHIFT)) | (
        convert(new_nonce, uint256) << _NONCE_SHIFT
    )
    log NonceBumped(
        attester=msg.sender, dataset_id=dataset_id, metric_set=metric_set, nonce=new_nonce
    )


@external
@view
def record(attester: address, dataset_id: uint256, metric_set: bytes32) -> IAttestations.Record:
    """
    @dev The attester's latest record for (dataset, metric set); all zero if none.
    @param attester The attester.
    @param dataset_id The dataset.
    @param metric_set The metric-set id.
    @return IAttestations.Record Score, expiry, nonce, whether counted, whether revoked.
    """
    packed: uint256 = self._records[keccak256(abi_encode(attester, dataset_id, metric_set))]
    return IAttestations.Record(
        score=convert(packed & _SCORE_MASK, uint16),
        expiry=convert((packed >> _EXPIRY_SHIFT) & _U64_MASK, uint64),
        nonce=convert((packed >> _NONCE_SHIFT) & _U64_MASK, uint64),
        active=packed & _ACTIVE != 0,
        revoked=packed & _REVOKED != 0,
    )


@external
@view
def current_nonce(attester: address, dataset_id: uint256, metric_set: bytes32) -> uint64:
    """
    @dev The nonce the attester's next signature for (dataset, metric set) must carry.
    @param attester The attester.
    @param dataset_id The dataset.
    @param metric_set The metric-set id.
    @return uint64 The current nonce.
    """
    packed: uint256 = self._records[keccak256(abi_encode(attester, dataset_id, metric_set))]
    return convert((packed >> _NONCE_SHIFT) & _U64_MASK, uint64)


@external
@view
def aggregate(dataset_id: uint256, metric_set: bytes32) -> IAttestations.Aggregate:
    """
    @dev Count and sum of every attester's latest unrevoked score, expired ones
         included (filter by expiry and attester off chain, from the events).
    @param dataset_id The dataset.
    @param metric_set The metric-set id.
    @return IAttestations.Aggregate The count and the sum.
    """
    packed: uint256 = self._aggregates[keccak256(abi_encode(dataset_id, metric_set))]
    return IAttestations.Aggregate(count=convert(packed & _U64_MASK, uint64), sum=packed >> _SUM_SHIFT)


@external
@view
def attestation_digest(attestation: IAttestations.Attestation) -> bytes32:
    """
    @dev The EIP-712 digest an attester signs for `attestation` on this contract.
    @param attestation The attestation.
    @return bytes32 keccak256(0x1901 ++ domain separator ++ struct hash).
    """
    return self._digest(attestation)


@external
@view
def domain_separator() -> bytes32:
    """
    @dev The EIP-712 domain separator of this contract on this chain.
    @return bytes32 The domain separator.
    """
    return eip712._domain_separator_v4()


@external
@pure
def reproduction_metric_set(claim_id: uint256) -> bytes32:
    """
    @dev The metric-set id of reproductions of a cleaning claim:
         keccak256("datasoil.reproduction.v1" ++ claim id as 32 bytes big-endian).
    @param claim_id The cleaning claim id.
    @return bytes32 The metric-set id.
    """
    return keccak256(concat(REPRODUCTION_PREFIX, convert(claim_id, bytes32)))


@internal
@view
def _digest(a: IAttestations.Attestation) -> bytes32:
    """
    @dev The EIP-712 digest of an attestation (ATTESTATION_TYPEHASH, the report CID
         hashed as a Cid struct), under this contract's domain.
    @param a The attestation.
    @return bytes32 The digest its attester signs.
    """
    report_hash: bytes32 = keccak256(
        abi_encode(CID_TYPEHASH, a.report.version, a.report.codec, a.report.digest)
    )
    struct_hash: bytes32 = keccak256(
        abi_encode(
            ATTESTATION_TYPEHASH,
            a.attester,
            a.dataset_id,
            a.row_root,
            a.metric_set,
            a.score,
            report_hash,
            a.expiry,
            a.deadline,
            a.nonce,
        )
    )
    return eip712._hash_typed_data_v4(struct_hash)


@internal
@view
def _check_signature(a: IAttestations.Attestation, sig: IAttestations.Signature):
    """
    @dev Reverts unless `sig` is the attester's signature of the attestation's digest
         (snekmate's ecdsa: low-s, non-zero signer).
    @param a The attestation.
    @param sig The signature.
    """
    signer: address = ecdsa._recover_vrs(
        self._digest(a), convert(sig.v, uint256), convert(sig.r, uint256), convert(sig.s, uint256)
    )
    assert signer == a.attester, "attestations: signer is not the attester"


@internal
def _attest(a: IAttestations.Attestation):
    """
    @dev Checks an attestation (score, deadline, expiry, report CID, the dataset's row
         root, the current nonce), records it as the attester's active one for
         (dataset, metric set), updates the aggregate and logs `Attested`. The signature
         or the sender is checked by the caller.
    @param a The attestation.
    """
    assert a.score <= MAX_SCORE, "attestations: score above 10000"
    assert convert(a.deadline, uint256) >= block.timestamp, "attestations: deadline passed"
    assert a.expiry == 0 or convert(a.expiry, uint256) > block.timestamp, (
        "attestations: expiry in the past"
    )
    assert a.report.digest != empty(bytes32), "attestations: zero report digest"
    assert a.report.version <= 1, "attestations: report CID version not 0 or 1"
    assert a.report.version == 1 or a.report.codec == DAG_PB, (
        "attestations: report CIDv0 not dag-pb"
    )
    # The registry answers zero for an unknown dataset, so a zero root never matches.
    assert a.row_root != empty(bytes32), "attestations: zero row root"
    assert staticcall registry.row_root(a.dataset_id) == a.row_root, (
        "attestations: row root is not the dataset's"
    )

    key: bytes32 = keccak256(abi_encode(a.attester, a.dataset_id, a.metric_set))
    record: uint256 = self._records[key]
    assert convert((record >> _NONCE_SHIFT) & _U64_MASK, uint64) == a.nonce, (
        "attestations: nonce is not the current one"
    )
    # Checked: at 2^64 - 1 the slot is closed and this reverts.
    next_nonce: uint64 = a.nonce + 1

    agg_key: bytes32 = keccak256(abi_encode(a.dataset_id, a.metric_set))
    aggregate: uint256 = self._aggregates[agg_key]
    if record & _ACTIVE != 0:
        # The active record's score is in the sum: no underflow.
        aggregate = unsafe_sub(aggregate, (record & _SCORE_MASK) << _SUM_SHIFT)
    else:
        # One count per attester address: below 2^64 in any reachable state.
        aggregate = unsafe_add(aggregate, 1)
    # The sum is at most count * 10,000 < 2^78, far below its 192 bits.
    aggregate = unsafe_add(aggregate, convert(a.score, uint256) << _SUM_SHIFT)
    self._aggregates[agg_key] = aggregate
    self._records[key] = (
        convert(a.score, uint256)
        | (convert(a.expiry, uint256) << _EXPIRY_SHIFT)
        | (convert(next_nonce, uint256) << _NONCE_SHIFT)
        | _ACTIVE
    )
    log Attested(
        attester=a.attester,
        dataset_id=a.dataset_id,
        metric_set=a.metric_set,
        score=a.score,
        report=a.report,
        expiry=a.expiry,
        nonce=a.nonce,
    )
