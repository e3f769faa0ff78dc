"""One way to send a transaction: check it first, send it once, say why it was refused.

Every datasoil transaction goes through :func:`send`:

1. it is simulated with ``eth_call`` from the sender (:func:`simulate`), so a call the
   contract would refuse stops with the contract's revert string before anything is
   signed or sent — no failed transaction is mined and no gas is spent;
2. it is sent with the sender's next nonce counted from the node's *pending*
   transactions (:func:`next_nonce`), so a transaction still waiting in the pool is
   never replaced by accident (``replacement transaction underpriced``);
3. any refusal — a revert, a node rejecting the transaction, a failed receipt — is one
   :class:`~datasoil.errors.ChainError` with one sentence::

       expected <what>, the <contract> refused: <reason>

ape is imported only for type checking: importing this module costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datasoil.errors import ChainError, DatasoilError

if TYPE_CHECKING:
    from ape.api import AccountAPI, ReceiptAPI
    from ape.contracts.base import ContractInstance

__all__ = [
    "contract_label",
    "next_nonce",
    "refusal",
    "revert_reason",
    "send",
    "simulate",
]

# What nodes say when a nonce is already taken by a pending or mined transaction.
_NONCE_CLASHES = (
    "replacement transaction underpriced",
    "nonce too low",
    "already known",
    "invalid nonce",
    "nonce has already been used",
)


def revert_reason(exc: BaseException) -> str:
    """The contract's revert string of a failed call, else the first line of the error.

    >>> revert_reason(RuntimeError("market: not listed\\ntrace..."))
    'market: not listed'
    >>> revert_reason(RuntimeError(""))
    'RuntimeError'
    """
    message = getattr(exc, "revert_message", None) or getattr(exc, "message", None) or str(exc)
    lines = str(message).strip().splitlines() if message else []
    if not lines:
        return type(exc).__name__
    reason = lines[0].strip()
    # web3 wraps node errors as dict-ish text: {'code': -32003, 'message': '...'}
    if isinstance(exc.args[0] if exc.args else None, dict):
        reason = str(exc.args[0].get("message", reason))
    return reason


def contract_label(contract: ContractInstance) -> str:
    """The contract's name in the ape project (``AccessMarket``), else ``contract at 0x…``."""
    try:
        name = contract.contract_type.name
    except AttributeError:
        name = None
    return str(name) if name else f"contract at {getattr(contract, 'address', '?')}"


def refusal(what: str, contract: ContractInstance, reason: str | BaseException) -> ChainError:
    """The one sentence for a refused call: ``expected <what>, the <contract> refused: …``."""
    text = revert_reason(reason) if isinstance(reason, BaseException) else reason
    return ChainError(f"expected {what}, the {contract_label(contract)} refused: {text}")


def simulate(
    what: str, contract: ContractInstance, method: str, *args: Any, sender: AccountAPI
) -> Any:
    """Run ``contract.method(*args)`` as an ``eth_call`` from ``sender`` in the pending
    block; return its result.

    Nothing is signed or sent. Raises ChainError (:func:`refusal`) when it reverts.
    """
    call = getattr(getattr(contract, method), "call", None)
    if call is None:
        # A wrapped handle (publish's send watcher): simulate on a plain instance of it.
        from ape.contracts.base import ContractInstance

        plain = ContractInstance(contract.address, contract.contract_type)
        call = getattr(plain, method).call
    try:
        # In the pending block: the one the transaction would land in (its number and
        # timestamp, as windows and seed blocks are checked against).
        return call(*args, sender=sender, block_id="pending")
    except DatasoilError:
        raise
    except Exception as exc:
        raise refusal(what, contract, exc) from exc


def next_nonce(sender: AccountAPI) -> int:
    """The nonce of ``sender``'s next transaction, counting transactions still pending."""
    provider = sender.provider
    return int(provider.web3.eth.get_transaction_count(sender.address, "pending"))


def _nonce_clash(exc: BaseException) -> bool:
    text = f"{exc} {getattr(exc, 'message', '')}".lower()
    return any(clash in text for clash in _NONCE_CLASHES)


def _mined(receipt: ReceiptAPI, sender: AccountAPI, timeout: float = 600.0) -> ReceiptAPI:
    """The receipt once its transaction is in a block: ape hands back an unmined one when
    the node does not mine on its own (anvil without automine), and the next transaction
    (a purchase after its approval) must see this one's effects."""
    if receipt.block_number is not None and receipt.block_number >= 0:
        return receipt
    provider = sender.provider
    provider.web3.eth.wait_for_transaction_receipt(receipt.txn_hash, timeout=timeout)
    mined: ReceiptAPI = provider.get_receipt(receipt.txn_hash)
    return mined


def send(
    what: str,
    contract: ContractInstance,
    method: str,
    *args: Any,
    sender: AccountAPI,
    check: bool = True,
    **txn: Any,
) -> ReceiptAPI:
    """Simulate (unless ``check`` is false), then send ``contract.method(*args)`` from
    ``sender``; return the receipt.

    ``what`` completes "expected …" (``"dataset 3 to be bought"``). The nonce counts the
    sender's pending transactions; if the node still finds it taken (another process sent
    one meanwhile), it is counted again once.

    Raises:
        ChainError: the simulation reverted (nothing was sent), the node refused the
            transaction, or it was mined and failed — always :func:`refusal`'s sentence.
    """
    if check:
        simulate(what, contract, method, *args, sender=sender)
    handler = getattr(contract, method)
    for attempt in range(2):
        try:
            receipt: ReceiptAPI = handler(*args, sender=sender, nonce=next_nonce(sender), **txn)
        except DatasoilError:
            raise
        except Exception as exc:
            if attempt == 0 and _nonce_clash(exc):
                continue
            if _nonce_clash(exc):
                raise refusal(
                    what,
                    contract,
                    f"the node holds another pending transaction of {sender.address} with "
                    "the same nonce; wait until it is mined and run the command again",
                ) from exc
            raise refusal(what, contract, exc) from exc
        receipt = _mined(receipt, sender)
        if receipt.failed:
            raise refusal(what, contract, f"transaction {receipt.txn_hash} failed")
        return receipt
    raise AssertionError("unreachable")  # pragma: no cover
