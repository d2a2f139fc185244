//! Catching up (`crates/protocol/src/catch_up.rs`): a core that starts
//! behind L1 applies L1's checkpoints and takes part only when level; a
//! peer's forged chain is not applied; what a node serves is bounded.

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_primitives::{Preset, Slot};
use chunkseq_protocol::{CheckpointRecord, Event, Input, Output, SyncResponse};
use chunkseq_signer::SlashingProtectionStore;
use std::sync::Arc;

use crate::common::{Run, scripted};

fn caught_up(out: &[Output]) -> Option<bool> {
    out.iter().find_map(|o| match o {
        Output::Event(Event::CaughtUp { level, .. }) => Some(*level),
        _ => None,
    })
}

#[test]
fn a_node_behind_l1_catches_up_from_l1_and_refuses_a_forged_chain() {
    let spec = Preset::Devnet.spec();
    let mut h = scripted(spec, 4);
    let tt = *h.timetable();
    h.run(tt.slot_start(Slot(4)).unwrap(), |_| {});
    let tip = h.l1().tip().unwrap();
    assert!(tip.has_checkpoint && tip.slot >= 2, "{tip:?}");
    let checkpoints = h.l1().checkpoints_after(0, 0, 64);
    // A node that starts now, at genesis: behind.
    let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
    let mut late = h.fresh_core(1, store).unwrap();
    let now = h.now();
    let out = late.handle(now, Input::L1Tip(tip));
    assert!(late.is_catching_up());
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::FetchCheckpoints { after_slot: 0, .. }))
            && out.iter().any(|o| matches!(o, Output::RequestSync(_))),
        "it asks L1 and its peers: {out:?}"
    );
    // A peer serves a chain that does not end at L1's tip: nothing applied.
    let forged: Vec<CheckpointRecord> = checkpoints
        .iter()
        .filter_map(CheckpointRecord::from_event)
        .map(|mut r| {
            r.header_hash = B256::repeat_byte(7);
            r.proposer = Address::repeat_byte(7);
            r
        })
        .collect();
    let out = late.handle(
        now,
        Input::SyncResponse(SyncResponse {
            checkpoints: forged,
            ..SyncResponse::default()
        }),
    );
    assert_eq!(late.chain().checkpointed().slot, 0, "{out:?}");
    assert!(late.is_catching_up());
    // L1's own checkpoints continue its chain: applied, and it is level.
    let out = late.handle(now, Input::L1Checkpoints(checkpoints));
    assert_eq!(caught_up(&out), Some(true), "{out:?}");
    assert!(!late.is_catching_up());
    assert_eq!(late.chain().checkpointed().header_hash, tip.header_hash);
    assert_eq!(late.chain().checkpointed().last_hash, tip.last_block_hash);
}

#[test]
fn a_node_that_hears_nothing_gives_up_and_says_so() {
    let spec = Preset::Devnet.spec();
    let h = scripted(spec, 4);
    let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
    let mut core = h.fresh_core(0, store).unwrap();
    let t0 = h.now();
    let out = core.handle(t0, Input::Tick);
    assert!(out.iter().any(|o| matches!(o, Output::FetchL1Tip)));
    // Asked again after the retry interval, not before.
    let out = core.handle(t0.checked_add_ms(1_000).unwrap(), Input::Tick);
    assert!(!out.iter().any(|o| matches!(o, Output::FetchL1Tip)));
    let out = core.handle(t0.checked_add_ms(1_600).unwrap(), Input::Tick);
    assert!(out.iter().any(|o| matches!(o, Output::FetchL1Tip)));
    let out = core.handle(t0.checked_add_ms(20_000).unwrap(), Input::Tick);
    assert_eq!(caught_up(&out), Some(false), "{out:?}");
    assert!(!core.is_catching_up());
}

#[test]
fn a_sync_answer_stays_within_its_byte_bound() {
    let spec = Preset::Devnet.spec();
    let h = scripted(spec, 4);
    let record = |slot| CheckpointRecord {
        slot,
        header_hash: B256::ZERO,
        headers: vec![],
        bodies: vec![Bytes::from(vec![0u8; 3 * 1024 * 1024])],
        proposer: Address::ZERO,
        l1_block: slot,
        l1_tx: B256::ZERO,
        blob_hashes: vec![],
        rescuer: None,
    };
    let answer = h
        .core(0)
        .unwrap()
        .sync_answer(vec![record(1), record(2), record(3)]);
    assert_eq!(answer.checkpoints.len(), 1, "3 MiB each, 4 MiB in all");
}
