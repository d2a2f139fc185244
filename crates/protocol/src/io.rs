//! What goes into the protocol core and what comes out of it.

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_execution::RecoveredTx;
use chunkseq_l1::{L1Event, RollupCall, RollupTip};
use chunkseq_primitives::{
    AttestationMessage, BlockHeader, Evidence, Offence, ProposalMessage, ProvisionalBlockMessage,
    UnixMillis,
};
pub use chunkseq_primitives::{StatusDetail, TxStatus};

use crate::sync::{SyncRequest, SyncResponse};

/// A message on one of the gossip topics (`docs/design.md`, section 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gossip {
    /// A signed EIP-2718 transaction.
    Tx(Bytes),
    /// A block proposal, for the committee to re-execute.
    Proposal(ProposalMessage),
    /// A committee member's attestation.
    Attestation(AttestationMessage),
    /// A block announced as provisional.
    Provisional(ProvisionalBlockMessage),
    /// Proof of an offence.
    Evidence(Evidence),
}

impl Gossip {
    /// The topic name.
    pub const fn topic(&self) -> &'static str {
        match self {
            Self::Tx(_) => "tx",
            Self::Proposal(_) => "proposal",
            Self::Attestation(_) => "attestation",
            Self::Provisional(_) => "provisional",
            Self::Evidence(_) => "evidence",
        }
    }
}

/// The committee and proposer of one slot, as the Rollup contract reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duties {
    /// Committee members, sorted by address.
    pub committee: Vec<Address>,
    /// The slot's proposer.
    pub proposer: Address,
}

impl Duties {
    /// Attestations a block needs: `floor(2n/3) + 1`.
    pub fn threshold(&self) -> usize {
        self.committee.len().saturating_mul(2) / 3 + 1
    }

    /// Whether `who` sits on the committee.
    pub fn is_member(&self, who: &Address) -> bool {
        self.committee.binary_search(who).is_ok()
    }
}

/// An input to [`crate::Core::handle`]. Each is moved in once, so the
/// size of the largest variant (an L1 event with a checkpoint) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A timer the core asked for has fired (or the driver just wants the
    /// core to look at the time).
    Tick,
    /// Transactions, in arrival order, all from one origin: the only way a
    /// transaction enters the core. They are checked against one state view.
    /// The core gossips the ones a user sent it that it admits
    /// ([`Output::Publish`]), reports every refusal
    /// ([`Event::TransactionRefused`]), and, for gossip, says whether the
    /// message may be forwarded ([`Output::Rejected`] for an invalid one,
    /// [`Output::Ignored`] for one the state refuses).
    Transactions {
        /// The transactions.
        txs: Vec<TxIn>,
        /// Where they came from.
        origin: TxOrigin,
    },
    /// A gossip message from a peer.
    Gossip(Gossip),
    /// Something happened on L1.
    L1(L1Event),
    /// The committee and proposer of a slot, answering [`Output::FetchDuties`].
    Duties {
        /// The slot.
        slot: u64,
        /// Its duties.
        duties: Duties,
    },
    /// L1 could not give the duties of a slot asked for with
    /// [`Output::FetchDuties`] (its committee is not recorded yet, or L1
    /// failed); the core asks again later.
    DutiesUnavailable {
        /// The slot.
        slot: u64,
        /// What L1 said.
        reason: String,
    },
    /// The driver could not send an L1 call the core asked for: it would
    /// revert (with the contract's reason) or the L1 node failed.
    L1CallFailed {
        /// The call's name.
        call: &'static str,
        /// Why.
        reason: String,
    },
    /// L1's checkpoint tip, answering [`Output::FetchL1Tip`] (a driver may
    /// also pass it in unasked). A catching-up core compares it with its own.
    L1Tip(RollupTip),
    /// A peer's answer to [`Output::RequestSync`]: checkpoints it recorded
    /// and the provisional blocks above its checkpoint. Served checkpoints
    /// are applied only when their hash chain ends at L1's tip; provisional
    /// blocks are checked as gossip is.
    SyncResponse(SyncResponse),
    /// Checkpoints read from L1's logs, answering [`Output::FetchCheckpoints`].
    /// Applied while catching up when they continue this node's chain.
    L1Checkpoints(Vec<L1Event>),
}

impl Gossip {
    /// The slot a signed protocol message is about (`None` for
    /// transactions and evidence).
    pub const fn slot(&self) -> Option<u64> {
        match self {
            Self::Proposal(m) => Some(m.header.slot),
            Self::Provisional(m) => Some(m.header.slot),
            Self::Attestation(m) => Some(m.attestation.slot),
            _ => None,
        }
    }
}

/// A transaction as it reaches the core: its bytes, or already recovered
/// by the driver (at RPC ingress, or once for all nodes in the simulator;
/// counted as one signature of work all the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxIn {
    /// EIP-2718 bytes, decoded and recovered by the core.
    Raw(Bytes),
    /// Recovered by the driver.
    Recovered(RecoveredTx),
}

impl TxIn {
    /// Its hash: the recovered transaction's, or keccak256 of bytes within
    /// the transaction size bound (`None` for larger ones, never hashed).
    pub fn hash(&self) -> Option<B256> {
        match self {
            Self::Recovered(tx) => Some(tx.hash()),
            Self::Raw(raw) => (raw.len() <= chunkseq_primitives::codec::MAX_TX_BYTES)
                .then(|| alloy_primitives::keccak256(raw)),
        }
    }
}

/// Where transactions came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOrigin {
    /// A user, through this node's RPC: admitted ones are gossiped.
    Rpc,
    /// A peer, by gossip: invalid ones are rejected, not forwarded.
    Gossip,
}

/// Why the core refused a transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxRefused {
    /// The state on the provisional tip could not be read.
    #[error("state unavailable: {0}")]
    StateUnavailable(String),
    /// The node is catching up with L1 and its peers and takes no
    /// transactions yet.
    #[error(
        "the node is still catching up with L1 and its peers; try another node or again shortly"
    )]
    CatchingUp,
    /// The pool's rules refused it.
    #[error(transparent)]
    Pool(#[from] chunkseq_execution::PoolError),
    /// The node is behind: its pool holds more work than the chain carries
    /// in its next slots. Nothing is wrong with the transaction: send it
    /// again later.
    #[error(
        "the node is behind: {pooled} transactions of {bytes} bytes are waiting for a block (at most {limit} or {limit_bytes} bytes); send it again in a few seconds"
    )]
    Backlog {
        /// Transactions counted against the limit: the executable ones, or
        /// for a transaction that would wait behind a nonce gap, all pooled.
        pooled: usize,
        /// Their encodings' bytes.
        bytes: usize,
        /// The limit ([`crate::CoreConfig::max_backlog_chunks`] chunks of work).
        limit: usize,
        /// The limit in bytes: those chunks' share of the slot's data budget.
        limit_bytes: usize,
    },
}

impl TxRefused {
    /// Whether the same transaction may be taken later: the node is behind,
    /// catching up, or its pool full.
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Backlog { .. }
                | Self::CatchingUp
                | Self::StateUnavailable(_)
                | Self::Pool(chunkseq_execution::PoolError::PoolFull { .. })
        )
    }

    /// Whether the pool already held the transaction (a duplicate, not a
    /// refusal of its content).
    pub const fn is_duplicate(&self) -> bool {
        matches!(
            self,
            Self::Pool(chunkseq_execution::PoolError::AlreadyKnown(_))
        )
    }
}

/// What the core asks its driver to do, or reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Publish on gossip.
    Publish(Gossip),
    /// Send an L1 call, given up after `deadline`.
    SubmitL1 {
        /// The call.
        call: RollupCall,
        /// When to stop trying.
        deadline: Option<UnixMillis>,
    },
    /// Call [`crate::Core::handle`] with [`Input::Tick`] at this time.
    WakeAt(UnixMillis),
    /// Read the duties of this slot from L1 and pass them in as [`Input::Duties`].
    FetchDuties(u64),
    /// Read L1's checkpoint tip and pass it in as [`Input::L1Tip`].
    FetchL1Tip,
    /// Ask peers what this node missed; answers come back as
    /// [`Input::SyncResponse`].
    RequestSync(SyncRequest),
    /// Read the checkpoints of slots after `after_slot` from L1's logs,
    /// searching from L1 block `from_l1_block`, and pass them in as
    /// [`Input::L1Checkpoints`].
    FetchCheckpoints {
        /// Checkpoints of later slots.
        after_slot: u64,
        /// The L1 block to search from.
        from_l1_block: u64,
    },
    /// Something observable happened.
    Event(Event),
    /// A gossip message the core refuses for a reason its sender may not
    /// know (a transaction the state refuses): not forwarded, not held
    /// against the sender.
    Ignored {
        /// The topic.
        topic: &'static str,
        /// Why.
        reason: String,
    },
    /// A gossip message was invalid: the driver scores its sender down.
    Rejected {
        /// The topic.
        topic: &'static str,
        /// Why.
        reason: String,
    },
}

/// Why blocks were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReorgCause {
    /// A slot's publish window closed with no checkpoint on L1.
    MissedPublishWindow,
    /// The checkpoint on L1 differs from the provisional chain.
    CheckpointDiffers,
}

/// A block as an index records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEntry {
    /// Its header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: B256,
    /// Its transactions' hashes, in order.
    pub txs: Vec<B256>,
    /// Its transactions, EIP-2718 encoded, in order.
    pub transactions: Vec<Bytes>,
    /// Their senders.
    pub senders: Vec<Address>,
    /// Their receipts, in order.
    pub receipts: Receipts,
    /// Committee signatures it carried to this node (0 for a block learned
    /// from L1 alone).
    pub attestations: usize,
    /// Attestations its slot's blocks need (0 when this node does not know
    /// the slot's committee).
    pub threshold: usize,
    /// The effective tips its transactions paid at percentiles 0, 5, ...,
    /// 100 (empty for an empty block): what `eth_feeHistory` reports.
    pub tip_percentiles: Vec<u128>,
}

/// The receipts of a block's transactions, in order: shared by the chain,
/// the events that report the block and the node's index.
pub type Receipts = std::sync::Arc<Vec<alloy_consensus::ReceiptEnvelope>>;

/// What a validated block left: the state after it, its transactions with
/// their senders, and their receipts.
pub type Executed = (
    std::sync::Arc<chunkseq_state::SealedState>,
    Vec<RecoveredTx>,
    Receipts,
);

/// Observable events, for metrics, subscribers, reports and the node's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// This node sealed a block.
    BlockBuilt {
        /// Slot.
        slot: u64,
        /// Index.
        index: u32,
        /// Height.
        number: u64,
        /// Hash.
        hash: B256,
        /// Transactions.
        txs: usize,
        /// Gas used.
        gas_used: u64,
    },
    /// This node, as proposer, opened a block: it executes pool transactions
    /// into it until its chunk closes.
    BlockOpened {
        /// Slot.
        slot: u64,
        /// Index.
        index: u32,
        /// Hash of the block it builds on.
        parent: B256,
    },
    /// This node sent a proposal.
    ProposalSent {
        /// Slot.
        slot: u64,
        /// Index.
        index: u32,
        /// Block hash.
        hash: B256,
    },
    /// This node attested a block.
    AttestationSent {
        /// Slot.
        slot: u64,
        /// Index.
        index: u32,
        /// Block hash.
        hash: B256,
    },
    /// A block became provisional on this node.
    ProvisionalAccepted {
        /// Slot.
        slot: u64,
        /// Index.
        index: u32,
        /// Height.
        number: u64,
        /// Hash.
        hash: B256,
        /// The block.
        block: Box<BlockEntry>,
    },
    /// This node, as proposer, submitted its slot's checkpoint.
    CheckpointSubmitted {
        /// Slot.
        slot: u64,
        /// Blocks in it.
        blocks: u32,
        /// Blobs carrying its data (0: its data is calldata).
        blobs: u32,
    },
    /// This node submitted a rescue of a slot whose proposer did not
    /// publish it (docs/rescue.md).
    RescueSubmitted {
        /// Slot.
        slot: u64,
        /// Blocks in it.
        blocks: u32,
        /// Blobs carrying its data (0: its data is calldata).
        blobs: u32,
    },
    /// A checkpoint was accepted on L1 and this node applied it.
    CheckpointAccepted {
        /// Slot.
        slot: u64,
        /// Its final checkpoint header hash.
        header_hash: B256,
        /// Its proposer.
        proposer: Address,
        /// Who published it in the proposer's place, if a rescuer did.
        rescuer: Option<Address>,
        /// The blocks it checkpointed on this node, oldest first: all of
        /// them, but for a longer rescue replacing a shorter one, only the
        /// blocks the shorter one lacked.
        blocks: Vec<BlockEntry>,
        /// All its headers, as L1 holds them.
        headers: Vec<BlockHeader>,
        /// All their bodies as L1 carried them (what peers catching up are served).
        bodies: Vec<Bytes>,
        /// The versioned hashes of the blobs its data came in (empty when
        /// it came as calldata).
        blob_hashes: Vec<B256>,
        /// Height of its last block (the checkpointed tip).
        last_number: u64,
        /// The L1 block that holds it.
        l1_block: u64,
        /// The L1 transaction that carried it.
        l1_tx: B256,
    },
    /// L1 accepted a checkpoint this node cannot apply (a block of it does
    /// not re-execute here, or the state store failed); nothing changed.
    CheckpointNotApplied {
        /// Its slot.
        slot: u64,
        /// Why.
        reason: String,
    },
    /// This node found itself behind L1 (a checkpoint that does not extend
    /// its own, or L1's tip two or more slots ahead) and catches up again;
    /// it takes no part until [`Event::CaughtUp`].
    FellBehind {
        /// The slot of its checkpointed tip.
        slot: u64,
        /// The slot of the checkpoint that showed it.
        l1_slot: u64,
    },
    /// This node caught up with L1 (or gave up waiting) and takes part from
    /// now on.
    CaughtUp {
        /// The slot of its checkpointed tip.
        slot: u64,
        /// The height of its checkpointed tip.
        number: u64,
        /// Whether it is level with L1's checkpoint tip (false when it gave
        /// up waiting for peers or L1).
        level: bool,
    },
    /// Provisional blocks were dropped.
    Reorg {
        /// Why.
        cause: ReorgCause,
        /// The slots whose blocks were dropped.
        slots: Vec<u64>,
        /// The dropped blocks' hashes, oldest first.
        dropped: Vec<B256>,
        /// The dropped transactions.
        dropped_txs: Vec<B256>,
        /// The provisional tip after the reorg.
        new_tip: B256,
        /// Its height.
        new_tip_number: u64,
    },
    /// Evidence of an offence was found and gossiped.
    EvidenceFound {
        /// The offence.
        offence: Offence,
        /// The offender.
        offender: Address,
        /// The slot of the offence.
        slot: u64,
    },
    /// L1 slashed a validator.
    OffenceSlashed {
        /// The offender.
        validator: Address,
        /// The offence.
        offence: Offence,
        /// Slot of the offence.
        slot: u64,
    },
    /// A transaction was refused.
    TransactionRefused {
        /// Its hash, when it decoded.
        hash: Option<B256>,
        /// Where it came from.
        origin: TxOrigin,
        /// Why.
        reason: TxRefused,
    },
    /// A transaction's status changed.
    TxStatusChanged {
        /// The transaction.
        hash: B256,
        /// Its new status.
        status: TxStatus,
        /// Why it left the pool without a block (`replaced` and `dropped`
        /// by the pool; `None` otherwise).
        detail: Option<StatusDetail>,
    },
    /// This node declined to sign (slashing protection or a signer fault).
    SigningRefused {
        /// What it was asked to sign.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// This node took over a slot of its key from the partner node of a
    /// validator pair, which stopped renewing the slot's build lease.
    HaFailover {
        /// Slot.
        slot: u64,
        /// The first block index this node builds or resumes (the number
        /// of the slot's blocks that were provisional already).
        from_index: u32,
        /// The partner that held the lease, as it names itself.
        previous: String,
    },
}

/// Work done while handling inputs, so a driver can charge CPU time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Gas executed (building and re-execution).
    pub gas: u64,
    /// Signatures recovered.
    pub signatures: u64,
    /// Signatures produced.
    pub signed: u64,
    /// KZG blob commitments computed (each block's changed blobs).
    pub blob_commitments: u64,
    /// Data bytes in those blobs (a commitment's cost grows with them).
    pub blob_bytes: u64,
}

impl Work {
    /// Adds `other` to this.
    pub fn add(&mut self, other: Self) {
        self.gas = self.gas.saturating_add(other.gas);
        self.signatures = self.signatures.saturating_add(other.signatures);
        self.signed = self.signed.saturating_add(other.signed);
        self.blob_commitments = self.blob_commitments.saturating_add(other.blob_commitments);
        self.blob_bytes = self.blob_bytes.saturating_add(other.blob_bytes);
    }

    /// Adds `(blobs, bytes)` of KZG commitments.
    pub fn add_commitments(&mut self, (blobs, bytes): (u64, u64)) {
        self.blob_commitments = self.blob_commitments.saturating_add(blobs);
        self.blob_bytes = self.blob_bytes.saturating_add(bytes);
    }
}

impl ReorgCause {
    /// Its name in logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MissedPublishWindow => "missed_publish_window",
            Self::CheckpointDiffers => "checkpoint_differs",
        }
    }
}

impl TxOrigin {
    /// Its name in logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rpc => "rpc",
            Self::Gossip => "gossip",
        }
    }
}

/// One line per event, `name key=value ...`: stable text for logs and the
/// simulator's digest (unlike `Debug`, it does not change with the layout
/// of the types, and it leaves out bulky fields such as bodies).
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BlockBuilt {
                slot,
                index,
                number,
                hash,
                txs,
                gas_used,
            } => write!(
                f,
                "block_built slot={slot} index={index} number={number} hash={hash} txs={txs} gas={gas_used}"
            ),
            Self::BlockOpened {
                slot,
                index,
                parent,
            } => write!(f, "block_opened slot={slot} index={index} parent={parent}"),
            Self::ProposalSent { slot, index, hash } => {
                write!(f, "proposal_sent slot={slot} index={index} hash={hash}")
            }
            Self::AttestationSent { slot, index, hash } => {
                write!(f, "attestation_sent slot={slot} index={index} hash={hash}")
            }
            Self::ProvisionalAccepted {
                slot,
                index,
                number,
                hash,
                block,
            } => write!(
                f,
                "provisional slot={slot} index={index} number={number} hash={hash} txs={} attestations={}/{}",
                block.txs.len(),
                block.attestations,
                block.threshold
            ),
            Self::CheckpointSubmitted {
                slot,
                blocks,
                blobs,
            } => {
                write!(
                    f,
                    "checkpoint_submitted slot={slot} blocks={blocks} blobs={blobs}"
                )
            }
            Self::RescueSubmitted {
                slot,
                blocks,
                blobs,
            } => write!(
                f,
                "rescue_submitted slot={slot} blocks={blocks} blobs={blobs}"
            ),
            Self::CheckpointAccepted {
                slot,
                header_hash,
                blocks,
                last_number,
                l1_block,
                rescuer,
                ..
            } => {
                write!(
                    f,
                    "checkpoint_accepted slot={slot} blocks={} last={last_number} l1_block={l1_block} header={header_hash}",
                    blocks.len()
                )?;
                match rescuer {
                    Some(r) => write!(f, " rescued_by={r}"),
                    None => Ok(()),
                }
            }
            Self::CheckpointNotApplied { slot, reason } => {
                write!(f, "checkpoint_not_applied slot={slot} reason={reason}")
            }
            Self::FellBehind { slot, l1_slot } => {
                write!(f, "fell_behind slot={slot} l1_slot={l1_slot}")
            }
            Self::CaughtUp {
                slot,
                number,
                level,
            } => write!(f, "caught_up slot={slot} number={number} level={level}"),
            Self::Reorg {
                cause,
                slots,
                dropped,
                dropped_txs,
                new_tip,
                ..
            } => write!(
                f,
                "reorg cause={} slots={slots:?} blocks={} txs={} new_tip={new_tip}",
                cause.name(),
                dropped.len(),
                dropped_txs.len()
            ),
            Self::EvidenceFound {
                offence,
                offender,
                slot,
            } => write!(
                f,
                "evidence offence={offence} offender={offender} slot={slot}"
            ),
            Self::OffenceSlashed {
                validator,
                offence,
                slot,
            } => write!(
                f,
                "slashed offence={offence} validator={validator} slot={slot}"
            ),
            Self::TransactionRefused {
                hash,
                origin,
                reason,
            } => match hash {
                Some(h) => write!(
                    f,
                    "tx_refused hash={h} origin={} reason={reason}",
                    origin.name()
                ),
                None => write!(f, "tx_refused origin={} reason={reason}", origin.name()),
            },
            Self::TxStatusChanged {
                hash,
                status,
                detail,
            } => match detail {
                Some(StatusDetail::ReplacedBy { hash: by }) => {
                    write!(f, "tx_status hash={hash} status={status} by={by}")
                }
                Some(d) => write!(f, "tx_status hash={hash} status={status} detail={d:?}"),
                None => write!(f, "tx_status hash={hash} status={status}"),
            },
            Self::SigningRefused { what, reason } => {
                write!(f, "signing_refused what={what} reason={reason}")
            }
            Self::HaFailover {
                slot,
                from_index,
                previous,
            } => write!(
                f,
                "ha_failover slot={slot} from_index={from_index} previous={previous}"
            ),
        }
    }
}
