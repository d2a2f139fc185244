//! The node's link to L1: answers the core's duty requests, sends its calls
//! (feeding refusals back), polls L1 for events and for the checkpoint tip.

use std::{sync::Arc, sync::mpsc, time::Duration};

use alloy_primitives::Address;
use chunkseq_l1::{L1, L1Error};
use chunkseq_protocol::{Duties, Input};
use tokio::sync::mpsc as tmpsc;
use tracing::{debug, info, warn};

use crate::driver::{Command, L1Command};

/// How often L1 is polled for events.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Most checkpoints read from L1's logs per request of a syncing node.
pub const L1_SYNC_BATCH: usize = 64;

/// Runs the L1 link until the core's channel closes.
pub(crate) async fn run<L: L1 + 'static>(
    l1: Arc<L>,
    me: Option<Address>,
    mut commands: tmpsc::UnboundedReceiver<L1Command>,
    core: mpsc::Sender<Command>,
) {
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    let mut tip_every = 0u32;
    loop {
        tokio::select! {
            c = commands.recv() => match c {
                None => break,
                Some(c) => {
                    let l1 = Arc::clone(&l1);
                    let core = core.clone();
                    tokio::spawn(async move { command(&*l1, me, c, &core).await });
                }
            },
            _ = poll.tick() => {
                match l1.poll_events().await {
                    Ok(events) => {
                        for e in events {
                            if core.send(Command::Input(Input::L1(e))).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => warn!(target: "chunkseq::l1", error = %e, "polling L1 failed"),
                }
                tip_every = tip_every.wrapping_add(1);
                if tip_every % 10 == 1 {
                    match l1.tip().await {
                        Ok(t) => {
                            if core.send(Command::Input(Input::L1Tip(t))).is_err() {
                                return;
                            }
                        }
                        Err(e) => warn!(target: "chunkseq::l1", error = %e, "reading L1's checkpoint tip failed"),
                    }
                }
            }
        }
    }
}

async fn command<L: L1>(l1: &L, me: Option<Address>, c: L1Command, core: &mpsc::Sender<Command>) {
    match c {
        L1Command::Duties(slot) => {
            // L1 may lag a moment behind: retry a few times, then tell the
            // core, which asks again later (and records the committee when
            // it is not recorded yet).
            let mut reason = String::new();
            for attempt in 0..4u32 {
                match l1.duties(slot).await {
                    Ok((committee, proposer)) => {
                        let duties = Duties {
                            committee,
                            proposer,
                        };
                        let _ = core.send(Command::Input(Input::Duties { slot, duties }));
                        return;
                    }
                    Err(e) => {
                        debug!(target: "chunkseq::l1", slot, attempt, error = %e, "duties not available yet");
                        reason = e.to_string();
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
            debug!(target: "chunkseq::l1", slot, %reason, "duties unavailable for now");
            let _ = core.send(Command::Input(Input::DutiesUnavailable { slot, reason }));
        }
        L1Command::Tip => match l1.tip().await {
            Ok(t) => {
                let _ = core.send(Command::Input(Input::L1Tip(t)));
            }
            Err(e) => {
                warn!(target: "chunkseq::sync", error = %e, "reading L1's checkpoint tip failed")
            }
        },
        L1Command::Checkpoints {
            after_slot,
            from_block,
        } => match l1
            .checkpoints_after(after_slot, from_block, L1_SYNC_BATCH)
            .await
        {
            Ok(events) => {
                debug!(target: "chunkseq::sync", after_slot, from_block, found = events.len(), "read checkpoints from L1");
                let _ = core.send(Command::Input(Input::L1Checkpoints(events)));
            }
            Err(e) => {
                warn!(target: "chunkseq::sync", after_slot, error = %e, "reading checkpoints from L1 failed");
            }
        },
        L1Command::Submit { call, deadline } => {
            let Some(from) = me else {
                return;
            };
            let name = call.name();
            match l1.submit(from, call, deadline).await {
                Ok(id) => debug!(target: "chunkseq::l1", call = name, ?id, "submitted"),
                Err(L1Error::Reverted { reason }) => {
                    info!(target: "chunkseq::l1", call = name, %reason, "L1 refused the call");
                    let _ = core.send(Command::Input(Input::L1CallFailed { call: name, reason }));
                }
                Err(e) => {
                    warn!(target: "chunkseq::l1", call = name, error = %e, "L1 call failed");
                    let _ = core.send(Command::Input(Input::L1CallFailed {
                        call: name,
                        reason: e.to_string(),
                    }));
                }
            }
        }
    }
}
