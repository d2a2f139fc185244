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
use alloy_primitives::{Address, Bytes, U256};
use chunkseq_primitives::BlockNumber;
use chunkseq_protocol::{Core, Tips, fees::FeeQuote};
use chunkseq_state::{Account, Fork, SealedState, StateDb, StateError, StateReader};
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

    /// The state after block `number`: its fork when it is provisional or
    /// the checkpointed tip, the stored state of an older block otherwise.
    pub fn state_at(&self, number: u64) -> Result<StateAt, StateAtError> {
        if let Some(fork) = self.fork_at(number)? {
            return Ok(StateAt::Fork(Box::new(fork)));
        }
        if number > self.tips.checkpointed.1 {
            return Err(StateAtError::NotCheckpointed(number));
        }
        Ok(StateAt::Stored(self.db.reader(BlockNumber(number))?))
    }
}

/// Why the state at a block cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateAtError {
    /// Above the checkpointed tip and no provisional block.
    #[error("state at block {0} is not checkpointed yet; ask for \"latest\"")]
    NotCheckpointed(u64),
    /// The state store failed.
    #[error("state unavailable: {0}")]
    State(#[from] StateError),
}

/// The state at one block, for reads of accounts, code and storage.
pub enum StateAt {
    /// A provisional block's state, or the checkpointed tip's.
    Fork(Box<Fork>),
    /// An older checkpointed block's, from the store's history.
    Stored(StateReader),
}

impl StateAt {
    /// An account.
    pub fn account(&self, who: &Address) -> Result<Option<Account>, StateError> {
        match self {
            Self::Fork(f) => f.account(who),
            Self::Stored(r) => r.account(who),
        }
    }

    /// An account's code (empty for none).
    pub fn code(&self, who: &Address) -> Result<Bytes, StateError> {
        match self {
            Self::Fork(f) => match f.account(who)? {
                Some(a) => Ok(f.code(&a.code_hash)?.unwrap_or_default()),
                None => Ok(Bytes::new()),
            },
            Self::Stored(r) => r.code(who),
        }
    }

    /// A storage slot.
    pub fn storage(&self, who: &Address, slot: U256) -> Result<U256, StateError> {
        match self {
            Self::Fork(f) => f.storage(who, slot),
            Self::Stored(r) => r.storage(who, slot),
        }
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
