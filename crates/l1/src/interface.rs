//! The L1 interface the node drives: submit calls, read the contract, and
//! follow what happens on L1. Both the embedded L1 and the RPC L1 implement it,
//! and one contract test suite runs against both.

use std::future::Future;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Address, B256, U256};
use chunkseq_primitives::UnixMillis;

use crate::{
    calls::RollupCall,
    error::L1Error,
    events::{L1Event, SubmissionId},
    views::{RollupTip, ValidatorStanding},
};

/// An L1 chain running the Rollup contract.
pub trait L1: Send + Sync {
    /// Sends `call` from `from` (an account this L1 handle can sign for). It
    /// is retried, with higher fees where fees apply, until it is included or
    /// the L1 time passes `deadline`; then an [`L1Event::Expired`] reports it.
    fn submit(
        &self,
        from: Address,
        call: RollupCall,
        deadline: Option<UnixMillis>,
    ) -> impl Future<Output = Result<SubmissionId, L1Error>> + Send;

    /// The committee (sorted by address) and proposer of `slot`.
    fn duties(
        &self,
        slot: u64,
    ) -> impl Future<Output = Result<(Vec<Address>, Address), L1Error>> + Send;

    /// The last accepted checkpoint.
    fn tip(&self) -> impl Future<Output = Result<RollupTip, L1Error>> + Send;

    /// The chain spec hash the contract was deployed with.
    fn chain_spec_hash(&self) -> impl Future<Output = Result<B256, L1Error>> + Send;

    /// The EIP-712 domain separator the contract verifies signatures with
    /// (it follows the L1's chain id).
    fn domain_separator(&self) -> impl Future<Output = Result<B256, L1Error>> + Send;

    /// A validator's stake and whether it was slashed.
    fn validator(
        &self,
        who: Address,
    ) -> impl Future<Output = Result<ValidatorStanding, L1Error>> + Send;

    /// An account's balance in wei.
    fn balance(&self, who: Address) -> impl Future<Output = Result<U256, L1Error>> + Send;

    /// What happened on L1 since the last call, in order: new blocks, each
    /// followed by the inclusions and Rollup events of its transactions.
    fn poll_events(&self) -> impl Future<Output = Result<Vec<L1Event>, L1Error>> + Send;

    /// The accepted checkpoints of slots after `after_slot`, oldest first and
    /// at most `max`, as [`L1Event::CheckpointAccepted`]s: how a node that
    /// missed them catches up from L1 alone. `from_block` is where to start
    /// looking (the L1 block of the caller's last checkpoint, or 0).
    fn checkpoints_after(
        &self,
        after_slot: u64,
        from_block: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<L1Event>, L1Error>> + Send;

    /// The blobs with `versioned_hashes`, in order, carried by transactions
    /// that L1 block `l1_block` includes (an Ethereum node serves blobs by
    /// block: its beacon API's), each checked against its hash, while the
    /// L1 still keeps them; [`L1Error::BlobUnavailable`] for the first it
    /// does not serve. An L1 that serves no blobs says so for every hash
    /// (the default).
    fn blobs(
        &self,
        l1_block: u64,
        versioned_hashes: &[B256],
    ) -> impl Future<Output = Result<Vec<Blob>, L1Error>> + Send {
        let _ = l1_block;
        let first = versioned_hashes.first().copied();
        async move {
            match first {
                None => Ok(Vec::new()),
                Some(hash) => Err(L1Error::BlobUnavailable {
                    hash,
                    reason: "this L1 does not serve blobs".into(),
                }),
            }
        }
    }
}

/// An L1 whose block production the caller drives: the embedded L1, or a
/// development node such as anvil with automatic mining off. Tests and the
/// single-process devnet use it to run L1 on their own clock.
pub trait ControlledL1: L1 {
    /// Produces one block, one L1 block time after the previous one.
    fn mine_block(&self) -> impl Future<Output = Result<(), L1Error>> + Send;

    /// Produces every block due by `now`.
    fn advance_to(&self, now: UnixMillis) -> impl Future<Output = Result<(), L1Error>> + Send;

    /// Sets an account's balance (a development chain's faucet: anvil's
    /// `anvil_setBalance`).
    fn set_balance(
        &self,
        who: Address,
        wei: U256,
    ) -> impl Future<Output = Result<(), L1Error>> + Send;

    /// Changes the chain id from the next block on, as a fork of the L1
    /// that changes its id would (anvil's `anvil_setChainId`).
    fn set_chain_id(&self, chain_id: u64) -> impl Future<Output = Result<(), L1Error>> + Send;
}
