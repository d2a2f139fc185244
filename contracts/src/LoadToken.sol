// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title LoadToken
/// @notice A plain ERC-20 that chunkseq's benchmarks and load generator send
/// transfers of. Genesis can allocate balances by writing `balanceOf` slots
/// directly (slot 0 mapping), so no minting transactions are needed.
contract LoadToken {
    /// @notice Token balances (storage slot 0).
    mapping(address => uint256) public balanceOf;
    /// @notice Spending allowances (storage slot 1).
    mapping(address => mapping(address => uint256)) public allowance;
    /// @notice Total supply (storage slot 2).
    uint256 public totalSupply;

    string public constant name = "chunkseq load token";
    string public constant symbol = "CLT";
    uint8 public constant decimals = 18;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 supply) {
        balanceOf[msg.sender] = supply;
        totalSupply = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "LoadToken: allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        uint256 balance = balanceOf[from];
        require(balance >= value, "LoadToken: balance");
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
