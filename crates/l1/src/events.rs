//! What happens on L1, as both L1 implementations report it, and the
//! decoding of the Rollup contract's logs and revert data into it.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{BlockHeader, CheckpointHeader, Slot, UnixMillis};

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
        /// Who published it in the proposer's place (`rescueCheckpoint`),
        /// `None` when the proposer did.
        rescuer: Option<Address>,
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
/// (or that do not decode, which the contract never emits), and for
/// `CheckpointAccepted`, whose checkpoint is in the transaction's input:
/// [`decode_checkpoint_log`] and [`CheckpointLog::into_event`] read it.
pub fn decode_rollup_log(
    abi: &ContractAbi,
    topics: &[B256],
    data: &[u8],
    l1_block: u64,
    l1_tx: B256,
) -> Option<L1Event> {
    let _ = (l1_block, l1_tx);
    let (topic0, topic1) = (topics.first()?, topics.get(1)?);
    if Some(*topic0) == abi.event_topic("ValidatorSlashed") {
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

/// A `CheckpointAccepted` log, as the contract emits it. The checkpoint's
/// headers, and its bodies when they are in calldata, are not in the log
/// but in the input of the transaction that emitted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointLog {
    /// The checkpoint's slot.
    pub slot: u64,
    /// Its final header hash.
    pub header_hash: B256,
    /// The header hash of the checkpoint it extends (zero for the first).
    pub parent_checkpoint: B256,
    /// The versioned hashes of the blobs carrying its bodies; empty when
    /// the bodies are in calldata.
    pub blob_hashes: Vec<B256>,
    /// Who proposed it.
    pub proposer: Address,
    /// Who rescued it (`None` when the proposer published it).
    pub rescuer: Option<Address>,
}

/// Decodes a `CheckpointAccepted` log; `None` for any other log.
pub fn decode_checkpoint_log(
    abi: &ContractAbi,
    topics: &[B256],
    data: &[u8],
) -> Option<CheckpointLog> {
    let (topic0, topic1) = (topics.first()?, topics.get(1)?);
    if Some(*topic0) != abi.event_topic("CheckpointAccepted") {
        return None;
    }
    let (header_hash, parent_checkpoint, blob_hashes, proposer, rescuer) =
        <(B256, B256, Vec<B256>, Address, Address)>::abi_decode_params(data).ok()?;
    Some(CheckpointLog {
        slot: U256::from_be_bytes(topic1.0).saturating_to(),
        header_hash,
        parent_checkpoint,
        blob_hashes,
        proposer,
        rescuer: (!rescuer.is_zero()).then_some(rescuer),
    })
}

/// The parameters of a `proposeCheckpoint` or `rescueCheckpoint` call:
/// slot, headers, bodies, blob hashes, attestations, committee, signature.
type ProposeParams = (
    u64,
    Vec<BlockHeader>,
    Vec<Bytes>,
    Vec<B256>,
    Bytes,
    Vec<Address>,
    Bytes,
);

impl CheckpointLog {
    /// The [`L1Event::CheckpointAccepted`] of this log, emitted by
    /// transaction `l1_tx` in block `l1_block` whose input (a direct
    /// `proposeCheckpoint` call to the Rollup, or `rescueCheckpoint` for a
    /// rescued one) is `input`: its headers, and
    /// its bodies when in calldata, come from the input, checked against
    /// the header hash the contract logged (and each body against its
    /// header's `bodyHash`). A checkpoint in blobs starts with no bodies and
    /// its blobs unfetched ([`crate::blob_data::resolve_blobs`]).
    pub fn into_event(
        self,
        abi: &ContractAbi,
        input: &[u8],
        l1_block: u64,
        l1_tx: B256,
    ) -> Result<L1Event, String> {
        let function = if self.rescuer.is_some() {
            "rescueCheckpoint"
        } else {
            "proposeCheckpoint"
        };
        let selector = abi
            .selector(function)
            .ok_or_else(|| format!("no {function} in the ABI"))?;
        let params = input
            .strip_prefix(selector.as_slice())
            .ok_or_else(|| format!("the transaction is not a {function} call"))?;
        let (slot, headers, bodies, _, _, _, _) = ProposeParams::abi_decode_params(params)
            .map_err(|e| format!("{function} input: {e}"))?;
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let header = CheckpointHeader::covering(Slot(slot), self.parent_checkpoint, &hashes);
        if slot != self.slot || header.map(|h| h.hash()) != Some(self.header_hash) {
            return Err(format!(
                "the transaction's headers are not those of the checkpoint of slot {} ({})",
                self.slot, self.header_hash
            ));
        }
        let (bodies, data) = if self.blob_hashes.is_empty() {
            if bodies.len() != headers.len()
                || bodies
                    .iter()
                    .zip(&headers)
                    .any(|(b, h)| keccak256(b) != h.bodyHash)
            {
                return Err("the transaction's bodies are not the headers' bodies".into());
            }
            (bodies, CheckpointData::Calldata)
        } else {
            let data = CheckpointData::Blobs {
                versioned_hashes: self.blob_hashes,
                unavailable: Some("blobs not fetched yet".into()),
            };
            (Vec::new(), data)
        };
        Ok(L1Event::CheckpointAccepted {
            slot,
            header_hash: self.header_hash,
            headers,
            bodies,
            data,
            proposer: self.proposer,
            rescuer: self.rescuer,
            l1_block,
            l1_tx,
        })
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
