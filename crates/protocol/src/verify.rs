//! Signature and role checks of gossip messages: who signed, and whether
//! they had the right to (`docs/design.md`, sections 5 and 6).

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{
    AttestationMessage, Eip712Domain, ProposalMessage, ProvisionalBlock, ProvisionalBlockMessage,
    crypto::{SignatureError, recover_signer, recover_statement},
};
use thiserror::Error;

/// Why a gossip message failed its signature or role checks.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// A signature does not recover.
    #[error("bad {what} signature: {source}")]
    BadSignature {
        /// Which signature.
        what: &'static str,
        /// Why.
        source: SignatureError,
    },
    /// A proposer-only statement signed by someone else.
    #[error("{what} for slot {slot} signed by {signer}, not the proposer {proposer}")]
    NotProposer {
        /// The statement.
        what: &'static str,
        /// Its slot.
        slot: u64,
        /// Who signed it.
        signer: Address,
        /// The slot's proposer.
        proposer: Address,
    },
    /// An attestation by a validator outside the slot's committee.
    #[error("attestation for slot {slot} by {signer}, not a committee member")]
    NotMember {
        /// Its slot.
        slot: u64,
        /// Who signed it.
        signer: Address,
    },
    /// Concatenated attestations that are not whole 65-byte signatures.
    #[error("attestations are not whole signatures")]
    NotWholeSignatures,
    /// Concatenated attestations out of strictly ascending signer order.
    #[error("attestations not in ascending signer order")]
    NotAscending,
    /// Fewer attestations than the committee's threshold.
    #[error("{count} attestations, {needed} needed")]
    BelowThreshold {
        /// Attestations present.
        count: usize,
        /// The threshold.
        needed: usize,
    },
}

use crate::{exec_cache::RecoveryCache, io::Duties};

/// Recovers the signer of `statement`, through `cache` when there is one.
fn signer_of<T: chunkseq_primitives::SignedStatement>(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    statement: &T,
    signature: &[u8],
) -> Result<Address, SignatureError> {
    match cache {
        Some(c) => c.recover(signature, statement.eip712_signing_hash(domain)),
        None => recover_statement(domain, statement, signature),
    }
}

/// Length of one `r || s || v` signature.
pub const SIGNATURE_BYTES: usize = 65;

/// Checks that the slot's proposer signed `msg`; returns signatures checked.
/// `cache` shares recoveries between the nodes of one process.
pub fn proposal(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    msg: &ProposalMessage,
) -> Result<u64, VerifyError> {
    let signer =
        signer_of(cache, domain, &msg.header.proposal(), &msg.signature).map_err(|source| {
            VerifyError::BadSignature {
                what: "proposal",
                source,
            }
        })?;
    if signer != duties.proposer {
        return Err(VerifyError::NotProposer {
            what: "proposal",
            slot: msg.header.slot,
            signer,
            proposer: duties.proposer,
        });
    }
    Ok(1)
}

/// Checks an attestation; returns the attester.
pub fn attestation(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    msg: &AttestationMessage,
) -> Result<Address, VerifyError> {
    let signer = signer_of(cache, domain, &msg.attestation, &msg.signature).map_err(|source| {
        VerifyError::BadSignature {
            what: "attestation",
            source,
        }
    })?;
    if !duties.is_member(&signer) {
        return Err(VerifyError::NotMember {
            slot: msg.attestation.slot,
            signer,
        });
    }
    Ok(signer)
}

/// Checks a provisional block: the proposer's signature and at least
/// threshold distinct committee attestations in ascending signer order.
/// Returns the number of signatures checked.
pub fn provisional(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    msg: &ProvisionalBlockMessage,
) -> Result<u64, VerifyError> {
    let statement = ProvisionalBlock::new(&msg.header, &msg.checkpointHeader, &msg.attestations);
    let signer =
        signer_of(cache, domain, &statement, &msg.proposerSignature).map_err(|source| {
            VerifyError::BadSignature {
                what: "provisional block",
                source,
            }
        })?;
    if signer != duties.proposer {
        return Err(VerifyError::NotProposer {
            what: "provisional block",
            slot: msg.header.slot,
            signer,
            proposer: duties.proposer,
        });
    }
    let signers = attestations(
        cache,
        domain,
        duties,
        &msg.header,
        msg.dataHash,
        &msg.attestations,
    )?;
    if signers < duties.threshold() {
        return Err(VerifyError::BelowThreshold {
            count: signers,
            needed: duties.threshold(),
        });
    }
    Ok(1 + signers as u64)
}

/// Checks concatenated attestations of `header` with `data_hash`: each by a
/// committee member, signers strictly ascending. Returns how many.
pub fn attestations(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    header: &chunkseq_primitives::BlockHeader,
    data_hash: B256,
    concatenated: &[u8],
) -> Result<usize, VerifyError> {
    if !concatenated.len().is_multiple_of(SIGNATURE_BYTES) {
        return Err(VerifyError::NotWholeSignatures);
    }
    let digest =
        alloy_sol_types::SolStruct::eip712_signing_hash(&header.attestation(data_hash), domain);
    let mut previous: Option<Address> = None;
    let mut count = 0usize;
    for sig in concatenated.chunks_exact(SIGNATURE_BYTES) {
        let recovered = match cache {
            Some(c) => c.recover(sig, digest),
            None => recover_signer(sig, digest),
        };
        let signer = recovered.map_err(|source| VerifyError::BadSignature {
            what: "attestation",
            source,
        })?;
        if previous.is_some_and(|p| p >= signer) {
            return Err(VerifyError::NotAscending);
        }
        if !duties.is_member(&signer) {
            return Err(VerifyError::NotMember {
                slot: header.slot,
                signer,
            });
        }
        previous = Some(signer);
        count = count.saturating_add(1);
    }
    Ok(count)
}
