//! Signature and role checks of gossip messages: who signed, and whether
//! they had the right to (DESIGN.md sections 5 and 6).

use alloy_primitives::Address;
use chunkseq_primitives::{
    AttestationMessage, Eip712Domain, ProposalMessage, ProvisionalBlock, ProvisionalBlockMessage,
    crypto::{recover_signer, recover_statement},
};

use crate::{exec_cache::RecoveryCache, io::Duties};

/// Recovers the signer of `statement`, through `cache` when there is one.
fn signer_of<T: chunkseq_primitives::SignedStatement>(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    statement: &T,
    signature: &[u8],
) -> Result<Address, chunkseq_primitives::crypto::SignatureError> {
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
) -> Result<u64, String> {
    let signer = signer_of(cache, domain, &msg.header.proposal(), &msg.signature)
        .map_err(|e| format!("bad proposal signature: {e}"))?;
    if signer != duties.proposer {
        return Err(format!(
            "proposal for slot {} signed by {signer}, not the proposer {}",
            msg.header.slot, duties.proposer
        ));
    }
    Ok(1)
}

/// Checks an attestation; returns the attester.
pub fn attestation(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    msg: &AttestationMessage,
) -> Result<Address, String> {
    let signer = signer_of(cache, domain, &msg.attestation, &msg.signature)
        .map_err(|e| format!("bad attestation signature: {e}"))?;
    if !duties.is_member(&signer) {
        return Err(format!(
            "attestation for slot {} by {signer}, not a committee member",
            msg.attestation.slot
        ));
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
) -> Result<u64, String> {
    let statement = ProvisionalBlock::new(&msg.header, &msg.checkpointHeader, &msg.attestations);
    let signer = signer_of(cache, domain, &statement, &msg.proposerSignature)
        .map_err(|e| format!("bad provisional signature: {e}"))?;
    if signer != duties.proposer {
        return Err(format!(
            "provisional block of slot {} signed by {signer}, not the proposer",
            msg.header.slot
        ));
    }
    let signers = attestations(cache, domain, duties, &msg.header, &msg.attestations)?;
    if signers < duties.threshold() {
        return Err(format!(
            "{signers} attestations, {} needed",
            duties.threshold()
        ));
    }
    Ok(1 + signers as u64)
}

/// Checks concatenated attestations of `header`: each by a committee member,
/// signers strictly ascending. Returns how many.
pub fn attestations(
    cache: Option<&RecoveryCache>,
    domain: &Eip712Domain,
    duties: &Duties,
    header: &chunkseq_primitives::BlockHeader,
    concatenated: &[u8],
) -> Result<usize, String> {
    if !concatenated.len().is_multiple_of(SIGNATURE_BYTES) {
        return Err("attestations are not whole signatures".into());
    }
    let digest = alloy_sol_types::SolStruct::eip712_signing_hash(&header.attestation(), domain);
    let mut previous: Option<Address> = None;
    let mut count = 0usize;
    for sig in concatenated.chunks_exact(SIGNATURE_BYTES) {
        let recovered = match cache {
            Some(c) => c.recover(sig, digest),
            None => recover_signer(sig, digest),
        };
        let signer = recovered.map_err(|e| format!("bad attestation: {e}"))?;
        if previous.is_some_and(|p| p >= signer) {
            return Err("attestations not in ascending signer order".into());
        }
        if !duties.is_member(&signer) {
            return Err(format!("attestation by non-member {signer}"));
        }
        previous = Some(signer);
        count = count.saturating_add(1);
    }
    Ok(count)
}
