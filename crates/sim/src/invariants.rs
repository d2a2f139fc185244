//! The invariants of docs/design.md section 12, checked as the run goes (and the
//! liveness ones at its end). A violation carries the seed, the slot and
//! the trail of events that led to it.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256};
use chunkseq_protocol::Gossip;

use chunkseq_report::{Recorder, Violation};

/// What the invariants remember.
pub(crate) struct Invariants {
    addrs: Vec<Address>,
    offenders: BTreeSet<usize>,
    faulty: BTreeSet<usize>,
    max_reorg_slots: usize,
    seed: u64,
    /// (node, statement kind, slot, index) -> what it signed.
    signed: BTreeMap<(usize, u8, u64, u32), B256>,
    /// Faulty nodes that did commit their offence (a double attester that
    /// was never asked to attest, or an equivocator that proposed nothing
    /// in its window, committed none).
    committed: BTreeSet<usize>,
    /// Restarted nodes: whether each caught up level with L1 since its
    /// last restart, and whether it signed anything after that.
    restarted: BTreeMap<usize, Rejoined>,
    pub(crate) violations: Vec<Violation>,
}

/// How a restarted node came back.
#[derive(Clone, Copy, Debug, Default)]
struct Rejoined {
    /// When it caught up level with L1 (ms since genesis).
    level_at: Option<u64>,
    /// Whether it signed a message since.
    signed: bool,
}

impl Invariants {
    pub(crate) fn new(
        addrs: &[Address],
        offenders: BTreeSet<usize>,
        faulty: BTreeSet<usize>,
        max_reorg_slots: usize,
        seed: u64,
    ) -> Self {
        Self {
            addrs: addrs.to_vec(),
            offenders,
            faulty,
            max_reorg_slots,
            seed,
            signed: BTreeMap::new(),
            committed: BTreeSet::new(),
            restarted: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    /// Faulty node `node` sent the messages that make its offence.
    pub(crate) fn committed(&mut self, node: usize) {
        self.committed.insert(node);
    }

    /// Node `node` restarted with an empty memory.
    pub(crate) fn on_restart(&mut self, node: usize) {
        self.restarted.insert(node, Rejoined::default());
    }

    /// Node `node` caught up (`level`: with L1's tip) at `at_ms`.
    pub(crate) fn on_caught_up(&mut self, node: usize, level: bool, at_ms: u64) {
        if let Some(r) = self.restarted.get_mut(&node)
            && level
        {
            r.level_at = Some(at_ms);
        }
    }

    /// Restarted nodes and when each caught up level (ms since genesis).
    pub(crate) fn rejoined_at(&self) -> Vec<(usize, Option<u64>)> {
        self.restarted
            .iter()
            .map(|(n, r)| (*n, r.level_at))
            .collect()
    }

    /// A restarted node caught up level with L1, follows L1 to the end
    /// (`tips`: each node's checkpointed tip at the end; `expected`: L1's,
    /// and the observer's, which may not have seen L1's newest yet) and,
    /// if it had a duty in a slot after the one it caught up in (`had_duty`),
    /// took part again.
    pub(crate) fn restarts_rejoined(
        &mut self,
        tips: &[B256],
        expected: &[B256],
        had_duty: &BTreeSet<usize>,
        at_ms: u64,
        trail: &[String],
    ) {
        for (node, r) in self.restarted.clone() {
            let detail = match r.level_at {
                None => Some(format!("node {node} never caught up level with L1")),
                Some(_) if !tips.get(node).is_some_and(|t| expected.contains(t)) => Some(format!(
                    "node {node} ends at {:?}, not at L1's checkpointed tip {expected:?}",
                    tips.get(node)
                )),
                Some(t) if !r.signed && had_duty.contains(&node) => Some(format!(
                    "node {node} caught up at {t} ms, had duties after, and signed nothing"
                )),
                Some(_) => None,
            };
            if let Some(detail) = detail {
                self.violate(
                    "a restarted node catches up and takes part again",
                    detail,
                    0,
                    at_ms,
                    trail,
                );
            }
        }
    }

    fn violate(
        &mut self,
        invariant: &str,
        detail: String,
        slot: u64,
        at_ms: u64,
        trail: &[String],
    ) {
        self.violations.push(Violation {
            invariant: invariant.into(),
            detail,
            seed: self.seed,
            slot,
            at_ms,
            trail: trail.to_vec(),
        });
    }

    /// Honest validators never sign conflicting messages.
    pub(crate) fn on_signed(
        &mut self,
        node: usize,
        g: &Gossip,
        at_ms: u64,
        slot: u64,
        trail: &[String],
    ) {
        if let Some(r) = self.restarted.get_mut(&node)
            && r.level_at.is_some()
        {
            r.signed = true;
        }
        if self.offenders.contains(&node) {
            return;
        }
        let key_hash = match g {
            Gossip::Proposal(m) => ((node, 0, m.header.slot, m.header.index), m.header.hash()),
            Gossip::Attestation(m) => (
                (node, 1, m.attestation.slot, m.attestation.index),
                m.attestation.blockHash,
            ),
            Gossip::Provisional(m) => ((node, 2, m.header.slot, m.header.index), m.header.hash()),
            _ => return,
        };
        let (key, hash) = key_hash;
        match self.signed.get(&key) {
            Some(previous) if *previous != hash => self.violate(
                "honest validators never sign conflicting messages",
                format!("node {node} signed {previous} and {hash} for {key:?}"),
                slot,
                at_ms,
                trail,
            ),
            Some(_) => {}
            None => {
                self.signed.insert(key, hash);
            }
        }
    }

    /// Honest followers agree with L1 after every checkpoint.
    pub(crate) fn on_checkpoint_applied(
        &mut self,
        node: usize,
        tip: B256,
        l1_last: B256,
        slot: u64,
        at_ms: u64,
        trail: &[String],
    ) {
        if self.faulty.contains(&node) || tip == l1_last {
            return;
        }
        self.violate(
            "honest followers agree with L1 after every checkpoint",
            format!("node {node} is at {tip}, L1's checkpoint ends at {l1_last}"),
            slot,
            at_ms,
            trail,
        );
    }

    /// No honest validator is slashed.
    pub(crate) fn on_slashed(
        &mut self,
        validator: Address,
        slot: u64,
        at_ms: u64,
        trail: &[String],
    ) {
        let node = self.addrs.iter().position(|a| *a == validator);
        if node.is_some_and(|n| self.offenders.contains(&n)) {
            return;
        }
        self.violate(
            "no honest validator is slashed",
            format!("{validator} (node {node:?}) was slashed"),
            slot,
            at_ms,
            trail,
        );
    }

    /// Reorgs are at most one slot deep (non-staggered) or two (staggered).
    pub(crate) fn on_reorg(
        &mut self,
        node: usize,
        slots: &[u64],
        now_slot: u64,
        at_ms: u64,
        trail: &[String],
    ) {
        if self.faulty.contains(&node) || slots.len() <= self.max_reorg_slots {
            return;
        }
        self.violate(
            "reorg depth is at most 1 slot (2 staggered)",
            format!("node {node} dropped slots {slots:?}"),
            now_slot,
            at_ms,
            trail,
        );
    }

    /// Every offence is slashed; with an honest proposer (and no network or
    /// L1 faults), every slot is checkpointed.
    pub(crate) fn at_end(
        &mut self,
        recorder: &Recorder,
        proposers: &BTreeMap<u64, usize>,
        fault_slots: &BTreeSet<u64>,
        clean: bool,
        at_ms: u64,
        trail: &[String],
    ) {
        let slashed: BTreeSet<Address> = recorder.slashed_validators().collect();
        for n in self.committed.clone() {
            let Some(addr) = self.addrs.get(n).copied() else {
                continue;
            };
            if !slashed.contains(&addr) {
                self.violate(
                    "every offence is slashed",
                    format!("offender node {n} ({addr}) was not slashed"),
                    0,
                    at_ms,
                    trail,
                );
            }
        }
        if !clean {
            return;
        }
        for (slot, proposer) in proposers {
            if self.faulty.contains(proposer) || fault_slots.contains(slot) {
                continue;
            }
            if !recorder.is_checkpointed(*slot) {
                self.violate(
                    "with an honest proposer every slot is checkpointed",
                    format!("slot {slot} (proposer node {proposer}) has no checkpoint on L1"),
                    *slot,
                    at_ms,
                    trail,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    fn invariants() -> Invariants {
        let addrs = [Address::repeat_byte(1), Address::repeat_byte(2)];
        Invariants::new(&addrs, BTreeSet::new(), BTreeSet::from([1]), 1, 7)
    }

    #[test]
    fn a_restarted_node_that_does_not_come_back_is_a_violation() {
        let tip = B256::repeat_byte(9);
        let duty = BTreeSet::from([1]);
        // Never caught up.
        let mut i = invariants();
        i.on_restart(1);
        i.restarts_rejoined(&[tip, B256::ZERO], &[tip], &duty, 60_000, &[]);
        assert_eq!(i.violations.len(), 1);
        // Caught up, but ends off L1's tip.
        let mut i = invariants();
        i.on_restart(1);
        i.on_caught_up(1, true, 10_000);
        i.restarts_rejoined(&[tip, B256::ZERO], &[tip], &duty, 60_000, &[]);
        assert_eq!(i.violations.len(), 1);
        // Caught up and on the tip, but silent for the rest of the run
        // though it had duties; without duties, silence is right.
        let mut i = invariants();
        i.on_restart(1);
        i.on_caught_up(1, true, 10_000);
        i.restarts_rejoined(&[tip, tip], &[tip], &duty, 60_000, &[]);
        assert_eq!(i.violations.len(), 1);
        let mut i = invariants();
        i.on_restart(1);
        i.on_caught_up(1, true, 10_000);
        i.restarts_rejoined(&[tip, tip], &[tip], &BTreeSet::new(), 60_000, &[]);
        assert!(i.violations.is_empty());
        // Caught up, on the tip, and took part: fine. A catch-up that gave
        // up (`level: false`) does not count as caught up.
        let mut i = invariants();
        i.on_restart(1);
        i.on_caught_up(1, false, 9_000);
        i.on_caught_up(1, true, 10_000);
        let attestation = Gossip::Attestation(chunkseq_primitives::AttestationMessage::default());
        i.on_signed(1, &attestation, 11_000, 3, &[]);
        i.restarts_rejoined(&[tip, tip], &[tip], &duty, 60_000, &[]);
        assert!(i.violations.is_empty(), "{:?}", i.violations);
    }
}
