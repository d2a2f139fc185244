//! World state of chunkseq: accounts, storage and code behind a storage
//! backend (in memory, or redb on disk), authenticated by a sparse Merkle
//! root, with stackable in-memory forks, atomic commits, unwinding and reads
//! at any committed block.
//!
//! # Design
//!
//! - **Storage.** Current values live in flat tables. Each commit also
//!   records the values it overwrote, keyed by state key and block number. That
//!   one record serves two purposes: [`StateDb::unwind`] restores values from
//!   it, and [`StateReader`] answers reads at past blocks with a single range
//!   lookup.
//! - **Backends.** [`StateDb`] decides what a commit or an unwind writes; a
//!   [`StateBackend`] stores it, with consistent read-only views and atomic
//!   write transactions. [`MemoryBackend`] keeps the tables in ordered maps in
//!   memory ([`StateDb::in_memory`]: the simulator, tests, genesis roots).
//!   `RedbBackend`, behind the `redb` feature (on by default), keeps them in a
//!   redb database ([`StateDb::open`], `StateDb::open_in`: the node). The
//!   protocol core and execution depend on this crate without the feature,
//!   so they build on no database engine. Both backends give the same roots.
//! - **Authentication.** A sparse Merkle tree over all accounts and slots (see
//!   `smt`) gives the state root. Its root depends only on the set of leaves,
//!   so restoring the previous values after an unwind restores the previous
//!   root exactly. Unwind checks this against the recorded root. The tree is
//!   kept in memory with immutable, shared nodes and is rebuilt from the
//!   leaves on open. Why this design and not `jmt` is explained in
//!   `docs/state.md`.
//! - **Forks.** A [`Fork`] is the state of a block being built: its own writes
//!   over its uncommitted ancestors over a backend view of the committed
//!   state. Sealing it computes the new root without touching the store, so
//!   block `k + 1` can be built on block `k` while `k` is still being
//!   attested. A fork never changes the committed state.
//! - **Durability.** [`StateDb::commit`] and [`StateDb::unwind`] are each one
//!   backend transaction; with redb, one transaction with immediate
//!   durability. A process killed at any moment reopens at the last committed
//!   block, with a root that matches.

mod account;
mod backend;
mod db;
mod diff;
mod error;
mod fork;
mod keys;
mod memory;
mod reader;
#[cfg(feature = "redb")]
mod redb_backend;
#[cfg(feature = "redb")]
mod redb_tables;
mod smt;
mod snapshot;
mod versioned;

pub use account::{ACCOUNT_ENCODED_LEN, Account, EMPTY_CODE_HASH};
pub use backend::{StateBackend, StateView, StateWrite};
pub use db::{Head, StateDb, code_hash};
pub use diff::StateDiff;
pub use error::StateError;
pub use fork::{Fork, Parent, SealedState};
pub use keys::StateKey;
pub use memory::MemoryBackend;
pub use reader::StateReader;
#[cfg(feature = "redb")]
pub use redb_backend::RedbBackend;
pub use smt::{SparseMerkleTree, Update};
