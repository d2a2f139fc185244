//! The columnar payload layout, in the spirit of Optimism's span batches:
//! every EIP-1559 transaction of the slot is decoded and its fields are
//! written field by field, one column per field, so that values which repeat
//! from one transaction to the next (chain id, fee caps, gas limit, a token's
//! address, calldata templates) sit next to each other and the compressor
//! that follows stores them once. Nonces are stored as deltas, signatures as
//! three columns (y-parity bits, r, s).
//!
//! A transaction goes into the columns only if re-encoding its decoded
//! fields gives back exactly its bytes; any other transaction (another type,
//! a non-canonical encoding, bytes that do not decode) is carried opaque.
//! Decoding therefore always gives back the exact input bytes.
//!
//! Layout, after the shape (`shape.rs`); `n` is the number of transactions,
//! `m` the number of EIP-1559 ones, varints are LEB128:
//!
//! | column | entries | content |
//! |---|---|---|
//! | kind | n bytes | 0 opaque, 1 EIP-1559 call, 2 EIP-1559 create |
//! | opaque lengths | varint per opaque tx | |
//! | opaque bytes | | concatenated |
//! | chain id | m varints | |
//! | nonce | m varints | zigzag of the wrapping delta from the previous EIP-1559 nonce (the first from 0) |
//! | max priority fee | m varints | |
//! | max fee | m varints | |
//! | gas limit | m varints | |
//! | to | 20 bytes per call | |
//! | value lengths | m bytes | 0 to 32, minimal big-endian |
//! | value bytes | | concatenated |
//! | input lengths | m varints | |
//! | input bytes | | concatenated |
//! | access list lengths | m varints | RLP of the access list |
//! | access list bytes | | concatenated |
//! | y-parity | ⌈m/8⌉ bytes | bit i of byte i/8, least significant first |
//! | r | 32 bytes each | |
//! | s | 32 bytes each | |

use alloy_consensus::{
    TxEip1559,
    transaction::{RlpEcdsaDecodableTx, RlpEcdsaEncodableTx},
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_rlp::{Decodable, Encodable};

use crate::{
    MAX_TX_BYTES,
    error::StreamError,
    shape::{into_blocks, malformed, put_shape, read_shape},
    wire::{Reader, put_varint, unzigzag, zigzag},
};

const LAYOUT: &str = "columnar";

/// The EIP-2718 type byte of an EIP-1559 transaction.
const EIP1559_TYPE: u8 = 2;

const KIND_OPAQUE: u8 = 0;
const KIND_CALL: u8 = 1;
const KIND_CREATE: u8 = 2;

/// A transaction's decoded fields, if it round-trips exactly.
fn columnar_form(raw: &[u8]) -> Option<(TxEip1559, Signature)> {
    let (&ty, mut rest) = raw.split_first()?;
    if ty != EIP1559_TYPE {
        return None;
    }
    let (tx, sig) = TxEip1559::rlp_decode_with_signature(&mut rest).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let mut again = Vec::with_capacity(raw.len());
    tx.eip2718_encode(&sig, &mut again);
    (again == raw).then_some((tx, sig))
}

/// The columns being written.
#[derive(Default)]
struct Columns {
    kinds: Vec<u8>,
    opaque_lens: Vec<u8>,
    opaque: Vec<u8>,
    chain_ids: Vec<u8>,
    nonces: Vec<u8>,
    tips: Vec<u8>,
    fee_caps: Vec<u8>,
    gas_limits: Vec<u8>,
    to: Vec<u8>,
    value_lens: Vec<u8>,
    values: Vec<u8>,
    input_lens: Vec<u8>,
    inputs: Vec<u8>,
    access_list_lens: Vec<u8>,
    access_lists: Vec<u8>,
    parity: Vec<u8>,
    r: Vec<u8>,
    s: Vec<u8>,
    /// EIP-1559 transactions so far.
    m: usize,
    prev_nonce: u64,
}

impl Columns {
    fn push(&mut self, raw: &[u8]) {
        let Some((tx, sig)) = columnar_form(raw) else {
            self.kinds.push(KIND_OPAQUE);
            put_varint(&mut self.opaque_lens, raw.len() as u128);
            self.opaque.extend_from_slice(raw);
            return;
        };
        match tx.to {
            TxKind::Call(to) => {
                self.kinds.push(KIND_CALL);
                self.to.extend_from_slice(to.as_slice());
            }
            TxKind::Create => self.kinds.push(KIND_CREATE),
        }
        put_varint(&mut self.chain_ids, tx.chain_id.into());
        let delta = tx.nonce.wrapping_sub(self.prev_nonce) as i64;
        put_varint(&mut self.nonces, zigzag(delta).into());
        self.prev_nonce = tx.nonce;
        put_varint(&mut self.tips, tx.max_priority_fee_per_gas);
        put_varint(&mut self.fee_caps, tx.max_fee_per_gas);
        put_varint(&mut self.gas_limits, tx.gas_limit.into());
        let value = tx.value.to_be_bytes_trimmed_vec();
        self.value_lens.push(value.len() as u8);
        self.values.extend_from_slice(&value);
        put_varint(&mut self.input_lens, tx.input.len() as u128);
        self.inputs.extend_from_slice(&tx.input);
        let before = self.access_lists.len();
        tx.access_list.encode(&mut self.access_lists);
        put_varint(
            &mut self.access_list_lens,
            self.access_lists.len().saturating_sub(before) as u128,
        );
        if self.m.is_multiple_of(8) {
            self.parity.push(0);
        }
        if sig.v()
            && let Some(byte) = self.parity.last_mut()
        {
            *byte |= 1 << (self.m % 8);
        }
        self.r.extend_from_slice(&sig.r().to_be_bytes::<32>());
        self.s.extend_from_slice(&sig.s().to_be_bytes::<32>());
        self.m = self.m.saturating_add(1);
    }

    fn write(self, out: &mut Vec<u8>) {
        for column in [
            self.kinds,
            self.opaque_lens,
            self.opaque,
            self.chain_ids,
            self.nonces,
            self.tips,
            self.fee_caps,
            self.gas_limits,
            self.to,
            self.value_lens,
            self.values,
            self.input_lens,
            self.inputs,
            self.access_list_lens,
            self.access_lists,
            self.parity,
            self.r,
            self.s,
        ] {
            out.extend_from_slice(&column);
        }
    }
}

/// Appends the columnar layout of `blocks` (already checked against the
/// bounds).
pub(crate) fn encode(blocks: &[Vec<Bytes>], out: &mut Vec<u8>) {
    put_shape(out, blocks);
    let mut columns = Columns::default();
    for tx in blocks.iter().flatten() {
        columns.push(tx);
    }
    columns.write(out);
}

/// Reads `count` varints.
fn varints(r: &mut Reader<'_>, count: usize, what: &str) -> Result<Vec<u128>, StreamError> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(r.varint().ok_or_else(|| malformed(LAYOUT, r, what))?);
    }
    Ok(out)
}

/// Reads `count` varints that fit a `u64`.
fn varints_u64(r: &mut Reader<'_>, count: usize, what: &str) -> Result<Vec<u64>, StreamError> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(r.varint_u64().ok_or_else(|| malformed(LAYOUT, r, what))?);
    }
    Ok(out)
}

/// Reads a lengths column of `count` varints (each at most `max`) and the
/// data column that follows it; returns the pieces.
fn pieces<'a>(
    r: &mut Reader<'a>,
    count: usize,
    max: usize,
    what: &str,
) -> Result<Vec<&'a [u8]>, StreamError> {
    let mut lens = Vec::with_capacity(count);
    for _ in 0..count {
        let len = r
            .varint_usize()
            .filter(|&len| len <= max)
            .ok_or_else(|| malformed(LAYOUT, r, what))?;
        lens.push(len);
    }
    let mut out = Vec::with_capacity(count);
    for len in lens {
        out.push(r.take(len).ok_or_else(|| malformed(LAYOUT, r, what))?);
    }
    Ok(out)
}

/// Reads `count` fixed-size entries.
fn fixed<'a, const N: usize>(
    r: &mut Reader<'a>,
    count: usize,
    what: &str,
) -> Result<Vec<[u8; N]>, StreamError> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(r.array::<N>().ok_or_else(|| malformed(LAYOUT, r, what))?);
    }
    Ok(out)
}

/// Reads a columnar payload back into the exact transactions it was made of.
pub(crate) fn decode(payload: &Bytes) -> Result<Vec<Vec<Bytes>>, StreamError> {
    let mut r = Reader::new(payload);
    let counts = read_shape(&mut r, LAYOUT, payload.len())?;
    let total: usize = counts.iter().sum();
    let kinds = r
        .take(total)
        .ok_or_else(|| malformed(LAYOUT, &r, "kind column"))?;
    let mut opaque_count = 0usize;
    let mut calls = 0usize;
    for &kind in kinds {
        match kind {
            KIND_OPAQUE => opaque_count = opaque_count.saturating_add(1),
            KIND_CALL => calls = calls.saturating_add(1),
            KIND_CREATE => {}
            other => {
                return Err(StreamError::Malformed {
                    layout: LAYOUT,
                    reason: format!("unknown transaction kind {other}"),
                });
            }
        }
    }
    let m = total.saturating_sub(opaque_count);
    // Every EIP-1559 entry takes at least 64 signature bytes: refuse a count
    // the payload cannot hold before allocating for it.
    if m.saturating_mul(64) > r.remaining() {
        return Err(malformed(LAYOUT, &r, "signature columns"));
    }
    let opaque = pieces(&mut r, opaque_count, MAX_TX_BYTES, "opaque transaction")?;
    let chain_ids = varints_u64(&mut r, m, "chain id column")?;
    let nonce_deltas = varints_u64(&mut r, m, "nonce column")?;
    let tips = varints(&mut r, m, "priority fee column")?;
    let fee_caps = varints(&mut r, m, "fee cap column")?;
    let gas_limits = varints_u64(&mut r, m, "gas limit column")?;
    let to = fixed::<20>(&mut r, calls, "to column")?;
    let value_lens = r
        .take(m)
        .ok_or_else(|| malformed(LAYOUT, &r, "value length column"))?;
    let mut values = Vec::with_capacity(m);
    for &len in value_lens {
        let bytes = r
            .take(usize::from(len))
            .filter(|b| b.len() <= 32 && b.first() != Some(&0))
            .ok_or_else(|| malformed(LAYOUT, &r, "value column"))?;
        values.push(U256::from_be_slice(bytes));
    }
    let inputs = pieces(&mut r, m, MAX_TX_BYTES, "input column")?;
    let access_lists = pieces(&mut r, m, MAX_TX_BYTES, "access list column")?;
    let parity = r
        .take(m.div_ceil(8))
        .ok_or_else(|| malformed(LAYOUT, &r, "y-parity column"))?;
    let rs = fixed::<32>(&mut r, m, "r column")?;
    let ss = fixed::<32>(&mut r, m, "s column")?;
    if r.remaining() != 0 {
        return Err(StreamError::Malformed {
            layout: LAYOUT,
            reason: format!("{} bytes after the last column", r.remaining()),
        });
    }

    let mut opaque = opaque.into_iter();
    let mut to = to.into_iter();
    let mut columns = chain_ids
        .into_iter()
        .zip(nonce_deltas)
        .zip(tips)
        .zip(fee_caps)
        .zip(gas_limits)
        .zip(values)
        .zip(inputs)
        .zip(access_lists)
        .zip(rs)
        .zip(ss)
        .enumerate();
    let mut nonce = 0u64;
    let mut txs = Vec::with_capacity(total);
    for &kind in kinds {
        if kind == KIND_OPAQUE {
            let raw = opaque
                .next()
                .filter(|raw| !raw.is_empty())
                .ok_or_else(|| malformed(LAYOUT, &r, "opaque transaction"))?;
            txs.push(Bytes::copy_from_slice(raw));
            continue;
        }
        let Some((
            i,
            (
                ((((((((chain_id, delta), tip), fee_cap), gas_limit), value), input), access), rb),
                sb,
            ),
        )) = columns.next()
        else {
            return Err(malformed(LAYOUT, &r, "EIP-1559 columns"));
        };
        let to = if kind == KIND_CALL {
            TxKind::Call(Address::from(
                to.next()
                    .ok_or_else(|| malformed(LAYOUT, &r, "to column"))?,
            ))
        } else {
            TxKind::Create
        };
        nonce = nonce.wrapping_add(unzigzag(delta) as u64);
        let mut access_slice = access;
        let access_list = AccessList::decode(&mut access_slice)
            .ok()
            .filter(|_| access_slice.is_empty())
            .ok_or_else(|| StreamError::Malformed {
                layout: LAYOUT,
                reason: format!("EIP-1559 transaction {i} has an invalid access list"),
            })?;
        let y_parity = parity
            .get(i / 8)
            .is_some_and(|byte| byte >> (i % 8) & 1 == 1);
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fee_cap,
            max_priority_fee_per_gas: tip,
            to,
            value,
            access_list,
            input: Bytes::copy_from_slice(input),
        };
        let signature = Signature::new(U256::from_be_bytes(rb), U256::from_be_bytes(sb), y_parity);
        let mut raw = Vec::with_capacity(tx.eip2718_encoded_length(&signature));
        tx.eip2718_encode(&signature, &mut raw);
        if raw.len() > MAX_TX_BYTES {
            return Err(StreamError::Malformed {
                layout: LAYOUT,
                reason: format!(
                    "EIP-1559 transaction {i} encodes to {} bytes, more than {MAX_TX_BYTES}",
                    raw.len()
                ),
            });
        }
        txs.push(Bytes::from(raw));
    }
    Ok(into_blocks(txs, &counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(nonce: u64, to: TxKind, input: &[u8], parity: bool) -> Bytes {
        let tx = TxEip1559 {
            chain_id: 8_001,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value: U256::from(nonce) + U256::from(1_000),
            access_list: AccessList::default(),
            input: Bytes::copy_from_slice(input),
        };
        let sig = Signature::new(U256::from(nonce) + U256::from(7), U256::MAX >> 2, parity);
        let mut raw = Vec::new();
        tx.eip2718_encode(&sig, &mut raw);
        Bytes::from(raw)
    }

    #[test]
    fn eip1559_and_opaque_transactions_round_trip() {
        let a = Address::repeat_byte(0xaa);
        let blocks = vec![
            vec![
                signed(5, TxKind::Call(a), &[], true),
                signed(3, TxKind::Create, &[0x60, 0x00], false),
                Bytes::from_static(&[0x01, 0x02, 0x03]),
            ],
            vec![],
            vec![signed(u64::MAX, TxKind::Call(a), &[0; 68], true)],
        ];
        let mut out = Vec::new();
        encode(&blocks, &mut out);
        assert_eq!(decode(&Bytes::from(out)), Ok(blocks));
    }

    #[test]
    fn a_non_canonical_eip1559_transaction_is_carried_opaque() {
        let mut raw = signed(1, TxKind::Call(Address::ZERO), &[], false).to_vec();
        raw.push(0); // trailing byte: decodes, but does not re-encode the same
        assert!(columnar_form(&raw).is_none());
        let blocks = vec![vec![Bytes::from(raw)]];
        let mut out = Vec::new();
        encode(&blocks, &mut out);
        assert_eq!(decode(&Bytes::from(out)), Ok(blocks));
    }

    #[test]
    fn truncated_payloads_are_errors() {
        let blocks = vec![vec![signed(1, TxKind::Call(Address::ZERO), &[1, 2], true)]];
        let mut out = Vec::new();
        encode(&blocks, &mut out);
        for cut in 0..out.len() {
            let cut = Bytes::copy_from_slice(&out[..cut]);
            assert!(decode(&cut).is_err(), "cut at {}", cut.len());
        }
        out.push(0);
        assert!(decode(&Bytes::from(out)).is_err());
    }
}
