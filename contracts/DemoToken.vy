# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title DemoToken
@custom:contract-name DemoToken
@license Apache-2.0
@notice A plain ERC-20 with EIP-2612 permit, deployed only on local networks so the
        demo has a token for bonds and payments. It is snekmate's `erc20` module
        composed as is: 18 decimals, minting by the deployer (and the minters it sets).
@custom:security Demo only: the deployer can mint without limit.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable as ow
from snekmate.tokens import erc20
from snekmate.tokens.interfaces import IERC20Permit

implements: IERC20
implements: IERC20Detailed
implements: IERC20Permit

initializes: ow
initializes: erc20[ownable := ow]

exports: erc20.__interface__


@deploy
def __init__(name_: String[25], symbol_: String[5]):
    """
    @dev Sets the token metadata; the EIP-712 domain uses the token name and version "1".
    @param name_ The token name (also the EIP-712 domain name).
    @param symbol_ The token symbol.
    """
    ow.__init__()
    erc20.__init__(name_, symbol_, 18, name_, "1")
