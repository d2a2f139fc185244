//! `chunkseq sim`: run the deterministic simulator on a scenario, sweep a
//! parameter grid, or calibrate the CPU model on this machine.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chunkseq_report::{
    Report,
    html::{SweepPoint, render_html, render_sweep_html},
};
use chunkseq_sim::{BUILTIN, Scenario, scenario::CpuModel};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `chunkseq sim`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SimArgs {
    #[command(subcommand)]
    command: Option<SimCommand>,
    #[command(flatten)]
    run: RunArgs,
}

/// Simulator subcommands.
#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Run a scenario over a grid of parameter values and compare them.
    Sweep(SweepArgs),
    /// Measure the CPU model (cost per gas and per signature) on this machine.
    Calibrate(CalibrateArgs),
}

/// What one run simulates; flags override the scenario.
#[derive(Debug, Args)]
struct RunArgs {
    /// List the built-in scenarios, one line each.
    #[arg(long)]
    list: bool,
    /// A built-in scenario name or a TOML scenario file.
    #[arg(long, default_value = "happy")]
    scenario: String,
    /// Chain preset: seed, seed-staggered, fast or devnet.
    #[arg(long)]
    preset: Option<String>,
    /// Validators.
    #[arg(long)]
    validators: Option<usize>,
    /// Load, transactions per second.
    #[arg(long)]
    tps: Option<f64>,
    /// Seed of the run.
    #[arg(long)]
    seed: Option<u64>,
    /// Slots to run.
    #[arg(long)]
    slots: Option<u64>,
    /// CPU model file written by `chunkseq sim calibrate`.
    #[arg(long, value_name = "FILE")]
    cpu: Option<PathBuf>,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as a self-contained HTML page with charts.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    quiet: bool,
    /// Validators do not rescue slots whose proposer did not publish: a
    /// missed publish reorgs its slot (and, staggered, the next), as
    /// before rescue publishing.
    #[arg(long)]
    no_rescue: bool,
}

/// Arguments of `chunkseq sim sweep`.
#[derive(Debug, Args)]
struct SweepArgs {
    /// A built-in scenario name or a TOML scenario file.
    #[arg(long, default_value = "happy")]
    scenario: String,
    /// A parameter and its values, e.g. `chunks_per_slot=1,2,4,8`; repeat for a
    /// grid. Chain parameters (the keys of `chunkseq spec --toml`) and
    /// `validators`, `tps`, `seed`, `slots`, `latency_median_ms` are accepted.
    #[arg(long = "param", value_name = "NAME=V1,V2,..", required = true)]
    params: Vec<String>,
    /// Write every run's report as one JSON array.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write latency and throughput against each parameter as an HTML page.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Slots per run.
    #[arg(long)]
    slots: Option<u64>,
}

/// Arguments of `chunkseq sim calibrate`.
#[derive(Debug, Args)]
struct CalibrateArgs {
    /// Where to write the CPU model (TOML).
    #[arg(long, value_name = "FILE", default_value = "sim-cpu.toml")]
    out: PathBuf,
    /// Transfers to execute while measuring.
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
}

pub(crate) fn run(args: SimArgs) -> Result<()> {
    match args.command {
        Some(SimCommand::Sweep(s)) => sweep(&s),
        Some(SimCommand::Calibrate(c)) => calibrate(&c),
        None => run_one(&args.run),
    }
}

fn run_one(args: &RunArgs) -> Result<()> {
    if args.list {
        for (name, description) in BUILTIN {
            println!("{name:<20} {description}");
        }
        return Ok(());
    }
    let mut scenario = Scenario::named_or_file(&args.scenario)?;
    if let Some(p) = &args.preset {
        scenario.preset.clone_from(p);
    }
    if let Some(v) = args.validators {
        scenario.validators = v;
    }
    if let Some(t) = args.tps {
        scenario.tps = t;
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
    if let Some(s) = args.slots {
        scenario.slots = s;
    }
    if let Some(path) = &args.cpu {
        scenario.cpu = read_cpu(path)?;
    }
    if args.no_rescue {
        scenario.rescue = false;
    }
    scenario.validate()?;
    let report = simulate(scenario, args.quiet)?;
    print_summary(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if let Some(path) = &args.report {
        write_text(path, &render_html(&report))?;
    }
    if !report.invariant_violations.is_empty() {
        for v in &report.invariant_violations {
            eprintln!(
                "invariant violated: {} (seed {}, slot {}, t={} ms): {}",
                v.invariant, v.seed, v.slot, v.at_ms, v.detail
            );
            for line in &v.trail {
                eprintln!("    {line}");
            }
        }
        bail!("{} invariant violations", report.invariant_violations.len());
    }
    Ok(())
}

fn simulate(scenario: Scenario, quiet: bool) -> Result<Report> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(scenario.slots);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] slot {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(scenario.name.clone());
        bar
    };
    let report = chunkseq_sim::run(scenario, |slot, _| bar.set_position(slot))?;
    bar.finish_and_clear();
    Ok(report)
}

fn print_summary(r: &Report) {
    println!(
        "scenario {} | preset {} | {} validators | {} slots | seed {}",
        r.scenario, r.preset, r.validators, r.slots, r.seed
    );
    println!(
        "blocks proposed {} | provisional {} | checkpoints on L1 {}",
        r.blocks_proposed, r.blocks_provisional, r.checkpoints
    );
    println!(
        "txs submitted {} | provisional {} | checkpointed {} | refused {} | throughput {:.1} tx/s | data {} ({} blobs)",
        r.txs_submitted,
        r.txs_provisional,
        r.txs_checkpointed,
        r.refused,
        r.throughput_tps,
        r.data_mode,
        r.checkpoint_blobs
    );
    let (p, c) = (r.latency_ms.provisional, r.latency_ms.checkpointed);
    println!(
        "latency ms: provisional p50 {:.0} p90 {:.0} p99 {:.0} | checkpointed p50 {:.0} p90 {:.0} p99 {:.0}",
        p.p50, p.p90, p.p99, c.p50, c.p90, c.p99
    );
    println!(
        "reorgs {} | rescued slots {} | slashings {} | invariant violations {}",
        r.reorgs.len(),
        r.rescued_slots.len(),
        r.slashings.len(),
        r.invariant_violations.len()
    );
    if !r.l1_refusals.is_empty() {
        let refusals: Vec<String> = r
            .l1_refusals
            .iter()
            .map(|(what, n)| format!("{what} x{n}"))
            .collect();
        println!("L1 refused: {}", refusals.join(", "));
    }
    for s in &r.slashings {
        println!(
            "  slashed {} for {} in slot {}",
            s.validator, s.offence, s.slot
        );
    }
    for x in &r.reorgs {
        println!(
            "  reorg of slots {:?} ({}, {} blocks)",
            x.slots, x.cause, x.blocks
        );
    }
    println!(
        "virtual {:.0} s in {:.2} s wall: sim_speedup {:.0} | digest {}",
        r.virtual_seconds, r.wall_seconds, r.sim_speedup, r.digest
    );
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn read_cpu(path: &Path) -> Result<CpuModel> {
    let bytes = chunkseq_primitives::fs::read_bounded(path, 64 * 1024)
        .with_context(|| format!("CPU model {}", path.display()))?;
    let text = String::from_utf8(bytes).context("CPU model is not UTF-8")?;
    #[derive(serde::Deserialize)]
    struct File {
        cpu: CpuModel,
    }
    let file: File =
        toml::from_str(&text).with_context(|| format!("CPU model {}", path.display()))?;
    Ok(file.cpu)
}

/// One axis of a sweep.
fn parse_param(text: &str) -> Result<(String, Vec<String>)> {
    let (name, values) = text
        .split_once('=')
        .with_context(|| format!("--param {text:?}: expected NAME=V1,V2,..."))?;
    let values: Vec<String> = values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        bail!("--param {name}: no values");
    }
    Ok((name.trim().to_owned(), values))
}

/// Sets one parameter of `scenario`.
fn apply(scenario: &mut Scenario, name: &str, value: &str) -> Result<()> {
    let num = || -> Result<f64> {
        value
            .parse::<f64>()
            .with_context(|| format!("{name}={value}: not a number"))
    };
    match name {
        "validators" => scenario.validators = num()? as usize,
        "tps" => scenario.tps = num()?,
        "seed" => scenario.seed = num()? as u64,
        "slots" => scenario.slots = num()? as u64,
        "latency_median_ms" => scenario.network.latency_median_ms = num()?,
        "preset" => scenario.preset = value.to_owned(),
        _ => {
            let v: toml::Value = match value.parse::<i64>() {
                Ok(i) => toml::Value::Integer(i),
                Err(_) => match value {
                    "true" => toml::Value::Boolean(true),
                    "false" => toml::Value::Boolean(false),
                    _ => toml::Value::String(value.to_owned()),
                },
            };
            scenario.spec.insert(name.to_owned(), v);
        }
    }
    Ok(())
}

fn sweep(args: &SweepArgs) -> Result<()> {
    let base = Scenario::named_or_file(&args.scenario)?;
    let axes: Vec<(String, Vec<String>)> = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<_>>()?;
    // The grid: every combination of the axes' values.
    let mut grid: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (name, values) in &axes {
        grid = grid
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((name.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    let mut rows = Vec::new();
    let mut points = Vec::new();
    for point in &grid {
        let mut scenario = base.clone();
        if let Some(s) = args.slots {
            scenario.slots = s;
        }
        for (name, value) in point {
            apply(&mut scenario, name, value)?;
        }
        let label: Vec<String> = point.iter().map(|(n, v)| format!("{n}={v}")).collect();
        scenario.validate().with_context(|| label.join(" "))?;
        let report = simulate(scenario, false)?;
        let p = report.latency_ms.provisional;
        println!(
            "{:<40} provisional p50 {:>6.0} ms p99 {:>6.0} ms | {:>7.1} tx/s | checkpoints {} | violations {}",
            label.join(" "),
            p.p50,
            p.p99,
            report.throughput_tps,
            report.checkpoints,
            report.invariant_violations.len()
        );
        for (name, value) in point {
            points.push(SweepPoint {
                param: name.clone(),
                value: value.clone(),
                report: report.clone(),
            });
        }
        rows.push(serde_json::json!({ "params": point.iter().map(|(n, v)| (n.clone(), v.clone())).collect::<std::collections::BTreeMap<_, _>>(), "report": report }));
    }
    if let Some(path) = &args.json {
        write_json(path, &rows)?;
    }
    if let Some(path) = &args.report {
        let title = format!("chunkseq sim sweep: {}", base.name);
        write_text(path, &render_sweep_html(&title, &points))?;
    }
    Ok(())
}

fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let model = chunkseq_sim::calibrate::measure(args.txs)?;
    println!(
        "ns_per_gas {:.3} | ns_per_signature {:.0} | ns_per_blob_commitment {:.0} | ns_per_blob_byte {:.1}",
        model.ns_per_gas,
        model.ns_per_signature,
        model.ns_per_blob_commitment,
        model.ns_per_blob_byte
    );
    let text = format!(
        "# Written by `chunkseq sim calibrate` on this machine.\n[cpu]\nns_per_gas = {}\nns_per_signature = {}\nns_per_blob_commitment = {}\nns_per_blob_byte = {}\n",
        model.ns_per_gas,
        model.ns_per_signature,
        model.ns_per_blob_commitment,
        model.ns_per_blob_byte
    );
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {}; pass it with `chunkseq sim --cpu {}`",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
