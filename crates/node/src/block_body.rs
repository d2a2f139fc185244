//! A block's transactions and receipts as the node's index keeps them: one
//! RLP row per block, written when the block becomes provisional (or is
//! learned from L1) and deleted when a reorg drops it. The Ethereum RPC
//! answers blocks with full transactions, transactions by hash and receipts
//! from it.
//!
//! A receipt is kept without its bloom (256 bytes, more than a transfer's
//! transaction): the bloom is a function of the logs and is computed when
//! a receipt is served. Its type is its transaction's.

use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope};
use alloy_primitives::{Address, B256, Bytes, Log};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

/// Largest stored body decoded: a block's transactions (at most 10,000 of
/// at most 128 KiB each are not reachable under any gas limit the chain
/// spec allows, so 64 MiB is far above a real block).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// What one transaction did.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct StoredReceipt {
    /// Whether it succeeded.
    pub success: bool,
    /// Gas used by the block up to and including it.
    pub cumulative_gas_used: u64,
    /// Its logs.
    pub logs: Vec<Log>,
}

/// A block's transactions (EIP-2718) and their receipts, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct BlockBody {
    /// The block it belongs to: a body read next to a block record of
    /// another hash (one from before a reorg) is not that block's.
    pub block_hash: B256,
    /// The transactions.
    pub transactions: Vec<Bytes>,
    /// Their senders.
    pub senders: Vec<Address>,
    /// Their receipts.
    pub receipts: Vec<StoredReceipt>,
}

/// Why a stored body did not decode.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than [`MAX_BODY_BYTES`].
    #[error("stored block body of {0} bytes exceeds {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// Not the RLP this module writes.
    #[error("stored block body: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// Transactions and receipts differ in number.
    #[error(
        "stored block body has {transactions} transactions, {senders} senders and {receipts} receipts"
    )]
    Mismatch {
        /// Transactions.
        transactions: usize,
        /// Senders.
        senders: usize,
        /// Receipts.
        receipts: usize,
    },
}

impl BlockBody {
    /// The body of a block with `transactions`, their `senders` and their
    /// `receipts`.
    pub fn new(
        block_hash: B256,
        transactions: &[Bytes],
        senders: &[Address],
        receipts: &[ReceiptEnvelope],
    ) -> Self {
        Self {
            block_hash,
            transactions: transactions.to_vec(),
            senders: senders.to_vec(),
            receipts: receipts
                .iter()
                .map(|r| StoredReceipt {
                    success: r.status(),
                    cumulative_gas_used: r.cumulative_gas_used(),
                    logs: r.logs().to_vec(),
                })
                .collect(),
        }
    }

    /// The body of the block a core event reports.
    pub fn of(block: &chunkseq_protocol::BlockEntry) -> Self {
        Self::new(
            block.hash,
            &block.transactions,
            &block.senders,
            &block.receipts,
        )
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length());
        Encodable::encode(self, &mut out);
        out
    }

    /// Reads the stored form back.
    pub fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge(bytes.len()));
        }
        let mut buf = bytes;
        let body = <Self as Decodable>::decode(&mut buf)?;
        if !buf.is_empty() {
            return Err(BodyError::Rlp(alloy_rlp::Error::UnexpectedLength));
        }
        if body.transactions.len() != body.receipts.len()
            || body.transactions.len() != body.senders.len()
        {
            return Err(BodyError::Mismatch {
                transactions: body.transactions.len(),
                senders: body.senders.len(),
                receipts: body.receipts.len(),
            });
        }
        Ok(body)
    }
}

impl StoredReceipt {
    /// The consensus receipt (with its bloom).
    pub fn to_receipt(&self) -> Receipt<Log> {
        Receipt {
            status: Eip658Value::Eip658(self.success),
            cumulative_gas_used: self.cumulative_gas_used,
            logs: self.logs.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloy_consensus::ReceiptWithBloom;
    use alloy_primitives::LogData;

    use super::*;

    #[test]
    fn a_body_round_trips_and_bad_rows_are_errors() {
        let log = Log {
            address: Address::repeat_byte(7),
            data: LogData::new_unchecked(vec![B256::repeat_byte(1)], Bytes::from_static(b"hi")),
        };
        let receipts = vec![
            ReceiptEnvelope::Eip1559(ReceiptWithBloom::from(Receipt {
                status: Eip658Value::Eip658(true),
                cumulative_gas_used: 21_000,
                logs: vec![log.clone()],
            })),
            ReceiptEnvelope::Legacy(ReceiptWithBloom::from(Receipt {
                status: Eip658Value::Eip658(false),
                cumulative_gas_used: 50_000,
                logs: vec![],
            })),
        ];
        let txs = vec![Bytes::from_static(b"\x02ab"), Bytes::from_static(b"\xc0")];
        let senders = [Address::repeat_byte(1), Address::repeat_byte(2)];
        let body = BlockBody::new(B256::repeat_byte(9), &txs, &senders, &receipts);
        let back = BlockBody::decode(&body.encode()).unwrap();
        assert_eq!(back, body);
        assert!(back.receipts[0].success && !back.receipts[1].success);
        assert_eq!(back.receipts[0].to_receipt().logs, vec![log]);
        assert_eq!(back.receipts[1].cumulative_gas_used, 50_000);

        let bytes = body.encode();
        assert!(BlockBody::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(BlockBody::decode(&longer).is_err());
        let uneven = BlockBody {
            block_hash: B256::ZERO,
            transactions: txs,
            senders: senders.to_vec(),
            receipts: vec![],
        };
        assert!(matches!(
            BlockBody::decode(&uneven.encode()),
            Err(BodyError::Mismatch { .. })
        ));
    }
}
