//! Rescue publishing on the Rollup contract (docs/rescue.md), each rule
//! tried as an attacker or a careless rescuer would, on the embedded L1 and
//! on anvil: a rescue lands only in the window after the slot, only with the
//! proposer's provisional signature over threshold attestations, a longer
//! rescue replaces a shorter one while the window is open, nothing lands on
//! top of a rescue before the window closes, and no omission is ever proven
//! against a rescued slot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::{ControlledL1, L1Event, RollupCall};
use chunkseq_primitives::{
    BlockHeader, CheckpointHeader, CheckpointOmission, ProvisionalBlock, Slot, Timetable,
    UnixMillis,
};

mod harness;
use harness::*;

on_both_l1s!(
    a_rescue_lands_only_in_the_window_after_its_slot,
    a_rescue_needs_the_proposers_provisional_signature_over_its_attestations,
    a_longer_rescue_replaces_a_shorter_one_while_the_window_is_open,
    nothing_lands_on_a_rescue_until_its_window_closes,
    a_proposers_checkpoint_is_never_rescued_over,
    a_late_proposer_and_a_rescuer_in_one_block_leave_one_checkpoint,
    no_omission_is_proven_against_a_rescued_slot,
    a_rescue_in_blobs_lands @ blobs_only,
);

/// The slot rescued in these cases: the devnet's first slot with blocks.
const SLOT: u64 = 1;
/// Blocks its proposer made provisional.
const BLOCKS: u32 = 3;

impl<L: ControlledL1> Harness<L> {
    fn timetable(&self) -> Timetable {
        Timetable::new(&self.spec).unwrap()
    }

    /// Moves L1 so that the next block mined is the first at or after `t`
    /// (at most one L1 block after it: on anvil, blocks keep the
    /// alignment the deployment's wall-clock time gave them).
    async fn next_block_from(&mut self, t: UnixMillis) {
        self.l1
            .advance_to(t.checked_sub_ms(1).unwrap())
            .await
            .unwrap();
        self.l1.poll_events().await.unwrap();
    }

    /// Moves L1 so that the next block mined is the first of `slot`'s
    /// rescue window.
    async fn before_rescue_window(&mut self, slot: u64) {
        let (open, _) = self.timetable().rescue_window(Slot(slot)).unwrap();
        self.next_block_from(open).await;
    }

    /// A rescue of the first `count` blocks of `SLOT` on genesis, signed by
    /// the slot's proposer as the provisional chain has it.
    async fn rescue_of(&self, count: u32) -> RollupCall {
        let txs = self.txs(SLOT, count);
        let (parts, proposer) = self
            .parts_as(SLOT, &txs, (GENESIS_HASH, 0), B256::ZERO, publish_of(self))
            .await;
        parts.rescue(&self.domain, self.signer(proposer)).unwrap()
    }

    /// The proposer's own checkpoint of the first `count` blocks of `SLOT`.
    async fn own_checkpoint(&self, count: u32) -> RollupCall {
        self.checkpoint(SLOT, count, (GENESIS_HASH, 0), B256::ZERO)
            .await
    }

    async fn outcome(&mut self, call: RollupCall) -> Result<(), String> {
        let from = self.outsiders[0];
        self.run(from, call).await.0
    }

    async fn tip_blocks(&self) -> (u64, u64, B256) {
        let t = self.l1.tip().await.unwrap();
        (t.slot, t.last_block_number, t.header_hash)
    }
}

fn publish_of<L>(h: &Harness<L>) -> Publish {
    if h.spec.data_mode == chunkseq_primitives::DataMode::Blobs {
        Publish::Blobs
    } else {
        Publish::Calldata
    }
}

/// The rescue found in `events`, if one was accepted: (slot, rescuer, blocks).
fn rescued(events: &[L1Event]) -> Option<(u64, Address, usize)> {
    events.iter().find_map(|e| match e {
        L1Event::CheckpointAccepted {
            slot,
            rescuer: Some(r),
            headers,
            ..
        } => Some((*slot, *r, headers.len())),
        _ => None,
    })
}

/// During the proposer's own slot, nobody may close it: the rescue is
/// refused and the proposer can still publish its longer chain. After the
/// slot, the rescue lands; once its window has closed, it is refused.
async fn a_rescue_lands_only_in_the_window_after_its_slot<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(SLOT).await;
    let early = h.rescue_of(2).await;
    assert_eq!(h.outcome(early).await, Err("RescueTooEarly".into()));
    // Nothing changed: the proposer publishes all its blocks in its slot.
    let own = h.own_checkpoint(BLOCKS).await;
    assert_eq!(h.outcome(own).await, Ok(()));
    assert_eq!(h.tip_blocks().await.1, u64::from(BLOCKS));

    // The next slot, missed by its proposer: too early in slot 2 itself ...
    let tip = h.l1.tip().await.unwrap();
    let slot = 2;
    let txs = h.txs(slot, 2);
    let (parts, proposer) = h
        .parts_as(
            slot,
            &txs,
            (tip.last_block_hash, tip.last_block_number),
            tip.header_hash,
            publish_of(&h),
        )
        .await;
    let rescue = parts.rescue(&h.domain, h.signer(proposer)).unwrap();
    h.enter_slot(slot).await;
    assert_eq!(
        h.outcome(rescue.clone()).await,
        Err("RescueTooEarly".into())
    );
    // ... and too late once the window after it has closed.
    let (_, close) = h.timetable().rescue_window(Slot(slot)).unwrap();
    h.next_block_from(close).await;
    assert_eq!(h.outcome(rescue).await, Err("RescueWindowClosed".into()));
    assert_eq!(h.l1.tip().await.unwrap().slot, SLOT, "the tip is untouched");
}

/// A rescue is proven by the slot's proposer's `ProvisionalBlock`
/// signature over the very attestations it carries, which must reach the
/// threshold: an attester's signature, the proposer's signature over other
/// attestations, or too few attestations are each refused.
async fn a_rescue_needs_the_proposers_provisional_signature_over_its_attestations<
    L: ControlledL1,
>(
    mut h: Harness<L>,
) {
    h.enter_slot(SLOT).await;
    let (committee, proposer) = h.duties(SLOT).await;
    let txs = h.txs(SLOT, 2);
    let (parts, _) = h
        .parts_as(SLOT, &txs, (GENESIS_HASH, 0), B256::ZERO, publish_of(&h))
        .await;
    h.before_rescue_window(SLOT).await;
    // Signed by a committee member that is not the proposer.
    let attester = *committee.iter().find(|m| **m != proposer).unwrap();
    let forged = parts.clone().rescue(&h.domain, h.signer(attester)).unwrap();
    // The proposer's signature, over other attestations than those sent
    // (the threshold, where the provisional block carried every member's).
    let all = h.attest(&parts.headers[1], &committee, committee.len());
    let RollupCall::RescueCheckpoint {
        provisional_signature,
        ..
    } = CheckpointPartsExt::with_attestations(&parts, all)
        .rescue(&h.domain, h.signer(proposer))
        .unwrap()
    else {
        unreachable!()
    };
    let mut swapped = parts.clone().rescue(&h.domain, h.signer(proposer)).unwrap();
    if let RollupCall::RescueCheckpoint {
        provisional_signature: sent,
        ..
    } = &mut swapped
    {
        *sent = provisional_signature;
    }
    // Below the threshold, even with the proposer's signature over them.
    let few = h.attest(&parts.headers[1], &committee, 2);
    let thin = CheckpointPartsExt::with_attestations(&parts, few)
        .rescue(&h.domain, h.signer(proposer))
        .unwrap();
    // The window holds two L1 blocks: the refusals share the first.
    h.expect_in_one_block(vec![
        (forged, Err("WrongProvisionalSignature")),
        (swapped, Err("WrongProvisionalSignature")),
        (thin, Err("NotEnoughAttestations")),
    ])
    .await;
    // The honest rescue, sent by an outsider, lands.
    let honest = parts.rescue(&h.domain, h.signer(proposer)).unwrap();
    let from = h.outsiders[1];
    let (outcome, events) = h.run(from, honest).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(rescued(&events), Some((SLOT, from, 2)));
}

/// A rescuer that missed the last provisional block rescues a prefix; the
/// full chain replaces it within the window. A shorter or equal rescue, or
/// a longer one that does not extend the accepted one, is refused.
async fn a_longer_rescue_replaces_a_shorter_one_while_the_window_is_open<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(SLOT).await;
    let prefix = h.rescue_of(2).await;
    let full = h.rescue_of(BLOCKS).await;
    // A chain of the same slot whose blocks differ from the accepted ones.
    let other_txs = block_txs(SLOT, BLOCKS, 2, 100, 7);
    let (parts, proposer) = h
        .parts_as(
            SLOT,
            &other_txs,
            (GENESIS_HASH, 0),
            B256::ZERO,
            publish_of(&h),
        )
        .await;
    let other = parts.rescue(&h.domain, h.signer(proposer)).unwrap();
    h.before_rescue_window(SLOT).await;
    let (outcome, events) = h.run(h.outsiders[0], prefix.clone()).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(rescued(&events).map(|r| r.2), Some(2));
    let prefix_tip = h.tip_blocks().await;
    // The window's second and last L1 block.
    h.expect_in_one_block(vec![
        (prefix, Err("RescueNotLonger")),
        (other, Err("RescueDoesNotExtend")),
        (full, Ok(())),
    ])
    .await;
    let (slot, number, header) = h.tip_blocks().await;
    assert_eq!((slot, number), (SLOT, u64::from(BLOCKS)));
    assert_ne!(header, prefix_tip.2);
    // The replacing rescue's header hash covers all blocks on genesis.
    let headers = h.blocks(SLOT, BLOCKS, (GENESIS_HASH, 0));
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    let expected = CheckpointHeader::covering(Slot(SLOT), B256::ZERO, &hashes).unwrap();
    assert_eq!(header, expected.hash());
}

/// The next slot's checkpoint waits for the rescue window to close (a
/// longer rescue could still come), then lands on the rescued chain.
async fn nothing_lands_on_a_rescue_until_its_window_closes<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(SLOT).await;
    let prefix = h.rescue_of(2).await;
    h.before_rescue_window(SLOT).await;
    assert_eq!(h.outcome(prefix).await, Ok(()));
    let tip = h.l1.tip().await.unwrap();
    let next = h
        .checkpoint(
            SLOT + 1,
            2,
            (tip.last_block_hash, tip.last_block_number),
            tip.header_hash,
        )
        .await;
    // The window's second block: still open.
    assert_eq!(
        h.outcome(next.clone()).await,
        Err("RescueWindowOpen".into())
    );
    let (_, close) = h.timetable().rescue_window(Slot(SLOT)).unwrap();
    h.next_block_from(close).await;
    assert_eq!(h.outcome(next).await, Ok(()));
    assert_eq!(h.l1.tip().await.unwrap().slot, SLOT + 1);
}

/// Once the proposer's own checkpoint landed, the slot is closed where the
/// proposer chose: a rescue of it, however long, is refused.
async fn a_proposers_checkpoint_is_never_rescued_over<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(SLOT).await;
    let own = h.own_checkpoint(2).await;
    assert_eq!(h.outcome(own).await, Ok(()));
    let full = h.rescue_of(BLOCKS).await;
    h.before_rescue_window(SLOT).await;
    assert_eq!(h.outcome(full).await, Err("SlotAlreadyCheckpointed".into()));
}

/// The proposer's checkpoint arrives late, in the first block after its
/// slot, together with a rescue: the proposer's is refused (its window has
/// closed), the rescue lands, and there is one checkpoint.
async fn a_late_proposer_and_a_rescuer_in_one_block_leave_one_checkpoint<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(SLOT).await;
    let own = h.own_checkpoint(BLOCKS).await;
    let rescue = h.rescue_of(BLOCKS).await;
    h.before_rescue_window(SLOT).await;
    h.expect_in_one_block(vec![(own, Err("NotInSlot")), (rescue, Ok(()))])
        .await;
    assert_eq!(h.tip_blocks().await.1, u64::from(BLOCKS));
}

/// The omission offence needs a checkpoint the proposer signed: a proposer
/// whose slot was rescued with only a prefix is not slashed for the blocks
/// the rescue left out.
async fn no_omission_is_proven_against_a_rescued_slot<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(SLOT).await;
    let (committee, proposer) = h.duties(SLOT).await;
    let prefix = h.rescue_of(2).await;
    h.before_rescue_window(SLOT).await;
    assert_eq!(h.outcome(prefix).await, Ok(()));
    // The proposer's provisional block 2, left out of the rescue.
    let headers = h.blocks(SLOT, BLOCKS, (GENESIS_HASH, 0));
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    let running = CheckpointHeader::covering(Slot(SLOT), B256::ZERO, &hashes).unwrap();
    let attestations = h.attest(&headers[2], &committee, committee.len());
    let statement = ProvisionalBlock::new(&headers[2], &running, &attestations);
    let evidence = CheckpointOmission {
        provisional: statement.clone(),
        signature: h.sign(proposer, &statement),
    };
    let call = RollupCall::SlashCheckpointOmission {
        evidence,
        checkpoint_blocks: hashes[..2].to_vec(),
        parent_checkpoint: B256::ZERO,
        committee,
    };
    assert_eq!(h.outcome(call).await, Err("RescuedCheckpoint".into()));
    assert!(!h.standing(proposer).await.1, "not slashed");
}

/// On a blobs-only chain the rescue carries the blobs the attestations
/// sign, and L1 checks them as for the proposer's checkpoint.
async fn a_rescue_in_blobs_lands<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(SLOT).await;
    let full = h.rescue_of(BLOCKS).await;
    assert!(!full.blobs().is_empty());
    h.before_rescue_window(SLOT).await;
    let (outcome, events) = h.run(h.outsiders[0], full).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(rescued(&events).map(|r| r.2), Some(BLOCKS as usize));
}

/// Changing the attestations of a set of checkpoint parts.
trait CheckpointPartsExt {
    fn with_attestations(&self, attestations: Bytes) -> Self;
}

impl CheckpointPartsExt for chunkseq_l1::checkpoint_call::CheckpointParts {
    fn with_attestations(&self, attestations: Bytes) -> Self {
        Self {
            attestations,
            ..self.clone()
        }
    }
}
