// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {
    BlockHeader,
    CheckpointHeader,
    Checkpoint,
    Attestation,
    ProvisionalBlock,
    BlockProposal,
    ProposalEquivocation,
    AttestationEquivocation,
    CheckpointOmission,
    ChainSpecParams
} from "./ChunkseqTypes.sol";

/// @title Rollup
/// @notice The L1 side of chunkseq: the validator registry, committee and
/// proposer selection, checkpoint validation and the slashable offences.
/// Every rule nodes rely on for L1 lives here.
contract Rollup {
    // ---------------------------------------------------------------- types

    /// @notice A registered validator.
    struct Validator {
        /// Who may exit and withdraw.
        address withdrawal;
        /// First epoch the validator may sit on a committee.
        uint64 activationEpoch;
        /// First epoch it no longer may (type(uint64).max while active).
        uint64 exitEpoch;
        /// Stake left, in wei.
        uint128 stake;
        /// Whether it was slashed at least once.
        bool slashed;
    }

    /// @notice The last accepted checkpoint.
    struct Tip {
        /// Slot of the last checkpoint (0 with `hasCheckpoint == false` at genesis).
        uint64 slot;
        /// Number of the last checkpointed L2 block.
        uint64 lastBlockNumber;
        /// Whether any checkpoint was accepted.
        bool hasCheckpoint;
        /// Hash of the last checkpoint's final header (0 before the first).
        bytes32 headerHash;
        /// Hash of the last checkpointed L2 block (the L2 genesis at first).
        bytes32 lastBlockHash;
    }

    // ------------------------------------------------------------ constants

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint64 slot,bytes32 checkpointHeaderHash,uint32 blockCount,bytes32 lastBlockHash)");
    bytes32 private constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint64 slot,uint32 index,bytes32 blockHash)");
    bytes32 private constant PROPOSAL_TYPEHASH = keccak256("BlockProposal(uint64 slot,uint32 index,bytes32 blockHash)");
    bytes32 private constant PROVISIONAL_TYPEHASH = keccak256(
        "ProvisionalBlock(uint64 slot,uint32 index,bytes32 blockHash,bytes32 checkpointHeaderHash,bytes32 attestationsHash)"
    );
    /// Half of the secp256k1 order: signatures with a higher s are refused.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// Epochs between exiting and withdrawing, so evidence can still land.
    uint64 public constant WITHDRAWAL_DELAY_EPOCHS = 4;
    /// Share of a slashed stake paid to the first submitter, in percent.
    uint256 public constant REPORTER_REWARD_PERCENT = 10;

    // -------------------------------------------------------------- storage

    /// @notice keccak256(abi.encode(ChainSpecParams)) of the deployment.
    bytes32 public immutable chainSpecHash;
    /// @notice The EIP-712 domain separator of every chunkseq signature.
    bytes32 public immutable domainSeparator;
    uint64 public immutable genesisTime;
    uint64 public immutable slotDurationMs;
    uint32 public immutable chunksPerSlot;
    uint32 public immutable epochSlots;
    uint32 public immutable committeeSize;
    /// @notice Smallest stake a validator registers with.
    uint256 public immutable minStake;

    mapping(address => Validator) public validators;
    address[] public validatorList;
    Tip public tip;
    /// @notice Randomness recorded for each epoch's committee (0: not recorded).
    mapping(uint64 => bytes32) public epochSeed;
    /// @notice keccak256 of the sorted committee of an epoch, once computed.
    mapping(uint64 => bytes32) public committeeHash;
    /// @notice Offences already punished, by keccak256(kind, validator, slot, index).
    mapping(bytes32 => bool) public punished;

    // --------------------------------------------------------------- events

    event ValidatorRegistered(address indexed validator, address withdrawal, uint256 stake, uint64 activationEpoch);
    event ValidatorExited(address indexed validator, uint64 exitEpoch);
    /// @notice A checkpoint was accepted; carries what any node needs to
    /// rebuild the checkpointed chain from L1 alone.
    event CheckpointAccepted(
        uint64 indexed slot, bytes32 headerHash, BlockHeader[] headers, bytes[] bodies, address proposer
    );
    event ValidatorSlashed(
        address indexed validator, uint8 offence, uint64 slot, uint256 amount, address reporter, uint256 reward
    );

    // --------------------------------------------------------------- errors

    error WrongL1Chain(uint256 expected, uint256 actual);
    error InvalidSpec();
    error AlreadyRegistered(address validator);
    error StakeTooLow(uint256 sent, uint256 minimum);
    error NotWithdrawalAddress();
    error NotExited();
    error WithdrawalTooEarly(uint64 allowedFromEpoch);
    error NotInSlot(uint64 slot, uint64 currentSlot);
    error SlotNotAfterTip(uint64 slot, uint64 tipSlot);
    error WrongParentCheckpoint(bytes32 expected, bytes32 provided);
    error NoBlocks();
    error TooManyBlocks(uint256 count, uint256 max);
    error LengthMismatch();
    error WrongBlockPosition(uint256 index);
    error WrongBlockParent(uint256 index);
    error WrongProposerSignature(address recovered, address proposer);
    error NotEnoughAttestations(uint256 index, uint256 count, uint256 threshold);
    error AttestationsNotAscending(uint256 index);
    error NotCommitteeMember(uint256 index, address signer);
    error WrongCommittee(uint64 epoch);
    error CommitteeNotFixed(uint64 epoch);
    error BadSignature();
    error NoValidators();
    error NotAnOffence();
    error AlreadyPunished();
    error UnknownValidator(address who);
    error NoCheckpointForSlot(uint64 slot);
    error WrongCheckpointBlocks();

    // --------------------------------------------------------- construction

    /// @param spec the consensus parameters; their hash is stored.
    /// @param l2GenesisHash hash of the L2 genesis block, the first parent.
    /// @param minimumStake smallest stake accepted at registration.
    constructor(ChainSpecParams memory spec, bytes32 l2GenesisHash, uint256 minimumStake) {
        if (spec.l1ChainId != block.chainid) revert WrongL1Chain(spec.l1ChainId, block.chainid);
        if (spec.slotDurationMs == 0 || spec.slotDurationMs % 1000 != 0 || spec.chunksPerSlot == 0) {
            revert InvalidSpec();
        }
        if (spec.epochSlots == 0 || spec.committeeSize == 0) revert InvalidSpec();
        chainSpecHash = keccak256(abi.encode(spec));
        domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("chunkseq"), keccak256("1"), block.chainid, address(this))
        );
        genesisTime = spec.genesisTime;
        slotDurationMs = spec.slotDurationMs;
        chunksPerSlot = spec.chunksPerSlot;
        epochSlots = spec.epochSlots;
        committeeSize = spec.committeeSize;
        minStake = minimumStake;
        tip.lastBlockHash = l2GenesisHash;
    }

    // ----------------------------------------------------------------- time

    /// @notice The slot at the current L1 block (0 before genesis).
    function currentSlot() public view returns (uint64) {
        if (block.timestamp < genesisTime) return 0;
        return uint64(((block.timestamp - genesisTime) * 1000) / slotDurationMs);
    }

    /// @notice The epoch of a slot.
    function epochOf(uint64 slot) public view returns (uint64) {
        return slot / epochSlots;
    }

    // ------------------------------------------------------------ validators

    /// @notice Registers the caller (its signing address) as a validator with
    /// `msg.value` stake. Before genesis it is active at once; later, two
    /// epochs on, once its first committee is fixed.
    function register(address withdrawal) external payable {
        address validator = msg.sender;
        if (validators[validator].withdrawal != address(0)) revert AlreadyRegistered(validator);
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        uint64 activation = block.timestamp < genesisTime ? 0 : epochOf(currentSlot()) + 2;
        validators[validator] = Validator({
            withdrawal: withdrawal,
            activationEpoch: activation,
            exitEpoch: type(uint64).max,
            stake: uint128(msg.value),
            slashed: false
        });
        validatorList.push(validator);
        emit ValidatorRegistered(validator, withdrawal, msg.value, activation);
    }

    /// @notice Leaves the validator set two epochs from now.
    function exit(address validator) external {
        Validator storage v = validators[validator];
        if (v.withdrawal != msg.sender) revert NotWithdrawalAddress();
        uint64 at = epochOf(currentSlot()) + 2;
        if (at < v.exitEpoch) v.exitEpoch = at;
        emit ValidatorExited(validator, v.exitEpoch);
    }

    /// @notice Pays out the remaining stake once the withdrawal delay passed.
    function withdraw(address validator) external {
        Validator storage v = validators[validator];
        if (v.withdrawal != msg.sender) revert NotWithdrawalAddress();
        if (v.exitEpoch == type(uint64).max) revert NotExited();
        uint64 allowed = v.exitEpoch + WITHDRAWAL_DELAY_EPOCHS;
        if (epochOf(currentSlot()) < allowed) revert WithdrawalTooEarly(allowed);
        uint256 amount = v.stake;
        v.stake = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "Rollup: withdrawal transfer failed");
    }

    /// @notice Number of validators ever registered.
    function validatorCount() external view returns (uint256) {
        return validatorList.length;
    }

    // ------------------------------------------------------------ committees

    /// @notice The seed of an epoch's committee: L1 randomness recorded by a
    /// checkpoint two epochs earlier, or, when none landed then, a hash of
    /// the chain spec and the epoch.
    function seedOf(uint64 epoch) public view returns (bytes32) {
        bytes32 seed = epochSeed[epoch];
        return seed != bytes32(0) ? seed : keccak256(abi.encode(chainSpecHash, epoch));
    }

    /// @notice The committee of `epoch`, sorted by address: every active
    /// validator when there are at most `committeeSize`, otherwise a sample
    /// drawn with the epoch's seed (partial Fisher-Yates shuffle).
    function committeeOf(uint64 epoch) public view returns (address[] memory members) {
        uint256 n = validatorList.length;
        address[] memory active = new address[](n);
        uint256 count = 0;
        for (uint256 i = 0; i < n; i++) {
            address a = validatorList[i];
            Validator storage v = validators[a];
            if (v.activationEpoch <= epoch && epoch < v.exitEpoch) active[count++] = a;
        }
        uint256 size = count < committeeSize ? count : committeeSize;
        if (size < count) {
            bytes32 seed = seedOf(epoch);
            for (uint256 i = 0; i < size; i++) {
                uint256 j = i + uint256(keccak256(abi.encode(seed, i))) % (count - i);
                (active[i], active[j]) = (active[j], active[i]);
            }
        }
        members = new address[](size);
        for (uint256 i = 0; i < size; i++) {
            members[i] = active[i];
        }
        _sort(members);
    }

    /// @notice The proposer of `slot`: the committee member at
    /// keccak256(seed, slot) mod size, in sorted order.
    function proposerOf(uint64 slot) public view returns (address) {
        address[] memory members = committeeOf(epochOf(slot));
        if (members.length == 0) revert NoValidators();
        return members[uint256(keccak256(abi.encode(seedOf(epochOf(slot)), slot))) % members.length];
    }

    /// @notice Committee and proposer of any slot.
    function duties(uint64 slot) external view returns (address[] memory committee, address proposer) {
        committee = committeeOf(epochOf(slot));
        if (committee.length == 0) revert NoValidators();
        proposer =
            committee[uint256(keccak256(abi.encode(seedOf(epochOf(slot)), slot))) % committee.length];
    }

    /// @notice Attestations a block of a committee of `size` needs.
    function threshold(uint256 size) public pure returns (uint256) {
        return (2 * size) / 3 + 1;
    }

    // ----------------------------------------------------------- checkpoints

    /// @notice Publishes the blocks of `slot` as one checkpoint.
    /// @param slot the slot; the call is valid only during it.
    /// @param headers the slot's blocks, indices 0..k-1, chained to the tip.
    /// @param bodies each block's transactions (not interpreted on L1).
    /// @param attestations per block, >= threshold 65-byte committee
    ///        signatures over the block's Attestation, ascending by signer.
    /// @param committee the slot's committee sorted by address (checked).
    /// @param signature the proposer's end-of-slot Checkpoint signature.
    function proposeCheckpoint(
        uint64 slot,
        BlockHeader[] calldata headers,
        bytes[] calldata bodies,
        bytes[] calldata attestations,
        address[] calldata committee,
        bytes calldata signature
    ) external {
        Tip memory t = tip;
        {
            uint64 now_ = currentSlot();
            if (block.timestamp < genesisTime || slot != now_) revert NotInSlot(slot, now_);
        }
        if (t.hasCheckpoint && slot <= t.slot) revert SlotNotAfterTip(slot, t.slot);
        uint256 count = headers.length;
        if (count == 0) revert NoBlocks();
        if (count > chunksPerSlot) revert TooManyBlocks(count, chunksPerSlot);
        if (bodies.length != count || attestations.length != count) revert LengthMismatch();

        uint64 epoch = epochOf(slot);
        _checkCommittee(epoch, committee);
        uint256 needed = threshold(committee.length);

        bytes32 parent = t.lastBlockHash;
        uint64 number = t.lastBlockNumber;
        bytes32 blocksHash = bytes32(0);
        for (uint256 i = 0; i < count; i++) {
            BlockHeader calldata h = headers[i];
            if (h.slot != slot || h.index != i) revert WrongBlockPosition(i);
            if (h.parentHash != parent || h.number != number + 1) revert WrongBlockParent(i);
            bytes32 blockHash = keccak256(abi.encode(h));
            _checkAttestations(i, slot, blockHash, attestations[i], committee, needed);
            blocksHash = keccak256(abi.encode(blocksHash, blockHash));
            parent = blockHash;
            number = h.number;
        }
        bytes32 headerHash = keccak256(
            abi.encode(
                CheckpointHeader({
                    slot: slot, parentCheckpointHash: t.headerHash, blockCount: uint32(count), blocksHash: blocksHash
                })
            )
        );
        bytes32 digest = _digest(
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, slot, headerHash, uint32(count), parent))
        );
        address proposer = committee[uint256(keccak256(abi.encode(seedOf(epoch), slot))) % committee.length];
        address signer = _recover(digest, signature);
        if (signer != proposer) revert WrongProposerSignature(signer, proposer);

        tip = Tip({
            slot: slot, lastBlockNumber: number, hasCheckpoint: true, headerHash: headerHash, lastBlockHash: parent
        });
        _recordSeed(epoch);
        emit CheckpointAccepted(slot, headerHash, headers, bodies, proposer);
    }

    /// @notice Records the committee hash of `epoch` so later checkpoints can
    /// pass the committee in calldata instead of recomputing it. Anyone may
    /// call it; proposeCheckpoint calls it when needed.
    function recordCommittee(uint64 epoch) public returns (bytes32 h) {
        // An epoch's committee is fixed once the epoch two before it is over.
        if (epoch > epochOf(currentSlot()) + 1) revert CommitteeNotFixed(epoch);
        h = committeeHash[epoch];
        if (h == bytes32(0)) {
            h = keccak256(abi.encode(committeeOf(epoch)));
            committeeHash[epoch] = h;
        }
    }

    // --------------------------------------------------------------- slashing

    /// @notice Slashes a proposer that signed two proposals for one (slot, index).
    /// `committee` is the slot's committee sorted by address (checked), from
    /// which the proposer is derived without recomputing the committee.
    function slashProposalEquivocation(ProposalEquivocation calldata e, address[] calldata committee) external {
        BlockProposal calldata a = e.first;
        BlockProposal calldata b = e.second;
        if (a.slot != b.slot || a.index != b.index || a.blockHash == b.blockHash) revert NotAnOffence();
        address s1 = _recover(_digest(keccak256(abi.encode(PROPOSAL_TYPEHASH, a.slot, a.index, a.blockHash))), e.firstSignature);
        address s2 = _recover(_digest(keccak256(abi.encode(PROPOSAL_TYPEHASH, b.slot, b.index, b.blockHash))), e.secondSignature);
        if (s1 != s2) revert NotAnOffence();
        if (s1 != _proposerIn(a.slot, committee)) revert NotAnOffence();
        _slash(s1, 1, a.slot, a.index);
    }

    /// @notice Slashes a validator that attested two blocks for one (slot, index).
    function slashAttestationEquivocation(AttestationEquivocation calldata e) external {
        Attestation calldata a = e.first;
        Attestation calldata b = e.second;
        if (a.slot != b.slot || a.index != b.index || a.blockHash == b.blockHash) revert NotAnOffence();
        address s1 = _recover(_digest(keccak256(abi.encode(ATTESTATION_TYPEHASH, a.slot, a.index, a.blockHash))), e.firstSignature);
        address s2 = _recover(_digest(keccak256(abi.encode(ATTESTATION_TYPEHASH, b.slot, b.index, b.blockHash))), e.secondSignature);
        if (s1 != s2) revert NotAnOffence();
        _slash(s1, 3, a.slot, a.index);
    }

    /// @notice Slashes a proposer whose checkpoint lacks a block it announced
    /// as provisional. Nothing is stored per checkpoint: the proof rebuilds
    /// the slot's checkpoint header from its block hashes and parent, then
    /// follows the later checkpoint headers (`later`, oldest first) up to the
    /// current tip. Evidence is cheapest while the checkpoint is recent.
    function slashCheckpointOmission(
        CheckpointOmission calldata e,
        bytes32[] calldata blockHashes,
        bytes32 parentCheckpointHash,
        CheckpointHeader[] calldata later,
        address[] calldata committee
    ) external {
        ProvisionalBlock calldata p = e.provisional;
        bytes32 chained = bytes32(0);
        for (uint256 i = 0; i < blockHashes.length; i++) {
            chained = keccak256(abi.encode(chained, blockHashes[i]));
        }
        bytes32 h = keccak256(
            abi.encode(
                CheckpointHeader({
                    slot: p.slot,
                    parentCheckpointHash: parentCheckpointHash,
                    blockCount: uint32(blockHashes.length),
                    blocksHash: chained
                })
            )
        );
        for (uint256 i = 0; i < later.length; i++) {
            if (later[i].parentCheckpointHash != h) revert WrongCheckpointBlocks();
            h = keccak256(abi.encode(later[i]));
        }
        if (h != tip.headerHash) revert WrongCheckpointBlocks();
        if (p.index < blockHashes.length && blockHashes[p.index] == p.blockHash) revert NotAnOffence();
        bytes32 digest = _digest(
            keccak256(
                abi.encode(
                    PROVISIONAL_TYPEHASH, p.slot, p.index, p.blockHash, p.checkpointHeaderHash, p.attestationsHash
                )
            )
        );
        address signer = _recover(digest, e.signature);
        if (signer != _proposerIn(p.slot, committee)) revert NotAnOffence();
        _slash(signer, 2, p.slot, p.index);
    }

    // -------------------------------------------------------------- internal

    /// The proposer of `slot` from its committee, after checking the committee.
    function _proposerIn(uint64 slot, address[] calldata committee) private returns (address) {
        uint64 epoch = epochOf(slot);
        _checkCommittee(epoch, committee);
        return committee[uint256(keccak256(abi.encode(seedOf(epoch), slot))) % committee.length];
    }

    function _checkCommittee(uint64 epoch, address[] calldata committee) private {
        bytes32 expected = recordCommittee(epoch);
        // keccak256(abi.encode(committee)) straight from calldata. Elements with
        // dirty upper bits hash differently and are refused, so the raw reads
        // in `_checkAttestations` see clean addresses.
        bytes32 provided;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), committee.length)
            calldatacopy(add(m, 0x40), committee.offset, mul(committee.length, 0x20))
            provided := keccak256(m, add(0x40, mul(committee.length, 0x20)))
        }
        if (provided != expected) revert WrongCommittee(epoch);
        if (committee.length == 0) revert NoValidators();
    }

    function _checkAttestations(
        uint256 index,
        uint64 slot,
        bytes32 blockHash,
        bytes calldata sigs,
        address[] calldata committee,
        uint256 needed
    ) private view {
        uint256 n = sigs.length / 65;
        if (sigs.length % 65 != 0 || n < needed) revert NotEnoughAttestations(index, n, needed);
        bytes32 digest = _digest(keccak256(abi.encode(ATTESTATION_TYPEHASH, slot, uint32(index), blockHash)));
        uint256 failure;
        address signer;
        // The hot loop, in assembly: one ecrecover per attestation straight
        // from calldata (low s, v 27/28, as `_recover` checks), signers
        // strictly ascending, each found by one forward walk of the sorted
        // committee. It stops at the first failure, reported below.
        assembly ("memory-safe") {
            let m := mload(0x40)
            let members := committee.length
            let last := 0
            let seat := 0
            for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                let p := add(sigs.offset, mul(k, 65))
                let r := calldataload(p)
                let s := calldataload(add(p, 32))
                let v := byte(0, calldataload(add(p, 64)))
                mstore(m, digest)
                mstore(add(m, 32), v)
                mstore(add(m, 64), r)
                mstore(add(m, 96), s)
                mstore(0, 0)
                let ok := and(iszero(gt(s, HALF_ORDER)), or(eq(v, 27), eq(v, 28)))
                ok := and(ok, staticcall(gas(), 1, m, 128, 0, 32))
                signer := mload(0)
                if or(iszero(ok), iszero(signer)) {
                    failure := 1
                    break
                }
                if iszero(gt(signer, last)) {
                    failure := 2
                    break
                }
                for {} and(lt(seat, members), lt(calldataload(add(committee.offset, mul(seat, 32))), signer)) {} {
                    seat := add(seat, 1)
                }
                if or(eq(seat, members), iszero(eq(calldataload(add(committee.offset, mul(seat, 32))), signer))) {
                    failure := 3
                    break
                }
                last := signer
            }
        }
        if (failure == 1) revert BadSignature();
        if (failure == 2) revert AttestationsNotAscending(index);
        if (failure == 3) revert NotCommitteeMember(index, signer);
    }

    function _recordSeed(uint64 epoch) private {
        if (epochSeed[epoch + 2] == bytes32(0)) {
            epochSeed[epoch + 2] = keccak256(abi.encode(block.prevrandao, epoch + 2));
        }
    }

    function _slash(address validator, uint8 offence, uint64 slot, uint32 index) private {
        Validator storage v = validators[validator];
        if (v.withdrawal == address(0)) revert UnknownValidator(validator);
        bytes32 key = keccak256(abi.encode(offence, validator, slot, index));
        if (punished[key]) revert AlreadyPunished();
        punished[key] = true;
        uint256 amount = v.stake / 2;
        if (amount == 0) amount = v.stake;
        v.stake -= uint128(amount);
        v.slashed = true;
        uint64 at = epochOf(currentSlot()) + 2;
        if (at < v.exitEpoch) v.exitEpoch = at;
        uint256 reward = (amount * REPORTER_REWARD_PERCENT) / 100;
        emit ValidatorSlashed(validator, offence, slot, amount, msg.sender, reward);
        if (reward > 0) {
            (bool ok,) = msg.sender.call{value: reward}("");
            require(ok, "Rollup: reward transfer failed");
        }
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    /// ecrecover over r ‖ s ‖ v with v in {27, 28} and low s, as the nodes sign.
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address signer) {
        if (sig.length != 65) revert BadSignature();
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert BadSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert BadSignature();
    }

    function _sort(address[] memory a) private pure {
        // Insertion sort: committees are small (<= 1024) and mostly sorted.
        for (uint256 i = 1; i < a.length; i++) {
            address x = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    }
}
