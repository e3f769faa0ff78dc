# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title AccessMarket
@custom:contract-name AccessMarket
@license Apache-2.0
@notice Sells time-bounded access to private registered datasets for an allow-listed
        ERC-20. A dataset's owner lists it (token, price, access duration, upstream
        share and a commitment to the content key). A buyer pays into escrow; every
        term of the sale is pinned then: token, price, duration, seller, ownership
        period, key commitment and the royalty credits the release will make. The
        contract keeps only a hash of these terms; every later call passes them back
        (from the `Purchased` event) and the hash is checked.
        The seller, or the keeper it designated for that ownership period, delivers
        the sealed key with `deliver_key` before `refund_timeout` ends; escrow is then
        held for `objection_window` seconds, during which the buyer may `object_key`
        (the key did not match the commitment). An objection is answered by anyone
        revealing the committed key on chain (`reveal_key`) within `reveal_window`,
        which pays the seller; unanswered, the buyer takes a refund. Without an
        objection, anyone `settle`s after the window and the pinned credits are made.
@dev Royalties (docs/market.md). At purchase, `price * upstream_bps / 10000` of the
     selling dataset (its listing's share, or DEFAULT_UPSTREAM_BPS without a listing
     of its current ownership period) is split in equal integer parts among its
     parents. Every ancestor reached keeps what reaches it except its own upstream
     share (same rule), which flows on, split equally among its parents. At most
     MAX_ANCESTORS distinct ancestors are visited, found breadth-first from the
     parents; they are settled in decreasing id order (topological), so an ancestor
     reached by two routes is credited once with the sum. A part for a parent beyond
     the bound stays with the ancestor that would have passed it on. Dust goes to the
     seller, so the credits add up to the price exactly.
     Tokens: standard ERC-20s only (no fee on transfer, no rebasing, no hooks); the
     allow-list is where the market's owner vets them, and `buy` also reverts when
     the market receives less than the price.
     Storage: a listing is three slots, a purchase one (216 bits of the terms hash,
     the status and the time of its last step); prices are below 2**96 base units,
     durations below 2**30 seconds, timestamps fit in 32 bits (until 2106).
@custom:security The envelope cannot be checked on chain. What is checked is the key
                 revealed after an objection, against the commitment the listing
                 carried at purchase. A commitment to a key that does not decrypt the
                 dataset is not caught on chain (docs/market.md says what covers it).
                 A reveal publishes the content key to everyone.
"""

from interfaces import IAccessMarket
from interfaces import IConsent
from interfaces import IDatasetRegistry
from ethereum.ercs import IERC20
from snekmate.auth import ownable

implements: IAccessMarket

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


# @dev The most parents a dataset has in the registry.
MAX_PARENTS: constant(uint256) = 8

# @dev The most distinct ancestors one release credits.
MAX_ANCESTORS: public(constant(uint256)) = 8

# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10000

# @dev The upstream share of a dataset without a listing of its current ownership.
DEFAULT_UPSTREAM_BPS: public(constant(uint256)) = 5000

# @dev Bounds of the packed fields.
MAX_PRICE: public(constant(uint256)) = (1 << 96) - 1
MAX_DURATION: public(constant(uint256)) = (1 << 30) - 1

# @dev Purchase states: bought, key delivered (escrow held), objected, paid out, refunded.
PENDING: public(constant(uint8)) = 1
DELIVERED: public(constant(uint8)) = 2
OBJECTED: public(constant(uint8)) = 3
RELEASED: public(constant(uint8)) = 4
REFUNDED: public(constant(uint8)) = 5

# @dev Field masks and offsets of the packed words (see the storage comments).
_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_U32_MASK: constant(uint256) = (1 << 32) - 1
_U16_MASK: constant(uint256) = (1 << 16) - 1
_U8_MASK: constant(uint256) = (1 << 8) - 1
_PRICE_SHIFT: constant(uint256) = 160
_BPS_SHIFT: constant(uint256) = 160
_LISTING_DURATION_SHIFT: constant(uint256) = 176
_LISTING_PERIOD_SHIFT: constant(uint256) = 208
_KEEPER_PERIOD_SHIFT: constant(uint256) = 160
_STATUS_SHIFT: constant(uint256) = 32
# @dev The purchase word keeps the top 216 bits of the terms hash (bits 40-255).
_HASH_SHIFT: constant(uint256) = 40
_HASH_MASK: constant(uint256) = ~((1 << _HASH_SHIFT) - 1)


# @dev The DatasetRegistry whose owners and parents the market reads.
registry: public(immutable(IDatasetRegistry))

# @dev Seconds after a purchase from which the buyer may take a refund; delivery ends then.
refund_timeout: public(immutable(uint256))

# @dev Seconds after delivery during which the buyer may object; escrow is held.
objection_window: public(immutable(uint256))

# @dev Seconds after an objection during which the committed key may be revealed.
reveal_window: public(immutable(uint256))

# @dev Tokens listings may be priced in.
token_allowed: public(HashMap[address, bool])

# @dev The Consent contract whose withdrawal requests pause sales (zero until set, once).
consent: public(IConsent)

# @dev Listing terms: token (bits 0-159) | price (bits 160-255); zero when not listed.
_listing_terms: HashMap[uint256, uint256]

# @dev Listing meta: lister (0-159) | upstream bps (160-175) | duration (176-207) |
# ownership period listed in (208-239).
_listing_meta: HashMap[uint256, uint256]

# @dev The listing's commitment to the content key: keccak256 of the 32-byte key.
_listing_key: HashMap[uint256, bytes32]

# @dev Keeper per dataset: keeper (0-159) | ownership period it was set in (160-191).
# A designation counts only in that period, so it lapses on any change of owner.
_keeper: HashMap[uint256, uint256]

# @dev The number of purchases; ids run from 1 to `purchase_count`.
purchase_count: public(uint256)

# @dev Purchase word: top 216 bits of keccak256(abi_encode(id, terms)) (40-255) |
# status (32-39) | time the status was entered (0-31).
_purchase: HashMap[uint256, uint256]

# @dev Access expiry (unix seconds) per dataset and account.
access_expiry: public(HashMap[uint256, HashMap[address, uint256]])

# @dev Withdrawable credits per token and account.
credit: public(HashMap[address, HashMap[address, uint256]])


# @dev Emitted when the market's owner allows or disallows a payment token.
event TokenAllowed:
    token: indexed(address)
    allowed: bool


# @dev Emitted once, when the market's owner binds the market to a Consent contract.
event ConsentSet:
    consent: indexed(address)


# @dev Emitted when an owner lists a dataset or changes its listing.
event Listed:
    dataset_id: indexed(uint256)
    lister: indexed(address)
    token: indexed(address)
    price: uint256
    duration: uint256
    upstream_bps: uint256
    key_commitment: bytes32


# @dev Emitted when an owner withdraws a listing.
event Delisted:
    dataset_id: indexed(uint256)
    lister: indexed(address)


# @dev Emitted when an owner designates (or, with zero, removes) a keeper.
event KeeperSet:
    dataset_id: indexed(uint256)
    owner: indexed(address)
    keeper: indexed(address)


# @dev Emitted when a buyer pays into escrow: the pinned terms, and the key to seal to.
event Purchased:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    encryption_key: bytes32
    terms: IAccessMarket.Terms


# @dev Emitted when the sealed content key is delivered and access starts or extends.
event KeyDelivered:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    envelope: Bytes[1024]
    access_expiry: uint256
    objection_deadline: uint256


# @dev Emitted when a buyer objects to a delivery.
event Objected:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    reveal_deadline: uint256


# @dev Emitted when the committed content key is revealed in answer to an objection.
event KeyRevealed:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    revealer: indexed(address)
    content_key: bytes32


# @dev Emitted for each credit a release makes (the seller's last).
event Credited:
    token: indexed(address)
    account: indexed(address)
    dataset_id: indexed(uint256)
    purchase_id: uint256
    amount: uint256


# @dev Emitted when a buyer takes back a purchase's payment.
event Refunded:
    purchase_id: indexed(uint256)
    buyer: indexed(address)
    token: indexed(address)
    amount: uint256


# @dev Emitted when an account withdraws its credits.
event Withdrawn:
    token: indexed(address)
    account: indexed(address)
    amount: uint256


@deploy
def __init__(
    registry_: address,
    refund_timeout_: uint256,
    objection_window_: uint256,
    reveal_window_: uint256,
):
    """
    @dev Sets the registry and the windows; the deployer owns the allow-list.
    @param registry_ The DatasetRegistry.
    @param refund_timeout_ Seconds a buyer waits for delivery before a refund.
    @param objection_window_ Seconds after delivery in which the buyer may object.
    @param reveal_window_ Seconds after an objection in which the key may be revealed.
    """
    assert registry_ != empty(address), "market: zero registry"
    assert refund_timeout_ != 0, "market: zero refund timeout"
    assert objection_window_ != 0, "market: zero objection window"
    assert reveal_window_ != 0, "market: zero reveal window"
    ownable.__init__()
    registry = IDatasetRegistry(registry_)
    refund_timeout = refund_timeout_
    objection_window = objection_window_
    reveal_window = reveal_window_


@external
def set_token_allowed(token: address, allowed: bool):
    """
    @dev Allows or disallows a payment token; owner only. Disallowing stops new
         purchases in it; pending ones settle and credits stay withdrawable.
    @param token The ERC-20.
    @param allowed Whether listings may use it.
    """
    ownable._check_owner()
    assert token != empty(address), "market: zero token"
    self.token_allowed[token] = allowed
    log TokenAllowed(token=token, allowed=allowed)


@external
def set_consent(consent_: address):
    """
    @dev Binds the market to the Consent contract over its registry; owner only, once.
         From then on a dataset whose sales Consent pauses cannot be bought.
    @param consent_ The Consent contract.
    """
    ownable._check_owner()
    assert self.consent.address == empty(address), "market: consent already set"
    assert consent_ != empty(address), "market: zero consent"
    assert staticcall IConsent(consent_).registry() == registry.address, (
        "market: consent uses another registry"
    )
    self.consent = IConsent(consent_)
    log ConsentSet(consent=consent_)


@external
def list_dataset(
    dataset_id: uint256,
    token: address,
    price: uint256,
    duration: uint256,
    upstream_bps: uint256,
    key_commitment: bytes32,
):
    """
    @dev Lists a private dataset the caller owns, or replaces its listing. Pending
         purchases keep the terms they were bought under. A public dataset cannot be
         listed: anyone can read it, so a sale would sell nothing.
    @param dataset_id The dataset.
    @param token An allowed ERC-20.
    @param price The price in the token's base units (1 .. 2**96 - 1).
    @param duration Seconds of access per purchase (1 .. 2**30 - 1).
    @param upstream_bps Share of each sale for the dataset's ancestors (0 .. 10000).
    @param key_commitment keccak256 of the 32-byte content key the keeper delivers.
    """
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    assert owner == msg.sender, "market: not the dataset owner"
    assert staticcall registry.is_private(dataset_id), "market: dataset is public"
    assert self.token_allowed[token], "market: token not allowed"
    assert price != 0, "market: zero price"
    assert price <= MAX_PRICE, "market: price too large"
    assert duration != 0, "market: zero duration"
    assert duration <= MAX_DURATION, "market: duration too long"
    assert upstream_bps <= BPS, "market: upstream share above 100%"
    assert key_commitment != empty(bytes32), "market: zero key commitment"
    self._listing_terms[dataset_id] = convert(token, uint256) | (price << _PRICE_SHIFT)
    self._listing_meta[dataset_id] = (
        convert(msg.sender, uint256)
        | (upstream_bps << _BPS_SHIFT)
        | (duration << _LISTING_DURATION_SHIFT)
        | ((period & _U32_MASK) << _LISTING_PERIOD_SHIFT)
    )
    self._listing_key[dataset_id] = key_commitment
    log Listed(
        dataset_id=dataset_id,
        lister=msg.sender,
        token=token,
        price=price,
        duration=duration,
        upstream_bps=upstream_bps,
        key_commitment=key_commitment,
    )


@external
def delist(dataset_id: uint256):
    """
    @dev Withdraws the listing of a dataset the caller owns. Pending purchases keep
         their pinned terms and can still be delivered (or refunded).
    @param dataset_id The dataset.
    """
    assert self._owner(dataset_id) == msg.sender, "market: not the dataset owner"
    assert self._listing_terms[dataset_id] != 0, "market: not listed"
    self._listing_terms[dataset_id] = 0
    self._listing_meta[dataset_id] = 0
    self._listing_key[dataset_id] = empty(bytes32)
    log Delisted(dataset_id=dataset_id, lister=msg.sender)


@external
def set_keeper(dataset_id: uint256, keeper: address):
    """
    @dev Designates the account that may deliver keys for purchases of a dataset the
         caller owns made in the current ownership period (zero removes it). The
         designation lapses with any change of owner, and does not revive if the
         dataset returns to the caller.
    @param dataset_id The dataset.
    @param keeper The keeper account.
    """
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    assert owner == msg.sender, "market: not the dataset owner"
    self._keeper[dataset_id] = convert(keeper, uint256) | (
        (period & _U32_MASK) << _KEEPER_PERIOD_SHIFT
    )
    log KeeperSet(dataset_id=dataset_id, owner=msg.sender, keeper=keeper)


@external
def buy(
    dataset_id: uint256,
    token: address,
    max_price: uint256,
    min_duration: uint256,
    encryption_key: bytes32,
) -> uint256:
    """
    @dev Pays the listed price into escrow for access by the caller and pins every
         term of the sale, the royalty credits included. Reverts if the listing no
         longer matches what the buyer pinned, or if the caller owns the dataset.
         Needs an allowance of at least the price.
    @param dataset_id The dataset.
    @param token The token the buyer expects to pay in.
    @param max_price The most the buyer pays.
    @param min_duration The least access duration the buyer accepts (seconds).
    @param encryption_key The buyer's X25519 public key for the sealed content key.
    @return uint256 The purchase id.
    """
    terms: IAccessMarket.Terms = self._check_buy(dataset_id, token, max_price, min_duration, encryption_key)
    assert staticcall IERC20(token).allowance(msg.sender, self) >= terms.price, (
        "market: insufficient allowance"
    )
    return self._buy(terms, encryption_key)


@external
def buy_with_permit(
    dataset_id: uint256,
    token: address,
    max_price: uint256,
    min_duration: uint256,
    encryption_key: bytes32,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @dev As `buy`, approving through an EIP-2612 permit for `max_price` signed by
         the caller. The permit call may fail without reverting (someone may have
         submitted it already); what counts is the allowance afterwards.
    @param dataset_id The dataset.
    @param token The token the buyer expects to pay in (the permit's token).
    @param max_price The most the buyer pays; the permit's value.
    @param min_duration The least access duration the buyer accepts (seconds).
    @param encryption_key The buyer's X25519 public key for the sealed content key.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    @return uint256 The purchase id.
    """
    terms: IAccessMarket.Terms = self._check_buy(dataset_id, token, max_price, min_duration, encryption_key)
    # The result is not needed: a failed permit (already used, expired, wrong
    # signer) shows as a short allowance below.
    permitted: bool = raw_call(
        token,
        abi_encode(
            msg.sender,
            self,
            max_price,
            deadline,
            v,
            r,
            s,
            method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        ),
        revert_on_failure=False,
    )
    assert staticcall IERC20(token).allowance(msg.sender, self) >= terms.price, (
        "market: permit rejected and allowance too low"
    )
    return self._buy(terms, encryption_key)


@external
def deliver_key(purchase_id: uint256, terms: IAccessMarket.Terms, envelope: Bytes[1024]):
    """
    @dev Delivers the content key sealed to the buyer's encryption key, before the
         refund timeout, and starts or extends the buyer's access by the purchased
         duration. The payment stays in escrow for `objection_window` seconds.
    @param purchase_id A pending purchase.
    @param terms The purchase's terms, as the `Purchased` event gave them.
    @param envelope The sealed key (x25519-xsalsa20-poly1305 envelope JSON).
    """
    word: uint256 = self._load(purchase_id, terms)
    assert (word >> _STATUS_SHIFT) & _U8_MASK == convert(PENDING, uint256), (
        "market: purchase not pending"
    )
    assert block.timestamp < terms.created + refund_timeout, "market: delivery window over"
    assert len(envelope) != 0, "market: empty envelope"
    if msg.sender != terms.seller:
        keeper: uint256 = self._keeper[terms.dataset_id]
        assert (
            convert(keeper & _ADDRESS_MASK, address) == msg.sender
            and keeper >> _KEEPER_PERIOD_SHIFT == terms.period & _U32_MASK
        ), "market: not the seller or keeper"
    self._purchase[purchase_id] = self._word(word, DELIVERED)
    expiry: uint256 = (
        max(self.access_expiry[terms.dataset_id][terms.buyer], block.timestamp) + terms.duration
    )
    self.access_expiry[terms.dataset_id][terms.buyer] = expiry
    log KeyDelivered(
        purchase_id=purchase_id,
        dataset_id=terms.dataset_id,
        buyer=terms.buyer,
        envelope=envelope,
        access_expiry=expiry,
        objection_deadline=block.timestamp + objection_window,
    )


@external
def object_key(purchase_id: uint256, terms: IAccessMarket.Terms):
    """
    @dev The buyer's objection to a delivery (the envelope did not open, or its key
         did not match the pinned commitment), within `objection_window` seconds of
         the delivery. Escrow stays held until the key is revealed or the buyer refunds.
    @param purchase_id A delivered purchase of the caller.
    @param terms The purchase's terms.
    """
    word: uint256 = self._load(purchase_id, terms)
    assert terms.buyer == msg.sender, "market: not the buyer"
    assert (word >> _STATUS_SHIFT) & _U8_MASK == convert(DELIVERED, uint256), (
        "market: purchase not delivered"
    )
    assert block.timestamp < (word & _U32_MASK) + objection_window, (
        "market: objection window over"
    )
    self._purchase[purchase_id] = self._word(word, OBJECTED)
    log Objected(
        purchase_id=purchase_id,
        dataset_id=terms.dataset_id,
        buyer=msg.sender,
        reveal_deadline=block.timestamp + reveal_window,
    )


@external
def reveal_key(purchase_id: uint256, terms: IAccessMarket.Terms, content_key: bytes32):
    """
    @dev Answers an objection by publishing the content key the purchase's terms
         commit to, within `reveal_window` seconds of the objection; the pinned
         credits are made. Anyone may call it: the key is checked, not the caller.
         The key becomes public.
    @param purchase_id An objected purchase.
    @param terms The purchase's terms.
    @param content_key The content key; keccak256 of it must be the key commitment.
    """
    word: uint256 = self._load(purchase_id, terms)
    assert (word >> _STATUS_SHIFT) & _U8_MASK == convert(OBJECTED, uint256), (
        "market: purchase not objected"
    )
    assert block.timestamp < (word & _U32_MASK) + reveal_window, "market: reveal window over"
    assert keccak256(content_key) == terms.key_commitment, "market: key does not match commitment"
    log KeyRevealed(
        purchase_id=purchase_id,
        dataset_id=terms.dataset_id,
        revealer=msg.sender,
        content_key=content_key,
    )
    self._release(purchase_id, word, terms)


@external
def settle(purchase_id: uint256, terms: IAccessMarket.Terms):
    """
    @dev Makes the pinned credits of a delivery nobody objected to, once its
         objection window is over; anyone may call it (the seller's keeper does).
    @param purchase_id A delivered purchase.
    @param terms The purchase's terms.
    """
    word: uint256 = self._load(purchase_id, terms)
    assert (word >> _STATUS_SHIFT) & _U8_MASK == convert(DELIVERED, uint256), (
        "market: purchase not delivered"
    )
    assert block.timestamp >= (word & _U32_MASK) + objection_window, (
        "market: objection window open"
    )
    self._release(purchase_id, word, terms)


@external
def refund(purchase_id: uint256, terms: IAccessMarket.Terms):
    """
    @dev Returns the escrowed payment to the buyer: of an undelivered purchase once
         `refund_timeout` seconds have passed since it, or of an objected one whose
         key was not revealed within `reveal_window` (the access it granted is
         withdrawn).
    @param purchase_id A pending or objected purchase of the caller.
    @param terms The purchase's terms.
    """
    word: uint256 = self._load(purchase_id, terms)
    assert terms.buyer == msg.sender, "market: not the buyer"
    status: uint256 = (word >> _STATUS_SHIFT) & _U8_MASK
    if status == convert(PENDING, uint256):
        assert block.timestamp >= terms.created + refund_timeout, (
            "market: refund timeout not reached"
        )
    elif status == convert(OBJECTED, uint256):
        assert block.timestamp >= (word & _U32_MASK) + reveal_window, "market: reveal window open"
        # Delivery added `duration` to the expiry, so this cannot underflow.
        self.access_expiry[terms.dataset_id][msg.sender] -= terms.duration
    else:
        raise "market: purchase not refundable"
    self._purchase[purchase_id] = self._word(word, REFUNDED)
    log Refunded(purchase_id=purchase_id, buyer=msg.sender, token=terms.token, amount=terms.price)
    assert extcall IERC20(terms.token).transfer(msg.sender, terms.price, default_return_value=True), (
        "market: transfer failed"
    )


@external
def withdraw(token: address) -> uint256:
    """
    @dev Sends the caller all their credits in `token`.
    @param token The ERC-20.
    @return uint256 The amount sent.
    """
    amount: uint256 = self.credit[token][msg.sender]
    assert amount != 0, "market: nothing to withdraw"
    self.credit[token][msg.sender] = 0
    log Withdrawn(token=token, account=msg.sender, amount=amount)
    assert extcall IERC20(token).transfer(msg.sender, amount, default_return_value=True), (
        "market: transfer failed"
    )
    return amount


@external
@view
def listing(dataset_id: uint256) -> IAccessMarket.Listing:
    """
    @dev The stored listing of a dataset and whether it can be bought now (listed in
         the current ownership period, in an allowed token). Reverts for an unknown
         dataset.
    @param dataset_id The dataset.
    @return Listing Lister, token, price, duration, upstream share, key commitment, active.
    """
    terms: uint256 = self._listing_terms[dataset_id]
    meta: uint256 = self._listing_meta[dataset_id]
    token: address = convert(terms & _ADDRESS_MASK, address)
    return IAccessMarket.Listing(
        lister=convert(meta & _ADDRESS_MASK, address),
        token=token,
        price=terms >> _PRICE_SHIFT,
        duration=(meta >> _LISTING_DURATION_SHIFT) & _U32_MASK,
        upstream_bps=(meta >> _BPS_SHIFT) & _U16_MASK,
        key_commitment=self._listing_key[dataset_id],
        active=terms != 0 and self._current(dataset_id, meta) and self.token_allowed[token],
    )


@external
@view
def purchase(purchase_id: uint256) -> IAccessMarket.PurchaseState:
    """
    @dev A purchase's status (0 unknown, 1 pending, 2 delivered, 3 objected,
         4 released, 5 refunded), when it entered it, and its stored terms hash.
    @param purchase_id The purchase.
    @return PurchaseState Status, since (unix seconds), 216-bit terms hash.
    """
    word: uint256 = self._purchase[purchase_id]
    return IAccessMarket.PurchaseState(
        status=convert((word >> _STATUS_SHIFT) & _U8_MASK, uint8),
        since=word & _U32_MASK,
        terms_hash=word >> _HASH_SHIFT,
    )


@external
@view
def has_access(dataset_id: uint256, account: address) -> bool:
    """
    @dev Whether `account` holds unexpired access to the dataset.
    @param dataset_id The dataset.
    @param account The account.
    @return bool True until the access expiry.
    """
    return self.access_expiry[dataset_id][account] > block.timestamp


@external
@view
def keeper(dataset_id: uint256) -> address:
    """
    @dev The keeper designated in the dataset's current ownership period (zero for none).
    @param dataset_id The dataset.
    @return address The keeper.
    """
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    keeper: uint256 = self._keeper[dataset_id]
    if keeper >> _KEEPER_PERIOD_SHIFT != period & _U32_MASK:
        return empty(address)
    return convert(keeper & _ADDRESS_MASK, address)


@external
@view
def quote_release(dataset_id: uint256, price: uint256) -> DynArray[IAccessMarket.Credit, MAX_ANCESTORS + 1]:
    """
    @dev The credits a purchase at `price` would pin now: one per ancestor credited
         (non-zero amounts), then the owner's.
    @param dataset_id The dataset.
    @param price The amount paid.
    @return DynArray The credits; their amounts add up to `price`.
    """
    return self._split(dataset_id, self._owner(dataset_id), price)


@internal
@view
def _check_buy(
    dataset_id: uint256,
    token: address,
    max_price: uint256,
    min_duration: uint256,
    encryption_key: bytes32,
) -> IAccessMarket.Terms:
    """
    @dev The checks of a purchase, then its terms: the listing is current (written in the
         dataset's ownership period), the buyer is not the owner, the token is the listed
         one and still allowed, the price and duration are within the buyer's bounds, and
         no withdrawal request pauses the dataset's sales (Consent, once set).
    @param dataset_id The dataset bought.
    @param token The token the buyer expects to pay in.
    @param max_price The most the buyer pays.
    @param min_duration The shortest access the buyer accepts, in seconds.
    @param encryption_key The buyer's key the content key is sealed to; non-zero.
    @return Terms The purchase terms, with the seller and the royalty credits.
    """
    assert encryption_key != empty(bytes32), "market: zero encryption key"
    terms: uint256 = self._listing_terms[dataset_id]
    assert terms != 0, "market: not listed"
    meta: uint256 = self._listing_meta[dataset_id]
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    assert (meta >> _LISTING_PERIOD_SHIFT) & _U32_MASK == period & _U32_MASK, (
        "market: listing lapsed"
    )
    assert msg.sender != owner, "market: buyer is the owner"
    assert convert(terms & _ADDRESS_MASK, address) == token, "market: token changed"
    assert self.token_allowed[token], "market: token not allowed"
    price: uint256 = terms >> _PRICE_SHIFT
    assert price <= max_price, "market: price above max"
    duration: uint256 = (meta >> _LISTING_DURATION_SHIFT) & _U32_MASK
    assert duration >= min_duration, "market: duration below min"
    consent: IConsent = self.consent
    if consent.address != empty(address):
        assert not staticcall consent.paused(dataset_id), "market: sales paused by a withdrawal"
    return IAccessMarket.Terms(
        buyer=msg.sender,
        dataset_id=dataset_id,
        seller=owner,
        period=period,
        token=token,
        price=price,
        duration=duration,
        created=block.timestamp,
        key_commitment=self._listing_key[dataset_id],
        credits=self._split(dataset_id, owner, price),
    )


@internal
def _buy(terms: IAccessMarket.Terms, encryption_key: bytes32) -> uint256:
    """
    @dev Records a purchase as PENDING, logs `Purchased` and takes the price into escrow,
         refusing a token that moves less than asked (checks done by `_check_buy`).
    @param terms The purchase terms.
    @param encryption_key The buyer's key, logged for the seller.
    @return uint256 The purchase id.
    """
    # Ids are bounded by the number of transactions: far below 2**256.
    purchase_id: uint256 = unsafe_add(self.purchase_count, 1)
    self.purchase_count = purchase_id
    self._purchase[purchase_id] = self._word(self._hash(purchase_id, terms), PENDING)
    log Purchased(
        purchase_id=purchase_id,
        dataset_id=terms.dataset_id,
        buyer=msg.sender,
        encryption_key=encryption_key,
        terms=terms,
    )
    before: uint256 = staticcall IERC20(terms.token).balanceOf(self)
    assert extcall IERC20(terms.token).transferFrom(
        msg.sender, self, terms.price, default_return_value=True
    ), "market: transfer failed"
    # A standard token moves exactly `price`; anything else would break the escrow.
    assert staticcall IERC20(terms.token).balanceOf(self) == before + terms.price, (
        "market: token took a fee"
    )
    return purchase_id


@internal
def _release(purchase_id: uint256, word: uint256, terms: IAccessMarket.Terms):
    """
    @dev Marks a purchase RELEASED and credits each share of its price (pull payments).
    @param purchase_id The purchase.
    @param word The purchase word (its hash bits are kept).
    @param terms The purchase terms, whose credits are paid.
    """
    self._purchase[purchase_id] = self._word(word, RELEASED)
    for c: IAccessMarket.Credit in terms.credits:
        self.credit[terms.token][c.account] += c.amount
        log Credited(
            token=terms.token,
            account=c.account,
            dataset_id=c.dataset_id,
            purchase_id=purchase_id,
            amount=c.amount,
        )


@internal
@view
def _load(purchase_id: uint256, terms: IAccessMarket.Terms) -> uint256:
    """
    @dev The stored word of a purchase, checked against the terms the caller passes.
    @param purchase_id The purchase.
    @param terms The terms claimed for it.
    @return uint256 The purchase word.
    """
    word: uint256 = self._purchase[purchase_id]
    assert word != 0, "market: unknown purchase"
    assert word & _HASH_MASK == self._hash(purchase_id, terms) & _HASH_MASK, (
        "market: terms mismatch"
    )
    return word


@internal
@pure
def _hash(purchase_id: uint256, terms: IAccessMarket.Terms) -> uint256:
    """
    @dev keccak256(abi_encode(purchase_id, terms)) as a number: the purchase word keeps
         its top 216 bits.
    @param purchase_id The purchase.
    @param terms Its terms.
    @return uint256 The hash.
    """
    return convert(keccak256(abi_encode(purchase_id, terms)), uint256)


@internal
@view
def _word(word: uint256, status: uint8) -> uint256:
    """
    @dev A purchase word with a new status: keeps the hash bits, sets the status and the
         time it was entered.
    @param word The current word (or a fresh hash).
    @param status The new status.
    @return uint256 The new word.
    """
    return (word & _HASH_MASK) | (convert(status, uint256) << _STATUS_SHIFT) | (
        block.timestamp & _U32_MASK
    )


@internal
@view
def _owner(dataset_id: uint256) -> address:
    """
    @dev The dataset's owner in the registry.
    @param dataset_id The dataset.
    @return address Its owner.
    """
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    return owner


@internal
@view
def _current(dataset_id: uint256, meta: uint256) -> bool:
    """
    @dev Whether a listing's meta was written in the dataset's current ownership period.
    @param dataset_id The dataset.
    @param meta The listing's meta word (zero when never listed).
    @return bool True when the listing belongs to the current owner.
    """
    owner: address = empty(address)
    period: uint256 = 0
    owner, period = staticcall registry.ownership(dataset_id)
    return meta != 0 and (meta >> _LISTING_PERIOD_SHIFT) & _U32_MASK == period & _U32_MASK


@internal
@view
def _share(dataset_id: uint256) -> uint256:
    """
    @dev The upstream share of a dataset: its current listing's, else DEFAULT_UPSTREAM_BPS.
    @param dataset_id The dataset.
    @return uint256 The share in basis points.
    """
    meta: uint256 = self._listing_meta[dataset_id]
    if self._current(dataset_id, meta):
        return (meta >> _BPS_SHIFT) & _U16_MASK
    return DEFAULT_UPSTREAM_BPS


@internal
@view
def _split(dataset_id: uint256, seller: address, price: uint256) -> DynArray[
    IAccessMarket.Credit, MAX_ANCESTORS + 1
]:
    """
    @dev Splits a price among the seller and the dataset's ancestors (at most
         MAX_ANCESTORS distinct ones, breadth first), each ancestor passing its own upstream
         share on to its parents; dust goes to the seller (docs/market.md).
    @param dataset_id The dataset sold.
    @param seller The account selling it.
    @param price The amount to split.
    @return DynArray The credits; their amounts add up to `price`.
    """
    credits: DynArray[IAccessMarket.Credit, MAX_ANCESTORS + 1] = []
    parents: DynArray[uint256, MAX_PARENTS] = staticcall registry.parents(dataset_id)
    if len(parents) == 0:
        credits.append(IAccessMarket.Credit(dataset_id=dataset_id, account=seller, amount=price))
        return credits

    # Breadth-first discovery of at most MAX_ANCESTORS distinct ancestors; `found`
    # doubles as the queue. Each found ancestor's parents are read once.
    found: DynArray[uint256, MAX_ANCESTORS] = []
    found_parents: DynArray[DynArray[uint256, MAX_PARENTS], MAX_ANCESTORS] = []
    for p: uint256 in parents:
        if len(found) < MAX_ANCESTORS and p not in found:
            found.append(p)
    for i: uint256 in range(MAX_ANCESTORS):
        if i >= len(found):
            break
        ps: DynArray[uint256, MAX_PARENTS] = staticcall registry.parents(found[i])
        found_parents.append(ps)
        for p: uint256 in ps:
            if len(found) < MAX_ANCESTORS and p not in found:
                found.append(p)

    n: uint256 = len(found)
    inflow: uint256[MAX_ANCESTORS] = empty(uint256[MAX_ANCESTORS])
    # price < 2**96 and bps <= 10000: the product cannot overflow.
    upstream: uint256 = price * self._share(dataset_id) // BPS
    each: uint256 = upstream // len(parents)
    for p: uint256 in parents:
        inflow[self._index(found, p)] += each
    # Dust: whatever no ancestor ends up credited with goes to the seller.
    credited: uint256 = 0

    # Settle in decreasing id order (topological: parents have lower ids).
    done: uint256 = 0  # bit i set once found[i] is settled
    for _: uint256 in range(MAX_ANCESTORS):
        if done == (1 << n) - 1:
            break
        best: uint256 = 0
        best_id: uint256 = 0
        for j: uint256 in range(MAX_ANCESTORS):
            if j >= n:
                break
            if done & (1 << j) == 0 and found[j] > best_id:
                best = j
                best_id = found[j]
        done |= 1 << best
        x: uint256 = inflow[best]
        if x == 0:
            continue
        owner: address = self._owner(best_id)
        keep: uint256 = x
        ps: DynArray[uint256, MAX_PARENTS] = found_parents[best]
        if len(ps) != 0:
            passed: uint256 = x * self._share(best_id) // BPS
            part: uint256 = passed // len(ps)
            # Parts for parents beyond the bound stay with this ancestor.
            keep = x - passed
            for p: uint256 in ps:
                if p in found:
                    inflow[self._index(found, p)] += part
                else:
                    keep += part
        if keep != 0:
            credits.append(IAccessMarket.Credit(dataset_id=best_id, account=owner, amount=keep))
            credited += keep
    credits.append(IAccessMarket.Credit(dataset_id=dataset_id, account=seller, amount=price - credited))
    return credits


@internal
@pure
def _index(found: DynArray[uint256, MAX_ANCESTORS], wanted: uint256) -> uint256:
    """
    @dev The position of an ancestor among those found; reverts when absent.
    @param found The ancestors found.
    @param wanted The ancestor's dataset id.
    @return uint256 Its position in `found`.
    """
    for i: uint256 in range(MAX_ANCESTORS):
        if found[i] == wanted:
            return i
    raise "market: ancestor not found"
