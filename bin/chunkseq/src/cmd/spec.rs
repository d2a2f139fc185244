//! `chunkseq spec`: a chain spec's parameters and one slot's timetable.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chunkseq_primitives::{ChainSpec, Preset, Slot, SlotSchedule, Timetable, UnixMillis};
use clap::Args;
use serde::Serialize;

/// Arguments of `chunkseq spec`.
#[derive(Debug, Args)]
pub(crate) struct SpecArgs {
    /// Named parameter set: seed, seed-staggered, fast or devnet.
    #[arg(long, default_value = "devnet", conflicts_with = "file")]
    preset: Preset,
    /// TOML chain spec to load instead of a preset (may name a `preset` to override).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Slot whose timetable to show [default: the first slot that has blocks].
    #[arg(long)]
    slot: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "toml")]
    json: bool,
    /// Print the spec as a complete TOML file, a starting point for a custom chain.
    #[arg(long, conflicts_with = "slot")]
    toml: bool,
}

/// The JSON document `chunkseq spec --json` prints.
#[derive(Debug, Serialize)]
struct SpecReport<'a> {
    /// Preset name, when the spec is an unmodified preset.
    preset: Option<&'static str>,
    spec_hash: String,
    #[serde(flatten)]
    spec: &'a ChainSpec,
    attestation_threshold: u32,
    build_window_ms: u64,
    chunk_duration_ms: u64,
    timetable: TimetableReport,
    /// The chunks of the reported slot, also under `timetable`.
    chunks: Vec<ChunkReport>,
}

/// One slot's timetable; `*_ms` fields are relative to the slot's start.
#[derive(Debug, Serialize)]
struct TimetableReport {
    slot: u64,
    slot_start_unix_ms: u64,
    build_start_ms: i64,
    build_end_ms: i64,
    attestation_deadline_ms: i64,
    tip_freeze_ms: i64,
    l1_inclusion_start_ms: i64,
    l1_inclusion_end_ms: i64,
    publish_window_start_ms: i64,
    publish_window_end_ms: i64,
    /// The rescue window after the slot (docs/rescue.md).
    rescue_window_start_ms: i64,
    rescue_window_end_ms: i64,
    chunks: Vec<ChunkReport>,
}

#[derive(Debug, Clone, Serialize)]
struct ChunkReport {
    index: u32,
    start_ms: i64,
    close_ms: i64,
    start_unix_ms: u64,
    close_unix_ms: u64,
}

pub(crate) fn run(args: &SpecArgs) -> Result<()> {
    let (spec, preset) = match &args.file {
        Some(path) => {
            let spec = ChainSpec::from_toml_file(path)?;
            let preset = Preset::ALL.into_iter().find(|p| p.spec() == spec);
            (spec, preset)
        }
        None => (args.preset.spec(), Some(args.preset)),
    };
    if args.toml {
        print!("{}", spec.to_toml_string()?);
        return Ok(());
    }
    let timetable = Timetable::new(&spec)?;
    let slot = args
        .slot
        .map_or_else(|| timetable.first_building_slot(), Slot);
    let schedule = timetable
        .schedule(slot)
        .with_context(|| format!("cannot show the timetable of {slot}"))?;
    let report = report(&spec, preset, &timetable, &schedule);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report, preset);
    }
    Ok(())
}

fn report<'a>(
    spec: &'a ChainSpec,
    preset: Option<Preset>,
    timetable: &Timetable,
    s: &SlotSchedule,
) -> SpecReport<'a> {
    let chunks: Vec<ChunkReport> = s
        .chunks
        .iter()
        .map(|c| ChunkReport {
            index: c.index.get(),
            start_ms: s.offset_ms(c.start),
            close_ms: s.offset_ms(c.close),
            start_unix_ms: c.start.get(),
            close_unix_ms: c.close.get(),
        })
        .collect();
    SpecReport {
        preset: preset.map(Preset::name),
        spec_hash: spec.hash().to_string(),
        spec,
        attestation_threshold: spec.attestation_threshold(spec.committee_size),
        build_window_ms: timetable.build_window_ms(),
        chunk_duration_ms: timetable.chunk_duration_ms(),
        timetable: TimetableReport {
            slot: s.slot.get(),
            slot_start_unix_ms: s.slot_start.get(),
            build_start_ms: s.offset_ms(s.build_start),
            build_end_ms: s.offset_ms(s.build_end),
            attestation_deadline_ms: s.offset_ms(s.attestation_deadline),
            tip_freeze_ms: s.offset_ms(s.tip_freeze),
            l1_inclusion_start_ms: s.offset_ms(s.l1_inclusion_start),
            l1_inclusion_end_ms: s.offset_ms(s.l1_inclusion_end),
            publish_window_start_ms: s.offset_ms(s.publish_start),
            publish_window_end_ms: s.offset_ms(s.l1_inclusion_end),
            rescue_window_start_ms: s.offset_ms(s.l1_inclusion_end),
            rescue_window_end_ms: s.offset_ms(s.rescue_end),
            chunks: chunks.clone(),
        },
        chunks,
    }
}

fn rfc3339(t: UnixMillis) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.get());
    humantime::format_rfc3339_millis(time).to_string()
}

fn print_table(r: &SpecReport<'_>, preset: Option<Preset>) {
    let s = r.spec;
    let name = preset.map_or_else(
        || "custom".to_owned(),
        |p| format!("{} ({})", p.name(), p.description()),
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("chain spec         {name}");
    println!("spec hash          {}", r.spec_hash);
    println!(
        "chain id           {} on L1 chain {}, rollup contract {}",
        s.chain_id, s.l1_chain_id, s.rollup_address
    );
    println!(
        "genesis            {} ({})",
        s.genesis_time,
        rfc3339(UnixMillis(s.genesis_time.saturating_mul(1000)))
    );
    println!(
        "slot               {} ms = {} L1 blocks of {} ms",
        s.slot_duration_ms,
        s.slot_duration_ms / s.l1_block_time_ms.max(1),
        s.l1_block_time_ms
    );
    println!(
        "chunks per slot    {} of {} ms (build window {} ms)",
        s.chunks_per_slot, r.chunk_duration_ms, r.build_window_ms
    );
    println!("staggered          {}", yes_no(s.staggered));
    println!(
        "committee          {} per epoch of {} slots, threshold {} (2n/3 + 1)",
        s.committee_size, s.epoch_slots, r.attestation_threshold
    );
    println!(
        "block limits       {} gas, {} txs",
        s.block_gas_limit, s.block_max_txs
    );
    println!(
        "attestations       timeout {} ms, margin {} ms",
        s.attestation_timeout_ms, s.attestation_margin_ms
    );
    if !s.staggered {
        println!(
            "allowances         sync {} ms, publish {} ms",
            s.sync_allowance_ms, s.publish_allowance_ms
        );
    }
    let t = &r.timetable;
    println!();
    println!(
        "timetable of slot {} (T = {}, times in ms relative to T)",
        t.slot,
        rfc3339(UnixMillis(t.slot_start_unix_ms))
    );
    println!(
        "  build window          [{}, {})",
        t.build_start_ms, t.build_end_ms
    );
    for c in &t.chunks {
        println!(
            "  chunk {:<3}             [{}, {})",
            c.index, c.start_ms, c.close_ms
        );
    }
    println!("  attestation deadline  {}", t.attestation_deadline_ms);
    println!("  tip freeze            {}", t.tip_freeze_ms);
    println!(
        "  publish window        [{}, {})",
        t.publish_window_start_ms, t.publish_window_end_ms
    );
    println!(
        "  L1 inclusion window   [{}, {})",
        t.l1_inclusion_start_ms, t.l1_inclusion_end_ms
    );
    println!(
        "  rescue window         [{}, {})",
        t.rescue_window_start_ms, t.rescue_window_end_ms
    );
}
