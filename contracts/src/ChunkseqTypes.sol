// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// The protocol structures of chunkseq, declared once. The Rust crate
// `chunkseq-primitives` generates its types from this very file with alloy's
// `sol!`, so the wire encoding, the L1 calldata and the EIP-712 digests that the
// node and the rollup contract compute cannot drift apart.
//
// Conventions:
// - a block's hash is keccak256(abi.encode(BlockHeader));
// - a checkpoint header's hash is keccak256(abi.encode(CheckpointHeader));
// - `attestations` is the concatenation of 65-byte signatures (r, s, v with
//   v in {27, 28}), ordered by strictly ascending signer address;
// - timestamps are unix milliseconds.

/// The header of an L2 block; its hash identifies the block.
struct BlockHeader {
    /// Height of the block in the L2 chain (genesis is 0).
    uint64 number;
    /// Slot whose proposer built the block.
    uint64 slot;
    /// Position of the block within its slot, from 0 to chunks_per_slot - 1.
    uint32 index;
    /// Hash of the previous L2 block.
    bytes32 parentHash;
    /// Unix time in milliseconds at which the block was closed.
    uint64 timestamp;
    /// Receiver of the priority fees of the block.
    address coinbase;
    /// Root of the authenticated world state after the block.
    bytes32 stateRoot;
    /// Root over the block's transactions.
    bytes32 txRoot;
    /// keccak256 of the block's body as published on L1: the ABI encoding of
    /// its EIP-2718 transactions as `bytes[]`. The committee attests the
    /// header, so it vouches for the exact bytes L1 must carry.
    bytes32 bodyHash;
    /// Root over the block's receipts.
    bytes32 receiptsRoot;
    /// Gas used by all transactions of the block.
    uint64 gasUsed;
    /// Gas limit of the block.
    uint64 gasLimit;
    /// Number of transactions in the block.
    uint32 txCount;
    /// EIP-1559 base fee of the block (wei per gas), from its parent's.
    uint64 baseFee;
    /// Price of a byte of checkpoint data (wei) the block's data fees use.
    uint64 dataPrice;
}

/// The running header of a slot's checkpoint: it commits to the parent
/// checkpoint and to the hashes of the slot's blocks so far.
struct CheckpointHeader {
    /// Slot of the checkpoint.
    uint64 slot;
    /// Hash of the previous checkpoint's final header (zero before the first).
    bytes32 parentCheckpointHash;
    /// Number of blocks the header covers.
    uint32 blockCount;
    /// Chained hash of the covered blocks: h0 = 0, h(k+1) = keccak256(abi.encode(h(k), blockHash(k))).
    bytes32 blocksHash;
}

/// Signed by the slot's proposer when it broadcasts a block for re-execution.
struct BlockProposal {
    /// Slot of the block.
    uint64 slot;
    /// Index of the block within the slot.
    uint32 index;
    /// Hash of the block's header.
    bytes32 blockHash;
}

/// Signed by a committee member that re-executed a block and found it valid.
struct Attestation {
    /// Slot of the block.
    uint64 slot;
    /// Index of the block within the slot.
    uint32 index;
    /// Hash of the block's header.
    bytes32 blockHash;
    /// What L1 must carry for blocks 0..=index: keccak256 of the
    /// concatenated EIP-4844 versioned hashes of the blobs that encode them
    /// (`abi.encodePacked(bytes32[])`), recomputed by the attester from the
    /// bodies it re-executed; zero on a chain whose data mode is calldata.
    bytes32 dataHash;
}

/// Signed by the proposer when an attested block joins the provisional chain.
struct ProvisionalBlock {
    /// Slot of the block.
    uint64 slot;
    /// Index of the block within the slot.
    uint32 index;
    /// Hash of the block's header.
    bytes32 blockHash;
    /// Hash of the slot's checkpoint header covering blocks 0..=index.
    bytes32 checkpointHeaderHash;
    /// keccak256 of the block's concatenated attestation signatures.
    bytes32 attestationsHash;
}

/// Signed by the proposer to close its slot and publish it to L1.
struct Checkpoint {
    /// Slot being closed.
    uint64 slot;
    /// Hash of the slot's final checkpoint header.
    bytes32 checkpointHeaderHash;
    /// Number of blocks in the checkpoint.
    uint32 blockCount;
    /// Hash of the checkpoint's last block (zero for an empty checkpoint).
    bytes32 lastBlockHash;
}

/// Gossip message carrying a block to the committee for re-execution.
struct ProposalMessage {
    /// The block's header.
    BlockHeader header;
    /// The block's EIP-2718 encoded transactions, in order.
    bytes[] transactions;
    /// The proposer's signature over the `BlockProposal` for the header.
    bytes signature;
}

/// Gossip message carrying one committee member's attestation.
struct AttestationMessage {
    /// What the attester signed.
    Attestation attestation;
    /// The attester's signature.
    bytes signature;
}

/// Gossip message announcing a block as provisional. The transactions travel
/// with the proposal; the header's txRoot binds them.
struct ProvisionalBlockMessage {
    /// The block's header.
    BlockHeader header;
    /// The slot's checkpoint header covering blocks 0..=header.index.
    CheckpointHeader checkpointHeader;
    /// The data hash the attestations sign (see `Attestation.dataHash`).
    bytes32 dataHash;
    /// At least threshold committee signatures, by ascending signer address.
    bytes attestations;
    /// The proposer's signature over the `ProvisionalBlock`.
    bytes proposerSignature;
}

/// Proof that a proposer signed two different blocks for one (slot, index).
struct ProposalEquivocation {
    /// The first signed proposal.
    BlockProposal first;
    /// Signature over `first`.
    bytes firstSignature;
    /// The second, conflicting, signed proposal.
    BlockProposal second;
    /// Signature over `second`.
    bytes secondSignature;
}

/// Proof that a validator attested two different blocks, or one block with
/// two different data hashes, for one (slot, index).
struct AttestationEquivocation {
    /// The first signed attestation.
    Attestation first;
    /// Signature over `first`.
    bytes firstSignature;
    /// The second, conflicting, signed attestation.
    Attestation second;
    /// Signature over `second`.
    bytes secondSignature;
}

/// A proposer's provisional-block signature, to be held against the slot's
/// checkpoint on L1: the proposer is slashed when that checkpoint lacks the block.
struct CheckpointOmission {
    /// The signed provisional block.
    ProvisionalBlock provisional;
    /// The proposer's signature over `provisional`.
    bytes signature;
}

/// The consensus-critical chain parameters; the rollup contract stores
/// keccak256(abi.encode(ChainSpecParams)) and nodes refuse a mismatch.
struct ChainSpecParams {
    /// Chain id of the rollup's transactions.
    uint64 chainId;
    /// Chain id of the L1.
    uint64 l1ChainId;
    /// Unix time in seconds at which slot 0 starts.
    uint64 genesisTime;
    /// Slot length in milliseconds.
    uint64 slotDurationMs;
    /// L1 block interval in milliseconds.
    uint64 l1BlockTimeMs;
    /// Number of chunks (and at most blocks) per slot.
    uint32 chunksPerSlot;
    /// Slots per epoch.
    uint32 epochSlots;
    /// Committee size (every validator when fewer).
    uint32 committeeSize;
    /// Gas limit of an L2 block.
    uint64 blockGasLimit;
    /// Maximum number of transactions in an L2 block.
    uint32 blockMaxTxs;
    /// Whether blocks of slot s are built during slot s-1.
    bool staggered;
    /// How long a proposer waits for a block's attestations.
    uint64 attestationTimeoutMs;
    /// Time reserved at slot start to sync the previous checkpoint (non-staggered).
    uint64 syncAllowanceMs;
    /// Time reserved at slot end to publish the checkpoint (non-staggered).
    uint64 publishAllowanceMs;
    /// Time between the last chunk's close and the attestation deadline.
    uint64 attestationMarginMs;
    /// Where a checkpoint's transactions go on L1: 0 calldata, 1 blobs,
    /// 2 either (the proposer picks the cheaper per checkpoint).
    uint8 dataMode;
    /// Most blobs one checkpoint may carry (1 to 6; ignored in calldata mode).
    uint32 maxBlobsPerCheckpoint;
    /// Most bytes of block bodies a checkpoint may carry as calldata.
    uint64 maxCalldataBytes;
    /// Lowest and genesis L2 base fee (wei per gas).
    uint64 minBaseFee;
    /// Block gas target is the gas limit divided by this.
    uint32 baseFeeElasticity;
    /// The base fee moves by at most 1/this per block.
    uint32 baseFeeChangeDenominator;
    /// Lowest price of a byte of checkpoint data (wei).
    uint64 minDataPrice;
    /// Checkpoint bytes per million bytes of encoded transaction.
    uint32 dataCompressionPpm;
}
