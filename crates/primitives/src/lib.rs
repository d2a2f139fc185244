//! Shared vocabulary of chunkseq: identifiers, chain parameters and their
//! timetable, the protocol structures with their codec and hashes, and keys,
//! signatures and signers.
//!
//! # Design
//!
//! Every protocol structure is declared once, in Solidity
//! (`contracts/src/ChunkseqTypes.sol`), and generated here with alloy's
//! `sol!`. The same declarations serve three purposes: the ABI encoding is the
//! gossip wire format and the L1 calldata, and the EIP-712 struct types give
//! each kind of signature its own digest (docs/design.md section 5). A node and the
//! rollup contract therefore cannot disagree about what a block hash or a
//! signature covers.
//!
//! Everything here is pure: no I/O beyond reading a spec file on request, no
//! clock, no randomness. Times are inputs (`UnixMillis`); keys come from the
//! caller. Decoders of untrusted bytes are bounded and strict ([`codec`]);
//! arithmetic on values from the wire is checked.
//!
//! # Map
//!
//! - [`ids`]: `Slot`, `Epoch`, `BlockNumber`, `BlockIndex`, `UnixMillis`.
//! - [`spec`]: `ChainSpec`, its presets, validation, hash and TOML form.
//! - [`timetable`]: build windows, chunk closes, attestation deadlines and
//!   publish windows of any slot.
//! - [`structs`], [`hashing`]: the protocol structures and the hashes that
//!   chain blocks and checkpoints.
//! - [`codec`], [`evidence`]: bounded wire encoding; offences as evidence.
//! - [`body`]: a block's body as L1 carries it, and the `bodyHash` that binds it.
//! - [`crypto`]: secp256k1 keys via libsecp256k1, EIP-712 domain, the
//!   `Signer` trait.

#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

pub mod body;
pub mod codec;
pub mod crypto;
pub mod evidence;
pub mod fs;
pub mod hashing;
pub mod ids;
pub mod spec;
pub mod status;
pub mod structs;
pub mod timetable;

pub use alloy_primitives::{Address, B256, Bytes};
pub use alloy_sol_types::Eip712Domain;
pub use codec::{DecodeError, WireCodec};
pub use crypto::{
    BuildLease, LocalSigner, PrivateKey, SignRequest, SignedStatement, Signer, SignerError,
    StatementKind,
};
pub use evidence::{Evidence, EvidenceError, Offence};
pub use ids::{BlockIndex, BlockNumber, Epoch, Slot, UnixMillis};
pub use spec::{ChainSpec, DataMode, FeeSpec, Preset, SpecError, SpecFileError};
pub use status::{StatusDetail, TxStatus};
pub use structs::{
    Attestation, AttestationEquivocation, AttestationMessage, BlockHeader, BlockProposal,
    ChainSpecParams, Checkpoint, CheckpointHeader, CheckpointOmission, ProposalEquivocation,
    ProposalMessage, ProvisionalBlock, ProvisionalBlockMessage,
};
pub use timetable::{ChunkWindow, SlotSchedule, Timetable, TimetableError};
