# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ModelRegistry
@custom:contract-name ModelRegistry
@license Apache-2.0
@notice Registers models by what they were made of, and sells licences to them.
        A model names its weights CID, its training manifest (an RFC 9162 root over
        the DAG-CBOR entries `[dataset_id, row_index]` of every row used, sorted, each
        once; docs/formats/manifest.md), a training-config CID, a licence, the datasets
        it used with the number of rows used of each, the parent models it was
        fine-tuned or merged from, and the shares of each sale that go to the data and
        to the parents. At registration the contract checks that every dataset exists
        and has the row root the manifest names, that no more rows were used than it
        has, that the registrant holds a delivered, unexpired AccessMarket purchase of
        every private dataset it does not own, and that the parent models exist.
        A model's owner lists a licence (price in a token the market allows, duration);
        a sale credits, at once, the owner, the datasets pro rata to the rows used
        (each dataset's part then up its lineage by the market's own rule,
        `quote_release`) and the parent models in equal parts. Credits are withdrawn
        (pull payments).
@dev Storage: owner, manifest size and ownership period in one slot, the manifest root
     in a second, the keccak256 of the composition (datasets, parents, shares) in a
     third; everything else is in `ModelRegistered`. A sale takes the composition back
     as calldata (from the event) and checks it against the stored hash.
     Bounds: 8 datasets (each credited to at most 9 accounts by the market's rule),
     8 parents, so a sale makes at most 81 credits (docs/models.md).
@custom:security What is checked is that the registrant had access and that the
                 manifest names registered rows; not that the weights were trained on
                 them (docs/models.md, "The honest limit"). Sales are not escrowed: a
                 licence is recorded and paid at once; private weights are the owner's
                 to deliver. Tokens: the market's allow-list, standard ERC-20s only.
"""

from interfaces import IModelRegistry
from interfaces import IAccessMarket
from interfaces import IConsent
from interfaces import IDatasetRegistry
from ethereum.ercs import IERC20
from .modules import rfc9162

implements: IModelRegistry


# @dev The most datasets and parent models a model names.
MAX_DATASETS: public(constant(uint256)) = 8
MAX_PARENTS: public(constant(uint256)) = 8

# @dev The most credits one sale makes: the owner, 9 per dataset, 1 per parent.
MAX_CREDITS: public(constant(uint256)) = 81

# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10000

# @dev The RFC 9162 root of the empty tree: the manifest of a model that used no rows.
EMPTY_ROOT: public(constant(bytes32)) = (
    0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
)

# @dev Bounds of the packed listing fields (as the market's).
MAX_PRICE: constant(uint256) = (1 << 96) - 1
MAX_DURATION: constant(uint256) = (1 << 30) - 1

# @dev AccessMarket purchase states a receipt may be in.
_PENDING: constant(uint8) = 1
_DELIVERED: constant(uint8) = 2
_OBJECTED: constant(uint8) = 3
_RELEASED: constant(uint8) = 4

_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_U32_MASK: constant(uint256) = (1 << 32) - 1
_U64_MASK: constant(uint256) = (1 << 64) - 1
_SIZE_SHIFT: constant(uint256) = 160
_PERIOD_SHIFT: constant(uint256) = 224
_PRICE_SHIFT: constant(uint256) = 160
_DURATION_SHIFT: constant(uint256) = 160
_LISTING_PERIOD_SHIFT: constant(uint256) = 192
# @dev AccessMarket keeps the top 216 bits of a purchase's terms hash (its `_HASH_SHIFT`).
_TERMS_HASH_SHIFT: constant(uint256) = 40


# @dev The DatasetRegistry whose datasets models name (the market's).
registry: public(immutable(IDatasetRegistry))

# @dev The AccessMarket whose purchases are receipts and whose allow-list and royalty
# rule model sales use.
market: public(immutable(IAccessMarket))

# @dev The number of models; ids run from 1 to `model_count`.
model_count: public(uint256)

# @dev Packed record: owner (0-159) | manifest size, the rows used in all (160-223) |
# ownership period, the number of completed transfers (224-255).
_record: HashMap[uint256, uint256]

# @dev RFC 9162 root of the training manifest per model.
manifest_root: public(HashMap[uint256, bytes32])

# @dev keccak256(abi_encode(composition)) per model.
_composition: HashMap[uint256, bytes32]

# @dev The proposed next owner per model, zero when no transfer is pending.
pending_owner: public(HashMap[uint256, address])

# @dev Listing terms: token (0-159) | price (160-255); zero when not listed.
_listing_terms: HashMap[uint256, uint256]

# @dev Listing meta: lister (0-159) | duration (160-191) | ownership period (192-223).
_listing_meta: HashMap[uint256, uint256]

# @dev Licence expiry (unix seconds) per model and account.
licence_expiry: public(HashMap[uint256, HashMap[address, uint256]])

# @dev Withdrawable credits per token and account.
credit: public(HashMap[address, HashMap[address, uint256]])


# @dev Emitted once per model with everything an indexer (and a bill of materials) needs.
event ModelRegistered:
    model_id: indexed(uint256)
    owner: indexed(address)
    version_of: indexed(uint256)
    weights_cid: IDatasetRegistry.PackedCid
    manifest_root: bytes32
    manifest_cid: IDatasetRegistry.PackedCid
    manifest_size: uint256
    config_cid: IDatasetRegistry.PackedCid
    composition: IModelRegistry.Composition
    receipts: DynArray[uint256, MAX_DATASETS]
    license: String[64]


# @dev Emitted when an owner proposes a new owner (zero cancels a proposal).
event OwnershipTransferStarted:
    model_id: indexed(uint256)
    owner: indexed(address)
    pending_owner: indexed(address)


# @dev Emitted when the proposed owner accepts.
event OwnershipTransferred:
    model_id: indexed(uint256)
    previous_owner: indexed(address)
    new_owner: indexed(address)


# @dev Emitted when an owner lists a licence to a model or changes its listing.
event ModelListed:
    model_id: indexed(uint256)
    lister: indexed(address)
    token: indexed(address)
    price: uint256
    duration: uint256


# @dev Emitted when an owner withdraws a listing.
event ModelDelisted:
    model_id: indexed(uint256)
    lister: indexed(address)


# @dev Emitted for each licence sold (its credits follow as `Credited`).
event ModelSold:
    model_id: indexed(uint256)
    buyer: indexed(address)
    token: indexed(address)
    price: uint256
    licence_expiry: uint256


# @dev Emitted for each credit of a sale: dataset_id set for data and lineage credits,
# source_model the parent model (or the model itself for its owner's credit).
event Credited:
    token: indexed(address)
    account: indexed(address)
    model_id: indexed(uint256)
    dataset_id: uint256
    source_model: uint256
    amount: uint256


# @dev Emitted when an account withdraws its credits.
event Withdrawn:
    token: indexed(address)
    account: indexed(address)
    amount: uint256


@deploy
def __init__(market_: address):
    """
    @dev Binds the registry to a market and to the market's DatasetRegistry.
    @param market_ The AccessMarket.
    """
    assert market_ != empty(address), "models: zero market"
    market = IAccessMarket(market_)
    registry = IDatasetRegistry(staticcall IAccessMarket(market_).registry())


@external
def register_model(
    weights_cid: IDatasetRegistry.PackedCid,
    manifest_root: bytes32,
    manifest_cid: IDatasetRegistry.PackedCid,
    config_cid: IDatasetRegistry.PackedCid,
    composition: IModelRegistry.Composition,
    receipts: DynArray[IModelRegistry.Receipt, MAX_DATASETS],
    license: String[64],
    version_of: uint256,
) -> uint256:
    """
    @dev Registers a model owned by the caller and returns its id. The manifest root
         cannot be recomputed on chain; its size is the sum of `rows_used`, and
         `verify_row` checks openings against both.
    @param weights_cid The CID of the weights (the ciphertext's if they are private).
    @param manifest_root The RFC 9162 root of the training manifest.
    @param manifest_cid The CID of the pinned manifest document.
    @param config_cid The CID of the training configuration (zero digest for none).
    @param composition Datasets used (strictly increasing ids, row roots as registered,
           rows used 1 .. row count), parent models (strictly increasing, registered)
           and the sale shares for data and parents (sum at most 10000).
    @param receipts One market purchase per private dataset the caller does not own
           (others may be given too): bought by the caller, delivered, not disputed or
           refunded, and the caller's access unexpired now.
    @param license An SPDX license id or a licence document's CID string.
    @param version_of The model this one supersedes (0 for none); the caller must own it.
    @return uint256 The new model's id.
    """
    assert weights_cid.digest != empty(bytes32), "models: zero weights CID"
    assert manifest_cid.digest != empty(bytes32), "models: zero manifest CID"
    assert manifest_root != empty(bytes32), "models: zero manifest root"
    assert composition.data_bps <= BPS, "models: shares above 100%"
    assert composition.parents_bps <= BPS - composition.data_bps, "models: shares above 100%"
    assert composition.data_bps == 0 or len(composition.datasets) != 0, (
        "models: data share without datasets"
    )
    assert composition.parents_bps == 0 or len(composition.parents) != 0, (
        "models: parent share without parents"
    )
    count: uint256 = self.model_count
    # Ids grow by one per registration, a transaction each: far below 2**256.
    model_id: uint256 = unsafe_add(count, 1)
    if version_of != 0:
        assert version_of <= count, "models: unknown version_of"
        assert self._owner(version_of) == msg.sender, "models: not the owner of version_of"

    previous: uint256 = 0
    for parent: uint256 in composition.parents:
        assert parent > previous, "models: parents not strictly increasing"
        assert parent <= count, "models: unknown parent model"
        previous = parent

    # Bit i set when the i-th dataset needs a receipt (private, not the caller's).
    needs: uint256 = 0
    total: uint256 = 0
    previous = 0
    for i: uint256 in range(len(composition.datasets), bound=MAX_DATASETS):
        ingredient: IModelRegistry.Ingredient = composition.datasets[i]
        assert ingredient.dataset_id > previous, "models: datasets not strictly increasing"
        previous = ingredient.dataset_id
        # The registry reverts "registry: unknown dataset" for an id it does not hold.
        info: IDatasetRegistry.DatasetInfo = staticcall registry.info(ingredient.dataset_id)
        assert info.row_root == ingredient.row_root, "models: row root differs from the registry's"
        assert ingredient.rows_used != 0, "models: no rows used of a dataset"
        assert ingredient.rows_used <= info.row_count, (
            "models: more rows used than the dataset has"
        )
        if info.private and info.owner != msg.sender:
            needs |= 1 << i
        # At most 8 terms below 2**64 each: no overflow.
        total = unsafe_add(total, convert(ingredient.rows_used, uint256))
    assert total <= _U64_MASK, "models: manifest too large"
    assert total != 0 or manifest_root == EMPTY_ROOT, "models: no rows used needs the empty root"

    covered: uint256 = 0
    purchase_ids: DynArray[uint256, MAX_DATASETS] = []
    for receipt: IModelRegistry.Receipt in receipts:
        i: uint256 = self._position(composition.datasets, receipt.terms.dataset_id)
        assert covered & (1 << i) == 0, "models: two receipts for one dataset"
        self._check_receipt(receipt)
        covered |= 1 << i
        purchase_ids.append(receipt.purchase_id)
    assert needs & ~covered == 0, "models: no receipt for a private dataset"

    self.model_count = model_id
    self._record[model_id] = convert(msg.sender, uint256) | (total << _SIZE_SHIFT)
    self.manifest_root[model_id] = manifest_root
    self._composition[model_id] = keccak256(abi_encode(composition))
    log ModelRegistered(
        model_id=model_id,
        owner=msg.sender,
        version_of=version_of,
        weights_cid=weights_cid,
        manifest_root=manifest_root,
        manifest_cid=manifest_cid,
        manifest_size=total,
        config_cid=config_cid,
        composition=composition,
        receipts=purchase_ids,
        license=license,
    )
    return model_id


@external
def propose_owner(model_id: uint256, new_owner: address):
    """
    @dev Proposes `new_owner` for a model the caller owns; zero cancels.
    @param model_id The model.
    @param new_owner The proposed owner, who must call `accept_owner`.
    """
    assert self._owner(model_id) == msg.sender, "models: not the model owner"
    self.pending_owner[model_id] = new_owner
    log OwnershipTransferStarted(model_id=model_id, owner=msg.sender, pending_owner=new_owner)


@external
def accept_owner(model_id: uint256):
    """
    @dev Completes a transfer: the proposed owner becomes the owner and the ownership
         period advances, so the previous owner's listing lapses.
    @param model_id The model.
    """
    assert self.pending_owner[model_id] == msg.sender, "models: not the pending owner"
    record: uint256 = self._record[model_id]
    previous: address = convert(record & _ADDRESS_MASK, address)
    self.pending_owner[model_id] = empty(address)
    # The period is the top 32 bits; a wrap (after 2**32 transfers) clears nothing below.
    self._record[model_id] = unsafe_add(
        (record & ~_ADDRESS_MASK) | convert(msg.sender, uint256), 1 << _PERIOD_SHIFT
    )
    log OwnershipTransferred(model_id=model_id, previous_owner=previous, new_owner=msg.sender)


@external
def list_model(model_id: uint256, token: address, price: uint256, duration: uint256):
    """
    @dev Lists a licence to a model the caller owns, or replaces its listing.
    @param model_id The model.
    @param token A token the market allows.
    @param price The price in the token's base units (1 .. 2**96 - 1).
    @param duration Seconds of licence per sale (1 .. 2**30 - 1).
    """
    record: uint256 = self._record[model_id]
    assert convert(record & _ADDRESS_MASK, address) == msg.sender, "models: not the model owner"
    assert staticcall market.token_allowed(token), "models: token not allowed"
    assert price != 0, "models: zero price"
    assert price <= MAX_PRICE, "models: price too large"
    assert duration != 0, "models: zero duration"
    assert duration <= MAX_DURATION, "models: duration too long"
    self._listing_terms[model_id] = convert(token, uint256) | (price << _PRICE_SHIFT)
    self._listing_meta[model_id] = (
        convert(msg.sender, uint256)
        | (duration << _DURATION_SHIFT)
        | ((record >> _PERIOD_SHIFT) << _LISTING_PERIOD_SHIFT)
    )
    log ModelListed(model_id=model_id, lister=msg.sender, token=token, price=price, duration=duration)


@external
def delist_model(model_id: uint256):
    """
    @dev Withdraws the listing of a model the caller owns.
    @param model_id The model.
    """
    assert self._owner(model_id) == msg.sender, "models: not the model owner"
    assert self._listing_terms[model_id] != 0, "models: not listed"
    self._listing_terms[model_id] = 0
    self._listing_meta[model_id] = 0
    log ModelDelisted(model_id=model_id, lister=msg.sender)


@external
def buy_model(
    model_id: uint256,
    composition: IModelRegistry.Composition,
    token: address,
    max_price: uint256,
    min_duration: uint256,
) -> uint256:
    """
    @dev Buys a licence to a listed model for the caller, paying the listed price,
         which is credited at once: the training data's share pro rata to rows used
         (each dataset's part split up its lineage by the market's `quote_release`),
         the parents' share in equal parts, the rest to the model's owner. The licence
         starts, or extends, by the listed duration. Needs an allowance of the price.
         Paused while the market's Consent pauses the sales of a dataset the model was
         trained on (a withdrawal request in its lineage, docs/consent.md).
    @param model_id The model.
    @param composition The model's composition, as `ModelRegistered` gave it.
    @param token The token the buyer expects to pay in.
    @param max_price The most the buyer pays.
    @param min_duration The least licence duration the buyer accepts (seconds).
    @return uint256 The caller's licence expiry.
    """
    terms: uint256 = self._listing_terms[model_id]
    assert terms != 0, "models: not listed"
    record: uint256 = self._record[model_id]
    meta: uint256 = self._listing_meta[model_id]
    assert (meta >> _LISTING_PERIOD_SHIFT) & _U32_MASK == record >> _PERIOD_SHIFT, (
        "models: listing lapsed"
    )
    owner: address = convert(record & _ADDRESS_MASK, address)
    assert msg.sender != owner, "models: buyer is the owner"
    assert convert(terms & _ADDRESS_MASK, address) == token, "models: token changed"
    assert staticcall market.token_allowed(token), "models: token not allowed"
    price: uint256 = terms >> _PRICE_SHIFT
    assert price <= max_price, "models: price above max"
    duration: uint256 = (meta >> _DURATION_SHIFT) & _U32_MASK
    assert duration >= min_duration, "models: duration below min"
    assert keccak256(abi_encode(composition)) == self._composition[model_id], (
        "models: composition mismatch"
    )
    consent: address = staticcall market.consent()
    if consent != empty(address):
        for ingredient: IModelRegistry.Ingredient in composition.datasets:
            assert not staticcall IConsent(consent).paused(ingredient.dataset_id), (
                "models: sales paused by a withdrawal"
            )
    assert staticcall IERC20(token).allowance(msg.sender, self) >= price, (
        "models: insufficient allowance"
    )

    credits: DynArray[IModelRegistry.SaleCredit, MAX_CREDITS] = self._split(
        model_id, owner, composition, price, (record >> _SIZE_SHIFT) & _U64_MASK
    )
    for c: IModelRegistry.SaleCredit in credits:
        self.credit[token][c.account] += c.amount
        log Credited(
            token=token,
            account=c.account,
            model_id=model_id,
            dataset_id=c.dataset_id,
            source_model=c.model_id,
            amount=c.amount,
        )
    expiry: uint256 = max(self.licence_expiry[model_id][msg.sender], block.timestamp) + duration
    self.licence_expiry[model_id][msg.sender] = expiry
    log ModelSold(model_id=model_id, buyer=msg.sender, token=token, price=price, licence_expiry=expiry)

    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(msg.sender, self, price, default_return_value=True), (
        "models: transfer failed"
    )
    # A standard token moves exactly `price`; anything else would leave credits unbacked.
    assert staticcall IERC20(token).balanceOf(self) == before + price, "models: token took a fee"
    return expiry


@external
def withdraw(token: address) -> uint256:
    """
    @dev Sends the caller all their credits in `token`.
    @param token The ERC-20.
    @return uint256 The amount sent.
    """
    amount: uint256 = self.credit[token][msg.sender]
    assert amount != 0, "models: nothing to withdraw"
    self.credit[token][msg.sender] = 0
    log Withdrawn(token=token, account=msg.sender, amount=amount)
    assert extcall IERC20(token).transfer(msg.sender, amount, default_return_value=True), (
        "models: transfer failed"
    )
    return amount


@external
@view
def exists(model_id: uint256) -> bool:
    """
    @dev Whether `model_id` is registered.
    @param model_id The model.
    @return bool True for ids 1..model_count.
    """
    return model_id != 0 and model_id <= self.model_count


@external
@view
def owner_of(model_id: uint256) -> address:
    """
    @dev The owner of a model; reverts for an unknown id.
    @param model_id The model.
    @return address The owner.
    """
    return self._existing_owner(model_id)


@external
@view
def ownership(model_id: uint256) -> (address, uint256):
    """
    @dev The owner and ownership period of a model; reverts for an unknown id.
    @param model_id The model.
    @return address The owner.
    @return uint256 The ownership period (0 until the first transfer).
    """
    owner: address = self._existing_owner(model_id)
    return owner, self._record[model_id] >> _PERIOD_SHIFT


@external
@view
def manifest_size(model_id: uint256) -> uint256:
    """
    @dev The number of entries in a model's manifest (rows used in all); reverts for
         an unknown id.
    @param model_id The model.
    @return uint256 The manifest's tree size.
    """
    self._existing_owner(model_id)
    return (self._record[model_id] >> _SIZE_SHIFT) & _U64_MASK


@external
@view
def composition_hash(model_id: uint256) -> bytes32:
    """
    @dev keccak256(abi_encode(composition)) of a model; zero for an unknown id.
    @param model_id The model.
    @return bytes32 The stored hash.
    """
    return self._composition[model_id]


@external
@view
def listing(model_id: uint256) -> IModelRegistry.ModelListing:
    """
    @dev The stored listing of a model and whether it can be bought now.
    @param model_id The model.
    @return ModelListing Lister, token, price, duration, active.
    """
    terms: uint256 = self._listing_terms[model_id]
    meta: uint256 = self._listing_meta[model_id]
    token: address = convert(terms & _ADDRESS_MASK, address)
    current: bool = (
        meta != 0
        and (meta >> _LISTING_PERIOD_SHIFT) & _U32_MASK == self._record[model_id] >> _PERIOD_SHIFT
    )
    return IModelRegistry.ModelListing(
        lister=convert(meta & _ADDRESS_MASK, address),
        token=token,
        price=terms >> _PRICE_SHIFT,
        duration=(meta >> _DURATION_SHIFT) & _U32_MASK,
        active=terms != 0 and current and staticcall market.token_allowed(token),
    )


@external
@view
def has_licence(model_id: uint256, account: address) -> bool:
    """
    @dev Whether `account` holds an unexpired licence to the model.
    @param model_id The model.
    @param account The account.
    @return bool True until the licence expiry.
    """
    return self.licence_expiry[model_id][account] > block.timestamp


@external
@view
def quote_sale(
    model_id: uint256, composition: IModelRegistry.Composition, price: uint256
) -> DynArray[IModelRegistry.SaleCredit, MAX_CREDITS]:
    """
    @dev The credits a sale at `price` would make now, the owner's last.
    @param model_id The model.
    @param composition The model's composition (checked against the stored hash).
    @param price The amount paid (below 2**96).
    @return DynArray The credits; their amounts add up to `price`.
    """
    owner: address = self._existing_owner(model_id)
    assert keccak256(abi_encode(composition)) == self._composition[model_id], (
        "models: composition mismatch"
    )
    assert price <= MAX_PRICE, "models: price too large"
    size: uint256 = (self._record[model_id] >> _SIZE_SHIFT) & _U64_MASK
    return self._split(model_id, owner, composition, price, size)


@external
@pure
def manifest_leaf(dataset_id: uint256, row_index: uint256) -> bytes32:
    """
    @dev The RFC 9162 leaf hash of the manifest entry `[dataset_id, row_index]`:
         SHA-256(0x00 || DAG-CBOR array of the two unsigned integers).
    @param dataset_id The dataset (below 2**64).
    @param row_index The row (below 2**64).
    @return bytes32 The leaf hash.
    """
    return self._leaf(dataset_id, row_index)


@external
@view
def verify_row(
    model_id: uint256,
    dataset_id: uint256,
    row_index: uint256,
    position: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
) -> bool:
    """
    @dev Whether `path` proves that entry `[dataset_id, row_index]` is at `position`
         of the model's manifest (the tree size is the stored manifest size). With an
         inclusion of row `row_index` in the dataset's row root, this answers "was
         this row in the model's training set, as its trainer declared it?".
    @param model_id The model.
    @param dataset_id The dataset.
    @param row_index The row; reverts past the dataset's row count.
    @param position The entry's position in the manifest.
    @param path The audit path, leaf to root.
    @return bool True when the proof verifies.
    """
    record: uint256 = self._record[model_id]
    assert record != 0, "models: unknown model"
    assert row_index < convert(staticcall registry.row_count(dataset_id), uint256), (
        "models: row index past the dataset's count"
    )
    return rfc9162._verify_inclusion(
        self._leaf(dataset_id, row_index),
        position,
        (record >> _SIZE_SHIFT) & _U64_MASK,
        path,
        self.manifest_root[model_id],
    )


@external
@view
def row_withdrawal(
    model_id: uint256,
    dataset_id: uint256,
    row_index: uint256,
    position: uint256,
    path: DynArray[bytes32, rfc9162.MAX_DEPTH],
) -> uint8:
    """
    @dev Whether a row the model's manifest includes has a withdrawal request: `path`
         must prove entry `[dataset_id, row_index]` at `position` (as `verify_row`);
         the answer is the request's state in the market's Consent (0 none, 1 open,
         2 answered, 3 moved to the answering version). Flags data-level inclusion of
         a withdrawn row; says nothing of what the weights retain (docs/consent.md).
    @param model_id The model.
    @param dataset_id The dataset.
    @param row_index The row.
    @param position The entry's position in the manifest.
    @param path The audit path, leaf to root.
    @return uint8 The withdrawal state of the row.
    """
    record: uint256 = self._record[model_id]
    assert record != 0, "models: unknown model"
    assert rfc9162._verify_inclusion(
        self._leaf(dataset_id, row_index),
        position,
        (record >> _SIZE_SHIFT) & _U64_MASK,
        path,
        self.manifest_root[model_id],
    ), "models: row not proven in the manifest"
    consent: address = staticcall market.consent()
    if consent == empty(address):
        return 0
    return staticcall IConsent(consent).withdrawal_state(dataset_id, row_index)


@external
@view
def verify_row_absent(
    model_id: uint256,
    dataset_id: uint256,
    row_index: uint256,
    position: uint256,
    left: IModelRegistry.Neighbour,
    right: IModelRegistry.Neighbour,
) -> bool:
    """
    @dev Sorted-neighbour absence: whether the entries at `position - 1` (`left`,
         ignored when `position` is 0) and `position` (`right`, ignored when
         `position` is the manifest size) are in the manifest and sort before and
         after `[dataset_id, row_index]`. Sound only for a sorted manifest, which is
         what the format requires and anyone can check from the pinned document.
    @param model_id The model.
    @param dataset_id The dataset.
    @param row_index The row.
    @param position The number of manifest entries that sort before the row.
    @param left The entry just before, with its audit path.
    @param right The entry just after, with its audit path.
    @return bool True when both neighbours verify and bracket the row.
    """
    record: uint256 = self._record[model_id]
    assert record != 0, "models: unknown model"
    size: uint256 = (record >> _SIZE_SHIFT) & _U64_MASK
    root: bytes32 = self.manifest_root[model_id]
    if position > size:
        return False
    if position != 0:
        if not self._before(left.dataset_id, left.row_index, dataset_id, row_index):
            return False
        # position > 0, so this cannot underflow.
        if not rfc9162._verify_inclusion(
            self._leaf(left.dataset_id, left.row_index), unsafe_sub(position, 1), size, left.path, root
        ):
            return False
    if position != size:
        if not self._before(dataset_id, row_index, right.dataset_id, right.row_index):
            return False
        if not rfc9162._verify_inclusion(
            self._leaf(right.dataset_id, right.row_index), position, size, right.path, root
        ):
            return False
    return True


@internal
@view
def _owner(model_id: uint256) -> address:
    """
    @dev The model's owner; the zero address for an unknown id.
    @param model_id The model.
    @return address Its owner.
    """
    return convert(self._record[model_id] & _ADDRESS_MASK, address)


@internal
@view
def _existing_owner(model_id: uint256) -> address:
    """
    @dev The model's owner; reverts for an unknown id.
    @param model_id The model.
    @return address Its owner.
    """
    owner: address = self._owner(model_id)
    assert owner != empty(address), "models: unknown model"
    return owner


@internal
@pure
def _position(datasets: DynArray[IModelRegistry.Ingredient, MAX_DATASETS], dataset_id: uint256) -> uint256:
    """
    @dev The position of a dataset among a model's ingredients; reverts when absent.
    @param datasets The ingredients.
    @param dataset_id The dataset.
    @return uint256 Its position.
    """
    for i: uint256 in range(len(datasets), bound=MAX_DATASETS):
        if datasets[i].dataset_id == dataset_id:
            return i
    raise "models: receipt for a dataset not used"


@internal
@view
def _check_receipt(receipt: IModelRegistry.Receipt):
    """
    @dev Reverts unless a market receipt proves the caller's current access: the caller
         is its buyer, its terms hash matches the market's, the key was delivered and not
         objected to or refunded, and the access has not expired.
    @param receipt The receipt (purchase id and terms).
    """
    assert receipt.terms.buyer == msg.sender, "models: receipt for another account"
    state: IAccessMarket.PurchaseState = staticcall market.purchase(receipt.purchase_id)
    # The market stores the top 216 bits of keccak256(abi_encode(id, terms)).
    assert convert(keccak256(abi_encode(receipt.purchase_id, receipt.terms)), uint256) >> _TERMS_HASH_SHIFT == (
        state.terms_hash
    ), "models: receipt terms mismatch"
    assert state.status != _PENDING, "models: receipt not delivered"
    assert state.status != _OBJECTED, "models: receipt disputed"
    assert state.status == _DELIVERED or state.status == _RELEASED, "models: receipt refunded"
    assert staticcall market.access_expiry(receipt.terms.dataset_id, msg.sender) > block.timestamp, (
        "models: access expired"
    )


@internal
@view
def _split(
    model_id: uint256,
    owner: address,
    composition: IModelRegistry.Composition,
    price: uint256,
    size: uint256,
) -> DynArray[IModelRegistry.SaleCredit, MAX_CREDITS]:
    """
    @dev Splits a model's sale price: `data_bps` among the datasets in proportion to the
         rows used (each part split again by the market's `quote_release`), `parents_bps`
         evenly among the parent models' owners, the rest and the dust to the owner.
    @param model_id The model sold.
    @param owner Its owner.
    @param composition The model's datasets, parents and shares.
    @param price The amount to split.
    @param size The total rows used over all datasets.
    @return DynArray The credits; their amounts add up to `price`.
    """
    credits: DynArray[IModelRegistry.SaleCredit, MAX_CREDITS] = []
    paid: uint256 = 0
    # price < 2**96 and shares <= 10000: the products cannot overflow.
    data: uint256 = price * composition.data_bps // BPS
    if data != 0 and size != 0:
        for ingredient: IModelRegistry.Ingredient in composition.datasets:
            # data < 2**96 and rows_used < 2**64: no overflow; the sum of parts <= data.
            part: uint256 = data * convert(ingredient.rows_used, uint256) // size
            if part == 0:
                continue
            for c: IAccessMarket.Credit in staticcall market.quote_release(ingredient.dataset_id, part):
                if c.amount != 0:
                    credits.append(
                        IModelRegistry.SaleCredit(
                            dataset_id=c.dataset_id, model_id=0, account=c.account, amount=c.amount
                        )
                    )
                    paid += c.amount
    upstream: uint256 = price * composition.parents_bps // BPS
    if upstream != 0:
        each: uint256 = upstream // len(composition.parents)
        if each != 0:
            for parent: uint256 in composition.parents:
                credits.append(
                    IModelRegistry.SaleCredit(
                        dataset_id=0, model_id=parent, account=self._owner(parent), amount=each
                    )
                )
                paid += each
    # Dust and the owner's share; the credits add up to the price.
    credits.append(
        IModelRegistry.SaleCredit(dataset_id=0, model_id=model_id, account=owner, amount=price - paid)
    )
    return credits


@internal
@pure
def _leaf(dataset_id: uint256, row_index: uint256) -> bytes32:
    """
    @dev The RFC 9162 leaf of a training-manifest entry: SHA-256(0x00 || DAG-CBOR
         [dataset_id, row_index]), an array of 2 (0x82) then two unsigned integers in
         their shortest form.
    @param dataset_id The dataset.
    @param row_index The row.
    @return bytes32 The leaf hash.
    """
    return sha256(concat(b"\x00", b"\x82", self._cbor_uint(dataset_id), self._cbor_uint(row_index)))


@internal
@pure
def _cbor_uint(n: uint256) -> Bytes[9]:
    """
    @dev The CBOR encoding of an unsigned integer: major type 0, shortest form (RFC 8949
         section 4.2.1), up to 64 bits; reverts above.
    @param n The integer.
    @return Bytes The 1 to 9 encoded bytes.
    """
    assert n <= _U64_MASK, "models: manifest entry above 64 bits"
    word: bytes32 = convert(n, bytes32)
    if n < 24:
        return slice(word, 31, 1)
    if n < 256:
        return concat(b"\x18", slice(word, 31, 1))
    if n < 65536:
        return concat(b"\x19", slice(word, 30, 2))
    if n < 4294967296:
        return concat(b"\x1a", slice(word, 28, 4))
    return concat(b"\x1b", slice(word, 24, 8))


@internal
@pure
def _before(a_dataset: uint256, a_row: uint256, b_dataset: uint256, b_row: uint256) -> bool:
    """
    @dev Manifest order: by dataset id, then by row index.
    @param a_dataset The first entry's dataset.
    @param a_row The first entry's row.
    @param b_dataset The second entry's dataset.
    @param b_row The second entry's row.
    @return bool True when the first entry sorts strictly before the second.
    """
    return a_dataset < b_dataset or (a_dataset == b_dataset and a_row < b_row)
