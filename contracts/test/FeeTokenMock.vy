# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title FeeTokenMock
@custom:contract-name FeeTokenMock
@license Apache-2.0
@notice Test only: an ERC-20 whose transfers burn 1% (a fee-on-transfer token), to
        show that AccessMarket refuses tokens that deliver less than the price.
"""

from ethereum.ercs import IERC20

implements: IERC20

# @dev Balances.
balanceOf: public(HashMap[address, uint256])
# @dev Allowances.
allowance: public(HashMap[address, HashMap[address, uint256]])
# @dev Total supply.
totalSupply: public(uint256)


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
    @dev Moves 99% of `amount`, burns 1%.
    """
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @dev Moves 99% of `amount` from `owner`, burns 1%.
    """
    self.allowance[owner][msg.sender] -= amount
    self._move(owner, to, amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    fee: uint256 = amount // 100
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log IERC20.Transfer(sender=owner, receiver=to, value=amount - fee)
