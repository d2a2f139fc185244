//! Catch-up messages: what a node asks its peers for, what they answer, and
//! the check that makes checkpoints served by a peer trustworthy (their hash
//! chain must end at the checkpoint L1 holds). The core's handling of them
//! is in `catch_up`; the node carries them over a request-response protocol
//! and the simulator between its cores.

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::{CheckpointData, L1Event};
use chunkseq_primitives::{BlockHeader, CheckpointHeader, Slot, WireCodec};
use serde::{Deserialize, Serialize};

use crate::io::Event;

/// Most checkpoints in one sync response.
pub const MAX_SYNC_CHECKPOINTS: usize = 16;
/// Most provisional blocks (with their proposals) in one sync response.
pub const MAX_SYNC_BLOCKS: usize = 64;
/// Most bytes of checkpoints and messages in one sync response (the node's
/// transport encodes them as JSON hex, twice the size, within its 10 MiB).
pub const MAX_SYNC_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// "Send me what you have after this point."
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Checkpoints of slots after this one.
    pub after_slot: u64,
}

/// A checkpoint accepted on L1, as a node recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// Its slot.
    pub slot: u64,
    /// Its final header hash.
    pub header_hash: B256,
    /// Its block headers, ABI-encoded.
    pub headers: Vec<Bytes>,
    /// Their bodies as L1 carried them.
    pub bodies: Vec<Bytes>,
    /// Its proposer.
    pub proposer: Address,
    /// The L1 block that holds it.
    pub l1_block: u64,
    /// The L1 transaction that carried it (zero in records written before
    /// it was kept).
    #[serde(default)]
    pub l1_tx: B256,
    /// The versioned hashes of the blobs its data came in (empty when it
    /// came as calldata). The bodies above are what they decoded to.
    #[serde(default)]
    pub blob_hashes: Vec<B256>,
    /// Who rescued it, when its proposer did not publish it.
    #[serde(default)]
    pub rescuer: Option<Address>,
}

impl CheckpointRecord {
    /// Records an L1 checkpoint event; `None` for other events.
    pub fn from_event(e: &L1Event) -> Option<Self> {
        match e {
            L1Event::CheckpointAccepted {
                slot,
                header_hash,
                headers,
                bodies,
                data,
                proposer,
                rescuer,
                l1_block,
                l1_tx,
            } => Some(Self {
                slot: *slot,
                header_hash: *header_hash,
                headers: headers.iter().map(|h| h.encode_wire().into()).collect(),
                bodies: bodies.clone(),
                proposer: *proposer,
                rescuer: *rescuer,
                l1_block: *l1_block,
                l1_tx: *l1_tx,
                blob_hashes: match data {
                    CheckpointData::Calldata => Vec::new(),
                    CheckpointData::Blobs {
                        versioned_hashes, ..
                    } => versioned_hashes.clone(),
                },
            }),
            _ => None,
        }
    }

    /// Records a checkpoint this node applied ([`Event::CheckpointAccepted`]);
    /// `None` for other events. What a node's index keeps to serve peers.
    pub fn from_accepted(e: &Event) -> Option<Self> {
        match e {
            Event::CheckpointAccepted {
                slot,
                header_hash,
                proposer,
                rescuer,
                headers,
                bodies,
                l1_block,
                l1_tx,
                blob_hashes,
                ..
            } => Some(Self {
                rescuer: *rescuer,
                slot: *slot,
                header_hash: *header_hash,
                headers: headers.iter().map(|h| h.encode_wire().into()).collect(),
                bodies: bodies.clone(),
                proposer: *proposer,
                l1_block: *l1_block,
                l1_tx: *l1_tx,
                blob_hashes: blob_hashes.clone(),
            }),
            _ => None,
        }
    }

    /// The L1 event this record stands for, with its headers decoded.
    pub fn to_event(&self) -> Result<L1Event, SyncError> {
        let headers = self
            .headers
            .iter()
            .map(|h| BlockHeader::decode_wire(h).map_err(|e| SyncError::Malformed(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if headers.len() != self.bodies.len() {
            return Err(SyncError::Malformed(format!(
                "{} headers but {} bodies",
                headers.len(),
                self.bodies.len()
            )));
        }
        Ok(L1Event::CheckpointAccepted {
            slot: self.slot,
            header_hash: self.header_hash,
            headers,
            bodies: self.bodies.clone(),
            data: if self.blob_hashes.is_empty() {
                CheckpointData::Calldata
            } else {
                CheckpointData::Blobs {
                    versioned_hashes: self.blob_hashes.clone(),
                    unavailable: None,
                }
            },
            proposer: self.proposer,
            rescuer: self.rescuer,
            l1_block: self.l1_block,
            l1_tx: self.l1_tx,
        })
    }
}

/// What a peer sends back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Checkpoints after the requested slot, oldest first.
    pub checkpoints: Vec<CheckpointRecord>,
    /// Proposals of the provisional blocks above its checkpointed tip,
    /// wire-encoded, oldest first.
    pub proposals: Vec<Bytes>,
    /// The provisional-block messages of those blocks, wire-encoded.
    pub provisionals: Vec<Bytes>,
}

/// Why a peer's sync answer was not used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncError {
    /// It did not decode.
    #[error("malformed sync data: {0}")]
    Malformed(String),
    /// Its hash chain does not lead to L1's checkpoint.
    #[error("checkpoint chain does not match L1: {0}")]
    Mismatch(String),
}

/// Checks that `records` continue from the checkpoint `from` (header hash)
/// and that their header hashes chain up to `l1_tip`, the last checkpoint
/// L1 holds. Returns the records as L1 events to apply in order; records
/// past `l1_tip` are dropped. This is what makes a peer's answer
/// trustworthy: only the true checkpoints hash up to L1's tip.
pub fn verify_chain(
    from: B256,
    records: &[CheckpointRecord],
    l1_tip: B256,
) -> Result<Vec<L1Event>, SyncError> {
    let (events, end) = follow_chain(from, records, Some(l1_tip))?;
    if end == l1_tip {
        Ok(events)
    } else {
        Err(SyncError::Mismatch(format!(
            "the served checkpoints end at {end}, L1's tip is {l1_tip}"
        )))
    }
}

/// Checks that `records`, read from L1 itself, continue one after another
/// from the checkpoint `from`; any prefix of L1's checkpoints passes.
pub fn verify_continuation(
    from: B256,
    records: &[CheckpointRecord],
) -> Result<Vec<L1Event>, SyncError> {
    follow_chain(from, records, None).map(|(events, _)| events)
}

/// Walks `records` from `from`, checking each header hash against its
/// parent and blocks; stops after `until`. Returns the events and the last
/// header hash reached.
fn follow_chain(
    from: B256,
    records: &[CheckpointRecord],
    until: Option<B256>,
) -> Result<(Vec<L1Event>, B256), SyncError> {
    let mut parent = from;
    // The slot and parent of the last record when it was a rescue: a longer
    // rescue of the same slot replaces it, on the same parent.
    let mut last_rescue: Option<(u64, B256)> = None;
    let mut events = Vec::new();
    for r in records {
        if until == Some(parent) {
            break;
        }
        let event = r.to_event()?;
        let L1Event::CheckpointAccepted { headers, .. } = &event else {
            continue;
        };
        let on = match last_rescue {
            Some((slot, grandparent)) if r.rescuer.is_some() && r.slot == slot => grandparent,
            _ => parent,
        };
        last_rescue = r.rescuer.map(|_| (r.slot, on));
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let header = CheckpointHeader::covering(Slot(r.slot), on, &hashes)
            .ok_or_else(|| SyncError::Malformed("too many blocks".into()))?;
        if header.hash() != r.header_hash {
            return Err(SyncError::Mismatch(format!(
                "slot {}: header hash {} does not follow {on}",
                r.slot, r.header_hash
            )));
        }
        parent = r.header_hash;
        events.push(event);
    }
    Ok((events, parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(number: u64, slot: u64, parent: B256) -> BlockHeader {
        BlockHeader {
            number,
            slot,
            index: 0,
            parentHash: parent,
            timestamp: 0,
            coinbase: Address::ZERO,
            stateRoot: B256::ZERO,
            txRoot: B256::ZERO,
            bodyHash: B256::ZERO,
            receiptsRoot: B256::ZERO,
            gasUsed: 0,
            gasLimit: 1,
            txCount: 0,
            baseFee: 10_000_000,
            dataPrice: 100_000_000,
        }
    }

    fn record(slot: u64, parent_checkpoint: B256, number: u64) -> CheckpointRecord {
        let h = header(number, slot, B256::ZERO);
        let cp = CheckpointHeader::covering(Slot(slot), parent_checkpoint, &[h.hash()]).unwrap();
        CheckpointRecord {
            slot,
            header_hash: cp.hash(),
            headers: vec![h.encode_wire().into()],
            bodies: vec![Bytes::new()],
            proposer: Address::ZERO,
            l1_block: slot,
            l1_tx: B256::ZERO,
            blob_hashes: Vec::new(),
            rescuer: None,
        }
    }

    #[test]
    fn a_chain_ending_at_l1s_tip_verifies() {
        let a = record(1, B256::ZERO, 1);
        let b = record(2, a.header_hash, 2);
        let c = record(3, b.header_hash, 3);
        let events = verify_chain(B256::ZERO, &[a.clone(), b.clone(), c], b.header_hash).unwrap();
        assert_eq!(events.len(), 2, "records past L1's tip are dropped");
        // Starting further along works too.
        assert_eq!(
            verify_chain(a.header_hash, std::slice::from_ref(&b), b.header_hash)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn forged_or_incomplete_chains_are_refused() {
        let a = record(1, B256::ZERO, 1);
        let mut forged = record(2, a.header_hash, 2);
        forged.header_hash = B256::repeat_byte(9);
        assert!(matches!(
            verify_chain(B256::ZERO, &[a.clone(), forged.clone()], forged.header_hash),
            Err(SyncError::Mismatch(_))
        ));
        let b = record(2, a.header_hash, 2);
        assert!(
            verify_chain(B256::ZERO, &[a], b.header_hash).is_err(),
            "ends short of L1"
        );
        let mut bad = record(1, B256::ZERO, 1);
        bad.headers = vec![Bytes::from_static(&[1, 2, 3])];
        assert!(matches!(
            verify_chain(B256::ZERO, &[bad], B256::repeat_byte(1)),
            Err(SyncError::Malformed(_))
        ));
    }

    #[test]
    fn a_node_level_with_l1_has_nothing_to_apply() {
        let a = record(1, B256::ZERO, 1);
        let b = record(2, a.header_hash, 2);
        assert_eq!(
            verify_chain(b.header_hash, &[a, b.clone()], b.header_hash),
            Ok(vec![])
        );
    }

    #[test]
    fn checkpoints_read_from_l1_apply_in_part_but_never_across_a_gap() {
        let a = record(1, B256::ZERO, 1);
        let b = record(2, a.header_hash, 2);
        let c = record(3, b.header_hash, 3);
        assert_eq!(
            verify_continuation(B256::ZERO, &[a.clone(), b.clone()])
                .unwrap()
                .len(),
            2,
            "a prefix of L1's checkpoints is progress"
        );
        assert!(matches!(
            verify_continuation(B256::ZERO, &[a, c]),
            Err(SyncError::Mismatch(_))
        ));
        assert!(matches!(
            verify_continuation(B256::ZERO, &[b]),
            Err(SyncError::Mismatch(_))
        ));
    }
}
