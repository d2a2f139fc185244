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
/// Every rule nodes rely on for L1 lives here. `docs/security.md` gives the
/// threat model each rule answers.
contract Rollup {
    // ---------------------------------------------------------------- types

    /// @notice A registered validator. The entry exists from `register` until
    /// `release`; its epochs live in its `Member` entry.
    struct Validator {
        /// Who may exit and who receives the stake at release (never zero).
        address withdrawal;
        /// Stake left, in wei.
        uint128 stake;
        /// Whether it was slashed at least once.
        bool slashed;
        /// 1-based position in `members`.
        uint32 position;
    }

    /// @notice One entry of the bounded validator set, packed in one storage
    /// slot so that computing a committee reads one slot per entry.
    struct Member {
        address validator;
        /// First epoch the validator may sit on a committee.
        uint48 activationEpoch;
        /// First epoch it no longer may (`NEVER` while it has not exited).
        uint48 exitEpoch;
    }

    /// @notice The last accepted checkpoint; its header hash lives in
    /// `recentCheckpoints`.
    struct Tip {
        uint64 slot;
        uint64 lastBlockNumber;
        bool hasCheckpoint;
        /// Whether a rescuer, not the proposer, published it.
        bool rescued;
        /// Blocks in it.
        uint32 blockCount;
        bytes32 lastBlockHash;
    }

    // ------------------------------------------------------------ constants

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint64 slot,bytes32 checkpointHeaderHash,uint32 blockCount,bytes32 lastBlockHash)");
    bytes32 private constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint64 slot,uint32 index,bytes32 blockHash,bytes32 dataHash)");
    bytes32 private constant PROPOSAL_TYPEHASH = keccak256("BlockProposal(uint64 slot,uint32 index,bytes32 blockHash)");
    bytes32 private constant PROVISIONAL_TYPEHASH = keccak256(
        "ProvisionalBlock(uint64 slot,uint32 index,bytes32 blockHash,bytes32 checkpointHeaderHash,bytes32 attestationsHash)"
    );
    /// Half of the secp256k1 order: signatures with a higher s are refused.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// Marks a ring entry that holds no checkpoint (never a keccak256 output
    /// anyone can find).
    bytes32 private constant EMPTY_RING_ENTRY = bytes32(uint256(1));
    uint48 private constant NEVER = type(uint48).max;

    /// @notice Epochs between a set change (register, exit, slash) and the
    /// first committee it affects. An epoch's seed is drawn during the epoch
    /// two before it at the earliest, so a whole epoch separates the last
    /// change that affects a committee from its seed (L1's randomness is
    /// public one block ahead, and no one can predict it an epoch ahead).
    uint64 public constant SET_CHANGE_DELAY_EPOCHS = 4;
    /// @notice Epochs between an exit taking effect and the release of the
    /// stake. Evidence of an offence is accepted as long as the offender
    /// cannot have left: for this many epochs after the offence's epoch.
    uint64 public constant WITHDRAWAL_DELAY_EPOCHS = 4;
    /// @notice Most validators the set holds (registered and not released),
    /// so computing a committee has a fixed gas bound.
    uint256 public constant MAX_VALIDATORS = 1024;
    /// @notice L1 blocks between the last set change before genesis and the
    /// first committee seed. Before genesis set changes take effect at once;
    /// the gap keeps the proposer of the block holding the last of them from
    /// knowing the seed (L1 randomness is public one block ahead).
    uint256 public constant GENESIS_SEED_GAP_BLOCKS = 8;
    /// @notice Checkpoint header hashes kept by slot (a ring), against which
    /// omission evidence is proven.
    uint256 public constant RECENT_CHECKPOINTS = 256;
    /// Data modes (`ChainSpecParams.dataMode`).
    uint8 public constant DATA_CALLDATA = 0;
    uint8 public constant DATA_BLOBS = 1;
    uint8 public constant DATA_EITHER = 2;
    /// Most blobs one transaction carries (EIP-7594, from Osaka on).
    uint256 public constant MAX_BLOBS_PER_TX = 6;
    /// @notice Share of a slashed stake paid to the first submitter, in
    /// percent (none when the offender reports itself); the rest is burned.
    uint256 public constant REPORTER_REWARD_PERCENT = 10;
    /// @notice Where burned stake goes: no key is known for it (and, unlike
    /// the zero address, no development chain pays fees to it).
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    // -------------------------------------------------------------- storage

    /// @notice keccak256(abi.encode(ChainSpecParams)) of the deployment.
    bytes32 public immutable chainSpecHash;
    uint64 public immutable genesisTime;
    uint64 public immutable slotDurationMs;
    uint32 public immutable chunksPerSlot;
    uint32 public immutable epochSlots;
    uint32 public immutable committeeSize;
    uint8 public immutable dataMode;
    uint32 public immutable maxBlobsPerCheckpoint;
    /// @notice How long after its slot ends a slot's attested chain may be
    /// rescued (`rescueCheckpoint`), in milliseconds: half the slot's L1
    /// blocks when slots are staggered, the sync allowance otherwise (at
    /// least one L1 block). Nothing lands on top of a rescue until its
    /// window closes, so that a longer rescue can still replace it.
    uint64 public immutable rescueWindowMs;
    /// @notice Smallest stake a validator registers with (never zero).
    uint256 public immutable minStake;
    uint256 private immutable deployChainId;
    bytes32 private immutable deployDomainSeparator;

    mapping(address => Validator) public validators;
    /// @notice The validator set: registered and not yet released.
    Member[] public members;
    Tip private tip_;
    /// @notice Header hash of the checkpoint of slot s at `s % RECENT_CHECKPOINTS`.
    bytes32[RECENT_CHECKPOINTS] private recentCheckpoints;
    /// @notice Seed of each recorded epoch's committee.
    mapping(uint64 => bytes32) public epochSeed;
    /// @notice keccak256 of the sorted committee of each recorded epoch.
    mapping(uint64 => bytes32) public committeeHash;
    /// @notice Offences already punished, by keccak256(kind, validator, slot, index).
    mapping(bytes32 => bool) public punished;
    /// @notice Released stake waiting for `withdraw`, by withdrawal address.
    mapping(address => uint256) public claimable;
    /// @notice Wei of slashed stake burned so far.
    uint256 public totalBurned;
    /// @notice L1 block of the last set change made before genesis.
    uint256 public genesisSetBlock;
    /// @notice The tip an accepted rescue extends, kept so that a longer
    /// rescue of the same slot can replace it within the rescue window.
    Tip private rescueParent_;
    /// @notice Slots whose checkpoint a rescuer published: the proposer
    /// signed no checkpoint there, so no omission can be proven against it.
    mapping(uint64 => bool) public rescuedSlot;

    // --------------------------------------------------------------- events

    event ValidatorRegistered(address indexed validator, address withdrawal, uint256 stake, uint64 activationEpoch);
    event ValidatorExited(address indexed validator, uint64 exitEpoch);
    event ValidatorReleased(address indexed validator, address withdrawal, uint256 amount);
    event CommitteeRecorded(uint64 indexed epoch, bytes32 seed, bytes32 committeeHash, uint256 size);
    /// @notice A checkpoint was accepted. Its headers, and in calldata mode
    /// its bodies, are the `proposeCheckpoint` (or `rescueCheckpoint`) input
    /// of the transaction that emitted the log; in blob mode its bodies are in the blobs with
    /// `blobHashes` (empty when the data is in calldata). A node rebuilds
    /// the checkpointed chain from those, checking the headers against
    /// `headerHash` (with `parentCheckpointHash`). The log does not repeat
    /// them: at 8 gas a byte, re-emitting 8 headers cost 27,000 gas, and
    /// calldata bodies as much again as their calldata.
    event CheckpointAccepted(
        uint64 indexed slot,
        bytes32 headerHash,
        bytes32 parentCheckpointHash,
        bytes32[] blobHashes,
        address proposer,
        address rescuer
    );
    event ValidatorSlashed(
        address indexed validator, uint8 offence, uint64 slot, uint256 amount, address reporter, uint256 reward
    );

    // --------------------------------------------------------------- errors

    error WrongL1Chain(uint256 expected, uint256 actual);
    error InvalidSpec();
    error InvalidStake();
    error ZeroWithdrawalAddress();
    error AlreadyRegistered(address validator);
    error StakeTooLow(uint256 sent, uint256 minimum);
    error ValidatorSetFull(uint256 max);
    error NotWithdrawalAddress();
    error NotExited();
    error WithdrawalTooEarly(uint64 allowedFromEpoch);
    error NothingToWithdraw();
    error BeforeGenesis();
    error NotInSlot(uint64 slot, uint64 currentSlot);
    error SlotNotAfterTip(uint64 slot, uint64 tipSlot);
    error NoBlocks();
    error NotDirectCall();
    error TooManyBlocks(uint256 count, uint256 max);
    error LengthMismatch();
    error WrongBlockPosition(uint256 index);
    error WrongBlockParent(uint256 index);
    error WrongBody(uint256 index);
    error DataModeNotAllowed(uint8 dataMode);
    error NoBlobs();
    error TooManyBlobs(uint256 count, uint256 max);
    error MissingBlob(uint256 index, bytes32 expected);
    error WrongBlob(uint256 index, bytes32 expected, bytes32 actual);
    error ExtraBlob(uint256 index, bytes32 actual);
    error WrongProposerSignature(address recovered, address proposer);
    error NotEnoughAttestations(uint256 index, uint256 count, uint256 threshold);
    error AttestationsNotAscending(uint256 index);
    error NotCommitteeMember(uint256 index, address signer);
    error WrongCommittee(uint64 epoch);
    error CommitteeNotFixed(uint64 epoch);
    error CommitteeNotRecorded(uint64 epoch);
    error CommitteeExpired(uint64 epoch);
    error AlreadyRecorded(uint64 epoch);
    error SeedTooEarly(uint256 fromBlock);
    error BadSignature();
    error NoValidators();
    error NotAnOffence();
    error AlreadyPunished();
    error EvidenceExpired(uint64 slot);
    error UnknownValidator(address who);
    error WrongCheckpointBlocks();
    error RescueTooEarly(uint64 slot, uint64 opensAt);
    error RescueWindowClosed(uint64 slot, uint64 closedAt);
    error RescueWindowOpen(uint64 slot, uint64 closesAt);
    error SlotAlreadyCheckpointed(uint64 slot);
    error RescueNotLonger(uint64 slot, uint256 count, uint256 accepted);
    error RescueDoesNotExtend(uint64 slot);
    error WrongProvisionalSignature(address recovered, address proposer);
    error RescuedCheckpoint(uint64 slot);

    // --------------------------------------------------------- construction

    /// @param spec the consensus parameters; their hash is stored.
    /// @param l2GenesisHash hash of the L2 genesis block, the first parent.
    /// @param minimumStake smallest stake accepted at registration (> 0).
    constructor(ChainSpecParams memory spec, bytes32 l2GenesisHash, uint256 minimumStake) {
        if (spec.l1ChainId != block.chainid) revert WrongL1Chain(spec.l1ChainId, block.chainid);
        if (spec.slotDurationMs == 0 || spec.slotDurationMs % 1000 != 0 || spec.chunksPerSlot == 0) {
            revert InvalidSpec();
        }
        if (spec.epochSlots == 0 || spec.committeeSize == 0 || spec.committeeSize > MAX_VALIDATORS) {
            revert InvalidSpec();
        }
        if (spec.dataMode > DATA_EITHER) revert InvalidSpec();
        if (spec.dataMode != DATA_CALLDATA) {
            if (spec.maxBlobsPerCheckpoint == 0 || spec.maxBlobsPerCheckpoint > MAX_BLOBS_PER_TX) revert InvalidSpec();
        }
        if (minimumStake == 0 || minimumStake > type(uint128).max) revert InvalidStake();
        chainSpecHash = keccak256(abi.encode(spec));
        deployChainId = block.chainid;
        deployDomainSeparator = _domainSeparatorFor(block.chainid);
        genesisTime = spec.genesisTime;
        slotDurationMs = spec.slotDurationMs;
        chunksPerSlot = spec.chunksPerSlot;
        epochSlots = spec.epochSlots;
        committeeSize = spec.committeeSize;
        dataMode = spec.dataMode;
        maxBlobsPerCheckpoint = spec.maxBlobsPerCheckpoint;
        rescueWindowMs = _rescueWindow(spec);
        minStake = minimumStake;
        tip_.lastBlockHash = l2GenesisHash;
        // Every ring entry starts non-zero, so recording a checkpoint always
        // rewrites a used storage slot (5,000 gas instead of 22,100).
        for (uint256 i = 0; i < RECENT_CHECKPOINTS; i++) {
            recentCheckpoints[i] = EMPTY_RING_ENTRY;
        }
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

    /// @notice The epoch at the current L1 block (0 before genesis).
    function currentEpoch() public view returns (uint64) {
        return epochOf(currentSlot());
    }

    /// @notice The EIP-712 domain separator of every chunkseq signature. It
    /// follows the L1's chain id, so signatures made for one chain are not
    /// valid on a fork that changed its id.
    function domainSeparator() public view returns (bytes32) {
        if (block.chainid == deployChainId) return deployDomainSeparator;
        return _domainSeparatorFor(block.chainid);
    }

    // ------------------------------------------------------------ validators

    /// @notice Registers the caller (its signing address) as a validator with
    /// `msg.value` stake. Before genesis it is active at once; later, from
    /// `SET_CHANGE_DELAY_EPOCHS` epochs on, so no committee whose seed may
    /// already be known changes.
    function register(address withdrawal) external payable {
        address validator = msg.sender;
        if (withdrawal == address(0)) revert ZeroWithdrawalAddress();
        if (validators[validator].withdrawal != address(0)) revert AlreadyRegistered(validator);
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        if (msg.value > type(uint128).max) revert InvalidStake();
        if (members.length >= MAX_VALIDATORS) revert ValidatorSetFull(MAX_VALIDATORS);
        uint64 activation = _setChangeEpoch();
        members.push(Member({validator: validator, activationEpoch: uint48(activation), exitEpoch: NEVER}));
        validators[validator] = Validator({
            withdrawal: withdrawal,
            stake: uint128(msg.value),
            slashed: false,
            position: uint32(members.length)
        });
        emit ValidatorRegistered(validator, withdrawal, msg.value, activation);
    }

    /// @notice Leaves the validator set `SET_CHANGE_DELAY_EPOCHS` from now
    /// (at once before genesis).
    function exit(address validator) external {
        Validator storage v = validators[validator];
        if (v.withdrawal == address(0) || v.withdrawal != msg.sender) revert NotWithdrawalAddress();
        emit ValidatorExited(validator, _scheduleExit(v));
    }

    /// @notice Takes an exited validator out of the set once
    /// `WITHDRAWAL_DELAY_EPOCHS` have passed since its exit took effect; its
    /// stake becomes claimable by its withdrawal address. Anyone may call it,
    /// so an abandoned entry cannot hold a seat of the bounded set forever.
    function release(address validator) external {
        Validator storage v = validators[validator];
        if (v.withdrawal == address(0)) revert UnknownValidator(validator);
        uint256 position = v.position - 1;
        uint48 exitEpoch = members[position].exitEpoch;
        if (exitEpoch == NEVER) revert NotExited();
        uint64 allowed = uint64(exitEpoch) + WITHDRAWAL_DELAY_EPOCHS;
        if (block.timestamp < genesisTime || currentEpoch() < allowed) revert WithdrawalTooEarly(allowed);
        address withdrawal = v.withdrawal;
        uint256 amount = v.stake;
        Member memory last = members[members.length - 1];
        members[position] = last;
        validators[last.validator].position = uint32(position + 1);
        members.pop();
        delete validators[validator];
        claimable[withdrawal] += amount;
        emit ValidatorReleased(validator, withdrawal, amount);
    }

    /// @notice Pays the caller the stake released to it.
    function withdraw() external {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        claimable[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "Rollup: withdrawal transfer failed");
    }

    /// @notice Number of validators in the set (registered, not released).
    function validatorCount() external view returns (uint256) {
        return members.length;
    }

    /// @notice Everything nodes need about a validator (zeros when unknown).
    function standing(address validator)
        external
        view
        returns (address withdrawal, uint64 activationEpoch, uint64 exitEpoch, uint128 stake, bool slashed)
    {
        Validator storage v = validators[validator];
        if (v.withdrawal == address(0)) return (address(0), 0, 0, 0, false);
        Member storage m = members[v.position - 1];
        return (v.withdrawal, m.activationEpoch, m.exitEpoch, v.stake, v.slashed);
    }

    // ------------------------------------------------------------ committees

    /// @notice Records the seed and committee of `epoch`, and of every
    /// unrecorded epoch between the current one and it. A seed is the L1
    /// block's randomness at the first recording, which may happen from two
    /// epochs before the epoch (when its validator set is final) until the
    /// epoch itself, from genesis on. Anyone may call it (nodes record the
    /// epoch two ahead at each epoch's start); every checkpoint records the
    /// next two epochs when they are not yet.
    function recordCommittee(uint64 epoch) external returns (bytes32 h) {
        if (block.timestamp < genesisTime) revert BeforeGenesis();
        uint64 cur = currentEpoch();
        if (epoch > cur + 2) revert CommitteeNotFixed(epoch);
        if (epoch < cur) revert CommitteeExpired(epoch);
        bool recorded = false;
        for (uint64 e = cur; e <= epoch; e++) {
            if (committeeHash[e] == bytes32(0)) {
                _record(e);
                recorded = true;
            }
        }
        if (!recorded) revert AlreadyRecorded(epoch);
        h = committeeHash[epoch];
    }

    /// @notice The committee of a recorded `epoch`, sorted by address: every
    /// active validator when there are at most `committeeSize`, otherwise
    /// the `committeeSize` validators with the lowest keccak256(seed, address).
    function committeeOf(uint64 epoch) public view returns (address[] memory members_) {
        _servable(epoch);
        return _committee(epoch, epochSeed[epoch]);
    }

    /// @notice Committee and proposer of any slot of a recorded, recent epoch.
    function duties(uint64 slot) external view returns (address[] memory committee, address proposer) {
        uint64 epoch = epochOf(slot);
        _servable(epoch);
        bytes32 seed = epochSeed[epoch];
        committee = _committee(epoch, seed);
        if (committee.length == 0) revert NoValidators();
        proposer = committee[_proposerIndex(seed, slot, committee.length)];
    }

    /// @notice Attestations a block of a committee of `size` needs.
    function threshold(uint256 size) public pure returns (uint256) {
        return (2 * size) / 3 + 1;
    }

    // ----------------------------------------------------------- checkpoints

    /// @notice The last accepted checkpoint.
    function tip()
        external
        view
        returns (uint64 slot, uint64 lastBlockNumber, bool hasCheckpoint, bytes32 headerHash, bytes32 lastBlockHash)
    {
        Tip memory t = tip_;
        return (t.slot, t.lastBlockNumber, t.hasCheckpoint, _tipHeaderHash(t), t.lastBlockHash);
    }

    /// @notice Publishes the blocks of `slot` as one checkpoint.
    /// @param slot the slot; the call is valid only during it.
    /// @param headers the slot's blocks, indices 0..k-1, chained to the tip.
    /// @param bodies calldata mode: each block's transactions, keccak256 of
    ///        each being its header's `bodyHash`; blob mode: empty.
    /// @param blobHashes the versioned hashes of the blobs encoding the
    ///        slot's blocks, which the attestations' dataHash commits to. In
    ///        blob mode the transaction must carry exactly these blobs, in
    ///        order; empty on a calldata-only chain.
    /// @param attestations >= threshold 65-byte committee signatures over
    ///        the last block's Attestation, ascending by signer. They vouch
    ///        for the whole slot: members attest blocks strictly in order.
    /// @param committee the slot's committee sorted by address (checked).
    /// @param signature the proposer's end-of-slot Checkpoint signature.
    /// The call must be a transaction of its own, sent to this contract by a
    /// plain account (no contract in between, no EIP-7702 delegation): nodes
    /// read the headers and calldata bodies from the input of the
    /// transaction that emitted `CheckpointAccepted`, so that input must be
    /// this call. Anyone may send it; its content is signed.
    function proposeCheckpoint(
        uint64 slot,
        BlockHeader[] calldata headers,
        bytes[] calldata bodies,
        bytes32[] calldata blobHashes,
        bytes calldata attestations,
        address[] calldata committee,
        bytes calldata signature
    ) external {
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall();
        Tip memory t = tip_;
        {
            uint64 now_ = currentSlot();
            if (block.timestamp < genesisTime || slot != now_) revert NotInSlot(slot, now_);
        }
        if (t.hasCheckpoint && slot <= t.slot) revert SlotNotAfterTip(slot, t.slot);
        // A longer rescue may still replace a rescue in its window: nothing
        // lands on top of one until the window closes.
        if (t.hasCheckpoint && t.rescued) {
            uint64 closes = _slotStart(t.slot + 1) + rescueWindowMs / 1000;
            if (block.timestamp < closes) revert RescueWindowOpen(t.slot, closes);
        }
        Verified memory v = _verifyCheckpoint(slot, headers, bodies, blobHashes, attestations, committee, t);
        bytes32 digest = _digest(
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, slot, v.headerHash, uint32(headers.length), v.lastBlockHash))
        );
        address signer = _recover(digest, signature);
        if (signer != v.proposer) revert WrongProposerSignature(signer, v.proposer);
        _accept(slot, headers.length, v, bodies.length == 0 ? blobHashes : new bytes32[](0), address(0));
    }

    /// @notice Publishes the attested chain of a slot whose proposer did not
    /// publish it, once the proposer's own window has closed: during the
    /// first `rescueWindowMs` of the next slot. Anyone may send it. The
    /// proof is the proposer's `ProvisionalBlock` signature on the last
    /// rescued block, whose running checkpoint header commits to every
    /// block before it, over the very attestations given here (at least a
    /// threshold of the committee, on that block and its data hash).
    /// Within the window, a longer rescue that extends the accepted one
    /// replaces it; nothing else can replace a rescue. The parameters are
    /// those of `proposeCheckpoint`, with `provisionalSignature` (the
    /// proposer's signature over the last block's `ProvisionalBlock`) in
    /// place of the end-of-slot signature. The omission offence never
    /// applies to a rescued slot.
    function rescueCheckpoint(
        uint64 slot,
        BlockHeader[] calldata headers,
        bytes[] calldata bodies,
        bytes32[] calldata blobHashes,
        bytes calldata attestations,
        address[] calldata committee,
        bytes calldata provisionalSignature
    ) external {
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall();
        {
            uint64 opens = _slotStart(slot + 1);
            uint64 closes = opens + rescueWindowMs / 1000;
            if (block.timestamp < opens) revert RescueTooEarly(slot, opens);
            if (block.timestamp >= closes) revert RescueWindowClosed(slot, closes);
        }
        Tip memory t = tip_;
        if (t.hasCheckpoint && t.slot == slot) {
            if (!t.rescued) revert SlotAlreadyCheckpointed(slot);
            uint256 accepted = t.blockCount;
            if (headers.length <= accepted) revert RescueNotLonger(slot, headers.length, accepted);
            // Chained from the same parent, it holds the accepted blocks
            // exactly when it holds the accepted last block at its index.
            if (keccak256(abi.encode(headers[accepted - 1])) != t.lastBlockHash) revert RescueDoesNotExtend(slot);
            t = rescueParent_;
        } else {
            if (t.hasCheckpoint && slot <= t.slot) revert SlotNotAfterTip(slot, t.slot);
            rescueParent_ = t;
        }
        Verified memory v = _verifyCheckpoint(slot, headers, bodies, blobHashes, attestations, committee, t);
        bytes32 digest = _digest(
            keccak256(
                abi.encode(
                    PROVISIONAL_TYPEHASH,
                    slot,
                    uint32(headers.length - 1),
                    v.lastBlockHash,
                    v.headerHash,
                    keccak256(attestations)
                )
            )
        );
        address signer = _recover(digest, provisionalSignature);
        if (signer != v.proposer) revert WrongProvisionalSignature(signer, v.proposer);
        rescuedSlot[slot] = true;
        _accept(slot, headers.length, v, bodies.length == 0 ? blobHashes : new bytes32[](0), msg.sender);
    }

    /// What `_verifyCheckpoint` established about a checkpoint.
    struct Verified {
        bytes32 headerHash;
        bytes32 parentCheckpoint;
        bytes32 lastBlockHash;
        uint64 lastBlockNumber;
        uint64 epoch;
        address proposer;
    }

    /// The checks a checkpoint passes whoever publishes it: block count,
    /// committee, blocks chained on `t`, data, and threshold attestations on
    /// the last block. Returns its header hash and the slot's proposer.
    function _verifyCheckpoint(
        uint64 slot,
        BlockHeader[] calldata headers,
        bytes[] calldata bodies,
        bytes32[] calldata blobHashes,
        bytes calldata attestations,
        address[] calldata committee,
        Tip memory t
    ) private view returns (Verified memory v) {
        uint256 count = headers.length;
        if (count == 0) revert NoBlocks();
        if (count > chunksPerSlot) revert TooManyBlocks(count, chunksPerSlot);
        v.epoch = epochOf(slot);
        _checkCommittee(v.epoch, committee);
        bytes32 blocksHash;
        (blocksHash, v.lastBlockHash, v.lastBlockNumber) =
            _chainBlocks(slot, headers, bodies, t.lastBlockHash, t.lastBlockNumber);
        // One attestation set, on the last block, vouches for the whole
        // slot: an honest member attests block i only after re-executing
        // blocks 0..i in order, and each block commits to its parent.
        {
            bytes32 dataHash = _checkData(bodies, blobHashes);
            _checkAttestations(
                count - 1,
                _digest(
                    keccak256(abi.encode(ATTESTATION_TYPEHASH, slot, uint32(count - 1), v.lastBlockHash, dataHash))
                ),
                attestations,
                committee,
                threshold(committee.length)
            );
        }
        v.parentCheckpoint = _tipHeaderHash(t);
        v.headerHash = keccak256(
            abi.encode(
                CheckpointHeader({
                    slot: slot,
                    parentCheckpointHash: v.parentCheckpoint,
                    blockCount: uint32(count),
                    blocksHash: blocksHash
                })
            )
        );
        v.proposer = committee[_proposerIndex(epochSeed[v.epoch], slot, committee.length)];
    }

    /// Makes a verified checkpoint the tip and records the next committees.
    function _accept(uint64 slot, uint256 count, Verified memory v, bytes32[] memory logged, address rescuer)
        private
    {
        tip_ = Tip({
            slot: slot,
            lastBlockNumber: v.lastBlockNumber,
            hasCheckpoint: true,
            rescued: rescuer != address(0),
            blockCount: uint32(count),
            lastBlockHash: v.lastBlockHash
        });
        recentCheckpoints[slot % RECENT_CHECKPOINTS] = v.headerHash;
        if (committeeHash[v.epoch + 1] == bytes32(0)) _record(v.epoch + 1);
        if (committeeHash[v.epoch + 2] == bytes32(0)) _record(v.epoch + 2);
        emit CheckpointAccepted(slot, v.headerHash, v.parentCheckpoint, logged, v.proposer, rescuer);
    }

    // --------------------------------------------------------------- slashing

    /// @notice Slashes a proposer that signed two proposals for one (slot, index).
    /// `committee` is the slot's committee sorted by address (checked), from
    /// which the proposer is derived without recomputing the committee.
    function slashProposalEquivocation(ProposalEquivocation calldata e, address[] calldata committee) external {
        BlockProposal calldata a = e.first;
        BlockProposal calldata b = e.second;
        if (a.slot != b.slot || a.index != b.index || a.blockHash == b.blockHash) revert NotAnOffence();
        _checkEvidenceAge(a.slot);
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
        if (a.slot != b.slot || a.index != b.index) revert NotAnOffence();
        if (a.blockHash == b.blockHash && a.dataHash == b.dataHash) revert NotAnOffence();
        _checkEvidenceAge(a.slot);
        address s1 = _recover(
            _digest(keccak256(abi.encode(ATTESTATION_TYPEHASH, a.slot, a.index, a.blockHash, a.dataHash))),
            e.firstSignature
        );
        address s2 = _recover(
            _digest(keccak256(abi.encode(ATTESTATION_TYPEHASH, b.slot, b.index, b.blockHash, b.dataHash))),
            e.secondSignature
        );
        if (s1 != s2) revert NotAnOffence();
        _slash(s1, 3, a.slot, a.index);
    }

    /// @notice Slashes a proposer whose checkpoint lacks a block it announced
    /// as provisional, once per (proposer, slot). The proof rebuilds the
    /// slot's checkpoint header from its block hashes and parent and matches
    /// it against the header recorded for that slot, so it holds whatever
    /// landed since, for `RECENT_CHECKPOINTS` slots.
    function slashCheckpointOmission(
        CheckpointOmission calldata e,
        bytes32[] calldata blockHashes,
        bytes32 parentCheckpointHash,
        address[] calldata committee
    ) external {
        ProvisionalBlock calldata p = e.provisional;
        _checkEvidenceAge(p.slot);
        if (rescuedSlot[p.slot]) revert RescuedCheckpoint(p.slot);
        if (uint256(p.slot) + RECENT_CHECKPOINTS <= currentSlot()) revert EvidenceExpired(p.slot);
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
        if (recentCheckpoints[p.slot % RECENT_CHECKPOINTS] != h) revert WrongCheckpointBlocks();
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
        _slash(signer, 2, p.slot, 0);
    }

    // -------------------------------------------------------------- internal

    function _domainSeparatorFor(uint256 chainId) private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("chunkseq"), keccak256("1"), chainId, address(this)));
    }

    /// The first epoch a set change made now affects (noting, before
    /// genesis, the block of the change: seeds wait for it).
    function _setChangeEpoch() private returns (uint64) {
        if (block.timestamp < genesisTime) {
            genesisSetBlock = block.number;
            return 0;
        }
        return currentEpoch() + SET_CHANGE_DELAY_EPOCHS;
    }

    /// Moves the validator's exit to the set-change epoch (never later than
    /// an exit already scheduled); returns the exit epoch.
    function _scheduleExit(Validator storage v) private returns (uint64) {
        Member storage m = members[v.position - 1];
        uint48 at = uint48(_setChangeEpoch());
        if (at < m.exitEpoch) m.exitEpoch = at;
        return m.exitEpoch;
    }

    /// Start of `slot`, in L1 seconds.
    function _slotStart(uint64 slot) private view returns (uint64) {
        return genesisTime + uint64((uint256(slot) * slotDurationMs) / 1000);
    }

    /// The rescue window of `spec` (see `rescueWindowMs`).
    function _rescueWindow(ChainSpecParams memory spec) private pure returns (uint64) {
        uint64 l1 = spec.l1BlockTimeMs;
        if (l1 == 0 || l1 % 1000 != 0 || spec.slotDurationMs % l1 != 0) revert InvalidSpec();
        uint64 blocks = spec.staggered ? spec.slotDurationMs / l1 / 2 : spec.syncAllowanceMs / l1;
        return (blocks == 0 ? 1 : blocks) * l1;
    }

    function _tipHeaderHash(Tip memory t) private view returns (bytes32) {
        return t.hasCheckpoint ? recentCheckpoints[t.slot % RECENT_CHECKPOINTS] : bytes32(0);
    }

    /// Reverts unless duties of `epoch` may be served: recorded, and recent
    /// enough that nobody who sat on it has been released.
    function _servable(uint64 epoch) private view {
        if (committeeHash[epoch] == bytes32(0)) revert CommitteeNotRecorded(epoch);
        if (epoch + WITHDRAWAL_DELAY_EPOCHS < currentEpoch()) revert CommitteeExpired(epoch);
    }

    function _record(uint64 epoch) private returns (bytes32 h) {
        uint256 settled = genesisSetBlock + GENESIS_SEED_GAP_BLOCKS;
        if (block.number < settled) revert SeedTooEarly(settled);
        bytes32 seed = keccak256(abi.encode(block.prevrandao, epoch));
        epochSeed[epoch] = seed;
        address[] memory c = _committee(epoch, seed);
        h = keccak256(abi.encode(c));
        committeeHash[epoch] = h;
        emit CommitteeRecorded(epoch, seed, h, c.length);
    }

    /// The committee of `epoch` under `seed`, sorted by address. Selection by
    /// score does not depend on the order of `members`, so releasing (which
    /// reorders the set) never changes a committee.
    function _committee(uint64 epoch, bytes32 seed) private view returns (address[] memory picked) {
        uint256 n = members.length;
        uint256 k = committeeSize;
        picked = new address[](k);
        uint256[] memory scores = new uint256[](k);
        uint256 size = 0;
        for (uint256 i = 0; i < n; i++) {
            Member memory m = members[i];
            if (m.activationEpoch > epoch || epoch >= m.exitEpoch) continue;
            uint256 score = uint256(keccak256(abi.encode(seed, m.validator)));
            if (size < k) {
                // Grow the max-heap of the k lowest scores.
                uint256 j = size++;
                while (j > 0) {
                    uint256 parent = (j - 1) / 2;
                    if (scores[parent] >= score) break;
                    scores[j] = scores[parent];
                    picked[j] = picked[parent];
                    j = parent;
                }
                scores[j] = score;
                picked[j] = m.validator;
            } else if (score < scores[0]) {
                _siftDown(scores, picked, k, score, m.validator);
            }
        }
        assembly ("memory-safe") {
            mstore(picked, size)
        }
        _sortAddresses(picked);
    }

    /// Replaces the root of the max-heap (scores, picked) of `size` entries
    /// by (score, who) and restores the heap.
    function _siftDown(uint256[] memory scores, address[] memory picked, uint256 size, uint256 score, address who)
        private
        pure
    {
        uint256 j = 0;
        while (true) {
            uint256 child = 2 * j + 1;
            if (child >= size) break;
            if (child + 1 < size && scores[child + 1] > scores[child]) child++;
            if (scores[child] <= score) break;
            scores[j] = scores[child];
            picked[j] = picked[child];
            j = child;
        }
        scores[j] = score;
        picked[j] = who;
    }

    /// Heapsort, ascending: O(n log n) for any committee size.
    function _sortAddresses(address[] memory a) private pure {
        uint256 n = a.length;
        if (n < 2) return;
        for (uint256 start = n / 2; start > 0; start--) {
            _siftAddress(a, start - 1, n);
        }
        for (uint256 end = n - 1; end > 0; end--) {
            (a[0], a[end]) = (a[end], a[0]);
            _siftAddress(a, 0, end);
        }
    }

    function _siftAddress(address[] memory a, uint256 root, uint256 size) private pure {
        while (true) {
            uint256 child = 2 * root + 1;
            if (child >= size) return;
            if (child + 1 < size && a[child + 1] > a[child]) child++;
            if (a[root] >= a[child]) return;
            (a[root], a[child]) = (a[child], a[root]);
            root = child;
        }
    }

    function _proposerIndex(bytes32 seed, uint64 slot, uint256 size) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, slot))) % size;
    }

    /// The proposer of `slot` from its committee, after checking the committee.
    function _proposerIn(uint64 slot, address[] calldata committee) private view returns (address) {
        uint64 epoch = epochOf(slot);
        _checkCommittee(epoch, committee);
        return committee[_proposerIndex(epochSeed[epoch], slot, committee.length)];
    }

    /// Evidence is accepted while the offender cannot have been released.
    function _checkEvidenceAge(uint64 slot) private view {
        if (epochOf(slot) + WITHDRAWAL_DELAY_EPOCHS < currentEpoch()) revert EvidenceExpired(slot);
    }

    function _checkCommittee(uint64 epoch, address[] calldata committee) private view {
        bytes32 expected = committeeHash[epoch];
        if (expected == bytes32(0)) revert CommitteeNotRecorded(epoch);
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

    /// Checks that `headers` extend the tip (`parent`, `number`) as blocks
    /// 0.. of `slot`, and `bodies` (when given) against their bodyHash;
    /// returns the running blocks hash and the last block's hash and number.
    function _chainBlocks(
        uint64 slot,
        BlockHeader[] calldata headers,
        bytes[] calldata bodies,
        bytes32 parent,
        uint64 number
    ) private pure returns (bytes32 blocksHash, bytes32, uint64) {
        bool withBodies = bodies.length != 0;
        if (withBodies && bodies.length != headers.length) revert LengthMismatch();
        for (uint256 i = 0; i < headers.length; i++) {
            BlockHeader calldata h = headers[i];
            if (h.slot != slot || h.index != i) revert WrongBlockPosition(i);
            if (h.parentHash != parent || h.number != number + 1) revert WrongBlockParent(i);
            if (withBodies && keccak256(bodies[i]) != h.bodyHash) revert WrongBody(i);
            bytes32 blockHash = keccak256(abi.encode(h));
            blocksHash = keccak256(abi.encode(blocksHash, blockHash));
            parent = blockHash;
            number = h.number;
        }
        return (blocksHash, parent, number);
    }

    /// Checks where the checkpoint's data is and returns the data hash the
    /// attestations sign. With `bodies`, the data is calldata (each body is
    /// checked against its header's bodyHash by `_chainBlocks`) and no blob may
    /// ride along; without, the transaction's blobs must be exactly
    /// `blobHashes`, in order. `blobHashes` are what the committee vouched
    /// for in both cases (none on a calldata-only chain).
    function _checkData(bytes[] calldata bodies, bytes32[] calldata blobHashes)
        private
        view
        returns (bytes32)
    {
        uint8 mode = dataMode;
        uint256 blobs = blobHashes.length;
        if (bodies.length != 0) {
            if (mode == DATA_BLOBS) revert DataModeNotAllowed(mode);
            bytes32 attached = blobhash(0);
            if (attached != bytes32(0)) revert ExtraBlob(0, attached);
            if (mode == DATA_CALLDATA) {
                if (blobs != 0) revert TooManyBlobs(blobs, 0);
                return bytes32(0);
            }
        } else {
            if (mode == DATA_CALLDATA) revert DataModeNotAllowed(mode);
            if (blobs == 0) revert NoBlobs();
            for (uint256 j = 0; j < blobs; j++) {
                bytes32 actual = blobhash(j);
                if (actual == bytes32(0)) revert MissingBlob(j, blobHashes[j]);
                if (actual != blobHashes[j]) revert WrongBlob(j, blobHashes[j], actual);
            }
            bytes32 extra = blobhash(blobs);
            if (extra != bytes32(0)) revert ExtraBlob(blobs, extra);
        }
        if (blobs > maxBlobsPerCheckpoint) revert TooManyBlobs(blobs, maxBlobsPerCheckpoint);
        // Zero for no hashes, as `chunkseq_primitives::hashing::data_hash`.
        return blobs == 0 ? bytes32(0) : keccak256(abi.encodePacked(blobHashes));
    }

    /// Checks that `sigs` holds at least `needed` signatures over `digest`
    /// (block `index`'s attestation) by committee members, ascending.
    function _checkAttestations(
        uint256 index,
        bytes32 digest,
        bytes calldata sigs,
        address[] calldata committee,
        uint256 needed
    ) private view {
        uint256 n = sigs.length / 65;
        if (sigs.length % 65 != 0 || n < needed) revert NotEnoughAttestations(index, n, needed);
        uint256 failure;
        address signer;
        // The hot loop, in assembly: one ecrecover per attestation straight
        // from calldata (low s, v 27/28, as `_recover` checks), signers
        // strictly ascending, each found by one forward walk of the sorted
        // committee. It stops at the first failure, reported below.
        assembly ("memory-safe") {
            let m := mload(0x40)
            let members_ := committee.length
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
                for {} and(lt(seat, members_), lt(calldataload(add(committee.offset, mul(seat, 32))), signer)) {} {
                    seat := add(seat, 1)
                }
                if or(eq(seat, members_), iszero(eq(calldataload(add(committee.offset, mul(seat, 32))), signer))) {
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
        _scheduleExit(v);
        // Reporting yourself (from the key or its withdrawal address) earns nothing.
        bool selfReport = msg.sender == validator || msg.sender == v.withdrawal;
        uint256 reward = selfReport ? 0 : (amount * REPORTER_REWARD_PERCENT) / 100;
        uint256 burned = amount - reward;
        totalBurned += burned;
        emit ValidatorSlashed(validator, offence, slot, amount, msg.sender, reward);
        if (reward > 0) {
            (bool ok,) = msg.sender.call{value: reward}("");
            require(ok, "Rollup: reward transfer failed");
        }
        if (burned > 0) {
            (bool ok,) = BURN_ADDRESS.call{value: burned}("");
            require(ok, "Rollup: burn failed");
        }
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
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
}
