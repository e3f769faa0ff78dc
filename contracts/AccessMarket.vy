# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title AccessMarket
@custom:contract-name AccessMarket
@license Apache-2.0
@notice Sells time-bounded access to registered datasets for an allow-listed ERC-20.
        A dataset's owner lists it (token, price, access duration, upstream share).
        A buyer pins token, price and duration when buying and names the X25519 key
        the content key is to be sealed to; the payment is held in escrow. The owner,
        or a keeper the owner designates, delivers the sealed key with `deliver_key`,
        which releases the payment (royalties to the dataset's ancestors, the rest to
        the owner) and starts or extends the buyer's access. A purchase not delivered
        within `refund_timeout` seconds can be refunded to the buyer instead; a
        purchase is settled exactly once, either way.
@dev Royalties. On release, `price * upstream_bps / 10000` of the selling dataset
     (its listing's share, or DEFAULT_UPSTREAM_BPS when it has no listing by its
     current owner) is split in equal integer parts among its parents. Every ancestor
     reached keeps what reaches it except its own upstream share (same rule), which
     flows on, split equally among its parents. At most MAX_ANCESTORS distinct
     ancestors are visited, found breadth-first from the parents (each once, however
     many routes reach it); they are settled in decreasing id order, which is
     topological because parents always have lower ids, so an ancestor reached by
     two routes is credited once with the sum of both. A part that would go to a
     parent beyond the bound stays with the ancestor that would have passed it on.
     Integer-division remainders (dust) go to the seller, so the credits of one
     release add up to the price exactly. An ancestor with no parents keeps all.
     Tokens: standard ERC-20s only (no fee on transfer, no rebasing, no hooks);
     the allow-list is where the market's owner vets them, and `buy` also reverts
     when the market receives less than the price.
     Storage: a listing is two slots, a purchase two slots (see the layouts below);
     prices are below 2**96 base units, durations below 2**30 seconds (34 years),
     timestamps fit in 32 bits (until 2106).
@custom:security Key delivery is not verified on chain: the envelope could be
                 garbage. A buyer who receives a bad envelope has paid for nothing
                 but the seller's reputation; the envelope is public in the
                 `KeyDelivered` event, so the failure is provable off chain.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


interface IRegistry:
    def owner_of(dataset_id: uint256) -> address: view
    def parents(dataset_id: uint256) -> DynArray[uint256, 8]: view


# @dev The most parents a dataset has in the registry.
MAX_PARENTS: constant(uint256) = 8

# @dev The most distinct ancestors one release credits.
MAX_ANCESTORS: public(constant(uint256)) = 8

# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10000

# @dev The upstream share of a dataset without a listing by its current owner.
DEFAULT_UPSTREAM_BPS: public(constant(uint256)) = 5000

# @dev Bounds of the packed fields.
MAX_PRICE: public(constant(uint256)) = (1 << 96) - 1
MAX_DURATION: public(constant(uint256)) = (1 << 30) - 1

# @dev Purchase states.
PENDING: public(constant(uint8)) = 1
DELIVERED: public(constant(uint8)) = 2
REFUNDED: public(constant(uint8)) = 3

_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_U32_MASK: constant(uint256) = (1 << 32) - 1
_DURATION_SHIFT: constant(uint256) = 192
_STATUS_SHIFT: constant(uint256) = 222
_CREATED_SHIFT: constant(uint256) = 224
_BPS_SHIFT: constant(uint256) = 160
_LISTING_DURATION_SHIFT: constant(uint256) = 176
_PRICE_SHIFT: constant(uint256) = 160


# @dev A listing as `listing` returns it; `active` is false when delisted or lapsed.
struct Listing:
    lister: address
    token: address
    price: uint256
    duration: uint256
    upstream_bps: uint256
    active: bool


# @dev A purchase as `purchase` returns it; token and price read zero once settled
# (the `Purchased` event keeps them).
struct Purchase:
    buyer: address
    dataset_id: uint256
    token: address
    price: uint256
    duration: uint256
    created: uint256
    status: uint8


# @dev One credit of a release: the dataset it is for, the account, the amount.
struct Credit:
    dataset_id: uint256
    account: address
    amount: uint256


# @dev The DatasetRegistry whose owners and parents the market reads.
registry: public(immutable(IRegistry))

# @dev Seconds after a purchase from which the buyer may take a refund.
refund_timeout: public(immutable(uint256))

# @dev Tokens listings may be priced in.
token_allowed: public(HashMap[address, bool])

# @dev Listing terms: token (bits 0-159) | price (bits 160-255); zero when not listed.
_listing_terms: HashMap[uint256, uint256]

# @dev Listing meta: lister (bits 0-159) | upstream bps (160-175) | duration (176-207).
_listing_meta: HashMap[uint256, uint256]

# @dev Keeper per dataset and owner (a keeper lapses when the dataset changes owner).
_keeper: HashMap[uint256, HashMap[address, address]]

# @dev The number of purchases; ids run from 1 to `purchase_count`.
purchase_count: public(uint256)

# @dev Purchase head: buyer (0-159) | dataset id (160-191) | duration (192-221) |
# status (222-223) | created timestamp (224-255).
_purchase_head: HashMap[uint256, uint256]

# @dev Purchase payment: token (0-159) | price (160-255); cleared on settlement.
_purchase_payment: HashMap[uint256, uint256]

# @dev Access expiry (unix seconds) per dataset and account.
access_expiry: public(HashMap[uint256, HashMap[address, uint256]])

# @dev Withdrawable credits per token and account.
credit: public(HashMap[address, HashMap[address, uint256]])


# @dev Emitted when the market's owner allows or disallows a payment token.
event TokenAllowed:
    token: indexed(address)
    allowed: bool


# @dev Emitted when an owner lists a dataset or changes its listing.
event Listed:
    dataset_id: indexed(uint256)
    lister: indexed(address)
    token: indexed(address)
    price: uint256
    duration: uint256
    upstream_bps: uint256


# @dev Emitted when an owner withdraws a listing.
event Delisted:
    dataset_id: indexed(uint256)
    lister: indexed(address)


# @dev Emitted when an owner designates (or, with zero, removes) a keeper.
event KeeperSet:
    dataset_id: indexed(uint256)
    owner: indexed(address)
    keeper: indexed(address)


# @dev Emitted when a buyer pays into escrow; the keeper seals to `encryption_key`.
event Purchased:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    token: address
    price: uint256
    duration: uint256
    encryption_key: bytes32


# @dev Emitted when the sealed content key is delivered and access starts or extends.
event KeyDelivered:
    purchase_id: indexed(uint256)
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    envelope: Bytes[1024]
    access_expiry: uint256


# @dev Emitted for each credit a release makes (the seller's last).
event Credited:
    token: indexed(address)
    account: indexed(address)
    dataset_id: indexed(uint256)
    purchase_id: uint256
    amount: uint256


# @dev Emitted when a buyer takes back an undelivered purchase's payment.
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
def __init__(registry_: address, refund_timeout_: uint256):
    """
    @dev Sets the registry and the refund timeout; the deployer owns the allow-list.
    @param registry_ The DatasetRegistry.
    @param refund_timeout_ Seconds a buyer waits for delivery before a refund.
    """
    assert registry_ != empty(address), "market: zero registry"
    assert refund_timeout_ != 0, "market: zero refund timeout"
    ownable.__init__()
    registry = IRegistry(registry_)
    refund_timeout = refund_timeout_


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
def list_dataset(
    dataset_id: uint256, token: address, price: uint256, duration: uint256, upstream_bps: uint256
):
    """
    @dev Lists a dataset the caller owns, or replaces its listing. Pending purchases
         keep the terms they were bought under.
    @param dataset_id The dataset.
    @param token An allowed ERC-20.
    @param price The price in the token's base units (1 .. 2**96 - 1).
    @param duration Seconds of access per purchase (1 .. 2**30 - 1).
    @param upstream_bps Share of each sale for the dataset's ancestors (0 .. 10000).
    """
    assert staticcall registry.owner_of(dataset_id) == msg.sender, "market: not the dataset owner"
    assert self.token_allowed[token], "market: token not allowed"
    assert price != 0, "market: zero price"
    assert price <= MAX_PRICE, "market: price too large"
    assert duration != 0, "market: zero duration"
    assert duration <= MAX_DURATION, "market: duration too long"
    assert upstream_bps <= BPS, "market: upstream share above 100%"
    self._listing_terms[dataset_id] = convert(token, uint256) | (price << _PRICE_SHIFT)
    self._listing_meta[dataset_id] = (
        convert(msg.sender, uint256)
        | (upstream_bps << _BPS_SHIFT)
        | (duration << _LISTING_DURATION_SHIFT)
    )
    log Listed(
        dataset_id=dataset_id,
        lister=msg.sender,
        token=token,
        price=price,
        duration=duration,
        upstream_bps=upstream_bps,
    )


@external
def delist(dataset_id: uint256):
    """
    @dev Withdraws the listing of a dataset the caller owns. Pending purchases can
         still be delivered (or refunded).
    @param dataset_id The dataset.
    """
    assert staticcall registry.owner_of(dataset_id) == msg.sender, "market: not the dataset owner"
    assert self._listing_terms[dataset_id] != 0, "market: not listed"
    self._listing_terms[dataset_id] = 0
    self._listing_meta[dataset_id] = 0
    log Delisted(dataset_id=dataset_id, lister=msg.sender)


@external
def set_keeper(dataset_id: uint256, keeper: address):
    """
    @dev Designates the account that may deliver keys for a dataset the caller owns
         (zero removes it). The designation lapses when the dataset changes owner.
    @param dataset_id The dataset.
    @param keeper The keeper account.
    """
    assert staticcall registry.owner_of(dataset_id) == msg.sender, "market: not the dataset owner"
    self._keeper[dataset_id][msg.sender] = keeper
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
    @dev Pays the listed price into escrow for access by the caller. Reverts if the
         listing no longer matches what the buyer pinned. Needs an allowance of at
         least the price.
    @param dataset_id The dataset.
    @param token The token the buyer expects to pay in.
    @param max_price The most the buyer pays.
    @param min_duration The least access duration the buyer accepts (seconds).
    @param encryption_key The buyer's X25519 public key for the sealed content key.
    @return uint256 The purchase id.
    """
    price: uint256 = self._check_buy(dataset_id, token, max_price, min_duration, encryption_key)
    assert staticcall IERC20(token).allowance(msg.sender, self) >= price, (
        "market: insufficient allowance"
    )
    return self._buy(dataset_id, token, price, encryption_key)


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
    price: uint256 = self._check_buy(dataset_id, token, max_price, min_duration, encryption_key)
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
    assert staticcall IERC20(token).allowance(msg.sender, self) >= price, (
        "market: permit rejected and allowance too low"
    )
    return self._buy(dataset_id, token, price, encryption_key)


@external
def deliver_key(purchase_id: uint256, envelope: Bytes[1024]):
    """
    @dev Delivers the content key sealed to the buyer's encryption key, releases the
         escrowed payment (royalties up the lineage, the rest to the caller's
         account as the dataset's owner, or to the owner when a keeper calls) and
         starts or extends the buyer's access by the purchased duration.
    @param purchase_id A pending purchase.
    @param envelope The sealed key (x25519-xsalsa20-poly1305 envelope JSON).
    """
    head: uint256 = self._purchase_head[purchase_id]
    assert head != 0, "market: unknown purchase"
    assert (head >> _STATUS_SHIFT) & 3 == convert(PENDING, uint256), "market: purchase not pending"
    assert len(envelope) != 0, "market: empty envelope"
    dataset_id: uint256 = (head >> 160) & _U32_MASK
    seller: address = staticcall registry.owner_of(dataset_id)
    if msg.sender != seller:
        assert self._keeper[dataset_id][seller] == msg.sender, "market: not the owner or keeper"
    payment: uint256 = self._purchase_payment[purchase_id]
    token: address = convert(payment & _ADDRESS_MASK, address)
    price: uint256 = payment >> _PRICE_SHIFT
    buyer: address = convert(head & _ADDRESS_MASK, address)
    duration: uint256 = (head >> _DURATION_SHIFT) & MAX_DURATION

    credits: DynArray[Credit, MAX_ANCESTORS + 1] = self._split(dataset_id, seller, price)

    # Status DELIVERED: clear the status bits (PENDING = 1) and set 2.
    self._purchase_head[purchase_id] = (head & ~(3 << _STATUS_SHIFT)) | (
        convert(DELIVERED, uint256) << _STATUS_SHIFT
    )
    self._purchase_payment[purchase_id] = 0
    for c: Credit in credits:
        self.credit[token][c.account] += c.amount
        log Credited(
            token=token,
            account=c.account,
            dataset_id=c.dataset_id,
            purchase_id=purchase_id,
            amount=c.amount,
        )
    expiry: uint256 = max(self.access_expiry[dataset_id][buyer], block.timestamp) + duration
    self.access_expiry[dataset_id][buyer] = expiry
    log KeyDelivered(
        purchase_id=purchase_id,
        dataset_id=dataset_id,
        buyer=buyer,
        envelope=envelope,
        access_expiry=expiry,
    )


@external
def refund(purchase_id: uint256):
    """
    @dev Returns the escrowed payment of an undelivered purchase to its buyer, once
         `refund_timeout` seconds have passed since the purchase.
    @param purchase_id A pending purchase of the caller.
    """
    head: uint256 = self._purchase_head[purchase_id]
    assert head != 0, "market: unknown purchase"
    assert (head >> _STATUS_SHIFT) & 3 == convert(PENDING, uint256), "market: purchase not pending"
    assert convert(head & _ADDRESS_MASK, address) == msg.sender, "market: not the buyer"
    assert block.timestamp >= (head >> _CREATED_SHIFT) + refund_timeout, (
        "market: refund timeout not reached"
    )
    payment: uint256 = self._purchase_payment[purchase_id]
    token: address = convert(payment & _ADDRESS_MASK, address)
    amount: uint256 = payment >> _PRICE_SHIFT
    self._purchase_head[purchase_id] = head | (convert(REFUNDED, uint256) << _STATUS_SHIFT)
    self._purchase_payment[purchase_id] = 0
    log Refunded(purchase_id=purchase_id, buyer=msg.sender, token=token, amount=amount)
    assert extcall IERC20(token).transfer(msg.sender, amount, default_return_value=True), (
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
def listing(dataset_id: uint256) -> Listing:
    """
    @dev The stored listing of a dataset and whether it can be bought now (listed
         by the current owner). Reverts for an unknown dataset.
    @param dataset_id The dataset.
    @return Listing Lister, token, price, duration, upstream share, active.
    """
    terms: uint256 = self._listing_terms[dataset_id]
    meta: uint256 = self._listing_meta[dataset_id]
    lister: address = convert(meta & _ADDRESS_MASK, address)
    owner: address = staticcall registry.owner_of(dataset_id)
    return Listing(
        lister=lister,
        token=convert(terms & _ADDRESS_MASK, address),
        price=terms >> _PRICE_SHIFT,
        duration=(meta >> _LISTING_DURATION_SHIFT) & _U32_MASK,
        upstream_bps=(meta >> _BPS_SHIFT) & 65535,
        active=terms != 0 and lister == owner and self.token_allowed[
            convert(terms & _ADDRESS_MASK, address)
        ],
    )


@external
@view
def purchase(purchase_id: uint256) -> Purchase:
    """
    @dev A purchase; all zero for an unknown id.
    @param purchase_id The purchase.
    @return Purchase Buyer, dataset, token and price (zero once settled), duration,
            creation time and status (1 pending, 2 delivered, 3 refunded).
    """
    head: uint256 = self._purchase_head[purchase_id]
    payment: uint256 = self._purchase_payment[purchase_id]
    return Purchase(
        buyer=convert(head & _ADDRESS_MASK, address),
        dataset_id=(head >> 160) & _U32_MASK,
        token=convert(payment & _ADDRESS_MASK, address),
        price=payment >> _PRICE_SHIFT,
        duration=(head >> _DURATION_SHIFT) & MAX_DURATION,
        created=head >> _CREATED_SHIFT,
        status=convert((head >> _STATUS_SHIFT) & 3, uint8),
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
    @dev The keeper the dataset's current owner designated (zero for none).
    @param dataset_id The dataset.
    @return address The keeper.
    """
    return self._keeper[dataset_id][staticcall registry.owner_of(dataset_id)]


@external
@view
def quote_release(dataset_id: uint256, price: uint256) -> DynArray[Credit, MAX_ANCESTORS + 1]:
    """
    @dev The credits a delivery of `price` for the dataset would make now: one per
         ancestor credited (non-zero amounts), then the owner's.
    @param dataset_id The dataset.
    @param price The amount released.
    @return DynArray The credits; their amounts add up to `price`.
    """
    return self._split(dataset_id, staticcall registry.owner_of(dataset_id), price)


@internal
@view
def _check_buy(
    dataset_id: uint256,
    token: address,
    max_price: uint256,
    min_duration: uint256,
    encryption_key: bytes32,
) -> uint256:
    assert encryption_key != empty(bytes32), "market: zero encryption key"
    terms: uint256 = self._listing_terms[dataset_id]
    assert terms != 0, "market: not listed"
    meta: uint256 = self._listing_meta[dataset_id]
    assert convert(meta & _ADDRESS_MASK, address) == staticcall registry.owner_of(dataset_id), (
        "market: listing lapsed"
    )
    assert convert(terms & _ADDRESS_MASK, address) == token, "market: token changed"
    assert self.token_allowed[token], "market: token not allowed"
    price: uint256 = terms >> _PRICE_SHIFT
    assert price <= max_price, "market: price above max"
    assert (meta >> _LISTING_DURATION_SHIFT) & _U32_MASK >= min_duration, (
        "market: duration below min"
    )
    return price


@internal
def _buy(dataset_id: uint256, token: address, price: uint256, encryption_key: bytes32) -> uint256:
    duration: uint256 = (self._listing_meta[dataset_id] >> _LISTING_DURATION_SHIFT) & _U32_MASK
    # Ids are bounded by the number of transactions: far below 2**256.
    purchase_id: uint256 = unsafe_add(self.purchase_count, 1)
    self.purchase_count = purchase_id
    self._purchase_head[purchase_id] = (
        convert(msg.sender, uint256)
        | (dataset_id << 160)
        | (duration << _DURATION_SHIFT)
        | (convert(PENDING, uint256) << _STATUS_SHIFT)
        | (block.timestamp << _CREATED_SHIFT)
    )
    self._purchase_payment[purchase_id] = convert(token, uint256) | (price << _PRICE_SHIFT)
    log Purchased(
        purchase_id=purchase_id,
        dataset_id=dataset_id,
        buyer=msg.sender,
        token=token,
        price=price,
        duration=duration,
        encryption_key=encryption_key,
    )
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(msg.sender, self, price, default_return_value=True), (
        "market: transfer failed"
    )
    # A standard token moves exactly `price`; anything else would break the escrow.
    assert staticcall IERC20(token).balanceOf(self) == before + price, "market: token took a fee"
    return purchase_id


@internal
@view
def _share(dataset_id: uint256, owner: address) -> uint256:
    meta: uint256 = self._listing_meta[dataset_id]
    if meta != 0 and convert(meta & _ADDRESS_MASK, address) == owner:
        return (meta >> _BPS_SHIFT) & 65535
    return DEFAULT_UPSTREAM_BPS


@internal
@view
def _split(dataset_id: uint256, seller: address, price: uint256) -> DynArray[
    Credit, MAX_ANCESTORS + 1
]:
    credits: DynArray[Credit, MAX_ANCESTORS + 1] = []
    parents: DynArray[uint256, MAX_PARENTS] = staticcall registry.parents(dataset_id)
    if len(parents) == 0:
        credits.append(Credit(dataset_id=dataset_id, account=seller, amount=price))
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
    upstream: uint256 = price * self._share(dataset_id, seller) // BPS
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
        owner: address = staticcall registry.owner_of(best_id)
        keep: uint256 = x
        ps: DynArray[uint256, MAX_PARENTS] = found_parents[best]
        if len(ps) != 0:
            passed: uint256 = x * self._share(best_id, owner) // BPS
            part: uint256 = passed // len(ps)
            # Parts for parents beyond the bound stay with this ancestor.
            keep = x - passed
            for p: uint256 in ps:
                if p in found:
                    inflow[self._index(found, p)] += part
                else:
                    keep += part
        if keep != 0:
            credits.append(Credit(dataset_id=best_id, account=owner, amount=keep))
            credited += keep
    credits.append(Credit(dataset_id=dataset_id, account=seller, amount=price - credited))
    return credits


@internal
@pure
def _index(found: DynArray[uint256, MAX_ANCESTORS], wanted: uint256) -> uint256:
    for i: uint256 in range(MAX_ANCESTORS):
        if found[i] == wanted:
            return i
    raise "market: ancestor not found"
