// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// A counter anyone can bump: the client suite deploys it, calls it and
/// reads its events.
contract Counter {
    uint256 public count;

    event Bumped(address indexed by, uint256 count);

    error TooMany(uint256 count);

    function bump() external {
        count += 1;
        emit Bumped(msg.sender, count);
    }

    /// Reverts with a custom error once the count reaches `limit`.
    function bumpBelow(uint256 limit) external {
        if (count >= limit) revert TooMany(count);
        count += 1;
        emit Bumped(msg.sender, count);
    }
}
