//! The L1 side of chunkseq: bindings to the Rollup contract, read from its
//! committed artifact, and an embedded L1 on which revm runs that contract in
//! process, for the simulator and single-process runs.
//!
//! The contract (`contracts/src/Rollup.sol`) holds every L1 rule: validator
//! registry, committee and proposer selection, checkpoint validation and the
//! slashable offences. The embedded L1 runs the very same bytecode as a real
//! Ethereum node would, so its behaviour is the contract's, not a model of it.

pub mod abi;
pub mod calls;
pub mod checkpoint_call;
pub mod embedded;
pub mod error;
pub mod rng;

pub use abi::ContractAbi;
pub use calls::RollupCall;
pub use embedded::{
    DEPLOYER, EmbeddedConfig, EmbeddedL1, L1Block, L1Event, RollupTip, SubmissionId,
};
pub use error::L1Error;
