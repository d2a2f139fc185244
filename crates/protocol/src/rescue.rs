//! Rescue publishing: when a slot's proposer did not publish its checkpoint,
//! every node that holds the slot's attested chain publishes it in the
//! rescue window after the slot, so that nothing users saw provisional is
//! reorged (docs/rescue.md).
//!
//! A node tries once the next L1 block falls inside the window, after its
//! turn: committee members take the window's L1 blocks one each, in an
//! order drawn per slot from a hash of the slot and each address (no
//! randomness is drawn), the slot's proposer and everyone else in the last
//! block. It stops when it sees a checkpoint of the slot that holds at
//! least as many blocks as it does. A rescue that holds fewer
//! blocks than this node stays open to a longer one until the window
//! closes.

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, keccak256};
use chunkseq_l1::RollupCall;
use chunkseq_primitives::{BlockHeader, Slot, UnixMillis, body::decode_body};
use tracing::{info, warn};

use crate::{
    core::Core,
    io::{Event, Output},
    slot_data::SlotData,
};

/// A rescue this node applied, kept while a longer one may replace it.
#[derive(Clone, Debug)]
pub(crate) struct RescuedCheckpoint {
    /// Its slot.
    pub(crate) slot: u64,
    /// The header hash of the checkpoint it extends.
    pub(crate) parent_checkpoint: B256,
    /// Its blocks' headers.
    pub(crate) headers: Vec<BlockHeader>,
    /// Its blocks' transactions (empty when its data was unavailable).
    pub(crate) transactions: Vec<Vec<Bytes>>,
}

/// This node's rescue of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Attempt {
    slot: u64,
    /// Blocks it would publish.
    blocks: usize,
    /// When the rescue became possible.
    ready_at: UnixMillis,
    /// When it was last sent.
    sent_at: Option<UnixMillis>,
}

/// What rescue publishing keeps in a core.
#[derive(Clone, Debug, Default)]
pub(crate) struct RescueState {
    /// The last rescued checkpoint this node applied.
    pub(crate) accepted: Option<RescuedCheckpoint>,
    attempt: Option<Attempt>,
    /// When the current attempt is due, if it waits.
    due: Option<UnixMillis>,
}

/// A slot's chain as this node could rescue it.
struct Candidate {
    slot: u64,
    /// Headers from block 0 on.
    headers: Vec<BlockHeader>,
    /// Each block's transactions.
    transactions: Vec<Vec<Bytes>>,
    /// The last block's attestations and the proposer's provisional
    /// signature over them, and the data hash they sign.
    attestations: Bytes,
    provisional_signature: Bytes,
    data_hash: B256,
}

/// A pseudo-random number of `node` for `slot`: keccak256 of both, so it
/// changes from slot to slot and draws no randomness.
fn lot(slot: u64, node: Address) -> u64 {
    let h = keccak256([&slot.to_be_bytes()[..], node.as_slice()].concat());
    let (word, _) = h.0.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    u64::from_be_bytes(*word)
}

/// How long `node` waits before rescuing `slot` when rescuers spread over
/// `spread_ms` (`CoreConfig::rescue_spread_ms`).
pub(crate) fn rescue_delay_ms(slot: u64, node: Address, spread_ms: u64) -> u64 {
    lot(slot, node)
        .checked_rem(spread_ms.saturating_add(1))
        .unwrap_or(0)
}

/// `node`'s turn to rescue `slot` among its committee: members ordered by
/// their lot for the slot, the slot's proposer (which had its chance) and
/// non-members last.
pub(crate) fn rescue_rank(
    slot: u64,
    node: Address,
    committee: &[Address],
    proposer: Address,
) -> usize {
    let mine = lot(slot, node);
    if node == proposer || !committee.contains(&node) {
        return committee.len();
    }
    committee
        .iter()
        .filter(|m| **m != proposer && **m != node)
        .filter(|m| (lot(slot, **m), **m) < (mine, node))
        .count()
}

impl Core {
    /// The oldest unsettled slot with provisional blocks this node could
    /// rescue, and how many blocks its rescue would hold: the slot's
    /// provisional blocks, after the blocks of a rescue already accepted
    /// for it (when this node holds more). Cheap: it copies nothing.
    fn rescue_target(&self) -> Option<(u64, usize)> {
        let provisional = self.chain.provisional();
        let first = provisional.first()?;
        let slot = first.header.slot;
        let checkpointed = self.chain.checkpointed();
        let before = if checkpointed.slot == slot && slot != 0 {
            // Blocks beyond a checkpoint of their slot: only a rescue's.
            let r = self.rescue.accepted.as_ref().filter(|r| r.slot == slot)?;
            if r.transactions.len() != r.headers.len() {
                return None;
            }
            r.headers.len()
        } else {
            0
        };
        if usize::try_from(first.header.index).ok()? != before {
            return None;
        }
        let own = provisional
            .iter()
            .take_while(|b| b.header.slot == slot)
            .count();
        Some((slot, before.saturating_add(own)))
    }

    /// The chain [`Core::rescue_target`] names, with what its rescue needs.
    fn rescue_candidate(&self) -> Option<Candidate> {
        let (slot, _) = self.rescue_target()?;
        let (mut headers, mut transactions) = match self.rescue.accepted.as_ref() {
            Some(r) if r.slot == slot && self.chain.checkpointed().slot == slot => {
                (r.headers.clone(), r.transactions.clone())
            }
            _ => (Vec::new(), Vec::new()),
        };
        let own: Vec<_> = self
            .chain
            .provisional()
            .iter()
            .take_while(|b| b.header.slot == slot)
            .collect();
        for b in &own {
            headers.push(b.header.clone());
            transactions.push(b.transactions.clone());
        }
        let last = own.last()?;
        Some(Candidate {
            slot,
            headers,
            transactions,
            attestations: last.attestations.clone(),
            provisional_signature: last.proposer_signature.clone(),
            data_hash: last.data_hash,
        })
    }

    /// Rescues the oldest unsettled slot when its window is open and this
    /// node's delay has passed; see the module docs.
    pub(crate) fn rescue_poll(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        self.rescue.due = None;
        if !self.cfg.rescue {
            return;
        }
        let (Some(head), Some(me)) = (self.l1_head, self.me()) else {
            return;
        };
        let Some((slot, blocks)) = self.rescue_target() else {
            self.rescue.attempt = None;
            return;
        };
        let Ok((open, close)) = self.timetable.rescue_window(Slot(slot)) else {
            return;
        };
        // L1 blocks come every `l1` ms: the next one must fall in the window.
        let l1 = self.timetable.l1_block_time_ms();
        let Some(next_block) = head.timestamp.checked_add_ms(l1) else {
            return;
        };
        if next_block < open || next_block >= close {
            return;
        }
        let attempt = match self.rescue.attempt {
            Some(a) if a.slot == slot && a.blocks == blocks => a,
            _ => Attempt {
                slot,
                blocks,
                ready_at: now,
                sent_at: None,
            },
        };
        self.rescue.attempt = Some(attempt);
        // By default a quarter block first, so that the rest of the block
        // that opened the window (the proposer's checkpoint, someone's
        // rescue) is seen, then this node's turn; or a delay drawn over the
        // configured spread.
        let delay = match self.cfg.rescue_spread_ms {
            Some(spread) => rescue_delay_ms(slot, me, spread),
            None => {
                // One rescuer per L1 block of the window, by rank; the
                // rest in its last block.
                let window_blocks = close
                    .millis_since(open)
                    .unwrap_or(0)
                    .checked_div(l1)
                    .unwrap_or(1)
                    .max(1);
                let rank = self
                    .duties
                    .get(&slot)
                    .map_or(0, |d| rescue_rank(slot, me, &d.committee, d.proposer));
                let turn = u64::try_from(rank)
                    .unwrap_or(u64::MAX)
                    .min(window_blocks.saturating_sub(1));
                (l1 / 4).saturating_add(turn.saturating_mul(l1))
            }
        };
        let due = attempt.ready_at.checked_add_ms(delay).unwrap_or(now);
        if now < due {
            self.rescue.due = Some(due);
            return;
        }
        if attempt
            .sent_at
            .is_some_and(|t| now.millis_since(t).is_some_and(|d| d < l1))
        {
            self.rescue.due = attempt.sent_at.and_then(|t| t.checked_add_ms(l1));
            return;
        }
        // Counted as sent even when it cannot be built (its data does not
        // match, say): it is tried again one L1 block later, not on every
        // input.
        self.rescue.attempt = Some(Attempt {
            sent_at: Some(now),
            ..attempt
        });
        let Some(call) = self.rescue_candidate().and_then(|c| self.rescue_call(c)) else {
            return;
        };
        let blobs = call.blobs().len();
        info!(target: "chunkseq::protocol", slot, blocks, blobs, "rescuing a slot whose proposer did not publish");
        out.push(Output::Event(Event::RescueSubmitted {
            slot,
            blocks: u32::try_from(blocks).unwrap_or(u32::MAX),
            blobs: u32::try_from(blobs).unwrap_or(u32::MAX),
        }));
        out.push(Output::SubmitL1 {
            call,
            deadline: Some(close),
        });
    }

    /// The rescue call this node would send for its oldest unsettled slot,
    /// whether or not that slot's rescue window is open (L1 refuses it
    /// outside the window); `None` when it holds no chain to rescue. For
    /// tests and fault injection: the core sends its rescues itself.
    pub fn rescue_call_now(&mut self) -> Option<RollupCall> {
        let candidate = self.rescue_candidate()?;
        self.rescue_call(candidate)
    }

    /// When a waiting rescue is due.
    pub(crate) const fn rescue_due(&self) -> Option<UnixMillis> {
        self.rescue.due
    }

    /// The `rescueCheckpoint` call for a candidate chain, with its data
    /// encoded as the proposer would have (and checked against the data
    /// hash its attestations sign).
    fn rescue_call(&mut self, c: Candidate) -> Option<RollupCall> {
        let committee = self.duties.get(&c.slot)?.committee.clone();
        let mut data = SlotData::new(&self.spec);
        for txs in &c.transactions {
            data = match data.appended(txs) {
                Ok(d) => d,
                Err(e) => {
                    warn!(target: "chunkseq::protocol", slot = c.slot, "cannot rescue: {e}");
                    return None;
                }
            };
        }
        let data = match data.commit(&mut self.versioned_hashes) {
            Ok(d) => d,
            Err(e) => {
                warn!(target: "chunkseq::protocol", slot = c.slot, "cannot rescue: {e}");
                return None;
            }
        };
        if data.data_hash() != c.data_hash {
            warn!(target: "chunkseq::protocol", slot = c.slot, "cannot rescue: the blocks' data does not hash to what their attestations sign");
            return None;
        }
        let bodies: Vec<Bytes> = c
            .transactions
            .iter()
            .map(|t| chunkseq_primitives::body::encode_body(t))
            .collect();
        let (bodies, blobs) = self.checkpoint_payload(&data, bodies);
        Some(RollupCall::RescueCheckpoint {
            slot: c.slot,
            headers: c.headers,
            bodies,
            blob_hashes: data.versioned_hashes().to_vec(),
            blobs: Arc::new(blobs),
            attestations: c.attestations,
            committee,
            provisional_signature: c.provisional_signature,
        })
    }

    /// Records a rescued checkpoint this node applied, with its blocks'
    /// transactions (what a longer rescue of the slot republishes).
    pub(crate) fn record_rescue(
        &mut self,
        slot: u64,
        parent_checkpoint: B256,
        headers: &[BlockHeader],
        bodies: &[Bytes],
    ) {
        let transactions = bodies
            .iter()
            .map(|b| decode_body(b))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_default();
        self.rescue.accepted = Some(RescuedCheckpoint {
            slot,
            parent_checkpoint,
            headers: headers.to_vec(),
            transactions,
        });
    }

    /// Whether a checkpoint may land on this node's checkpointed tip now:
    /// L1 refuses one on top of a rescue until the rescue's window closes
    /// (a longer rescue may still replace it), so the next L1 block must
    /// fall after that window.
    pub(crate) fn rescue_window_passed(&self) -> bool {
        let tip = self.chain.checkpointed().slot;
        if self.rescue.accepted.as_ref().is_none_or(|r| r.slot != tip) {
            return true;
        }
        let Ok((_, close)) = self.timetable.rescue_window(Slot(tip)) else {
            return true;
        };
        self.l1_head.is_some_and(|h| {
            h.timestamp
                .checked_add_ms(self.timetable.l1_block_time_ms())
                .is_some_and(|next| next >= close)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_in_the_spread_and_differ_between_nodes() {
        let nodes: Vec<Address> = (1u8..=16).map(Address::repeat_byte).collect();
        let delays: Vec<u64> = nodes
            .iter()
            .map(|n| rescue_delay_ms(7, *n, 3_000))
            .collect();
        assert!(delays.iter().all(|d| *d <= 3_000));
        let mut distinct = delays.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 12, "{delays:?}");
        // Deterministic, and a different slot gives a different order.
        assert_eq!(rescue_delay_ms(7, nodes[0], 3_000), delays[0]);
        let next: Vec<u64> = nodes
            .iter()
            .map(|n| rescue_delay_ms(8, *n, 3_000))
            .collect();
        assert_ne!(next, delays);
        assert_eq!(rescue_delay_ms(7, nodes[0], 0), 0);
    }

    #[test]
    fn ranks_are_a_permutation_with_the_proposer_and_outsiders_last() {
        let committee: Vec<Address> = (1u8..=8).map(Address::repeat_byte).collect();
        let proposer = committee[3];
        for slot in [1u64, 2, 99] {
            let mut ranks: Vec<usize> = committee
                .iter()
                .filter(|m| **m != proposer)
                .map(|m| rescue_rank(slot, *m, &committee, proposer))
                .collect();
            ranks.sort_unstable();
            assert_eq!(ranks, (0..7).collect::<Vec<_>>(), "slot {slot}");
            assert_eq!(rescue_rank(slot, proposer, &committee, proposer), 8);
            let outsider = Address::repeat_byte(0xee);
            assert_eq!(rescue_rank(slot, outsider, &committee, proposer), 8);
        }
        // The order changes with the slot.
        let first = |slot| {
            committee
                .iter()
                .find(|m| rescue_rank(slot, **m, &committee, proposer) == 0)
                .copied()
        };
        assert!(
            (1..20)
                .map(first)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        );
    }
}
