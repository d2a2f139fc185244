//! Gossip messages on the wire: one topic per message kind, each size-capped
//! before a byte is decoded (docs/design.md section 5).

use alloy_primitives::Bytes;
use chunkseq_primitives::{
    AttestationMessage, Evidence, ProposalMessage, ProvisionalBlockMessage, WireCodec,
    codec::MAX_TX_BYTES,
};
use chunkseq_protocol::Gossip;

/// The message kinds, each with its own topic. `txs` carries several
/// transactions in one message ([`encode_txs`]).
pub const KINDS: [&str; 6] = [
    "tx",
    "txs",
    "proposal",
    "attestation",
    "provisional",
    "evidence",
];

/// Most transactions in one `txs` message.
pub const MAX_BATCH_TXS: usize = 1_024;
/// Largest `txs` message.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// The most one transaction takes in a `txs` message.
pub const MAX_TX_BYTES_FRAMED: usize = MAX_TX_BYTES + 4;

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
        b"txs" => MAX_BATCH_BYTES,
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

/// A received message as the network task hands it on (moved once).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Received {
    /// One protocol message.
    One(Gossip),
    /// The transactions of a `txs` message.
    Txs(Vec<Bytes>),
}

/// Decodes a message of any kind, `txs` included, checking its size first.
pub fn decode_received(kind: &'static str, bytes: &[u8]) -> Result<Received, WireError> {
    match kind {
        "txs" => decode_txs(bytes).map(Received::Txs),
        _ => decode(kind, bytes).map(Received::One),
    }
}

/// A `txs` message: each transaction's length (4 bytes, big-endian), then
/// its EIP-2718 bytes. Sending a node's transactions in one message, not
/// one message each, is what lets gossip carry 1,000 tx/s: every message
/// costs a frame, a flush and a system call per peer and copy
/// (docs/throughput.md).
pub fn encode_txs(txs: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::with_capacity(txs.iter().map(|t| t.len() + 4).sum());
    for t in txs {
        out.extend_from_slice(&u32::try_from(t.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(t);
    }
    out
}

/// Decodes a `txs` message: 1 to [`MAX_BATCH_TXS`] non-empty transactions
/// of at most `MAX_TX_BYTES` each, nothing after the last.
pub fn decode_txs(bytes: &[u8]) -> Result<Vec<Bytes>, WireError> {
    const KIND: &str = "txs";
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(WireError::TooLarge {
            kind: KIND,
            len: bytes.len(),
            max: MAX_BATCH_BYTES,
        });
    }
    let malformed = |reason: &str| WireError::Malformed {
        kind: KIND,
        reason: reason.to_owned(),
    };
    let mut txs = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if txs.len() >= MAX_BATCH_TXS {
            return Err(malformed("too many transactions"));
        }
        let (len, body) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed("truncated length"))?;
        let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
        if len == 0 || len > MAX_TX_BYTES {
            return Err(malformed("transaction length out of bounds"));
        }
        let (tx, after) = body
            .split_at_checked(len)
            .ok_or_else(|| malformed("truncated transaction"))?;
        txs.push(Bytes::copy_from_slice(tx));
        rest = after;
    }
    if txs.is_empty() {
        return Err(malformed("no transactions"));
    }
    Ok(txs)
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
    fn transaction_batches_round_trip_and_bad_framing_is_refused() {
        let txs = vec![
            Bytes::from_static(&[2, 1, 2]),
            Bytes::from_static(&[0xc0; 7]),
        ];
        let wire = encode_txs(&txs);
        assert_eq!(wire.len(), 4 + 3 + 4 + 7);
        assert_eq!(decode_txs(&wire).unwrap(), txs);
        assert!(matches!(
            decode_received("txs", &wire).unwrap(),
            Received::Txs(t) if t == txs
        ));
        let bad: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("short length", vec![0, 0, 1]),
            ("zero length", vec![0, 0, 0, 0]),
            ("truncated", wire[..wire.len() - 1].to_vec()),
            ("trailing", [wire.clone(), vec![0]].concat()),
            ("oversized transaction", {
                let mut w = u32::try_from(MAX_TX_BYTES + 1)
                    .unwrap()
                    .to_be_bytes()
                    .to_vec();
                w.resize(4 + MAX_TX_BYTES + 1, 1);
                w
            }),
            (
                "too many",
                encode_txs(&vec![Bytes::from_static(&[1]); MAX_BATCH_TXS + 1]),
            ),
        ];
        for (name, bytes) in bad {
            assert!(
                matches!(decode_txs(&bytes), Err(WireError::Malformed { .. })),
                "{name}"
            );
        }
        assert!(matches!(
            decode_txs(&vec![0u8; MAX_BATCH_BYTES + 1]),
            Err(WireError::TooLarge { .. })
        ));
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
