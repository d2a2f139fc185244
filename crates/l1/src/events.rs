//! What happens on L1, as both L1 implementations report it, and the
//! decoding of the Rollup contract's logs and revert data into it.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{BlockHeader, UnixMillis};

use crate::abi::ContractAbi;

/// Identifies a submitted call.
pub type SubmissionId = u64;

/// An L1 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Block {
    /// Height.
    pub number: u64,
    /// Timestamp (a whole second).
    pub timestamp: UnixMillis,
    /// The block's randomness (PREVRANDAO).
    pub randomness: B256,
    /// The block's base fee per gas, in wei.
    pub base_fee: u128,
    /// The block's blob base fee per blob gas, in wei (EIP-4844).
    pub blob_base_fee: u128,
}

/// Something that happened on L1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L1Event {
    /// A new block.
    Block(L1Block),
    /// A submitted call was included.
    Included {
        /// The submission.
        submission: SubmissionId,
        /// The call's name.
        call: &'static str,
        /// The block that includes it.
        l1_block: u64,
        /// Gas it used.
        gas_used: u64,
        /// Blob gas it used (EIP-4844: 131,072 per blob it carried, whether
        /// or not the call succeeded; zero for a transaction without blobs).
        blob_gas_used: u64,
        /// `Err` with the revert reason if it failed.
        outcome: Result<(), Revert>,
    },
    /// A checkpoint was accepted.
    CheckpointAccepted {
        /// Its slot.
        slot: u64,
        /// Its final header hash.
        header_hash: B256,
        /// Its blocks.
        headers: Vec<BlockHeader>,
        /// Their bodies (abi-encoded `bytes[]` per block): the calldata, or
        /// what the blobs decode to. Empty when the blobs could not be had
        /// (see `data`).
        bodies: Vec<Bytes>,
        /// Where the bodies came from.
        data: CheckpointData,
        /// Who proposed it.
        proposer: Address,
        /// The L1 block that includes it.
        l1_block: u64,
        /// The L1 transaction that carried it.
        l1_tx: B256,
    },
    /// A validator was slashed.
    ValidatorSlashed {
        /// The offender.
        validator: Address,
        /// 1 proposal equivocation, 2 checkpoint omission, 3 attestation equivocation.
        offence: u8,
        /// The slot of the offence.
        slot: u64,
        /// Stake taken.
        amount: U256,
        /// Who reported it.
        reporter: Address,
        /// What the reporter received (zero when the offender reported itself).
        reward: U256,
    },
    /// The block with this number was replaced; its events no longer hold.
    Reorg {
        /// The dropped block's number.
        dropped_block: u64,
    },
    /// A submission was given up: its deadline passed before it was included.
    Expired {
        /// The submission.
        submission: SubmissionId,
        /// The call's name.
        call: &'static str,
    },
}

/// Where an accepted checkpoint's data is on L1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointData {
    /// In the transaction's calldata.
    Calldata,
    /// In blobs with these versioned hashes.
    Blobs {
        /// The versioned hashes, in order.
        versioned_hashes: Vec<B256>,
        /// `None` when the bodies were decoded from blobs that matched the
        /// hashes; otherwise why they could not be (blobs unavailable, or
        /// not matching), and `bodies` is empty.
        unavailable: Option<String>,
    },
}

/// Why an included L1 transaction failed: its revert reason (the
/// contract's custom error name, or the L1 node's message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("reverted: {0}")]
pub struct Revert(pub String);

impl L1Event {
    /// Gas and outcome of submission `id`, if `events` include it.
    pub fn inclusion(events: &[Self], id: SubmissionId) -> Option<(u64, Result<(), Revert>)> {
        events.iter().find_map(|e| match e {
            Self::Included {
                submission,
                gas_used,
                outcome,
                ..
            } if *submission == id => Some((*gas_used, outcome.clone())),
            _ => None,
        })
    }
}

/// Decodes one log of the Rollup contract, emitted by transaction `l1_tx`
/// in block `l1_block`; `None` for logs that are not an event nodes act on
/// (or that do not decode, which the contract never emits).
pub fn decode_rollup_log(
    abi: &ContractAbi,
    topics: &[B256],
    data: &[u8],
    l1_block: u64,
    l1_tx: B256,
) -> Option<L1Event> {
    let (topic0, topic1) = (topics.first()?, topics.get(1)?);
    if Some(*topic0) == abi.event_topic("CheckpointAccepted") {
        let (header_hash, headers, bodies, blob_hashes, proposer) =
            <(B256, Vec<BlockHeader>, Vec<Bytes>, Vec<B256>, Address)>::abi_decode_params(data)
                .ok()?;
        let data = if bodies.is_empty() {
            CheckpointData::Blobs {
                versioned_hashes: blob_hashes,
                unavailable: Some("blobs not fetched yet".into()),
            }
        } else {
            CheckpointData::Calldata
        };
        Some(L1Event::CheckpointAccepted {
            slot: U256::from_be_bytes(topic1.0).saturating_to(),
            header_hash,
            headers,
            bodies,
            data,
            proposer,
            l1_block,
            l1_tx,
        })
    } else if Some(*topic0) == abi.event_topic("ValidatorSlashed") {
        let (offence, slot, amount, reporter, reward) =
            <(U256, u64, U256, Address, U256)>::abi_decode_params(data).ok()?;
        Some(L1Event::ValidatorSlashed {
            validator: Address::from_word(*topic1),
            offence: offence.saturating_to(),
            slot,
            amount,
            reporter,
            reward,
        })
    } else {
        None
    }
}

/// The revert reason of `output`: the contract's custom error name, or the
/// raw data in hex.
pub fn revert_reason(abi: &ContractAbi, output: &[u8]) -> String {
    abi.error_name(output).map_or_else(
        || format!("revert 0x{}", alloy_primitives::hex::encode(output)),
        str::to_owned,
    )
}
