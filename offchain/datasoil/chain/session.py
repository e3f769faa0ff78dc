"""A Session: one network, one account, one deployment, and a typed client per contract.

>>> session = Session.connect(project, account)          # doctest: +SKIP
>>> session.registry.register(content_cid=..., ...)      # doctest: +SKIP
>>> session.market.buy(3, encryption_public)             # doctest: +SKIP

Each client holds an ape ``ContractInstance`` and sends every transaction through
:func:`datasoil.chain.tx.send` (checked with ``eth_call`` first, one sentence when
refused). A client's ``sender`` defaults to the session's account. Clients speak ABI
values (tuples, ints, bytes); the flows above build them from datasoil's value objects.
After ApePay's ``sdk/py/apepay/manager.py``: one class per contract, no ``Any`` for a
contract handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from datasoil.chain import tx
from datasoil.chain.deployments import Deployment
from datasoil.chain.registry import Registry
from datasoil.errors import ChainError, DeploymentError

if TYPE_CHECKING:
    from ape.api import AccountAPI, ReceiptAPI
    from ape.contracts.base import ContractInstance
    from ape.managers.project import ProjectManager
    from ape.types import AddressType

    from datasoil.chain import Contracts
    from datasoil.chain.index import EventIndex

__all__ = [
    "AttestationsClient",
    "Client",
    "ConsentClient",
    "Listing",
    "MarketClient",
    "ProofsClient",
    "RegistryClient",
    "Session",
    "TokenClient",
    "format_units",
    "parse_units",
]

RegistryClient = Registry
"""The DatasetRegistry's client (:class:`datasoil.chain.registry.Registry`)."""


class Client:
    """An ape contract instance and the account that sends by default."""

    def __init__(self, contract: ContractInstance, account: AccountAPI | None = None) -> None:
        self.contract = contract
        self.account = account

    @property
    def address(self) -> AddressType:
        return self.contract.address

    def _sender(self, sender: AccountAPI | None) -> AccountAPI:
        chosen = sender or self.account
        if chosen is None:
            raise ChainError(
                f"expected an account to send to the {tx.contract_label(self.contract)}, "
                "found none: pass --account (or sender=)"
            )
        return chosen

    def _send(
        self, what: str, method: str, *args: Any, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return tx.send(what, self.contract, method, *args, sender=self._sender(sender))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.contract.address}>"


def format_units(base_units: int, decimals: int) -> str:
    """An integer amount of base units as a decimal string of whole units, exact.

    >>> format_units(10 * 10**18, 18), format_units(5 * 10**17, 18), format_units(7, 0)
    ('10', '0.5', '7')
    """
    whole, frac = divmod(int(base_units), 10**decimals)
    digits = str(frac).rjust(decimals, "0").rstrip("0") if decimals else ""
    return f"{whole}.{digits}" if digits else str(whole)


def parse_units(text: str, decimals: int, symbol: str = "tokens") -> int:
    """Whole units (``"10"``, ``"0.5"``) as base units, exact.

    >>> parse_units("10", 18), parse_units("0.5", 18)
    (10000000000000000000, 500000000000000000)

    Raises ChainError for anything else, or more decimals than the token has.
    """
    import decimal

    try:
        value = decimal.Decimal(str(text).strip())
    except decimal.InvalidOperation:
        value = decimal.Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ChainError(f"expected an amount of {symbol} such as 10 or 0.5, found {text!r}")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ChainError(
            f"expected at most {decimals} decimals for an amount of {symbol}, found {text!r}"
        )
    return int(scaled)


class TokenClient(Client):
    """An ERC-20 (the demo token, or the deployment's payment and bond token)."""

    def balance(self, account: AddressType | str) -> int:
        return int(self.contract.balanceOf(account))

    def allowance(self, owner: AddressType | str, spender: AddressType | str) -> int:
        return int(self.contract.allowance(owner, spender))

    def symbol(self) -> str:
        try:
            return str(self.contract.symbol())
        except Exception:  # an ERC-20 without the optional symbol()
            return "tokens"

    def decimals(self) -> int:
        """The token's decimals (ERC-20's optional ``decimals()``; 18 when it has none)."""
        try:
            return int(self.contract.decimals())
        except Exception:  # an ERC-20 without the optional decimals()
            return 18

    def format(self, base_units: int) -> str:
        """``base_units`` as whole tokens: ``"10 SOIL"``, ``"0.5 SOIL"`` (exact, no float)."""
        return f"{format_units(base_units, self.decimals())} {self.symbol()}"

    def parse(self, text: str) -> int:
        """Whole tokens (``"10"``, ``"0.5"``) in base units (exact). Raises ChainError for
        an amount that is not a non-negative number or has more decimals than the token."""
        return parse_units(text, self.decimals(), self.symbol())

    def ensure_allowance(
        self, spender: Client, amount: int, *, for_what: str, sender: AccountAPI | None = None
    ) -> ReceiptAPI | None:
        """Approve ``spender`` for ``amount`` unless the allowance covers it already.

        Checks the balance first, so nothing is sent when ``amount`` cannot be paid.
        Raises ChainError: the balance is short, or the token refused the approval.
        """
        account = self._sender(sender)
        balance = self.balance(account.address)
        if balance < amount:
            raise tx.refusal(
                for_what,
                self.contract,
                f"{account.address} holds {self.format(balance)}, {self.format(amount)} are needed",
            )
        if self.allowance(account.address, spender.address) >= amount:
            return None
        return self._send(
            f"an approval of {amount} for {for_what}",
            "approve",
            spender.address,
            amount,
            sender=account,
        )


@dataclass(frozen=True)
class Listing:
    """An AccessMarket listing (``active`` false: not for sale)."""

    dataset_id: int
    lister: str
    token: str
    price: int
    duration: int
    upstream_bps: int
    key_commitment: bytes
    active: bool
    keeper: str

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "lister": self.lister,
            "token": self.token,
            "price": self.price,
            "duration": self.duration,
            "upstream_bps": self.upstream_bps,
            "key_commitment": "0x" + self.key_commitment.hex(),
            "active": self.active,
            "keeper": self.keeper,
        }


class MarketClient(Client):
    """The AccessMarket: listings, purchases and their steps, withdrawals."""

    def listing(self, dataset_id: int) -> Listing:
        """The listing of ``dataset_id``; ChainError for an unknown dataset."""
        try:
            lst = self.contract.listing(dataset_id)
            keeper = str(self.contract.keeper(dataset_id))
        except Exception as exc:  # ape's ContractLogicError: "registry: unknown dataset"
            raise tx.refusal(
                f"dataset {dataset_id} to be listed for sale", self.contract, exc
            ) from exc
        return Listing(
            dataset_id=int(dataset_id),
            lister=str(lst.lister),
            token=str(lst.token),
            price=int(lst.price),
            duration=int(lst.duration),
            upstream_bps=int(lst.upstream_bps),
            key_commitment=bytes(lst.key_commitment),
            active=bool(lst.active),
            keeper=keeper,
        )

    def buy_refusal(self, dataset_id: int, buyer: str, token: str | None = None) -> str | None:
        """Why ``buyer`` cannot buy ``dataset_id`` (in ``token``) as listed, or None."""
        listing = self.listing(dataset_id)
        if not listing.active:
            return f"expected dataset {dataset_id} to be listed for sale, it is not"
        if listing.lister.lower() == str(buyer).lower():
            return (
                f"expected a buyer other than the owner of dataset {dataset_id}, found the "
                f"owner {buyer}: an owner already holds the key and would only pay itself"
            )
        if token is not None and listing.token.lower() != str(token).lower():
            return f"expected the listing in {token}, found {listing.token}"
        return None

    def list_dataset(
        self,
        dataset_id: int,
        token: AddressType | str,
        price: int,
        duration: int,
        upstream_bps: int,
        key_commitment: bytes,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"dataset {dataset_id} to be listed",
            "list_dataset",
            dataset_id,
            token,
            price,
            duration,
            upstream_bps,
            key_commitment,
            sender=sender,
        )

    def set_keeper(
        self, dataset_id: int, keeper: AddressType | str, *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send(
            f"{keeper} to keep dataset {dataset_id}",
            "set_keeper",
            dataset_id,
            keeper,
            sender=sender,
        )

    def buy(
        self,
        dataset_id: int,
        encryption_public: bytes,
        token: TokenClient,
        *,
        max_price: int | None = None,
        min_duration: int | None = None,
        sender: AccountAPI | None = None,
    ) -> int:
        """Buy access to ``dataset_id``; return the purchase id.

        Everything is checked before anything is sent: the listing (active, not the
        buyer's own, in ``token``), the buyer's balance, then the approval (only if the
        allowance is short) and the purchase, each simulated first. The buyer pins the
        token, the price (default: the listed one) and the duration.

        Raises ChainError: the listing, the balance or a simulation refused.
        """
        account = self._sender(sender)
        what = f"dataset {dataset_id} to be bought"
        reason = self.buy_refusal(dataset_id, str(account.address), str(token.address))
        if reason is not None:
            raise ChainError(reason)
        listing = self.listing(dataset_id)
        price = listing.price if max_price is None else int(max_price)
        duration = listing.duration if min_duration is None else int(min_duration)
        if price < listing.price:
            raise tx.refusal(
                what, self.contract, f"market: price above max ({listing.price} > {price})"
            )
        token.ensure_allowance(self, listing.price, for_what=what, sender=account)
        receipt = self._send(
            what,
            "buy",
            dataset_id,
            token.address,
            price,
            duration,
            encryption_public,
            sender=account,
        )
        (event,) = receipt.decode_logs(self.contract.Purchased)
        return int(event.purchase_id)

    def _purchase_step(
        self,
        what: str,
        method: str,
        purchase_id: int,
        terms: tuple[Any, ...],
        *extra: Any,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"{what} of purchase {purchase_id}",
            method,
            purchase_id,
            terms,
            *extra,
            sender=sender,
        )

    def deliver_key(
        self,
        purchase_id: int,
        terms: tuple[Any, ...],
        envelope: bytes,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._purchase_step(
            "the key delivery", "deliver_key", purchase_id, terms, envelope, sender=sender
        )

    def reveal_key(
        self,
        purchase_id: int,
        terms: tuple[Any, ...],
        content_key: bytes,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._purchase_step(
            "the key reveal", "reveal_key", purchase_id, terms, content_key, sender=sender
        )

    def object_key(
        self, purchase_id: int, terms: tuple[Any, ...], *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._purchase_step("an objection", "object_key", purchase_id, terms, sender=sender)

    def settle(
        self, purchase_id: int, terms: tuple[Any, ...], *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._purchase_step("the settlement", "settle", purchase_id, terms, sender=sender)

    def refund(
        self, purchase_id: int, terms: tuple[Any, ...], *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._purchase_step("a refund", "refund", purchase_id, terms, sender=sender)

    def credit(self, token: AddressType | str, account: AddressType | str) -> int:
        return int(self.contract.credit(token, account))

    def withdraw(self, token: AddressType | str, *, sender: AccountAPI | None = None) -> int:
        """Withdraw the sender's credits in ``token``; return the amount (ChainError if none)."""
        account = self._sender(sender)
        amount = self.credit(token, account.address)
        if amount == 0:
            raise tx.refusal(
                f"credits to withdraw in {token}",
                self.contract,
                f"{account.address} has no credit in {token}",
            )
        self._send(f"a withdrawal of {amount}", "withdraw", token, sender=account)
        return amount


class ProofsClient(Client):
    """CleaningProofs: claims, audits (open, reveal, answer) and their settlement."""

    def bond(self) -> int:
        return int(self.contract.bond())

    def audit_deposit(self) -> int:
        return int(self.contract.audit_deposit())

    def submit_claim(
        self,
        parent_id: int,
        child_id: int,
        recipe_cid: tuple[Any, ...],
        proof_cid: tuple[Any, ...],
        fate_root: bytes,
        token: TokenClient,
        *,
        sender: AccountAPI | None = None,
    ) -> int:
        """Approve the bond if needed (after checking the balance) and submit the claim
        that ``child_id`` is ``parent_id`` cleaned; return the claim id."""
        account = self._sender(sender)
        what = f"the claim to be accepted (#{child_id} cleaning #{parent_id})"
        token.ensure_allowance(self, self.bond(), for_what=what, sender=account)
        receipt = self._send(
            what,
            "submit_claim",
            parent_id,
            child_id,
            recipe_cid,
            proof_cid,
            fate_root,
            sender=account,
        )
        (event,) = receipt.decode_logs(self.contract.ClaimSubmitted)
        return int(event.claim_id)

    def open_audit(
        self,
        claim_id: int,
        commitment: bytes,
        token: TokenClient,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        account = self._sender(sender)
        what = f"an audit of claim {claim_id} to open"
        token.ensure_allowance(self, self.audit_deposit(), for_what=what, sender=account)
        return self._send(what, "open_audit", claim_id, commitment, sender=account)

    def reveal(
        self, claim_id: int, audit: int, secret: bytes, *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send(
            f"the reveal of audit {audit} of claim {claim_id}",
            "reveal",
            claim_id,
            audit,
            secret,
            sender=sender,
        )

    def open_row(
        self,
        claim_id: int,
        audit: int,
        slot: int,
        row: bytes,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"row slot {slot} of audit {audit} of claim {claim_id} to open",
            "open_row",
            claim_id,
            audit,
            slot,
            row,
            sender=sender,
        )

    def respond(
        self,
        claim_id: int,
        audit: int,
        inputs: list[Any],
        outputs: list[Any],
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"the answer to audit {audit} of claim {claim_id}",
            "respond",
            claim_id,
            audit,
            inputs,
            outputs,
            sender=sender,
        )

    def finalize(self, claim_id: int, *, sender: AccountAPI | None = None) -> ReceiptAPI:
        return self._send(f"claim {claim_id} to finalise", "finalize", claim_id, sender=sender)

    def settle_dispute(
        self, claim_id: int, disputer: AddressType | str, *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send(
            f"the dispute of claim {claim_id} by {disputer} to settle",
            "settle_dispute",
            claim_id,
            disputer,
            sender=sender,
        )


class AttestationsClient(Client):
    """Attestations: direct, relayed and batched attestations, revocations, nonces."""

    def current_nonce(self, attester: AddressType | str, dataset_id: int, metric_set: bytes) -> int:
        return int(self.contract.current_nonce(attester, dataset_id, metric_set))

    def attest(
        self, attestation: tuple[Any, ...], *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send("the attestation", "attest", attestation, sender=sender)

    def attest_by_sig(
        self,
        attestation: tuple[Any, ...],
        signature: tuple[Any, ...],
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            "the relayed attestation", "attest_by_sig", attestation, signature, sender=sender
        )

    def attest_batch(
        self,
        attestations: list[tuple[Any, ...]],
        signatures: list[tuple[Any, ...]],
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"the batch of {len(attestations)} attestations",
            "attest_batch",
            attestations,
            signatures,
            sender=sender,
        )

    def revoke(
        self, dataset_id: int, metric_set: bytes, *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send(
            f"the revocation on dataset {dataset_id}",
            "revoke",
            dataset_id,
            metric_set,
            sender=sender,
        )

    def bump_nonce(
        self,
        dataset_id: int,
        metric_set: bytes,
        new_nonce: int,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"the nonce bump to {new_nonce} on dataset {dataset_id}",
            "bump_nonce",
            dataset_id,
            metric_set,
            new_nonce,
            sender=sender,
        )


class ConsentClient(Client):
    """Consent: subject columns, withdrawal requests, their answers and the sales pause.

    Proofs are the contract's structs as tuples: a ``SubjectProof`` (row, path, deadline,
    v, r, s, secret) and ``FateOpening``s (row index, fate record, path); the flows in
    :mod:`datasoil.flows.consent` build them."""

    NO_PROOF: tuple[Any, ...] = (b"", [], 0, 0, b"\x00" * 32, b"\x00" * 32, b"\x00" * 32)
    """The empty SubjectProof an owner sends."""

    def declare_subjects(
        self, dataset_id: int, column: int, kind: int, *, sender: AccountAPI | None = None
    ) -> ReceiptAPI:
        return self._send(
            f"dataset {dataset_id}'s subject column to be declared",
            "declare_subjects",
            dataset_id,
            column,
            kind,
            sender=sender,
        )

    def request_withdrawal(
        self,
        dataset_id: int,
        row_index: int,
        proof: tuple[Any, ...] | None = None,
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"the withdrawal of row {row_index} of dataset {dataset_id} to be requested",
            "request_withdrawal",
            dataset_id,
            row_index,
            proof or self.NO_PROOF,
            sender=sender,
        )

    def answer(
        self,
        dataset_id: int,
        claim_id: int,
        openings: list[tuple[int, bytes, list[bytes]]],
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        rows = ", ".join(str(o[0]) for o in openings)
        return self._send(
            f"claim {claim_id} to answer the withdrawal of rows {rows} of dataset {dataset_id}",
            "answer",
            dataset_id,
            claim_id,
            openings,
            sender=sender,
        )

    def forward(
        self,
        dataset_id: int,
        opening: tuple[int, bytes, list[bytes]],
        *,
        sender: AccountAPI | None = None,
    ) -> ReceiptAPI:
        return self._send(
            f"the request for row {opening[0]} of dataset {dataset_id} to be forwarded",
            "forward",
            dataset_id,
            opening,
            sender=sender,
        )

    def paused(self, dataset_id: int) -> bool:
        return bool(self.contract.paused(dataset_id))

    def withdrawal_state(self, dataset_id: int, row_index: int) -> int:
        return int(self.contract.withdrawal_state(dataset_id, row_index))

    def request(self, dataset_id: int, row_index: int) -> tuple[int, int, int]:
        """(state, via, moved-to row) of a row's request."""
        view = self.contract.request(dataset_id, row_index)
        return int(view.state), int(view.via), int(view.moved_to)

    def dataset(self, dataset_id: int) -> dict[str, int]:
        """A dataset's consent facts: kind, column, open_requests, answered_by, answer_claim."""
        view = self.contract.dataset(dataset_id)
        fields = ("kind", "column", "open_requests", "answered_by", "answer_claim")
        return {name: int(getattr(view, name)) for name in fields}


class Session:
    """The connected network, an account (optional: reads need none) and the deployment.

    Clients are made on first use; a contract the deployment does not have raises
    DeploymentError naming it.
    """

    def __init__(self, contracts: Contracts, account: AccountAPI | None = None) -> None:
        self._contracts = contracts
        self.account = account

    @classmethod
    def connect(cls, project: ProjectManager, account: AccountAPI | None = None) -> Session:
        """The session of the deployment recorded for ape's connected chain.

        Raises DeploymentError as :func:`datasoil.chain.contracts` does.
        """
        from datasoil.chain import contracts

        return cls(contracts(project), account)

    @property
    def deployment(self) -> Deployment:
        return self._contracts.deployment

    @property
    def start_block(self) -> int:
        """The block the deployment started at: where event reads begin."""
        return self.deployment.block

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    @property
    def network(self) -> str:
        """ape's ``ecosystem:network:provider`` choice of the connection."""
        from ape import chain

        return str(chain.provider.network_choice)

    def _instance(self, name: str) -> ContractInstance:
        instance: ContractInstance = self._contracts.require(name)
        return instance

    @cached_property
    def registry(self) -> Registry:
        return Registry(self._instance("registry"), self.start_block)

    @cached_property
    def index(self) -> EventIndex:
        """The event index of the deployment (:mod:`datasoil.chain.index`), read through
        ape's connection; its queries answer what was synced (``sync()`` first).

        The ABIs are the project's, by contract name, as the gateway's are (its build
        manifest): an index file is emptied when another opener brings other ABIs, and
        an instance's own ABI can be one ape cached for its address from an earlier
        deployment there (seen after a chain revert: a registry's events merged into
        another contract's), which made the keeper and the gateway empty each other's
        index."""
        from ape import project

        from datasoil.chain import web3
        from datasoil.chain.index import EventIndex, abis_of_project

        return EventIndex.open(web3(), abis_of_project(project, list(self._contracts.by_name())))

    @cached_property
    def indexed_registry(self) -> Registry:
        """The registry client reading registrations from :attr:`index`, not from logs."""
        return Registry(self._instance("registry"), self.start_block, index=self.index)

    @cached_property
    def market(self) -> MarketClient:
        return MarketClient(self._instance("market"), self.account)

    @cached_property
    def proofs(self) -> ProofsClient:
        return ProofsClient(self._instance("proofs"), self.account)

    @cached_property
    def consent(self) -> ConsentClient:
        return ConsentClient(self._instance("consent"), self.account)

    @cached_property
    def attestations(self) -> AttestationsClient:
        return AttestationsClient(self._instance("attestations"), self.account)

    @cached_property
    def token(self) -> TokenClient:
        """The deployment's token (the demo token locally; bonds and first payments)."""
        return TokenClient(self._instance("token"), self.account)

    def token_at(self, address: AddressType | str) -> TokenClient:
        """An ERC-20 client for ``address`` (the deployment's token if it is that one).

        Raises DeploymentError for the zero address or an address with no code.
        """
        if int(str(address), 16) == 0:
            raise DeploymentError("expected a token address, found the zero address")
        token = self._contracts.token
        if token is not None and str(token.address).lower() == str(address).lower():
            return self.token
        from ape import Contract
        from ape.exceptions import ApeException

        try:
            instance: ContractInstance = Contract(address)
        except ApeException as exc:
            raise DeploymentError(
                f"expected an ERC-20 token at {address}, found none ({tx.revert_reason(exc)})"
            ) from None
        return TokenClient(instance, self.account)

    def with_account(self, account: AccountAPI) -> Session:
        """The same deployment with ``account`` sending by default."""
        return Session(self._contracts, account)
