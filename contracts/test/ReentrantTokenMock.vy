# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title ReentrantTokenMock
@custom:contract-name ReentrantTokenMock
@license Apache-2.0
@notice Test only: an ERC-20 that, on every transfer, calls back into a target (the
        market) with calldata set beforehand, as a token with transfer hooks could.
        It records whether the callback succeeded, so a test can show that the
        market's reentrancy lock turns every such call away.
"""

from ethereum.ercs import IERC20

implements: IERC20

# @dev Balances.
balanceOf: public(HashMap[address, uint256])
# @dev Allowances.
allowance: public(HashMap[address, HashMap[address, uint256]])
# @dev Total supply.
totalSupply: public(uint256)
# @dev Where the callback goes and what it sends (empty: no callback).
target: public(address)
payload: public(Bytes[4096])
# @dev How many callbacks were tried and how many succeeded.
attempts: public(uint256)
successes: public(uint256)


@deploy
def __init__():
    """
    @dev Mints 10**24 to the deployer.
    """
    self.balanceOf[msg.sender] = 10**24
    self.totalSupply = 10**24


@external
def mint(to: address, amount: uint256):
    """
    @dev Mints freely (test only).
    """
    self.balanceOf[to] += amount
    self.totalSupply += amount


@external
def arm(target: address, payload: Bytes[4096]):
    """
    @dev Sets the callback made on every later transfer (empty payload disarms).
    """
    self.target = target
    self.payload = payload


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @dev Sets an allowance.
    """
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount`, then calls back.
    """
    self._move(msg.sender, to, amount)
    self._callback()
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` from `owner`, then calls back.
    """
    self.allowance[owner][msg.sender] -= amount
    self._move(owner, to, amount)
    self._callback()
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log IERC20.Transfer(sender=owner, receiver=to, value=amount)


@internal
def _callback():
    if len(self.payload) == 0:
        return
    self.attempts += 1
    ok: bool = raw_call(self.target, self.payload, revert_on_failure=False)
    if ok:
        self.successes += 1
