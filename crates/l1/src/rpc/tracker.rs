//! Book-keeping of the RPC L1: the blocks seen (to notice reorgs), the nonce
//! of each sender and every transaction sent and not yet settled.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

use alloy::eips::eip7594::BlobTransactionSidecarVariant;
use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::UnixMillis;

use super::fees::Fees;
use crate::events::SubmissionId;

/// A submission and every transaction sent for it (one nonce, rising fees).
#[derive(Clone, Debug)]
pub(super) struct Sent {
    pub(super) id: SubmissionId,
    pub(super) from: Address,
    pub(super) call: &'static str,
    pub(super) data: Bytes,
    pub(super) value: U256,
    pub(super) nonce: u64,
    pub(super) gas_limit: u64,
    pub(super) fees: Fees,
    pub(super) deadline: Option<UnixMillis>,
    pub(super) hashes: Vec<B256>,
    pub(super) sent_at_block: u64,
    /// A blob transaction's sidecar, computed once and sent again with
    /// every resend.
    pub(super) sidecar: Option<Arc<BlobTransactionSidecarVariant>>,
}

/// What the RPC L1 remembers between polls.
#[derive(Debug)]
pub(super) struct Tracker {
    next_id: SubmissionId,
    pending: BTreeMap<SubmissionId, Sent>,
    /// Included submissions, kept while a reorg could still undo them.
    included: BTreeMap<SubmissionId, (Sent, u64)>,
    /// Past their deadline; their cancel transactions are watched so the
    /// nonce is known to be used.
    cancelling: BTreeMap<SubmissionId, Sent>,
    nonces: HashMap<Address, u64>,
    recent: VecDeque<(u64, B256, u64)>,
}

/// Blocks of history kept to follow reorgs.
const HISTORY: usize = 256;

impl Tracker {
    pub(super) fn new(head: u64, hash: B256) -> Self {
        Self {
            next_id: 0,
            pending: BTreeMap::new(),
            included: BTreeMap::new(),
            cancelling: BTreeMap::new(),
            nonces: HashMap::new(),
            recent: VecDeque::from([(head, hash, 0)]),
        }
    }

    fn head(&self) -> (u64, B256, u64) {
        self.recent.back().copied().unwrap_or_default()
    }

    /// The number of the next block to read and the parent it must have.
    pub(super) fn next_block(&self) -> (u64, B256) {
        let (n, hash, _) = self.head();
        (n.saturating_add(1), hash)
    }

    /// Records block `n` as the new head.
    pub(super) fn seen(&mut self, n: u64, hash: B256, timestamp_ms: u64) {
        self.recent.push_back((n, hash, timestamp_ms));
        while self.recent.len() > HISTORY {
            self.recent.pop_front();
        }
        let horizon = n.saturating_sub(HISTORY as u64);
        self.included.retain(|_, (_, at)| *at > horizon);
    }

    /// Forgets the head block (replaced by a reorg); returns its number, or
    /// `None` when no older block is known or the reorg is deeper than `max`.
    pub(super) fn rewind(&mut self, max_depth: u64) -> Option<u64> {
        if self.recent.len() < 2 {
            return None;
        }
        let (dropped, _, _) = self.recent.pop_back()?;
        let first_kept = self.recent.front().map_or(0, |b| b.0);
        if dropped.saturating_sub(first_kept) > max_depth.saturating_add(HISTORY as u64) {
            return None;
        }
        // Submissions included in the dropped block are pending again.
        let undone: Vec<SubmissionId> = self
            .included
            .iter()
            .filter(|(_, (_, at))| *at >= dropped)
            .map(|(id, _)| *id)
            .collect();
        for id in undone {
            if let Some((sent, _)) = self.included.remove(&id) {
                self.pending.insert(id, sent);
            }
        }
        Some(dropped)
    }

    /// The next nonce of `from`, if known, counting it as used.
    pub(super) fn take_nonce(&mut self, from: Address) -> Option<u64> {
        let n = self.nonces.get_mut(&from)?;
        let current = *n;
        *n = n.saturating_add(1);
        Some(current)
    }

    /// Learns `from`'s next nonce from the node; returns it, counted as used.
    pub(super) fn seed_nonce(&mut self, from: Address, n: u64) -> u64 {
        let next = self.nonces.entry(from).or_insert(n);
        let current = *next;
        *next = next.saturating_add(1);
        current
    }

    /// Forgets `from`'s nonce after a failed send; it is read again next time.
    pub(super) fn forget_nonce(&mut self, from: Address) {
        self.nonces.remove(&from);
    }

    /// Starts tracking a sent submission; returns its id.
    pub(super) fn track(&mut self, mut sent: Sent) -> SubmissionId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        sent.id = id;
        sent.sent_at_block = self.head().0;
        self.pending.insert(id, sent);
        id
    }

    /// Every transaction hash worth a receipt lookup.
    pub(super) fn watched_hashes(&self) -> Vec<(SubmissionId, B256)> {
        self.pending
            .values()
            .chain(self.cancelling.values())
            .flat_map(|s| s.hashes.iter().map(move |h| (s.id, *h)))
            .collect()
    }

    /// Submission `id` landed in block `at`; returns its call's name unless
    /// it was a cancelled one (whose landing is not reported).
    pub(super) fn included(&mut self, id: SubmissionId, at: u64) -> Option<&'static str> {
        if self.cancelling.remove(&id).is_some() {
            return None;
        }
        let sent = self.pending.remove(&id)?;
        let call = sent.call;
        self.included.insert(id, (sent, at));
        Some(call)
    }

    /// Submissions pending for `after` blocks since their last send, and
    /// those whose deadline the head passed (removed from the pending set).
    pub(super) fn due_for_resend(&mut self, after: u64) -> (Vec<Sent>, Vec<Sent>) {
        let (head, _, now) = self.head();
        let expired_ids: Vec<SubmissionId> = self
            .pending
            .values()
            .filter(|s| s.deadline.is_some_and(|d| d.0 < now))
            .map(|s| s.id)
            .collect();
        let mut expired = Vec::new();
        for id in expired_ids {
            if let Some(s) = self.pending.remove(&id) {
                self.cancelling.insert(id, s.clone());
                expired.push(s);
            }
        }
        let due = self
            .pending
            .values()
            .filter(|s| head >= s.sent_at_block.saturating_add(after))
            .cloned()
            .collect();
        (due, expired)
    }

    /// Submission `id` was sent again as `hash` with `fees`.
    pub(super) fn resent(&mut self, id: SubmissionId, hash: B256, fees: Fees) {
        let head = self.head().0;
        if let Some(s) = self.pending.get_mut(&id) {
            s.hashes.push(hash);
            s.fees = fees;
            s.sent_at_block = head;
        }
    }

    /// Submission `id` past its deadline was replaced by a cancel `hash`.
    pub(super) fn cancelled(&mut self, id: SubmissionId, hash: B256, fees: Fees) {
        if let Some(s) = self.cancelling.get_mut(&id) {
            s.hashes.push(hash);
            s.fees = fees;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(deadline: Option<u64>) -> Sent {
        Sent {
            id: 0,
            from: Address::repeat_byte(1),
            call: "proposeCheckpoint",
            data: Bytes::new(),
            value: U256::ZERO,
            nonce: 0,
            gas_limit: 1,
            fees: Fees {
                max_fee_per_gas: 10,
                max_priority_fee_per_gas: 1,
                max_fee_per_blob_gas: None,
            },
            deadline: deadline.map(UnixMillis),
            hashes: vec![B256::repeat_byte(7)],
            sent_at_block: 0,
            sidecar: None,
        }
    }

    #[test]
    fn nonces_count_up_and_resync_after_a_failure() {
        let mut t = Tracker::new(0, B256::ZERO);
        let a = Address::repeat_byte(1);
        assert_eq!(t.take_nonce(a), None);
        assert_eq!(t.seed_nonce(a, 5), 5);
        assert_eq!(t.take_nonce(a), Some(6));
        t.forget_nonce(a);
        assert_eq!(t.take_nonce(a), None);
    }

    #[test]
    fn resend_waits_for_blocks_and_deadlines_expire() {
        let mut t = Tracker::new(10, B256::ZERO);
        let id = t.track(sent(Some(5_000)));
        let late = t.track(sent(None));
        assert!(t.due_for_resend(2).0.is_empty());
        t.seen(11, B256::repeat_byte(1), 4_000);
        t.seen(12, B256::repeat_byte(2), 6_000);
        let (due, expired) = t.due_for_resend(2);
        assert_eq!(expired.iter().map(|s| s.id).collect::<Vec<_>>(), vec![id]);
        assert_eq!(due.iter().map(|s| s.id).collect::<Vec<_>>(), vec![late]);
        t.resent(late, B256::repeat_byte(9), due[0].fees);
        assert!(t.due_for_resend(2).0.is_empty(), "just resent");
        assert_eq!(t.included(id, 13), None, "a cancelled call is not reported");
        assert_eq!(t.included(late, 13), Some("proposeCheckpoint"));
    }

    #[test]
    fn a_reorg_makes_included_submissions_pending_again() {
        let mut t = Tracker::new(1, B256::repeat_byte(1));
        t.seen(2, B256::repeat_byte(2), 2_000);
        let id = t.track(sent(None));
        assert!(t.included(id, 2).is_some());
        assert!(t.watched_hashes().is_empty());
        assert_eq!(t.rewind(64), Some(2));
        assert_eq!(t.next_block(), (2, B256::repeat_byte(1)));
        assert_eq!(t.watched_hashes().len(), 1);
        assert_eq!(t.rewind(64), None, "no older block is known");
    }
}
