//! The plain payload layout: the shape, every transaction's length, then
//! every transaction's bytes, concatenated. Compression sees the raw
//! EIP-2718 bytes.

use alloy_primitives::Bytes;

use crate::{
    MAX_TX_BYTES,
    error::StreamError,
    shape::{into_blocks, malformed, put_shape, read_shape},
    wire::{Reader, put_varint},
};

const LAYOUT: &str = "plain";

/// Appends the plain layout of `blocks` (already checked against the bounds).
pub(crate) fn encode(blocks: &[Vec<Bytes>], out: &mut Vec<u8>) {
    put_shape(out, blocks);
    for tx in blocks.iter().flatten() {
        put_varint(out, tx.len() as u128);
    }
    for tx in blocks.iter().flatten() {
        out.extend_from_slice(tx);
    }
}

/// Reads a plain payload. The transactions are slices of `payload`, which
/// they share (no copy).
pub(crate) fn decode(payload: &Bytes) -> Result<Vec<Vec<Bytes>>, StreamError> {
    let mut r = Reader::new(payload);
    let counts = read_shape(&mut r, LAYOUT, payload.len())?;
    let total: usize = counts.iter().sum();
    let mut lens = Vec::with_capacity(total);
    let mut data_len = 0usize;
    for _ in 0..total {
        let len = r
            .varint_usize()
            .ok_or_else(|| malformed(LAYOUT, &r, "transaction length"))?;
        if len == 0 || len > MAX_TX_BYTES {
            return Err(StreamError::Malformed {
                layout: LAYOUT,
                reason: format!("a transaction of {len} bytes (1 to {MAX_TX_BYTES} allowed)"),
            });
        }
        data_len = data_len.saturating_add(len);
        lens.push(len);
    }
    if data_len != r.remaining() {
        return Err(StreamError::Malformed {
            layout: LAYOUT,
            reason: format!(
                "the lengths add up to {data_len} bytes but {} remain",
                r.remaining()
            ),
        });
    }
    let mut start = r.pos();
    let mut txs = Vec::with_capacity(total);
    for len in lens {
        // In range: the lengths add up to exactly what remains after `start`.
        let end = start.saturating_add(len);
        txs.push(payload.slice(start..end));
        start = end;
    }
    Ok(into_blocks(txs, &counts))
}
