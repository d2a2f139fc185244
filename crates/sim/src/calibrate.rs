//! Measuring the CPU model on this machine: what a gas unit of execution
//! and one signature recovery cost, with the real executor and the real
//! signature code.

use std::time::Instant;

use alloy_primitives::{Address, Bytes, U256};
use chunkseq_execution::{
    BlockBuilder, BlockContext, Genesis, dev_keys,
    pool::{recover, signed_transfer},
};
use chunkseq_primitives::{BlockIndex, BlockNumber, Slot, UnixMillis};
use chunkseq_state::StateDb;

use crate::{engine::SimError, scenario::CpuModel};

const CHAIN_ID: u64 = 9_999;

fn err<E: std::fmt::Display>(e: E) -> SimError {
    SimError::Setup(e.to_string())
}

/// Executes and recovers `txs` signed transfers and returns the cost per
/// gas and per signature recovery.
pub fn measure(txs: usize) -> Result<CpuModel, SimError> {
    let txs = txs.max(100);
    let keys = dev_keys("chunkseq sim calibrate", 1);
    let key = keys.first().ok_or_else(|| err("no key"))?;
    let to = Address::repeat_byte(0x42);
    let raw: Vec<Bytes> = (0..txs as u64)
        .map(|nonce| signed_transfer(key, CHAIN_ID, nonce, to, U256::from(1u64)))
        .collect();
    // Signature recovery (what every node does at ingress).
    let started = Instant::now();
    let recovered = raw
        .iter()
        .map(|r| recover(r, CHAIN_ID))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let ns_per_signature = started.elapsed().as_nanos() as f64 / txs as f64;
    // Execution on a funded state.
    let db = StateDb::in_memory().map_err(err)?;
    let ether = U256::from(10u64).pow(U256::from(24u64));
    let spec = chunkseq_primitives::Preset::Devnet.spec();
    let (genesis, _) = Genesis::funded(&[key.address()], ether, U256::ZERO)
        .commit(&db, &spec)
        .map_err(err)?;
    let ctx = BlockContext {
        number: BlockNumber(1),
        slot: Slot(1),
        index: BlockIndex(0),
        parent_hash: genesis.hash(),
        timestamp: UnixMillis(spec.genesis_time.saturating_mul(1000)),
        coinbase: Address::ZERO,
        gas_limit: u64::MAX / 2,
        max_txs: u32::try_from(txs).unwrap_or(u32::MAX),
        chain_id: CHAIN_ID,
        fees: spec.fees,
        data_price: spec.fees.min_data_price,
    };
    let mut builder = BlockBuilder::new(db.fork(), ctx).map_err(err)?;
    let started = Instant::now();
    let mut gas = 0u64;
    for tx in &recovered {
        gas = gas.saturating_add(builder.add_tx(tx).map_err(err)?.gas_used);
    }
    let built = builder.seal();
    let elapsed = started.elapsed().as_nanos() as f64;
    if built.header.txCount as usize != txs || gas == 0 {
        return Err(err("calibration block did not execute every transfer"));
    }
    // Commitments of a blob of zeros and of a full blob of data (after
    // the trusted setup is loaded, which a node does once).
    let _ = chunkseq_da::kzg_settings();
    let time_commitment = |blob: &alloy_primitives::FixedBytes<131_072>| {
        let started = Instant::now();
        chunkseq_da::blob_commitment(blob).map_err(err)?;
        Ok::<f64, SimError>(started.elapsed().as_nanos() as f64)
    };
    let empty = time_commitment(&alloy_primitives::FixedBytes::ZERO)?;
    let mut blob = alloy_primitives::FixedBytes::<131_072>::ZERO;
    for (i, byte) in blob.0.iter_mut().enumerate() {
        // Byte 0 of each field element stays zero (canonical elements).
        if i % 32 != 0 {
            *byte = (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8;
        }
    }
    let full = time_commitment(&blob)?;
    let ns_per_blob_commitment = empty;
    let ns_per_blob_byte = ((full - empty) / chunkseq_da::DATA_BYTES_PER_BLOB as f64).max(0.0);
    Ok(CpuModel {
        ns_per_gas: elapsed / gas as f64,
        ns_per_signature,
        ns_per_blob_commitment,
        ns_per_blob_byte,
    })
}
