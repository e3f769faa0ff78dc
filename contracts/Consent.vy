# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Consent
@custom:contract-name Consent
@license Apache-2.0
@notice Withdrawal requests for rows of registered datasets, and their answers.
        A dataset's owner declares which column holds each row's subject: an Ethereum
        address, or a commitment keccak256(secret). The subject of row i of a public
        dataset withdraws it by showing the row with its inclusion proof under the
        registry's row root and, for an address, an EIP-712 signature from that address
        (anyone may relay it) or, for a commitment, the secret; the owner may withdraw
        any row of its datasets without a proof. While a dataset has an open request,
        new sales of it and of every dataset descending from it pause (AccessMarket and
        ModelRegistry ask `paused`). The owner answers with a new version: a finalised
        cleaning claim from the dataset whose fate record of each answered row says
        dropped, opened against the claim's fate root (O(log n) hashes). The dataset is
        then superseded: it never sells again, nor does a descendant that reaches it by
        any edge other than through the answering version; descendants' owners learn it
        from `DatasetSuperseded` and republish from the new version. Requests left
        open on a superseded dataset are `forward`ed by anyone through the answer's
        fate records: closed when their row was dropped too, moved to the row it became
        otherwise.
@dev Storage: one word per dataset (subject kind and column, open requests, the
     answering version and claim) and one per requested row (state, how it was made,
     where it moved); requesters, subjects and rows live in events. Nothing here
     holds tokens.
@custom:security What the chain checks is that the requester is the subject the row
                 names (or the owner), and that the answering claim's fate record drops
                 the row. It does not check that the new version's data leaves the row
                 out: that is the cleaning claim's job (audits, reproduction
                 attestations, disputes; docs/proofs.md), which is why only finalised
                 claims answer. Subjects of private datasets cannot open their rows on
                 chain (their leaves are keyed): the owner files for them. The lineage
                 walk of `paused` visits at most MAX_LINEAGE datasets (docs/consent.md).
                 Excluding a row from data sales is not unlearning it from models
                 already trained.
"""

from interfaces import IConsent
from interfaces import ICleaningProofs
from interfaces import IDatasetRegistry
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712
from .modules import fate
from .modules import rfc9162

implements: IConsent

initializes: eip712

exports: eip712.eip712Domain


# @dev Subject kinds: the column holds Ethereum addresses (20 bytes, or "0x" and 40 hex
# digits) or keccak256 commitments (32 bytes, or "0x" and 64 hex digits).
ADDRESS_SUBJECT: public(constant(uint8)) = 1
COMMITMENT_SUBJECT: public(constant(uint8)) = 2

# @dev Request states.
OPEN: public(constant(uint8)) = 1
ANSWERED: public(constant(uint8)) = 2
MOVED: public(constant(uint8)) = 3

# @dev How a request was made: by the row's subject, by the dataset's owner, or
# forwarded from a superseded parent's request.
_VIA_SUBJECT: constant(uint256) = 1
_VIA_OWNER: constant(uint256) = 2
_VIA_FORWARD: constant(uint256) = 3

# @dev The most rows one answer closes.
MAX_ANSWERS: public(constant(uint256)) = 8

# @dev The most datasets `paused` visits: the one sold and its ancestors, breadth first.
MAX_LINEAGE: public(constant(uint256)) = 16

# @dev The subject column's highest position: a 4,096-byte row has fewer values.
MAX_COLUMNS: public(constant(uint256)) = 4096

# @dev The most parents a dataset has in the registry.
_MAX_PARENTS: constant(uint256) = 8

# @dev CleaningProofs' FINALISED status.
_FINALISED: constant(uint8) = 3

# @dev EIP-712 type hash of a subject's withdrawal; the type string is in docs/consent.md.
WITHDRAWAL_TYPEHASH: constant(bytes32) = keccak256(
    "Withdrawal(uint256 dataset_id,uint256 row_index,uint256 deadline)"
)

# @dev Dataset word: kind (bits 0-7) | column (8-23) | open requests (24-87) |
# answering version (88-119) | answering claim (120-183).
_U8: constant(uint256) = (1 << 8) - 1
_U16: constant(uint256) = (1 << 16) - 1
_U32: constant(uint256) = (1 << 32) - 1
_U64: constant(uint256) = (1 << 64) - 1
_COLUMN_SHIFT: constant(uint256) = 8
_OPEN_SHIFT: constant(uint256) = 24
_VERSION_SHIFT: constant(uint256) = 88
_CLAIM_SHIFT: constant(uint256) = 120

# @dev Request word: state (bits 0-7) | via (8-15) | moved-to row (16-79).
_VIA_SHIFT: constant(uint256) = 8
_MOVED_SHIFT: constant(uint256) = 16

# @dev CBOR major types (RFC 8949) a datasoil row holds: unsigned and negative integers,
# byte strings, text strings, the array of the row's values, and simple values/floats.
_CBOR_BYTES: constant(uint256) = 2
_CBOR_TEXT: constant(uint256) = 3
_CBOR_ARRAY: constant(uint256) = 4
_CBOR_SIMPLE: constant(uint256) = 7
# @dev CBOR `null`'s additional information (0xf6).
_CBOR_NULL: constant(uint256) = 22


# @dev The DatasetRegistry whose datasets, owners, roots and lineage requests name.
registry: public(immutable(IDatasetRegistry))

# @dev The CleaningProofs whose claims answer requests.
proofs: public(immutable(ICleaningProofs))

# @dev Packed consent facts per dataset id (see the layout above).
_dataset: HashMap[uint256, uint256]

# @dev Packed request per dataset id and row index; zero when the row has none.
_request: HashMap[uint256, HashMap[uint256, uint256]]


# @dev Emitted when an owner declares a dataset's subject column.
event SubjectsDeclared:
    dataset_id: indexed(uint256)
    owner: indexed(address)
    column: uint256
    kind: uint8


# @dev Emitted for each request: by whom, how (1 subject, 2 owner, 3 forwarded) and the
# subject the row names (an address as a number, or the commitment; zero otherwise).
event WithdrawalRequested:
    dataset_id: indexed(uint256)
    row_index: indexed(uint256)
    requester: indexed(address)
    via: uint8
    subject: bytes32


# @dev Emitted for each request an answer (or a forward) closes.
event WithdrawalAnswered:
    dataset_id: indexed(uint256)
    row_index: indexed(uint256)
    new_version: indexed(uint256)
    claim_id: uint256


# @dev Emitted once per answered dataset: its descendants' owners republish from
# `new_version`; `open_requests` are left to `forward`.
event DatasetSuperseded:
    dataset_id: indexed(uint256)
    new_version: indexed(uint256)
    claim_id: indexed(uint256)
    open_requests: uint256


# @dev Emitted when an open request of a superseded dataset moves to the row its row
# became in the answering version.
event WithdrawalForwarded:
    dataset_id: indexed(uint256)
    row_index: indexed(uint256)
    new_version: indexed(uint256)
    new_row: uint256


@deploy
def __init__(registry_: address, proofs_: address):
    """
    @dev Binds the contract to a DatasetRegistry and the CleaningProofs over it; the
         EIP-712 domain is name "datasoil Consent", version "1", this chain and address.
    @param registry_ The DatasetRegistry.
    @param proofs_ The CleaningProofs whose registry is `registry_`.
    """
    assert registry_ != empty(address), "consent: zero registry"
    assert proofs_ != empty(address), "consent: zero proofs"
    assert staticcall ICleaningProofs(proofs_).registry() == registry_, (
        "consent: proofs use another registry"
    )
    eip712.__init__("datasoil Consent", "1")
    registry = IDatasetRegistry(registry_)
    proofs = ICleaningProofs(proofs_)


@external
def declare_subjects(dataset_id: uint256, column: uint256, kind: uint8):
    """
    @dev Declares, once and for ever, which column of a dataset the caller owns holds
         each row's subject (as its Croissant metadata says: docs/consent.md).
    @param dataset_id The dataset.
    @param column The subject column's position in the schema (from 0).
    @param kind ADDRESS_SUBJECT or COMMITMENT_SUBJECT.
    """
    assert staticcall registry.owner_of(dataset_id) == msg.sender, "consent: not the dataset owner"
    word: uint256 = self._dataset[dataset_id]
    assert word & _U8 == 0, "consent: subjects already declared"
    assert kind == ADDRESS_SUBJECT or kind == COMMITMENT_SUBJECT, "consent: unknown subject kind"
    assert column < MAX_COLUMNS, "consent: column past the row's bound"
    self._dataset[dataset_id] = word | convert(kind, uint256) | (column << _COLUMN_SHIFT)
    log SubjectsDeclared(dataset_id=dataset_id, owner=msg.sender, column=column, kind=kind)


@external
def request_withdrawal(dataset_id: uint256, row_index: uint256, proof: IConsent.SubjectProof):
    """
    @dev Requests that row `row_index` leave the dataset. The dataset's owner needs no
         proof (`proof` is ignored). Anyone else shows that the row names a subject who
         asks: the row opens at `row_index` under the registry's row root (public
         datasets only) and, for an address subject, the sender is that address or
         `proof` carries its EIP-712 signature of Withdrawal(dataset_id, row_index,
         deadline) with `deadline` not passed; for a commitment subject, keccak256 of
         `proof.secret` is the row's commitment. One request per row.
    @param dataset_id The dataset.
    @param row_index The row.
    @param proof The row, its audit path, and the signature or secret.
    """
    owner: address = staticcall registry.owner_of(dataset_id)
    rows: uint256 = convert(staticcall registry.row_count(dataset_id), uint256)
    assert row_index < rows, "consent: row index past the dataset's count"
    assert self._request[dataset_id][row_index] == 0, "consent: row already has a request"
    word: uint256 = self._dataset[dataset_id]
    via: uint256 = _VIA_OWNER
    subject: uint256 = 0
    if msg.sender != owner:
        via = _VIA_SUBJECT
        subject = self._subject_of(dataset_id, row_index, rows, word, proof)
    self._request[dataset_id][row_index] = convert(OPEN, uint256) | (via << _VIA_SHIFT)
    # At most one open request per row, and rows are counted in 64 bits: no overflow.
    self._dataset[dataset_id] = unsafe_add(word, 1 << _OPEN_SHIFT)
    log WithdrawalRequested(
        dataset_id=dataset_id,
        row_index=row_index,
        requester=msg.sender,
        via=convert(via, uint8),
        subject=convert(subject, bytes32),
    )


@external
def answer(dataset_id: uint256, claim_id: uint256, openings: DynArray[IConsent.FateOpening, MAX_ANSWERS]):
    """
    @dev Answers open requests of a dataset the caller owns with a new version: the
         finalised cleaning claim `claim_id` from this dataset to a dataset the caller
         also owns, and for each answered row its fate record, opened under the claim's
         fate root, keeping the fate rules and saying dropped. The dataset is then
         superseded by the claim's child (once: requests left open are `forward`ed).
    @param dataset_id The dataset.
    @param claim_id The cleaning claim (dataset -> new version).
    @param openings One fate opening per answered row (1 .. MAX_ANSWERS).
    """
    assert staticcall registry.owner_of(dataset_id) == msg.sender, "consent: not the dataset owner"
    word: uint256 = self._dataset[dataset_id]
    assert (word >> _VERSION_SHIFT) & _U32 == 0, "consent: dataset already answered"
    assert len(openings) != 0, "consent: no request answered"
    claim: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    assert claim.parent_id == dataset_id, "consent: claim is not a cleaning of this dataset"
    assert claim.status == _FINALISED, "consent: claim not finalised"
    assert staticcall registry.owner_of(claim.child_id) == msg.sender, (
        "consent: new version owned by another account"
    )
    rows_in: uint256 = convert(staticcall registry.row_count(dataset_id), uint256)
    rows_out: uint256 = convert(staticcall registry.row_count(claim.child_id), uint256)
    for opening: IConsent.FateOpening in openings:
        output: uint256 = self._open_fate(dataset_id, opening, claim.fate_root, rows_in, rows_out)
        assert output == fate.NO_ROW, "consent: fate record keeps the row"
        self._request[dataset_id][opening.row_index] = (
            self._request[dataset_id][opening.row_index] & ~_U8
        ) | convert(ANSWERED, uint256)
        log WithdrawalAnswered(
            dataset_id=dataset_id,
            row_index=opening.row_index,
            new_version=claim.child_id,
            claim_id=claim_id,
        )
    # Each opening closed a distinct open request (its state left OPEN): no underflow.
    open_left: uint256 = unsafe_sub((word >> _OPEN_SHIFT) & _U64, len(openings))
    # Claim ids count transactions and dataset ids are uint32: both fit their fields.
    self._dataset[dataset_id] = (
        (word & ((1 << _OPEN_SHIFT) - 1))
        | (open_left << _OPEN_SHIFT)
        | (claim.child_id << _VERSION_SHIFT)
        | ((claim_id & _U64) << _CLAIM_SHIFT)
    )
    log DatasetSuperseded(
        dataset_id=dataset_id, new_version=claim.child_id, claim_id=claim_id, open_requests=open_left
    )


@external
def forward(dataset_id: uint256, opening: IConsent.FateOpening):
    """
    @dev Resolves an open request of a superseded dataset through the answering claim's
         fate record of its row (anyone): a dropped row's request is answered; a kept
         row's request moves to the row it became in the new version, where it is open
         (unless that row already has a request) and pauses the new version's sales.
    @param dataset_id The superseded dataset.
    @param opening The answering claim's fate record of the request's row, with its path.
    """
    word: uint256 = self._dataset[dataset_id]
    version: uint256 = (word >> _VERSION_SHIFT) & _U32
    assert version != 0, "consent: dataset not answered yet"
    claim_id: uint256 = (word >> _CLAIM_SHIFT) & _U64
    claim: ICleaningProofs.ClaimView = staticcall proofs.claim(claim_id)
    rows_in: uint256 = convert(staticcall registry.row_count(dataset_id), uint256)
    rows_out: uint256 = convert(staticcall registry.row_count(version), uint256)
    output: uint256 = self._open_fate(dataset_id, opening, claim.fate_root, rows_in, rows_out)
    previous: uint256 = self._request[dataset_id][opening.row_index] & ~_U8
    # The request was open, so the count is at least one: no underflow.
    self._dataset[dataset_id] = unsafe_sub(word, 1 << _OPEN_SHIFT)
    if output == fate.NO_ROW:
        self._request[dataset_id][opening.row_index] = previous | convert(ANSWERED, uint256)
        log WithdrawalAnswered(
            dataset_id=dataset_id, row_index=opening.row_index, new_version=version, claim_id=claim_id
        )
        return
    self._request[dataset_id][opening.row_index] = (
        previous | convert(MOVED, uint256) | (output << _MOVED_SHIFT)
    )
    log WithdrawalForwarded(
        dataset_id=dataset_id, row_index=opening.row_index, new_version=version, new_row=output
    )
    if self._request[version][output] == 0:
        self._request[version][output] = convert(OPEN, uint256) | (_VIA_FORWARD << _VIA_SHIFT)
        # One open request per row of a 64-bit count: no overflow.
        self._dataset[version] = unsafe_add(self._dataset[version], 1 << _OPEN_SHIFT)
        log WithdrawalRequested(
            dataset_id=version,
            row_index=output,
            requester=msg.sender,
            via=convert(_VIA_FORWARD, uint8),
            subject=empty(bytes32),
        )


@external
@view
def paused(dataset_id: uint256) -> bool:
    """
    @dev Whether new sales of a dataset are paused: it has an open request or is
         superseded, or a dataset in its lineage (itself and its ancestors, at most
         MAX_LINEAGE visited breadth first) has an open request, or is superseded and
         is reached by an edge from a dataset other than its answering version.
         Reverts for an unknown dataset (the registry's reason).
    @param dataset_id The dataset.
    @return bool True while sales are paused.
    """
    return self._paused(dataset_id)


@external
@view
def withdrawal_state(dataset_id: uint256, row_index: uint256) -> uint8:
    """
    @dev The state of a row's withdrawal request: 0 none, OPEN, ANSWERED or MOVED.
    @param dataset_id The dataset.
    @param row_index The row.
    @return uint8 The state.
    """
    return convert(self._request[dataset_id][row_index] & _U8, uint8)


@external
@view
def request(dataset_id: uint256, row_index: uint256) -> IConsent.RequestView:
    """
    @dev A row's withdrawal request: state, how it was made, where it moved.
    @param dataset_id The dataset.
    @param row_index The row.
    @return RequestView State, via (1 subject, 2 owner, 3 forwarded), moved-to row.
    """
    word: uint256 = self._request[dataset_id][row_index]
    return IConsent.RequestView(
        state=convert(word & _U8, uint8),
        via=convert((word >> _VIA_SHIFT) & _U8, uint8),
        moved_to=(word >> _MOVED_SHIFT) & _U64,
    )


@external
@view
def dataset(dataset_id: uint256) -> IConsent.DatasetConsent:
    """
    @dev A dataset's consent facts: subject kind and column, open requests, the version
         and claim that answered it.
    @param dataset_id The dataset.
    @return DatasetConsent The facts (all zero for a dataset never declared or requested).
    """
    word: uint256 = self._dataset[dataset_id]
    return IConsent.DatasetConsent(
        kind=convert(word & _U8, uint8),
        column=(word >> _COLUMN_SHIFT) & _U16,
        open_requests=(word >> _OPEN_SHIFT) & _U64,
        answered_by=(word >> _VERSION_SHIFT) & _U32,
        answer_claim=(word >> _CLAIM_SHIFT) & _U64,
    )


@external
@view
def withdrawal_digest(dataset_id: uint256, row_index: uint256, deadline: uint256) -> bytes32:
    """
    @dev The EIP-712 digest a subject signs to withdraw a row on this contract.
    @param dataset_id The dataset.
    @param row_index The row.
    @param deadline The last timestamp the signature is valid at.
    @return bytes32 keccak256(0x1901 ++ domain separator ++ struct hash).
    """
    return self._digest(dataset_id, row_index, deadline)


@external
@view
def domain_separator() -> bytes32:
    """
    @dev The EIP-712 domain separator of this contract on this chain.
    @return bytes32 The domain separator.
    """
    return eip712._domain_separator_v4()


@internal
@view
def _subject_of(
    dataset_id: uint256, row_index: uint256, rows: uint256, word: uint256, proof: IConsent.SubjectProof
) -> uint256:
    """
    @dev Checks a subject's proof for a row (the dataset declares subjects and is
         public, the row opens under its root, the sender or signer is the address the
         row names, or the secret opens its commitment) and returns that subject.
    @param dataset_id The dataset.
    @param row_index The row.
    @param rows The dataset's row count (the tree size).
    @param word The dataset's consent word.
    @param proof The row, its path, and the signature or secret.
    @return uint256 The subject: an address as a number, or the commitment.
    """
    kind: uint256 = word & _U8
    assert kind != 0, "consent: dataset declares no subject column"
    assert not staticcall registry.is_private(dataset_id), (
        "consent: private rows cannot be opened on chain"
    )
    assert rfc9162._verify_inclusion(
        rfc9162._leaf_hash(proof.row), row_index, rows, proof.path, staticcall registry.row_root(dataset_id)
    ), "consent: row proof does not verify"
    subject: uint256 = self._subject_value(proof.row, (word >> _COLUMN_SHIFT) & _U16, kind)
    if kind == convert(COMMITMENT_SUBJECT, uint256):
        assert convert(keccak256(proof.secret), uint256) == subject, (
            "consent: secret does not open the row's commitment"
        )
        return subject
    who: address = convert(convert(subject, uint160), address)
    if msg.sender != who:
        assert block.timestamp <= proof.deadline, "consent: signature expired"
        signer: address = ecdsa._recover_vrs(
            self._digest(dataset_id, row_index, proof.deadline),
            convert(proof.v, uint256),
            convert(proof.r, uint256),
            convert(proof.s, uint256),
        )
        assert signer == who, "consent: signer is not the row's subject"
    return subject


@internal
@view
def _open_fate(
    dataset_id: uint256,
    opening: IConsent.FateOpening,
    fate_root: bytes32,
    rows_in: uint256,
    rows_out: uint256,
) -> uint256:
    """
    @dev Checks that the opening's row has an open request and that its fate record
         opens under the fate root and keeps the fate rules; returns where it went.
    @param dataset_id The dataset cleaned (the claim's parent).
    @param opening The fate record of the row, with its path.
    @param fate_root The claim's fate root.
    @param rows_in The parent's row count (the fate tree's size).
    @param rows_out The child's row count.
    @return uint256 The row's output index, or fate.NO_ROW when it was dropped.
    """
    assert self._request[dataset_id][opening.row_index] & _U8 == convert(OPEN, uint256), (
        "consent: no open request for the row"
    )
    assert fate._opens(opening.fate, opening.row_index, rows_in, opening.path, fate_root), (
        "consent: fate opening does not verify"
    )
    kept: bool = False
    output: uint256 = 0
    kept, output = fate._rules(opening.fate, opening.row_index, rows_in, rows_out)
    assert kept, "consent: fate record breaks the fate rules"
    return output


@internal
@view
def _paused(dataset_id: uint256) -> bool:
    """
    @dev See `paused`: a breadth-first walk from the dataset up its parents; every edge
         from a visited dataset to a parent is checked, parents beyond MAX_LINEAGE
         included (they are not walked further).
    @param dataset_id The dataset.
    @return bool True while sales are paused.
    """
    word: uint256 = self._dataset[dataset_id]
    if (word >> _OPEN_SHIFT) & _U64 != 0 or (word >> _VERSION_SHIFT) & _U32 != 0:
        return True
    found: DynArray[uint256, MAX_LINEAGE] = [dataset_id]
    for k: uint256 in range(MAX_LINEAGE):
        if k == len(found):
            break
        child: uint256 = found[k]
        for parent: uint256 in staticcall registry.parents(child):
            parent_word: uint256 = self._dataset[parent]
            if (parent_word >> _OPEN_SHIFT) & _U64 != 0:
                return True
            version: uint256 = (parent_word >> _VERSION_SHIFT) & _U32
            if version != 0 and version != child:
                return True
            if len(found) < MAX_LINEAGE and parent not in found:
                found.append(parent)
    return False


@internal
@view
def _digest(dataset_id: uint256, row_index: uint256, deadline: uint256) -> bytes32:
    """
    @dev The EIP-712 digest of Withdrawal(dataset_id, row_index, deadline) under this
         contract's domain.
    @param dataset_id The dataset.
    @param row_index The row.
    @param deadline The last timestamp the signature is valid at.
    @return bytes32 The digest the subject signs.
    """
    return eip712._hash_typed_data_v4(
        keccak256(abi_encode(WITHDRAWAL_TYPEHASH, dataset_id, row_index, deadline))
    )


@internal
@pure
def _subject_value(row: Bytes[rfc9162.MAX_ROW_BYTES], column: uint256, kind: uint256) -> uint256:
    """
    @dev The subject the row's value in `column` names: the row is a DAG-CBOR array
         (datasoil-rows-v1: integers, floats, booleans, null, byte and text strings); the
         value is a byte string (20 bytes for an address, 32 for a commitment) or a text
         string of "0x" and hex digits (40 or 64, either case).
    @param row The row's bytes.
    @param column The subject column's position.
    @param kind ADDRESS_SUBJECT or COMMITMENT_SUBJECT.
    @return uint256 The address as a number, or the commitment.
    """
    major: uint256 = 0
    arg: uint256 = 0
    pos: uint256 = 0
    major, arg, pos = self._head(row, 0)
    assert major == _CBOR_ARRAY, "consent: row is not a datasoil row"
    assert column < arg, "consent: subject column past the row's values"
    for _: uint256 in range(column, bound=MAX_COLUMNS):
        major, arg, pos = self._head(row, pos)
        assert major < _CBOR_ARRAY or major == _CBOR_SIMPLE, "consent: row is not a datasoil row"
        if major == _CBOR_BYTES or major == _CBOR_TEXT:
            # arg < 2**64 and pos <= 4096: no overflow; later reads check the bound.
            pos = unsafe_add(pos, arg)
    major, arg, pos = self._head(row, pos)
    assert not (major == _CBOR_SIMPLE and arg == _CBOR_NULL), "consent: row has no subject"
    assert major == _CBOR_BYTES or major == _CBOR_TEXT, "consent: subject value is not bytes or text"
    assert pos + arg <= len(row), "consent: row is not a datasoil row"
    size: uint256 = 20
    if kind == convert(COMMITMENT_SUBJECT, uint256):
        size = 32
    if major == _CBOR_BYTES:
        assert arg == size, "consent: subject value has the wrong length"
        if size == 20:
            return convert(slice(row, pos, 20), uint256)
        return convert(slice(row, pos, 32), uint256)
    assert arg == 2 + 2 * size, "consent: subject value has the wrong length"
    assert slice(row, pos, 2) == b"0x", "consent: subject text does not start with 0x"
    value: uint256 = 0
    for k: uint256 in range(2, 66):
        if k == arg:
            break
        c: uint256 = convert(slice(row, pos + k, 1), uint256)
        digit: uint256 = 0
        if c >= 48 and c <= 57:
            digit = c - 48
        elif c >= 97 and c <= 102:
            digit = c - 87
        elif c >= 65 and c <= 70:
            digit = c - 55
        else:
            raise "consent: subject text is not hex"
        value = (value << 4) | digit
    return value


@internal
@pure
def _head(data: Bytes[rfc9162.MAX_ROW_BYTES], pos: uint256) -> (uint256, uint256, uint256):
    """
    @dev The CBOR item head at `pos`: its major type, its argument (the value, a length
         or a simple value) and the position after the head.
    @param data The bytes.
    @param pos Where the head starts.
    @return uint256 The major type.
    @return uint256 The argument.
    @return uint256 The position after the head.
    """
    assert pos < len(data), "consent: row is not a datasoil row"
    b: uint256 = convert(slice(data, pos, 1), uint256)
    info: uint256 = b & 31
    start: uint256 = pos + 1
    if info < 24:
        return b >> 5, info, start
    if info == 24:
        assert start + 1 <= len(data), "consent: row is not a datasoil row"
        return b >> 5, convert(slice(data, start, 1), uint256), start + 1
    if info == 25:
        assert start + 2 <= len(data), "consent: row is not a datasoil row"
        return b >> 5, convert(slice(data, start, 2), uint256), start + 2
    if info == 26:
        assert start + 4 <= len(data), "consent: row is not a datasoil row"
        return b >> 5, convert(slice(data, start, 4), uint256), start + 4
    assert info == 27, "consent: row is not a datasoil row"
    assert start + 8 <= len(data), "consent: row is not a datasoil row"
    return b >> 5, convert(slice(data, start, 8), uint256), start + 8
