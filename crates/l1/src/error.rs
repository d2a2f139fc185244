//! Errors of the L1 layer.

use thiserror::Error;

/// Why an L1 operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum L1Error {
    /// The embedded contract artifact is unusable (a build defect).
    #[error("contract artifact: {0}")]
    Artifact(String),
    /// No function of that name in the ABI.
    #[error("the Rollup ABI has no function {0}")]
    UnknownFunction(String),
    /// A call reverted; `reason` names the contract's custom error when known.
    #[error("call reverted: {reason}")]
    Reverted {
        /// The error name, or the raw revert data in hex.
        reason: String,
    },
    /// The EVM failed to run the call at all.
    #[error("EVM: {0}")]
    Evm(String),
    /// Return data did not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
}
