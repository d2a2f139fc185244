//! `chunkseq bench protection`: signatures through slashing protection, the
//! node's redb file against PostgreSQL, in the same run.
//!
//! Each store signs the same sequence of attestations (a fresh key per
//! request, so every one is a durable insert) through a `ProtectedSigner`:
//! the time per signature includes recording the duty and the secp256k1
//! signature. A last row races two PostgreSQL stores on the same duties,
//! as the two nodes of a validator pair do.

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use alloy_primitives::{Address, B256};
use anyhow::{Context, Result};
use chunkseq_primitives::{
    Attestation, LocalSigner, PrivateKey, SignRequest, Signer, SignerError, crypto::eip712_domain,
};
use chunkseq_report::Percentiles;
use chunkseq_signer::{
    PostgresProtectionStore, ProtectedSigner, ProtectionStore, SlashingProtectionStore,
    ThrowawayCluster, postgres::DEFAULT_PG_TIMEOUT,
};
use clap::Args;
use serde::Serialize;

/// Arguments of `chunkseq bench protection`.
#[derive(Debug, Args)]
pub(crate) struct ProtectionArgs {
    /// Signatures per store.
    #[arg(long, default_value_t = 5_000)]
    signatures: u64,
    /// Measure this PostgreSQL database; without it a throwaway cluster of
    /// Debian's binaries is started (durable: fsync on) and removed after.
    #[arg(long, value_name = "URL")]
    protection_db: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One store's figures.
#[derive(Debug, Serialize)]
struct Row {
    store: String,
    signatures: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn request(slot: u64, index: u32, variant: u8) -> SignRequest {
    SignRequest::new(
        &eip712_domain(31_337, Address::repeat_byte(0xaa)),
        &Attestation {
            slot,
            index,
            blockHash: B256::repeat_byte(variant),
            dataHash: B256::ZERO,
        },
    )
}

/// Signs `n` duties of the key `[key; 32]` through `store`, one at a
/// time, with digests picked by `variant`; the time of each.
fn sign_all(
    store: Arc<dyn ProtectionStore>,
    n: u64,
    key: u8,
    variant: u8,
) -> Result<Vec<Duration>> {
    let key = PrivateKey::from_bytes([key; 32]).context("bench key")?;
    let signer = ProtectedSigner::new(LocalSigner::new(key), store);
    let mut times = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for d in 0..n {
        let r = request(d / 8, u32::try_from(d % 8).unwrap_or(0), variant);
        let started = Instant::now();
        match signer.sign(&r) {
            Ok(_) | Err(SignerError::Conflict { .. }) => {}
            Err(e) => anyhow::bail!("signature {d}: {e}"),
        }
        times.push(started.elapsed());
    }
    Ok(times)
}

fn row(store: &str, times: &[Duration], wall: Duration) -> Row {
    let ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    let p = Percentiles::of(&ms);
    Row {
        store: store.to_owned(),
        signatures: times.len() as u64,
        per_second: times.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_ms: p.p50,
        p99_ms: p.p99,
    }
}

pub(crate) fn run(args: &ProtectionArgs) -> Result<()> {
    let n = args.signatures.max(1);
    let cluster;
    let url = match &args.protection_db {
        Some(u) => u.clone(),
        None => {
            eprintln!("starting a throwaway PostgreSQL cluster (fsync on)");
            cluster = ThrowawayCluster::start()?;
            cluster.url()
        }
    };
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();

    let redb: Arc<dyn ProtectionStore> = Arc::new(SlashingProtectionStore::open(
        &dir.path().join("protection.redb"),
    )?);
    let started = Instant::now();
    let times = sign_all(redb, n, 1, 1)?;
    rows.push(row("redb file", &times, started.elapsed()));

    let pg: Arc<dyn ProtectionStore> =
        Arc::new(PostgresProtectionStore::connect(&url, DEFAULT_PG_TIMEOUT)?);
    // First contact creates the schema: not part of the figures.
    pg.recorded(Address::ZERO, &request(0, 0, 0))?;
    let started = Instant::now();
    let times = sign_all(Arc::clone(&pg), n, 2, 2)?;
    rows.push(row("PostgreSQL", &times, started.elapsed()));

    // A pair: two stores racing on the same duties (fresh slots).
    let barrier = Arc::new(Barrier::new(2));
    let started = Instant::now();
    let racers: Vec<_> = [3u8, 4u8]
        .into_iter()
        .map(|variant| {
            let store: Arc<dyn ProtectionStore> =
                Arc::new(PostgresProtectionStore::connect(&url, DEFAULT_PG_TIMEOUT)?);
            let barrier = Arc::clone(&barrier);
            Ok(std::thread::spawn(move || {
                barrier.wait();
                // One key, two digests per duty: one of the two wins each.
                sign_all(store, n, 3, variant)
            }))
        })
        .collect::<Result<_>>()?;
    let mut pair = Vec::new();
    for r in racers {
        pair.extend(
            r.join()
                .map_err(|_| anyhow::anyhow!("a racer panicked"))??,
        );
    }
    rows.push(row("PostgreSQL, a pair racing", &pair, started.elapsed()));

    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<28} {:>10} {:>12} {:>9} {:>9}",
        "store", "signatures", "per second", "p50 ms", "p99 ms"
    );
    for r in &rows {
        println!(
            "{:<28} {:>10} {:>12.0} {:>9.3} {:>9.3}",
            r.store, r.signatures, r.per_second, r.p50_ms, r.p99_ms
        );
    }
    if let [redb, pg, ..] = rows.as_slice() {
        println!(
            "PostgreSQL adds {:.3} ms at p50 and {:.3} ms at p99 per signature over the redb file",
            pg.p50_ms - redb.p50_ms,
            pg.p99_ms - redb.p99_ms
        );
    }
    Ok(())
}
