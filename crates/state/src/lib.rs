//! World state of chunkseq: accounts, storage and code persisted in redb,
//! authenticated by a sparse Merkle root, with stackable in-memory forks,
//! durable commits, unwinding and reads at any committed block.
//!
//! # Design
//!
//! - **Storage.** Current values live in flat redb tables. Each commit also
//!   records the values it overwrote, keyed by state key and block number. That
//!   one record serves two purposes: [`StateDb::unwind`] restores values from
//!   it, and [`StateReader`] answers reads at past blocks with a single range
//!   lookup.
//! - **Authentication.** A sparse Merkle tree over all accounts and slots (see
//!   `smt`) gives the state root. Its root depends only on the set of leaves,
//!   so restoring the previous values after an unwind restores the previous
//!   root exactly. Unwind checks this against the recorded root. The tree is
//!   kept in memory with immutable, shared nodes and is rebuilt from the
//!   leaves on open. Why this design and not `jmt` is explained in
//!   `docs/state.md`.
//! - **Forks.** A [`Fork`] is the state of a block being built: its own writes
//!   over its uncommitted ancestors over a redb read snapshot. Sealing it
//!   computes the new root without touching disk, so block `k + 1` can be
//!   built on block `k` while `k` is still being attested. A fork never
//!   changes the committed state.
//! - **Durability.** [`StateDb::commit`] and [`StateDb::unwind`] are each one
//!   redb transaction with immediate durability. A process killed at any
//!   moment reopens at the last committed block, with a root that matches.

mod account;
mod db;
mod diff;
mod error;
mod fork;
mod keys;
mod reader;
mod smt;
mod snapshot;
mod tables;

pub use account::{ACCOUNT_ENCODED_LEN, Account, EMPTY_CODE_HASH};
pub use db::{Head, StateDb, code_hash};
pub use diff::StateDiff;
pub use error::StateError;
pub use fork::{Fork, Parent, SealedState};
pub use keys::StateKey;
pub use reader::StateReader;
pub use smt::{SparseMerkleTree, Update};
