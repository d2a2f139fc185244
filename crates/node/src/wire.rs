//! Gossip messages on the wire: one topic per message kind, each size-capped
//! before a byte is decoded (docs/design.md section 5).

use alloy_primitives::Bytes;
use chunkseq_primitives::{
    AttestationMessage, Evidence, ProposalMessage, ProvisionalBlockMessage, WireCodec,
    codec::MAX_TX_BYTES,
};
use chunkseq_protocol::Gossip;

/// The message kinds, each with its own topic.
pub const KINDS: [&str; 5] = ["tx", "proposal", "attestation", "provisional", "evidence"];

/// Why a gossip message was refused before it reached the core.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The topic is not one of ours.
    #[error("unknown topic {0}")]
    UnknownTopic(String),
    /// Over the kind's size cap; nothing was decoded.
    #[error("{kind} message of {len} bytes exceeds the cap of {max}")]
    TooLarge {
        /// The kind.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not a valid encoding.
    #[error("malformed {kind} message: {reason}")]
    Malformed {
        /// The kind.
        kind: &'static str,
        /// The decoder's explanation.
        reason: String,
    },
}

/// The gossipsub topic of `kind` on the chain `chain_id`, so two chains never
/// share a mesh.
pub fn topic(chain_id: u64, kind: &str) -> String {
    format!("/chunkseq/{chain_id}/{kind}")
}

/// The kind named by a topic of chain `chain_id`.
pub fn kind_of(chain_id: u64, topic: &str) -> Option<&'static str> {
    let prefix = format!("/chunkseq/{chain_id}/");
    let rest = topic.strip_prefix(&prefix)?;
    KINDS.into_iter().find(|k| *k == rest)
}

/// The largest message of `kind`.
pub const fn max_len(kind: &str) -> usize {
    match kind.as_bytes() {
        b"tx" => MAX_TX_BYTES,
        b"proposal" => ProposalMessage::MAX_ENCODED_LEN,
        b"attestation" => AttestationMessage::MAX_ENCODED_LEN,
        b"provisional" => ProvisionalBlockMessage::MAX_ENCODED_LEN,
        _ => Evidence::MAX_ENCODED_LEN,
    }
}

/// The largest message of any kind: the transport's cap.
pub fn max_message_len() -> usize {
    KINDS.into_iter().map(max_len).max().unwrap_or(MAX_TX_BYTES)
}

/// The bytes of `g` on its topic.
pub fn encode(g: &Gossip) -> Vec<u8> {
    match g {
        Gossip::Tx(raw) => raw.to_vec(),
        Gossip::Proposal(m) => m.encode_wire(),
        Gossip::Attestation(m) => m.encode_wire(),
        Gossip::Provisional(m) => m.encode_wire(),
        Gossip::Evidence(e) => e.encode_wire(),
    }
}

/// Decodes a message of `kind`, checking its size first.
pub fn decode(kind: &'static str, bytes: &[u8]) -> Result<Gossip, WireError> {
    let max = max_len(kind);
    if bytes.len() > max {
        return Err(WireError::TooLarge {
            kind,
            len: bytes.len(),
            max,
        });
    }
    let malformed = |e: &dyn std::fmt::Display| WireError::Malformed {
        kind,
        reason: e.to_string(),
    };
    Ok(match kind {
        "tx" if bytes.is_empty() => {
            return Err(WireError::Malformed {
                kind,
                reason: "empty transaction".into(),
            });
        }
        "tx" => Gossip::Tx(Bytes::copy_from_slice(bytes)),
        "proposal" => {
            Gossip::Proposal(ProposalMessage::decode_wire(bytes).map_err(|e| malformed(&e))?)
        }
        "attestation" => {
            Gossip::Attestation(AttestationMessage::decode_wire(bytes).map_err(|e| malformed(&e))?)
        }
        "provisional" => Gossip::Provisional(
            ProvisionalBlockMessage::decode_wire(bytes).map_err(|e| malformed(&e))?,
        ),
        "evidence" => Gossip::Evidence(Evidence::decode_wire(bytes).map_err(|e| malformed(&e))?),
        other => return Err(WireError::UnknownTopic(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_other_chains_are_foreign() {
        for k in KINDS {
            assert_eq!(kind_of(8001, &topic(8001, k)), Some(k));
            assert_eq!(kind_of(8002, &topic(8001, k)), None);
        }
        assert_eq!(kind_of(8001, "/chunkseq/8001/blocks"), None);
    }

    #[test]
    fn oversized_and_garbage_messages_are_refused() {
        let big = vec![0u8; max_len("attestation") + 1];
        assert!(matches!(
            decode("attestation", &big),
            Err(WireError::TooLarge { .. })
        ));
        for k in ["proposal", "attestation", "provisional", "evidence"] {
            assert!(
                matches!(decode(k, &[7u8; 100]), Err(WireError::Malformed { .. })),
                "{k}"
            );
        }
        assert!(decode("tx", &[]).is_err());
    }
}
