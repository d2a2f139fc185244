//! The L1 side of chunkseq: bindings to the Rollup contract, read from its
//! committed artifact; an embedded L1 on which revm runs that contract in
//! process, for the simulator and single-process runs; and an RPC L1 that
//! talks to the same contract on an Ethereum node. Both implement [`L1`].
//!
//! The contract (`contracts/src/Rollup.sol`) holds every L1 rule: validator
//! registry, committee and proposer selection, checkpoint validation and the
//! slashable offences. The embedded L1 runs the very same bytecode as a real
//! Ethereum node would, so its behaviour is the contract's, not a model of it.

pub mod abi;
pub mod blob_data;
pub mod calls;
pub mod checkpoint_call;
pub mod embedded;
pub mod error;
pub mod events;
pub mod interface;
pub mod rng;
#[cfg(feature = "rpc")]
pub mod rpc;
pub mod shared;
mod sidecars;
pub mod views;

pub use abi::ContractAbi;
pub use calls::RollupCall;
pub use embedded::{
    BLOB_RETENTION_BLOCKS, CHECKPOINT_HISTORY, CommittedBlobs, DEPLOYER, EmbeddedConfig, EmbeddedL1,
};
pub use error::L1Error;
pub use events::{CheckpointData, L1Block, L1Event, Revert, SubmissionId};
pub use interface::{ControlledL1, L1};
#[cfg(feature = "rpc")]
pub use rpc::{AnvilProcess, RpcConfig, RpcL1};
pub use shared::SharedEmbeddedL1;
pub use views::{RollupTip, ValidatorStanding};
