//! What RPC reads need of the chain, published by the core loop so that
//! reads never wait for the protocol core.
//!
//! After each round that moved a tip or the fee quote, the core loop
//! publishes a [`ChainView`]: the tips, the provisional blocks' sealed
//! states (shared, not copied) and the fee quote. A reader takes the
//! current view (an `Arc` clone under a short lock) and builds its own fork
//! of the state from it on its own thread: balances, nonces, code, storage
//! and calls at `latest`, `safe` or a provisional block never enter the
//! core's queue. Only what the pool alone knows (the `pending` nonce) is
//! still asked of the core.

use std::sync::Arc;

use alloy_primitives::B256;
use chunkseq_protocol::{Core, Tips, fees::FeeQuote};
use chunkseq_state::{Fork, SealedState, StateDb, StateError};
use parking_lot::RwLock;

use crate::rpc::BlockTag;

/// One published view of the chain.
#[derive(Debug)]
pub struct ChainView {
    /// The tips.
    pub tips: Tips,
    /// The fee quote of the next block.
    pub fees: FeeQuote,
    /// The provisional blocks, oldest first: (number, hash, state after it).
    provisional: Vec<(u64, B256, Arc<SealedState>)>,
    db: Arc<StateDb>,
}

impl ChainView {
    /// The view of `core` now.
    pub fn of(core: &Core) -> Self {
        let chain = core.chain();
        Self {
            tips: core.tips(),
            fees: core.fee_quote(),
            provisional: chain
                .provisional()
                .iter()
                .map(|b| (b.header.number, b.hash, Arc::clone(&b.state)))
                .collect(),
            db: Arc::clone(chain.db()),
        }
    }

    /// The height a tag names.
    pub const fn number_of(&self, tag: BlockTag) -> u64 {
        match tag {
            BlockTag::Number(n) => n,
            BlockTag::Provisional | BlockTag::Pending => self.tips.provisional.1,
            BlockTag::Checkpointed => self.tips.checkpointed.1,
            BlockTag::Finalized => self.tips.finalized.1,
        }
    }

    /// A fork of the state after block `number`, if it is provisional or
    /// the checkpointed tip (`None` for any other block).
    pub fn fork_at(&self, number: u64) -> Result<Option<Fork>, StateError> {
        if let Some((_, hash, state)) = self.provisional.iter().find(|(n, ..)| *n == number) {
            return self.db.fork_on(state, *hash).map(Some);
        }
        if number == self.tips.checkpointed.1 {
            return self.db.fork_at(self.tips.checkpointed.0).map(Some);
        }
        Ok(None)
    }

    /// The state store, for reads of checkpointed blocks.
    pub fn db(&self) -> &StateDb {
        &self.db
    }
}

/// The latest [`ChainView`], shared by the core loop and the RPC (none
/// until the core loop starts).
#[derive(Debug, Default)]
pub struct ReadViews {
    current: RwLock<Option<Arc<ChainView>>>,
}

impl ReadViews {
    /// The current view.
    pub fn get(&self) -> Option<Arc<ChainView>> {
        self.current.read().clone()
    }

    /// Publishes the view of `core` if its tips or fees moved.
    pub fn refresh(&self, core: &Core) {
        let (tips, fees) = (core.tips(), core.fee_quote());
        if let Some(now) = self.current.read().as_ref()
            && now.tips == tips
            && now.fees == fees
        {
            return;
        }
        *self.current.write() = Some(Arc::new(ChainView::of(core)));
    }
}
