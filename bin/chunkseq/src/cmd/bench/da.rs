//! `chunkseq bench da`: a full slot's transactions through the
//! data-availability path (one compressed segment per block, blob packing,
//! KZG commitments and proofs, and back), what an attester pays per block,
//! and with `--compare` the codec comparison that chose the default
//! (docs/da.md).

use std::time::{Duration, Instant};

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Bytes, keccak256};
use anyhow::{Context as _, Result, ensure};
use chunkseq_da::{
    CheckpointData, Codec, Layout, MAX_BLOBS_PER_CHECKPOINT, MAX_DATA_BYTES, STREAM_HEADER_BYTES,
    VersionedHashCache, blob_commitment, blob_proof, blobs_for, cell_proofs, data_to_blobs,
    decode_checkpoint_data, decode_payload, encode_payload, encode_stream_with, kzg_settings,
    verify_blob, versioned_hash, versioned_hashes,
};
use chunkseq_primitives::{Preset, body::encode_body};
use clap::Args;
use serde::Serialize;

use super::{
    stats::median_ms,
    workload::{TxKindArg, WorkloadArgs, generate},
};

/// Arguments of `chunkseq bench da`.
#[derive(Debug, Args)]
pub(crate) struct DaArgs {
    /// Transactions in the slot (a full devnet slot: 8 blocks of 1,000).
    #[arg(long, default_value_t = 8_000)]
    txs: usize,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Codec of the main figures (plain+zstd or columnar+zstd) [default:
    /// the crate's default].
    #[arg(long, value_parser = parse_codec)]
    codec: Option<Codec>,
    /// zstd level [default: the crate's default].
    #[arg(long)]
    level: Option<i32>,
    /// Timed runs of each figure; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Compare layouts and compressors (zstd and brotli at several levels)
    /// at 500, 2,000 and --txs transactions (those up to --txs) instead of
    /// timing the whole path.
    #[arg(long)]
    compare: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_codec(s: &str) -> Result<Codec, String> {
    Codec::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Codec::ALL.iter().map(|c| c.name()).collect();
        format!("unknown codec {s:?}; one of {}", names.join(", "))
    })
}

/// What encoding, commitments of six full blobs should take on one core.
const TARGET_MS: f64 = 300.0;

/// The workloads every figure covers.
const KINDS: [TxKindArg; 3] = [
    TxKindArg::Transfer,
    TxKindArg::TransferFresh,
    TxKindArg::Erc20,
];

/// The whole path for one workload; times are medians in milliseconds.
#[derive(Debug, Serialize)]
struct PathRow {
    kind: &'static str,
    txs: usize,
    blocks: usize,
    /// Raw EIP-2718 bytes per transaction.
    raw_bytes_per_tx: f64,
    /// Today's calldata: the blocks' ABI `bytes[]` bodies, per transaction.
    calldata_bytes_per_tx: f64,
    /// Checkpoint data bytes: every block's segment (length prefix, stream
    /// header, compressed payload).
    data_bytes: usize,
    /// Checkpoint data bytes per transaction: what the blobs carry.
    bytes_per_tx: f64,
    /// The whole slot as one stream (no segments) per transaction: what
    /// compressing block by block costs in size.
    whole_stream_bytes_per_tx: f64,
    blobs: usize,
    /// Blob space used (131,072 bytes per blob) per transaction.
    blob_bytes_per_tx: f64,
    /// Layout and compression of every block (building the checkpoint data).
    encode_ms: f64,
    /// Encoding in this thread's CPU time (the mean of the runs).
    encode_cpu_ms: Option<f64>,
    /// Checkpoint data to blobs.
    pack_ms: f64,
    /// Commitments of this workload's blobs.
    commitments_ms: f64,
    /// EIP-4844 blob proofs of this workload's blobs.
    blob_proofs_ms: f64,
    /// EIP-7594 cell proofs (128 per blob) of this workload's blobs.
    cell_proofs_ms: f64,
    /// Encoding, packing and commitments of six full blobs: encode + pack +
    /// 6 × the commitment time of a full blob.
    total_6_blobs_ms: f64,
    /// total(6) in CPU time: encode + pack + 6 × the full-blob commitment,
    /// both in CPU time.
    total_6_blobs_cpu_ms: Option<f64>,
    /// The same plus six EIP-4844 blob proofs.
    total_6_blobs_with_blob_proofs_ms: f64,
    /// The same plus six blobs' EIP-7594 cell proofs.
    total_6_blobs_with_cell_proofs_ms: f64,
    /// Checking every blob against its versioned hash.
    verify_ms: f64,
    /// Blobs to blocks.
    decode_ms: f64,
    /// What an attester pays per block: appending block i + 1 and the
    /// versioned hashes of the blobs of blocks 0..=i + 1 through a
    /// [`VersionedHashCache`] (median over the blocks and runs).
    attest_block_ms: f64,
    /// The slowest block of that (one that crosses a blob boundary).
    attest_block_max_ms: f64,
    /// The same per-block cost in this thread's CPU time (the mean).
    attest_block_cpu_ms: Option<f64>,
    /// Commitments per block with the cache (mean).
    attest_commitments_per_block: f64,
    /// The same per-block cost committing every blob of 0..=i + 1 (no
    /// cache; median).
    attest_block_uncached_ms: f64,
}

/// Per-blob KZG times on full blobs (every field element carrying data).
#[derive(Debug, Serialize)]
struct FullBlob {
    commitment_ms: f64,
    /// The commitment in the thread's CPU time (Linux's
    /// `/proc/thread-self/schedstat`; the mean, not the median), which other
    /// processes on a shared machine disturb less than wall time; absent
    /// elsewhere.
    commitment_cpu_ms: Option<f64>,
    blob_proof_ms: f64,
    cell_proofs_ms: f64,
    /// Commitment, then versioned hash, compared.
    verify_ms: f64,
}

#[derive(Debug, Serialize)]
struct PathReport {
    codec: &'static str,
    level: i32,
    senders: usize,
    runs: usize,
    /// Loading the trusted setup (once per process).
    setup_load_ms: f64,
    kzg_precompute: u64,
    full_blob: FullBlob,
    target_ms: f64,
    rows: Vec<PathRow>,
}

/// One layout and compressor at one level on one workload.
#[derive(Debug, Serialize)]
struct CompareRow {
    kind: &'static str,
    txs: usize,
    layout: &'static str,
    compressor: &'static str,
    level: i32,
    /// Compressed payload plus the stream header.
    stream_bytes: usize,
    bytes_per_tx: f64,
    /// Stream bytes over raw bytes.
    ratio: f64,
    /// Blobs the stream's bytes fill (a whole-slot stream: the comparison
    /// is of codecs, not of the segmented layout).
    blobs: usize,
    /// Layout and compression.
    encode_ms: f64,
    /// Decompression and layout decoding.
    decode_ms: f64,
}

#[derive(Debug, Serialize)]
struct CompareReport {
    senders: usize,
    block_txs: usize,
    runs: usize,
    /// Raw EIP-2718 and ABI-calldata bytes per transaction, per workload and size.
    baselines: Vec<Baseline>,
    rows: Vec<CompareRow>,
}

#[derive(Debug, Serialize)]
struct Baseline {
    kind: &'static str,
    txs: usize,
    raw_bytes_per_tx: f64,
    calldata_bytes_per_tx: f64,
}

/// A general-purpose compressor `--compare` measures.
#[derive(Debug, Clone, Copy)]
enum Compressor {
    Zstd,
    Brotli,
}

impl Compressor {
    const fn name(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Brotli => "brotli",
        }
    }

    fn compress(self, data: &[u8], level: i32) -> Result<Vec<u8>> {
        match self {
            Self::Zstd => Ok(zstd::bulk::compress(data, level)?),
            Self::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: level,
                    lgwin: 24,
                    size_hint: data.len(),
                    ..Default::default()
                };
                let mut out = Vec::new();
                brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
                Ok(out)
            }
        }
    }

    fn decompress(self, data: &[u8], len: usize) -> Result<Vec<u8>> {
        match self {
            Self::Zstd => Ok(zstd::bulk::decompress(data, len)?),
            Self::Brotli => {
                let mut out = Vec::with_capacity(len);
                brotli::BrotliDecompress(&mut &data[..], &mut out)?;
                Ok(out)
            }
        }
    }
}

/// The layouts, compressors and levels `--compare` measures.
const COMPARED: [(Layout, Compressor, i32); 14] = [
    (Layout::Plain, Compressor::Zstd, 3),
    (Layout::Plain, Compressor::Zstd, 9),
    (Layout::Plain, Compressor::Zstd, 19),
    (Layout::Plain, Compressor::Zstd, 22),
    (Layout::Plain, Compressor::Brotli, 5),
    (Layout::Plain, Compressor::Brotli, 9),
    (Layout::Plain, Compressor::Brotli, 11),
    (Layout::Columnar, Compressor::Zstd, 3),
    (Layout::Columnar, Compressor::Zstd, 9),
    (Layout::Columnar, Compressor::Zstd, 19),
    (Layout::Columnar, Compressor::Zstd, 22),
    (Layout::Columnar, Compressor::Brotli, 5),
    (Layout::Columnar, Compressor::Brotli, 9),
    (Layout::Columnar, Compressor::Brotli, 11),
];

pub(crate) fn run(args: &DaArgs) -> Result<()> {
    ensure!(
        args.txs > 0 && args.workload.block_txs > 0 && args.workload.senders > 0 && args.runs > 0,
        "--txs, --block-txs, --senders and --runs must be positive"
    );
    if args.compare {
        compare(args)
    } else {
        path(args)
    }
}

/// Signed transactions of `kind`, in blocks of `block_txs`.
fn slot(args: &DaArgs, kind: TxKindArg, txs: usize) -> Vec<Vec<Bytes>> {
    let chain_id = Preset::Devnet.spec().chain_id;
    let raw = generate(
        kind,
        txs,
        args.workload.senders,
        &args.workload.dev_phrase,
        chain_id,
        || {},
    )
    .raw;
    raw.chunks(args.workload.block_txs)
        .map(<[Bytes]>::to_vec)
        .collect()
}

/// Runs `f` `runs` times; the last result and the median time.
fn timed<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(T, f64)> {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = f()?;
        times.push(started.elapsed());
        last = Some(value);
    }
    Ok((last.context("no runs")?, median_ms(&times)))
}

fn per_tx(bytes: usize, txs: usize) -> f64 {
    bytes as f64 / txs.max(1) as f64
}

fn raw_and_calldata(blocks: &[Vec<Bytes>]) -> (usize, usize) {
    let raw = blocks.iter().flatten().map(|tx| tx.len()).sum();
    let calldata = blocks.iter().map(|b| encode_body(b).len()).sum();
    (raw, calldata)
}

fn path(args: &DaArgs) -> Result<()> {
    let codec = args.codec.unwrap_or(Codec::DEFAULT);
    let level = args.level.unwrap_or(Codec::DEFAULT_LEVEL);
    let runs = args.runs;

    let started = Instant::now();
    kzg_settings();
    let setup_load_ms = started.elapsed().as_secs_f64() * 1000.0;

    // Six full blobs of incompressible data: per-blob KZG times.
    let noise: Vec<u8> = (0..MAX_DATA_BYTES.div_ceil(32) as u64)
        .flat_map(|i| keccak256(i.to_be_bytes()).0)
        .take(MAX_DATA_BYTES)
        .collect();
    let full = data_to_blobs(&noise);
    ensure!(
        full.len() == MAX_BLOBS_PER_CHECKPOINT,
        "{} full blobs",
        full.len()
    );
    let per_blob = |f: &dyn Fn(&Blob) -> Result<()>| -> Result<f64> {
        let mut times = Vec::new();
        for _ in 0..runs {
            for blob in &full {
                let started = Instant::now();
                f(blob)?;
                times.push(started.elapsed());
            }
        }
        Ok(median_ms(&times))
    };
    let commitment_ms = per_blob(&|b| Ok(blob_commitment(b).map(drop)?))?;
    // CPU time over all the commitments at once: the counter lags by up to
    // a scheduler tick, which a per-commitment reading would not average out.
    let commitment_cpu_ms = {
        let started = thread_cpu_time();
        for _ in 0..runs {
            for blob in &full {
                blob_commitment(blob)?;
            }
        }
        cpu_mean_ms(started, runs * full.len())
    };
    let commitments: Vec<_> = full.iter().map(blob_commitment).collect::<Result<_, _>>()?;
    let hashes: Vec<_> = commitments.iter().map(versioned_hash).collect();
    // Proofs alone, the commitments already known.
    let blob_proof_ms = {
        let mut times = Vec::new();
        for _ in 0..runs {
            for (blob, c) in full.iter().zip(&commitments) {
                let started = Instant::now();
                blob_proof(blob, c)?;
                times.push(started.elapsed());
            }
        }
        median_ms(&times)
    };
    let cell_proofs_ms = per_blob(&|b| Ok(cell_proofs(b).map(drop)?))?;
    let verify_ms = {
        let mut times = Vec::new();
        for _ in 0..runs {
            for (i, (blob, hash)) in full.iter().zip(&hashes).enumerate() {
                let started = Instant::now();
                verify_blob(i, blob, hash)?;
                times.push(started.elapsed());
            }
        }
        median_ms(&times)
    };
    let full_blob = FullBlob {
        commitment_ms,
        commitment_cpu_ms,
        blob_proof_ms,
        cell_proofs_ms,
        verify_ms,
    };

    let mut rows = Vec::new();
    for kind in KINDS {
        let blocks = slot(args, kind, args.txs);
        let (raw, calldata) = raw_and_calldata(&blocks);
        let whole_stream = encode_stream_with(&blocks, codec, level)?;
        // One untimed build first: the CPU-time figure is a mean, and the
        // process's first build pays for warming up (allocations, caches).
        let mut warm = CheckpointData::new(codec, level);
        for block in &blocks {
            warm.push_block(block)?;
        }
        let cpu_before = thread_cpu_time();
        let (data, encode_ms) = timed(runs, || {
            let mut data = CheckpointData::new(codec, level);
            for block in &blocks {
                data.push_block(block)?;
            }
            Ok(data)
        })?;
        let encode_cpu_ms = cpu_mean_ms(cpu_before, runs);
        let (blobs, pack_ms) = timed(runs, || Ok(data.blobs()))?;
        let (commitments, commitments_ms) = timed(runs, || {
            Ok(blobs
                .iter()
                .map(blob_commitment)
                .collect::<Result<Vec<_>, _>>()?)
        })?;
        let ((), blob_proofs_ms) = timed(runs, || {
            for (blob, c) in blobs.iter().zip(&commitments) {
                blob_proof(blob, c)?;
            }
            Ok(())
        })?;
        let ((), cell_proofs_ms) = timed(runs, || {
            for blob in &blobs {
                cell_proofs(blob)?;
            }
            Ok(())
        })?;
        let hashes: Vec<_> = commitments.iter().map(versioned_hash).collect();
        let ((), verify_ms) = timed(runs, || {
            for (i, (blob, hash)) in blobs.iter().zip(&hashes).enumerate() {
                verify_blob(i, blob, hash)?;
            }
            Ok(())
        })?;
        let (decoded, decode_ms) = timed(runs, || Ok(decode_checkpoint_data(&blobs)?))?;
        ensure!(
            decoded == blocks,
            "{}: the blocks did not round-trip",
            kind.name()
        );
        let attester = attester(&blocks, codec, level, runs)?;

        let six = MAX_BLOBS_PER_CHECKPOINT as f64;
        let total = encode_ms + pack_ms + six * full_blob.commitment_ms;
        rows.push(PathRow {
            kind: kind.name(),
            txs: args.txs,
            blocks: blocks.len(),
            raw_bytes_per_tx: per_tx(raw, args.txs),
            calldata_bytes_per_tx: per_tx(calldata, args.txs),
            data_bytes: data.data_len(),
            bytes_per_tx: per_tx(data.data_len(), args.txs),
            whole_stream_bytes_per_tx: per_tx(whole_stream.len(), args.txs),
            blobs: blobs.len(),
            blob_bytes_per_tx: per_tx(blobs.len() * 131_072, args.txs),
            encode_ms,
            encode_cpu_ms,
            pack_ms,
            commitments_ms,
            blob_proofs_ms,
            cell_proofs_ms,
            total_6_blobs_ms: total,
            total_6_blobs_cpu_ms: encode_cpu_ms
                .zip(full_blob.commitment_cpu_ms)
                .map(|(encode, commit)| encode + pack_ms + six * commit),
            total_6_blobs_with_blob_proofs_ms: total + six * full_blob.blob_proof_ms,
            total_6_blobs_with_cell_proofs_ms: total + six * full_blob.cell_proofs_ms,
            verify_ms,
            decode_ms,
            attest_block_ms: attester.median_ms,
            attest_block_max_ms: attester.max_ms,
            attest_block_cpu_ms: attester.cpu_mean_ms,
            attest_commitments_per_block: attester.commitments_per_block,
            attest_block_uncached_ms: attester.uncached_median_ms,
        });
    }
    let report = PathReport {
        codec: codec.name(),
        level,
        senders: args.workload.senders,
        runs,
        setup_load_ms,
        kzg_precompute: chunkseq_da::KZG_PRECOMPUTE,
        full_blob,
        target_ms: TARGET_MS,
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_path(&report);
    }
    Ok(())
}

/// CPU time this thread has run, where Linux tells it (the first field of
/// `/proc/thread-self/schedstat`, in nanoseconds).
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The mean CPU time of `count` runs since `before`, if the platform tells.
fn cpu_mean_ms(before: Option<Duration>, count: usize) -> Option<f64> {
    thread_cpu_time()
        .zip(before)
        .and_then(|(end, start)| end.checked_sub(start))
        .map(|spent| spent.as_secs_f64() * 1000.0 / count.max(1) as f64)
}

/// Per-block attester costs (see [`PathRow`]).
struct Attester {
    median_ms: f64,
    max_ms: f64,
    cpu_mean_ms: Option<f64>,
    commitments_per_block: f64,
    uncached_median_ms: f64,
}

/// Appends the blocks one at a time, hashing the blobs of each prefix, with
/// a fresh cache per run, then again without it.
fn attester(blocks: &[Vec<Bytes>], codec: Codec, level: i32, runs: usize) -> Result<Attester> {
    let mut times = Vec::with_capacity(runs * blocks.len());
    let mut uncached = Vec::with_capacity(runs * blocks.len());
    let mut misses = 0;
    let mut cpu = Duration::ZERO;
    let mut cpu_known = true;
    for _ in 0..runs {
        let mut data = CheckpointData::new(codec, level);
        let mut cache = VersionedHashCache::default();
        let cpu_before = thread_cpu_time();
        for block in blocks {
            let started = Instant::now();
            data.push_block(block)?;
            cache.versioned_hashes(&data.blobs())?;
            times.push(started.elapsed());
        }
        match thread_cpu_time()
            .zip(cpu_before)
            .and_then(|(end, start)| end.checked_sub(start))
        {
            Some(spent) => cpu += spent,
            None => cpu_known = false,
        }
        misses = cache.misses();
        let mut data = CheckpointData::new(codec, level);
        for block in blocks {
            let started = Instant::now();
            data.push_block(block)?;
            versioned_hashes(&data.blobs())?;
            uncached.push(started.elapsed());
        }
    }
    Ok(Attester {
        median_ms: median_ms(&times),
        max_ms: times
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .fold(0.0, f64::max),
        cpu_mean_ms: cpu_known
            .then(|| cpu.as_secs_f64() * 1000.0 / (runs * blocks.len()).max(1) as f64),
        commitments_per_block: misses as f64 / blocks.len().max(1) as f64,
        uncached_median_ms: median_ms(&uncached),
    })
}

fn print_path(r: &PathReport) {
    println!(
        "chunkseq bench da: {} level {}, {} senders, medians of {} runs",
        r.codec, r.level, r.senders, r.runs
    );
    println!(
        "  trusted setup load {:.0} ms (once; precompute {}); per full blob: commitment {:.1} ms, blob proof {:.1} ms, cell proofs {:.1} ms, verify {:.1} ms",
        r.setup_load_ms,
        r.kzg_precompute,
        r.full_blob.commitment_ms,
        r.full_blob.blob_proof_ms,
        r.full_blob.cell_proofs_ms,
        r.full_blob.verify_ms
    );
    if let Some(cpu) = r.full_blob.commitment_cpu_ms {
        println!("  commitment in this thread's CPU time: {cpu:.1} ms per full blob (mean)");
    }
    println!(
        "  {:<15} {:>6} {:>7} {:>8} {:>8} {:>8} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8}",
        "workload",
        "txs",
        "raw B",
        "calldata",
        "data",
        "B/tx",
        "blobs",
        "encode",
        "pack",
        "commit",
        "blob prf",
        "cell prf",
        "total(6)",
        "verify",
        "decode"
    );
    for row in &r.rows {
        println!(
            "  {:<15} {:>6} {:>7.1} {:>8.1} {:>8} {:>8.1} {:>5} {:>6.1}ms {:>6.2}ms {:>6.1}ms {:>6.1}ms {:>6.0}ms {:>7.1}ms {:>6.1}ms {:>6.1}ms",
            row.kind,
            row.txs,
            row.raw_bytes_per_tx,
            row.calldata_bytes_per_tx,
            row.data_bytes,
            row.bytes_per_tx,
            row.blobs,
            row.encode_ms,
            row.pack_ms,
            row.commitments_ms,
            row.blob_proofs_ms,
            row.cell_proofs_ms,
            row.total_6_blobs_ms,
            row.verify_ms,
            row.decode_ms
        );
    }
    println!(
        "  total(6) = encode + pack + 6 full-blob commitments; target {:.0} ms on one core",
        r.target_ms
    );
    for row in &r.rows {
        if let Some(cpu) = row.total_6_blobs_cpu_ms {
            println!(
                "  {:<15} total(6) in CPU time {:>6.1} ms ({})",
                row.kind,
                cpu,
                if cpu <= r.target_ms {
                    "within target"
                } else {
                    "over target"
                }
            );
        }
        println!(
            "  {:<15} total(6) {:>6.1} ms ({}), with blob proofs {:.1} ms, with cell proofs {:.1} ms",
            row.kind,
            row.total_6_blobs_ms,
            if row.total_6_blobs_ms <= r.target_ms {
                "within target"
            } else {
                "over target"
            },
            row.total_6_blobs_with_blob_proofs_ms,
            row.total_6_blobs_with_cell_proofs_ms
        );
    }
    println!(
        "  bytes: B/tx with one segment per block (target <= 95 in <= {} blobs); one stream for the whole slot would take:",
        MAX_BLOBS_PER_CHECKPOINT
    );
    for row in &r.rows {
        println!(
            "  {:<15} {:.1} B/tx segmented ({} blobs, {}), {:.1} B/tx as one stream",
            row.kind,
            row.bytes_per_tx,
            row.blobs,
            if row.bytes_per_tx <= 95.0 && row.blobs <= MAX_BLOBS_PER_CHECKPOINT {
                "within target"
            } else {
                "over target"
            },
            row.whole_stream_bytes_per_tx
        );
    }
    println!("  attester per block: append block i+1, versioned hashes of blocks 0..=i+1's blobs");
    for row in &r.rows {
        println!(
            "  {:<15} {:.1} ms median, {:.1} ms max, {:.1} ms mean CPU time, {:.2} commitments per block with the cache; {:.1} ms median without it",
            row.kind,
            row.attest_block_ms,
            row.attest_block_max_ms,
            row.attest_block_cpu_ms.unwrap_or(f64::NAN),
            row.attest_commitments_per_block,
            row.attest_block_uncached_ms
        );
    }
}

fn compare(args: &DaArgs) -> Result<()> {
    // 500, 2,000 and --txs, none larger than --txs.
    let mut sizes: Vec<usize> = [500, 2_000, args.txs]
        .into_iter()
        .filter(|&n| n <= args.txs)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut baselines = Vec::new();
    let mut rows = Vec::new();
    for kind in KINDS {
        let all = slot(args, kind, sizes.iter().copied().max().unwrap_or(0));
        for &txs in &sizes {
            let flat: Vec<Bytes> = all.iter().flatten().take(txs).cloned().collect();
            let blocks: Vec<Vec<Bytes>> = flat
                .chunks(args.workload.block_txs)
                .map(<[Bytes]>::to_vec)
                .collect();
            let (raw, calldata) = raw_and_calldata(&blocks);
            baselines.push(Baseline {
                kind: kind.name(),
                txs,
                raw_bytes_per_tx: per_tx(raw, txs),
                calldata_bytes_per_tx: per_tx(calldata, txs),
            });
            for (layout, compressor, level) in COMPARED {
                let ((len, compressed), encode_ms) = timed(args.runs, || {
                    let payload = encode_payload(&blocks, layout)?;
                    Ok((payload.len(), compressor.compress(&payload, level)?))
                })?;
                let (decoded, decode_ms) = timed(args.runs, || {
                    let payload = compressor.decompress(&compressed, len)?;
                    Ok(decode_payload(Bytes::from(payload), layout)?)
                })?;
                ensure!(
                    decoded == blocks,
                    "{} + {} did not round-trip",
                    layout.name(),
                    compressor.name()
                );
                let stream_bytes = compressed.len() + STREAM_HEADER_BYTES;
                rows.push(CompareRow {
                    kind: kind.name(),
                    txs,
                    layout: layout.name(),
                    compressor: compressor.name(),
                    level,
                    stream_bytes,
                    bytes_per_tx: per_tx(stream_bytes, txs),
                    ratio: stream_bytes as f64 / raw.max(1) as f64,
                    blobs: blobs_for(stream_bytes),
                    encode_ms,
                    decode_ms,
                });
            }
        }
    }
    let report = CompareReport {
        senders: args.workload.senders,
        block_txs: args.workload.block_txs,
        runs: args.runs,
        baselines,
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_compare(&report);
    }
    Ok(())
}

fn print_compare(r: &CompareReport) {
    println!(
        "chunkseq bench da --compare: {} senders, blocks of {} txs, medians of {} runs",
        r.senders, r.block_txs, r.runs
    );
    for base in &r.baselines {
        println!(
            "\n  {} x {}: raw {:.1} B/tx, ABI calldata {:.1} B/tx",
            base.kind, base.txs, base.raw_bytes_per_tx, base.calldata_bytes_per_tx
        );
        println!(
            "    {:<9} {:<7} {:>5} {:>9} {:>7} {:>6} {:>5} {:>10} {:>10}",
            "layout", "comp.", "level", "bytes", "B/tx", "ratio", "blobs", "encode", "decode"
        );
        for row in r
            .rows
            .iter()
            .filter(|row| row.kind == base.kind && row.txs == base.txs)
        {
            println!(
                "    {:<9} {:<7} {:>5} {:>9} {:>7.1} {:>6.3} {:>5} {:>8.1}ms {:>8.1}ms",
                row.layout,
                row.compressor,
                row.level,
                row.stream_bytes,
                row.bytes_per_tx,
                row.ratio,
                row.blobs,
                row.encode_ms,
                row.decode_ms
            );
        }
    }
}
