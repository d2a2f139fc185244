//! `chunkseq bench exec`: block building, state commitment and re-execution
//! throughput, with bare revm as the baseline measured on the same
//! transactions in the same run.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, bail, ensure};
use chunkseq_execution::{
    BlockBuilder, BlockContext, BuiltBlock, Genesis, KnownTransactions, LOAD_TOKEN_ADDRESS,
    NoneKnown, RecoveredTx, evm_env,
    genesis::{load_token_code, token_balance_slot},
    pool::recover_batch,
    reexecute, tx_env,
};
use chunkseq_primitives::{
    BlockIndex, BlockNumber, Preset, Slot, UnixMillis, crypto::recover_signer,
};
use chunkseq_state::{StateDb, code_hash};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    database::{CacheDB, EmptyDB},
    state::AccountInfo,
};
use serde::Serialize;

use super::{
    stats::{median_ms, per_second},
    workload::{TxKindArg, Workload, WorkloadArgs, addresses, generate},
};

/// Arguments of `chunkseq bench exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Number of transactions to build into blocks.
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// What the transactions do.
    #[arg(long, value_enum, default_value = "transfer")]
    kind: TxKindArg,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Directory for the benchmark's databases [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The figures `chunkseq bench exec` reports. Rates are computed from the
/// median per-block time; `*_ms_per_block` are medians.
#[derive(Debug, Serialize)]
struct ExecReport {
    kind: &'static str,
    txs: usize,
    block_txs: usize,
    blocks: usize,
    senders: usize,
    /// Build: execute, state root, tx/receipt roots, durable commit.
    build_tps: f64,
    /// Re-execute on a separate node state (execution, roots, commit), with
    /// senders already recovered at its pool's ingress.
    reexec_tps: f64,
    /// Re-execute recovering every sender during re-execution.
    reexec_cold_tps: f64,
    /// Bare revm over an in-memory database, no commitment, same transactions.
    revm_baseline_tps: f64,
    build_vs_baseline: f64,
    reexec_vs_baseline: f64,
    exec_ms_per_block: f64,
    state_root_ms_per_block: f64,
    tx_receipt_roots_ms_per_block: f64,
    commit_ms_per_block: f64,
    build_ms_per_block: f64,
    reexec_ms_per_block: f64,
    revm_baseline_ms_per_block: f64,
    /// Pool ingress: decode, canonical check, sender recovery.
    sender_recovery_per_s: f64,
    /// Bare libsecp256k1 recovery of the same signatures, same run.
    sender_recovery_baseline_per_s: f64,
    sender_recovery_vs_baseline: f64,
    unwind_10_blocks_ms: Option<f64>,
}

const CHAIN_ID_PRESET: Preset = Preset::Devnet;

pub(crate) fn run(args: &ExecArgs) -> Result<()> {
    ensure!(
        args.txs > 0 && args.workload.block_txs > 0 && args.workload.senders > 0,
        "--txs, --block-txs and --senders must be positive"
    );
    let spec = CHAIN_ID_PRESET.spec();
    let chain_id = spec.chain_id;
    let kind = args.kind.name();

    let bar = progress(args.txs as u64, "signing");
    let Workload { keys, raw } = generate(
        args.kind,
        args.txs,
        args.workload.senders,
        &args.workload.dev_phrase,
        chain_id,
        || bar.inc(1),
    );
    bar.finish_and_clear();

    // Sender recovery at pool ingress, over every transaction, timed per
    // block-sized batch; three passes, so one noisy moment does not decide.
    let mut recovered: Vec<RecoveredTx> = Vec::with_capacity(raw.len());
    let mut recovery = Vec::new();
    for pass in 0..3 {
        for batch in raw.chunks(args.workload.block_txs) {
            let started = Instant::now();
            let txs = recover_batch(batch, chain_id)
                .into_iter()
                .collect::<Result<Vec<_>, _>>();
            recovery.push(started.elapsed());
            let txs = txs.context("recovering senders")?;
            if pass == 0 {
                recovered.extend(txs);
            }
        }
    }
    let sender_recovery_per_s =
        per_second(args.workload.block_txs.min(args.txs), median_ms(&recovery));
    // Bare libsecp256k1 on the same signatures and digests, same batches.
    let signed: Vec<([u8; 65], B256)> = recovered
        .iter()
        .map(|tx| {
            (
                tx.envelope().signature().as_bytes(),
                tx.envelope().signature_hash(),
            )
        })
        .collect();
    let mut bare = Vec::new();
    for _ in 0..3 {
        for batch in signed.chunks(args.workload.block_txs) {
            let started = Instant::now();
            for (sig, digest) in batch {
                recover_signer(sig, *digest).context("bare recovery")?;
            }
            bare.push(started.elapsed());
        }
    }
    let sender_recovery_baseline_per_s =
        per_second(args.workload.block_txs.min(args.txs), median_ms(&bare));

    let tmp = tempfile::tempdir()?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let genesis = Genesis::funded(
        &addresses(&keys),
        U256::from(10u128.pow(24)),
        U256::from(10u64.pow(15)),
    );

    // Build and commit on node A.
    let builder_db = fresh_db(&dir.join("bench-build.redb"))?;
    let (genesis_header, _) = genesis.commit(&builder_db, &spec)?;
    let blocks: Vec<&[RecoveredTx]> = recovered.chunks(args.workload.block_txs).collect();
    let bar = progress(blocks.len() as u64, "building");
    let mut built: Vec<(BlockContext, BuiltBlock)> = Vec::with_capacity(blocks.len());
    let (mut exec, mut root, mut roots, mut commit, mut total) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut parent = genesis_header.hash();
    for (i, txs) in blocks.iter().enumerate() {
        let ctx = context(i, parent, &spec, args.workload.block_txs);
        let t0 = Instant::now();
        let mut builder = BlockBuilder::new(builder_db.fork(), ctx)?;
        for tx in *txs {
            builder
                .add_tx(tx)
                .with_context(|| format!("block {} rejected transaction {}", i + 1, tx.hash()))?;
        }
        let t1 = Instant::now();
        let (fork, parts) = builder.into_parts();
        let sealed = Arc::new(fork.seal());
        let t2 = Instant::now();
        let block = parts.finish(sealed);
        let t3 = Instant::now();
        builder_db.commit(&block.state, block.hash())?;
        let t4 = Instant::now();
        exec.push(t1 - t0);
        root.push(t2 - t1);
        roots.push(t3 - t2);
        commit.push(t4 - t3);
        total.push(t4 - t0);
        parent = block.hash();
        built.push((ctx, block));
        bar.inc(1);
    }
    bar.finish_and_clear();

    // Unwinding 10 blocks (the depth of a two-slot reorg with 5 blocks per slot and more).
    let unwind_10_blocks_ms = if built.len() >= 10 {
        let t = Instant::now();
        let head = builder_db.unwind(10)?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let expected = match built.len().checked_sub(11).and_then(|i| built.get(i)) {
            Some((_, block)) => block.header.stateRoot,
            None => genesis_header.stateRoot,
        };
        ensure!(
            head.state_root == expected,
            "unwinding restored root {} instead of {expected}",
            head.state_root
        );
        Some(ms)
    } else {
        None
    };

    // Re-execute the same blocks on node B, from raw bytes, as an attester
    // does: senders of transactions it already holds in its pool (it saw them
    // by gossip) are not recovered again. Node C holds none and recovers all.
    let pool: HashMap<B256, RecoveredTx> =
        recovered.iter().map(|tx| (tx.hash(), tx.clone())).collect();
    let reexec = reexecute_all(
        &dir.join("bench-reexec.redb"),
        &genesis,
        &spec,
        &built,
        &pool,
        "re-executing",
    )?;
    let reexec_cold = reexecute_all(
        &dir.join("bench-reexec-cold.redb"),
        &genesis,
        &spec,
        &built,
        &NoneKnown,
        "re-exec, cold",
    )?;

    let baseline = revm_baseline(&genesis, &built, &blocks)?;

    let per_block = |d: &[Duration]| median_ms(d);
    let block_txs = args.workload.block_txs.min(args.txs);
    let build_tps = per_second(block_txs, per_block(&total));
    let reexec_tps = per_second(block_txs, per_block(&reexec));
    let reexec_cold_tps = per_second(block_txs, per_block(&reexec_cold));
    let revm_baseline_tps = per_second(block_txs, per_block(&baseline));
    let report = ExecReport {
        kind,
        txs: args.txs,
        block_txs: args.workload.block_txs,
        blocks: built.len(),
        senders: args.workload.senders,
        build_tps,
        reexec_tps,
        reexec_cold_tps,
        revm_baseline_tps,
        build_vs_baseline: build_tps / revm_baseline_tps.max(f64::MIN_POSITIVE),
        reexec_vs_baseline: reexec_tps / revm_baseline_tps.max(f64::MIN_POSITIVE),
        exec_ms_per_block: per_block(&exec),
        state_root_ms_per_block: per_block(&root),
        tx_receipt_roots_ms_per_block: per_block(&roots),
        commit_ms_per_block: per_block(&commit),
        build_ms_per_block: per_block(&total),
        reexec_ms_per_block: per_block(&reexec),
        revm_baseline_ms_per_block: per_block(&baseline),
        sender_recovery_per_s,
        sender_recovery_baseline_per_s,
        sender_recovery_vs_baseline: sender_recovery_per_s
            / sender_recovery_baseline_per_s.max(f64::MIN_POSITIVE),
        unwind_10_blocks_ms,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// Re-executes and commits every block on a fresh node; per-block times.
fn reexecute_all(
    path: &std::path::Path,
    genesis: &Genesis,
    spec: &chunkseq_primitives::ChainSpec,
    built: &[(BlockContext, BuiltBlock)],
    known: &impl KnownTransactions,
    what: &'static str,
) -> Result<Vec<Duration>> {
    let db = fresh_db(path)?;
    genesis.commit(&db, spec)?;
    let bar = progress(built.len() as u64, what);
    let mut times = Vec::with_capacity(built.len());
    for (ctx, block) in built {
        let t0 = Instant::now();
        let again = reexecute(db.fork(), *ctx, &block.header, &block.transactions, known)
            .with_context(|| format!("re-executing block {}", ctx.number))?;
        db.commit(&again.state, again.hash())?;
        times.push(t0.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(times)
}

fn fresh_db(path: &std::path::Path) -> Result<StateDb> {
    if path.exists() {
        bail!(
            "{} exists; the benchmark needs a fresh database (remove it or pick another --data-dir)",
            path.display()
        );
    }
    Ok(StateDb::open(path)?)
}

fn context(
    i: usize,
    parent: B256,
    spec: &chunkseq_primitives::ChainSpec,
    block_txs: usize,
) -> BlockContext {
    let number = i as u64 + 1;
    BlockContext {
        number: BlockNumber(number),
        slot: Slot(number / u64::from(spec.chunks_per_slot) + 1),
        index: BlockIndex((i % spec.chunks_per_slot as usize) as u32),
        parent_hash: parent,
        timestamp: UnixMillis(spec.genesis_time * 1000 + number * 1000),
        coinbase: Address::repeat_byte(0xcb),
        gas_limit: 100_000_000,
        max_txs: u32::try_from(block_txs).unwrap_or(u32::MAX),
        chain_id: spec.chain_id,
        fees: spec.fees,
        data_price: spec.fees.min_data_price,
    }
}

/// Bare revm: an in-memory database holding genesis, `transact_commit` per
/// transaction, no state root, no disk. Timed per block like the rest.
fn revm_baseline(
    genesis: &Genesis,
    built: &[(BlockContext, BuiltBlock)],
    blocks: &[&[RecoveredTx]],
) -> Result<Vec<Duration>> {
    let mut db = CacheDB::new(EmptyDB::default());
    for (a, balance) in &genesis.accounts {
        db.insert_account_info(
            *a,
            AccountInfo {
                balance: *balance,
                ..AccountInfo::default()
            },
        );
    }
    let code = load_token_code()?;
    let hash = code_hash(&code);
    db.insert_account_info(
        LOAD_TOKEN_ADDRESS,
        AccountInfo {
            nonce: 1,
            code_hash: hash,
            code: Some(Bytecode::new_raw(code)),
            ..AccountInfo::default()
        },
    );
    for (holder, amount) in &genesis.token_holders {
        db.insert_account_storage(LOAD_TOKEN_ADDRESS, token_balance_slot(*holder), *amount)?;
    }
    let (first, first_block) = built.first().context("no blocks")?;
    let (cfg, block) = evm_env(first, first_block.header.baseFee);
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet();
    let mut times = Vec::with_capacity(blocks.len());
    for ((ctx, b), txs) in built.iter().zip(blocks) {
        let (_, block) = evm_env(ctx, b.header.baseFee);
        evm.ctx.block = block;
        let t = Instant::now();
        for tx in *txs {
            let result = evm
                .transact_commit(tx_env(tx))
                .map_err(|e| anyhow::anyhow!("baseline: {e}"))?;
            ensure!(
                result.is_success(),
                "baseline transaction {} failed",
                tx.hash()
            );
        }
        times.push(t.elapsed());
    }
    Ok(times)
}

fn progress(len: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

fn print_table(r: &ExecReport) {
    println!(
        "chunkseq bench exec: {} x {} txs in {} blocks of {}, {} senders",
        r.kind, r.txs, r.blocks, r.block_txs, r.senders
    );
    println!(
        "  build (exec + roots + commit)  {:>10.0} tx/s  ({:.1} ms/block)",
        r.build_tps, r.build_ms_per_block
    );
    println!(
        "  re-execute (senders known)     {:>10.0} tx/s  ({:.1} ms/block)",
        r.reexec_tps, r.reexec_ms_per_block
    );
    println!(
        "  re-execute (recover senders)   {:>10.0} tx/s",
        r.reexec_cold_tps
    );
    println!(
        "  bare revm baseline             {:>10.0} tx/s  ({:.1} ms/block)",
        r.revm_baseline_tps, r.revm_baseline_ms_per_block
    );
    println!(
        "  build / baseline               {:>10.2}",
        r.build_vs_baseline
    );
    println!(
        "  re-execute / baseline          {:>10.2}",
        r.reexec_vs_baseline
    );
    println!(
        "  per block: exec {:.1} ms, state root {:.1} ms, tx+receipt roots {:.1} ms, commit {:.1} ms",
        r.exec_ms_per_block,
        r.state_root_ms_per_block,
        r.tx_receipt_roots_ms_per_block,
        r.commit_ms_per_block
    );
    println!(
        "  sender recovery                {:>10.0} tx/s  (bare libsecp256k1 {:.0}/s, ratio {:.2})",
        r.sender_recovery_per_s, r.sender_recovery_baseline_per_s, r.sender_recovery_vs_baseline
    );
    match r.unwind_10_blocks_ms {
        Some(ms) => println!("  unwind 10 blocks               {ms:>10.1} ms"),
        None => println!("  unwind 10 blocks               (needs at least 10 blocks)"),
    }
    println!("  (rates from median per-block times)");
}
