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
    /// A JSON-RPC request to the L1 node failed.
    #[error("L1 node, {what}: {reason}")]
    Rpc {
        /// The request.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// No contract at the configured Rollup address.
    #[error("no contract is deployed at {address}; check --rollup and the L1 endpoint")]
    NotDeployed {
        /// The address.
        address: alloy_primitives::Address,
    },
    /// The node is on another chain than the chain spec names.
    #[error("the L1 node is on chain {found}, the chain spec names chain {expected}")]
    WrongChain {
        /// The spec's `l1_chain_id`.
        expected: u64,
        /// The node's.
        found: u64,
    },
    /// The node did not return a block it announced.
    #[error("the L1 node has no block {0}")]
    MissingBlock(u64),
    /// A reorg deeper than followed.
    #[error("L1 reorg deeper than {0} blocks")]
    ReorgTooDeep(u64),
    /// A signing key is missing or unusable.
    #[error("L1 signing: {0}")]
    Key(String),
    /// A call's blobs cannot be sent: too many for one transaction, a
    /// sidecar that could not be computed, or blobs that do not match the
    /// versioned hashes the call names.
    #[error("blob transaction: {0}")]
    Blobs(String),
    /// A blob transaction the L1 does not admit: too many blobs for one
    /// transaction (or one block), or a blob that is not a vector of
    /// canonical field elements (no KZG commitment exists for it).
    #[error("blob transaction refused: {0}")]
    BlobTxRefused(String),
    /// A blob the L1 does not serve: not carried by a transaction included
    /// within its retention window (never included, pruned, or its block
    /// was dropped by a reorg).
    #[error("blob {hash} is not available: {reason}")]
    BlobUnavailable {
        /// The blob's versioned hash.
        hash: alloy_primitives::B256,
        /// Why.
        reason: String,
    },
    /// Return data did not decode.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
}
