//! One embedded L1 shared by several nodes of one process (the devnet): each
//! handle has its own event queue, so every node sees every L1 event once.

use std::{
    collections::VecDeque,
    sync::{Arc, Weak},
};

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Address, B256, U256};
use chunkseq_primitives::UnixMillis;
use parking_lot::Mutex;

use crate::{
    calls::RollupCall,
    embedded::{CommittedBlobs, EmbeddedL1},
    error::L1Error,
    events::{L1Event, SubmissionId},
    interface::{ControlledL1, L1},
    views::{RollupTip, ValidatorStanding},
};

type Queue = Arc<Mutex<VecDeque<L1Event>>>;

/// [`CommittedBlobs::compute`] on tokio's blocking pool when the caller runs
/// on a tokio runtime (the `rpc` feature), on the caller's thread otherwise.
async fn commit_off_lock(call: &RollupCall) -> Option<CommittedBlobs> {
    let blobs = call.shared_blobs()?;
    if blobs.is_empty() {
        return None;
    }
    let blobs = Arc::clone(blobs);
    #[cfg(feature = "rpc")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return tokio::task::spawn_blocking(move || CommittedBlobs::compute(blobs))
            .await
            .ok()
            .flatten();
    }
    CommittedBlobs::compute(blobs)
}

#[derive(Debug)]
struct Inner {
    l1: EmbeddedL1,
    subscribers: Vec<Weak<Mutex<VecDeque<L1Event>>>>,
}

impl Inner {
    fn publish(&mut self, events: Vec<L1Event>) {
        if events.is_empty() {
            return;
        }
        self.subscribers.retain(|w| w.strong_count() > 0);
        for queue in self.subscribers.iter().filter_map(Weak::upgrade) {
            queue.lock().extend(events.iter().cloned());
        }
    }
}

/// A handle on an embedded L1 that other handles share. Clone it with
/// [`SharedEmbeddedL1::subscribe`] to give another node its own event queue.
#[derive(Debug)]
pub struct SharedEmbeddedL1 {
    inner: Arc<Mutex<Inner>>,
    queue: Queue,
}

impl SharedEmbeddedL1 {
    /// Shares `l1`; this first handle receives events from now on.
    pub fn new(l1: EmbeddedL1) -> Self {
        let queue = Queue::default();
        let inner = Inner {
            l1,
            subscribers: vec![Arc::downgrade(&queue)],
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
            queue,
        }
    }

    /// Another handle on the same L1, with its own queue of events from now on.
    pub fn subscribe(&self) -> Self {
        let queue = Queue::default();
        self.inner.lock().subscribers.push(Arc::downgrade(&queue));
        Self {
            inner: Arc::clone(&self.inner),
            queue,
        }
    }

    /// Runs `f` on the embedded L1 itself (for reads the trait lacks).
    pub fn with<T>(&self, f: impl FnOnce(&mut EmbeddedL1) -> T) -> T {
        f(&mut self.inner.lock().l1)
    }

    fn drive(
        &self,
        f: impl FnOnce(&mut EmbeddedL1) -> Result<Vec<L1Event>, L1Error>,
    ) -> Result<(), L1Error> {
        let mut inner = self.inner.lock();
        let events = f(&mut inner.l1)?;
        inner.publish(events);
        Ok(())
    }
}

impl L1 for SharedEmbeddedL1 {
    async fn submit(
        &self,
        from: Address,
        call: RollupCall,
        deadline: Option<UnixMillis>,
    ) -> Result<SubmissionId, L1Error> {
        // A checkpoint's blob commitments (tens of ms a blob) are computed
        // before the lock, on a blocking thread where there is a runtime:
        // other nodes' L1 calls, and the runtime's workers, do not wait.
        let committed = commit_off_lock(&call).await;
        self.with(|l1| {
            if let Some(c) = committed {
                l1.prime_blobs(c);
            }
            l1.try_submit(from, call, deadline)
        })
    }

    async fn duties(&self, slot: u64) -> Result<(Vec<Address>, Address), L1Error> {
        self.with(|l1| l1.duties(slot))
    }

    async fn tip(&self) -> Result<RollupTip, L1Error> {
        self.with(EmbeddedL1::tip)
    }

    async fn domain_separator(&self) -> Result<B256, L1Error> {
        self.with(EmbeddedL1::domain_separator)
    }

    async fn chain_spec_hash(&self) -> Result<B256, L1Error> {
        self.with(EmbeddedL1::chain_spec_hash)
    }

    async fn validator(&self, who: Address) -> Result<ValidatorStanding, L1Error> {
        self.with(|l1| l1.validator(who))
    }

    async fn balance(&self, who: Address) -> Result<U256, L1Error> {
        Ok(self.with(|l1| l1.balance(who)))
    }

    async fn poll_events(&self) -> Result<Vec<L1Event>, L1Error> {
        Ok(self.queue.lock().drain(..).collect())
    }

    async fn checkpoints_after(
        &self,
        after_slot: u64,
        from_block: u64,
        max: usize,
    ) -> Result<Vec<L1Event>, L1Error> {
        Ok(self.with(|l1| l1.checkpoints_after(after_slot, from_block, max)))
    }

    async fn blobs(&self, l1_block: u64, versioned_hashes: &[B256]) -> Result<Vec<Blob>, L1Error> {
        self.with(|l1| l1.blobs_in(l1_block, versioned_hashes))
    }
}

impl ControlledL1 for SharedEmbeddedL1 {
    async fn mine_block(&self) -> Result<(), L1Error> {
        self.drive(EmbeddedL1::mine_block)
    }

    async fn advance_to(&self, now: UnixMillis) -> Result<(), L1Error> {
        self.drive(|l1| l1.advance_to(now))
    }

    async fn set_balance(&self, who: Address, wei: U256) -> Result<(), L1Error> {
        self.with(|l1| l1.set_balance(who, wei));
        Ok(())
    }

    async fn set_chain_id(&self, chain_id: u64) -> Result<(), L1Error> {
        self.with(|l1| l1.set_chain_id(chain_id));
        Ok(())
    }
}
