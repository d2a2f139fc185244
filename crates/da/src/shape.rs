//! The shape of a slot's blocks: how many blocks, and how many transactions
//! each holds. Both payload layouts start with it.

use alloy_primitives::Bytes;

use crate::{
    MAX_BLOCK_TXS, MAX_BLOCKS, MAX_TX_BYTES,
    error::StreamError,
    wire::{Reader, put_varint},
};

/// Checks the encoder's input against the bounds the decoder enforces, so
/// whatever is encoded decodes.
pub(crate) fn check_blocks(blocks: &[Vec<Bytes>]) -> Result<(), StreamError> {
    if blocks.len() > MAX_BLOCKS {
        return Err(StreamError::Bound {
            what: "blocks in a stream",
            count: blocks.len() as u64,
            max: MAX_BLOCKS as u64,
        });
    }
    for (b, block) in blocks.iter().enumerate() {
        if block.len() > MAX_BLOCK_TXS {
            return Err(StreamError::Bound {
                what: "transactions in a block",
                count: block.len() as u64,
                max: MAX_BLOCK_TXS as u64,
            });
        }
        for (i, tx) in block.iter().enumerate() {
            if tx.is_empty() {
                return Err(StreamError::EmptyTransaction { block: b, index: i });
            }
            if tx.len() > MAX_TX_BYTES {
                return Err(StreamError::Bound {
                    what: "bytes in a transaction",
                    count: tx.len() as u64,
                    max: MAX_TX_BYTES as u64,
                });
            }
        }
    }
    Ok(())
}

/// Writes the block count, then each block's transaction count.
pub(crate) fn put_shape(out: &mut Vec<u8>, blocks: &[Vec<Bytes>]) {
    put_varint(out, blocks.len() as u128);
    for block in blocks {
        put_varint(out, block.len() as u128);
    }
}

/// Reads a shape: the transaction count of each block. Counts are bounded
/// per block, and in total by `max_total` (the caller's bound from the
/// payload's size, since every transaction takes at least one byte).
pub(crate) fn read_shape(
    r: &mut Reader<'_>,
    layout: &'static str,
    max_total: usize,
) -> Result<Vec<usize>, StreamError> {
    let blocks = r
        .varint_usize()
        .ok_or_else(|| malformed(layout, r, "block count"))?;
    if blocks > MAX_BLOCKS {
        return Err(StreamError::Bound {
            what: "blocks in a stream",
            count: blocks as u64,
            max: MAX_BLOCKS as u64,
        });
    }
    let mut counts = Vec::with_capacity(blocks);
    let mut total = 0usize;
    for _ in 0..blocks {
        let n = r
            .varint_usize()
            .ok_or_else(|| malformed(layout, r, "transaction count"))?;
        if n > MAX_BLOCK_TXS {
            return Err(StreamError::Bound {
                what: "transactions in a block",
                count: n as u64,
                max: MAX_BLOCK_TXS as u64,
            });
        }
        total = total.saturating_add(n);
        counts.push(n);
    }
    if total > max_total {
        return Err(StreamError::Malformed {
            layout,
            reason: format!("{total} transactions cannot fit in the payload"),
        });
    }
    Ok(counts)
}

/// A malformed-payload error naming what could not be read and where.
pub(crate) fn malformed(layout: &'static str, r: &Reader<'_>, what: &str) -> StreamError {
    StreamError::Malformed {
        layout,
        reason: format!("{what} cut short or invalid at byte {}", r.pos()),
    }
}

/// Splits a flat list of transactions into blocks of the given sizes.
pub(crate) fn into_blocks(txs: Vec<Bytes>, counts: &[usize]) -> Vec<Vec<Bytes>> {
    let mut it = txs.into_iter();
    counts
        .iter()
        .map(|&n| it.by_ref().take(n).collect())
        .collect()
}
