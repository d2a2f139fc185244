//! The self-contained HTML report of a run, and of a parameter sweep.
//!
//! Charts are drawn with `plotters` into SVG strings and embedded inline, so
//! the page needs no scripts, fonts or style sheets from anywhere: text in the
//! charts is SVG `<text>` set in the browser's `sans-serif`. Every piece of
//! text taken from a report is HTML-escaped. Missing data (no samples, no
//! slots) shows "no data" instead of a chart.

use std::collections::BTreeSet;
use std::error::Error;
use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::{Report, SlotTimeline};

/// One run of a parameter sweep: the parameter, the value it had, the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepPoint {
    /// The swept parameter's name, e.g. `link_latency_ms`.
    pub param: String,
    /// Its value in this run, as written in the scenario (numeric or not).
    pub value: String,
    /// The run's report.
    pub report: Report,
}

type DrawResult = Result<(), Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const CHART_WIDTH: u32 = 1100;
const CHART_HEIGHT: u32 = 380;
/// Most slots drawn in the timeline; a longer run shows a window.
const TIMELINE_MAX_SLOTS: usize = 120;
/// Slots shown before the first incident when the timeline is a window.
const TIMELINE_LEAD_SLOTS: u64 = 10;
/// Most points drawn for one CDF; larger sample sets are thinned to quantiles.
const CDF_MAX_POINTS: usize = 1000;

const CAPTION_FONT: (&str, u32) = ("sans-serif", 22);
const LABEL_FONT: (&str, u32) = ("sans-serif", 15);
const DESC_FONT: (&str, u32) = ("sans-serif", 16);

const PROVISIONAL: RGBColor = RGBColor(31, 119, 180);
const CHECKPOINTED: RGBColor = RGBColor(214, 96, 16);
const BUILT: RGBColor = RGBColor(90, 90, 90);
const PROPOSED: RGBColor = RGBColor(148, 103, 189);
const PROVISIONAL_BLOCK: RGBColor = RGBColor(44, 160, 44);
const L1_INCLUSION: RGBColor = RGBColor(20, 20, 20);
const ALERT: RGBColor = RGBColor(214, 39, 40);

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:0.9em}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\
code{font-size:0.9em;word-break:break-all}\
.nodata{color:#888;font-style:italic}.bad{color:#b00;font-weight:bold}\
figure{margin:12px 0}figcaption{color:#555;font-size:0.85em}\
svg{max-width:100%;height:auto}";

/// Renders `report` as one self-contained HTML page: a summary table, the
/// latency CDFs, throughput over time, the per-slot timeline, and tables of
/// slashings, reorgs and invariant violations.
pub fn render_html(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("chunkseq simulation: {}", report.scenario);
    page_start(&mut out, &title);

    out.push_str("<h2>Summary</h2>\n");
    summary_table(&mut out, report);

    out.push_str("<h2>Latency (submission to tip, seen by a follower)</h2>\n");
    figure(
        &mut out,
        &latency_cdf_chart(report),
        "Cumulative distribution of transaction latencies; the x axis is logarithmic.",
    );

    out.push_str("<h2>Throughput</h2>\n");
    figure(
        &mut out,
        &throughput_chart(report),
        "Transactions per second that became provisional and checkpointed, per time bucket.",
    );

    out.push_str("<h2>Timeline</h2>\n");
    let (slots, note) = timeline_window(report);
    if let Some(note) = note {
        let _ = writeln!(out, "<p>{}</p>", escape(&note));
    }
    figure(
        &mut out,
        &timeline_chart(report, slots),
        "One row per slot. Grey square: block built; purple triangle: proposal sent; \
         green circle: block provisional at the follower; black cross: checkpoint included \
         on L1. Red rows were reorged; a red X marks a slashing, a red bar the moment a \
         reorg was seen.",
    );

    out.push_str("<h2>Slashings</h2>\n");
    slashings_table(&mut out, report);
    out.push_str("<h2>Reorgs</h2>\n");
    reorgs_table(&mut out, report);
    out.push_str("<h2>Invariant violations</h2>\n");
    violations_table(&mut out, report);

    out.push_str("</body>\n</html>\n");
    out
}

/// Renders a parameter sweep as one self-contained HTML page: for each swept
/// parameter (in order of first appearance) a chart of provisional p50/p99
/// latency and checkpointed throughput against the parameter's value, and a
/// table of every run.
pub fn render_sweep_html(title: &str, points: &[SweepPoint]) -> String {
    let mut out = String::new();
    page_start(&mut out, title);
    if points.is_empty() {
        out.push_str("<p class=\"nodata\">no data</p>\n</body>\n</html>\n");
        return out;
    }
    let mut params: Vec<&str> = Vec::new();
    for point in points {
        if !params.contains(&point.param.as_str()) {
            params.push(&point.param);
        }
    }
    for param in params {
        let group: Vec<&SweepPoint> = points.iter().filter(|p| p.param == param).collect();
        let _ = writeln!(out, "<h2>{}</h2>", escape(param));
        figure(
            &mut out,
            &sweep_chart(param, &group),
            "Provisional latency p50 and p99 (left axis, ms) and checkpointed throughput \
             (right axis, tx/s) for each value.",
        );
        sweep_table(&mut out, &group);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes `text` for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn page_start(out: &mut String, title: &str) {
    let title = escape(title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
}

fn figure(out: &mut String, chart: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure>\n{chart}\n<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    );
}

const NO_DATA: &str = "<p class=\"nodata\">no data</p>";

/// Draws with `draw` on a fresh SVG canvas and returns the SVG text, or a
/// note saying why the chart could not be drawn.
fn svg_chart(width: u32, height: u32, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> String {
    let mut svg = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into))
    };
    match result {
        Ok(()) => svg,
        Err(e) => format!(
            "<p class=\"nodata\">chart could not be drawn: {}</p>",
            escape(&e.to_string())
        ),
    }
}

fn fmt_f(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

fn summary_table(out: &mut String, r: &Report) {
    let lp = r.latency_ms.provisional;
    let lc = r.latency_ms.checkpointed;
    let rows: Vec<(&str, String)> = vec![
        ("scenario", r.scenario.clone()),
        ("preset", r.preset.clone()),
        ("validators", r.validators.to_string()),
        ("slots", r.slots.to_string()),
        ("seed", r.seed.to_string()),
        ("blocks proposed", r.blocks_proposed.to_string()),
        ("blocks provisional", r.blocks_provisional.to_string()),
        ("checkpoints (accepted on L1)", r.checkpoints.to_string()),
        ("txs submitted", r.txs_submitted.to_string()),
        ("txs provisional", r.txs_provisional.to_string()),
        ("txs checkpointed", r.txs_checkpointed.to_string()),
        (
            "throughput (tx/s, checkpointed)",
            fmt_f(r.throughput_tps, 2),
        ),
        (
            "provisional latency p50 / p90 / p99 (ms)",
            format!(
                "{} / {} / {}",
                fmt_f(lp.p50, 1),
                fmt_f(lp.p90, 1),
                fmt_f(lp.p99, 1)
            ),
        ),
        (
            "checkpointed latency p50 / p90 / p99 (ms)",
            format!(
                "{} / {} / {}",
                fmt_f(lc.p50, 1),
                fmt_f(lc.p90, 1),
                fmt_f(lc.p99, 1)
            ),
        ),
        ("reorgs", r.reorgs.len().to_string()),
        ("slashings", r.slashings.len().to_string()),
        (
            "invariant violations",
            r.invariant_violations.len().to_string(),
        ),
        ("virtual time (s)", fmt_f(r.virtual_seconds, 1)),
        ("wall time (s)", fmt_f(r.wall_seconds, 2)),
        ("sim speedup (virtual / wall)", fmt_f(r.sim_speedup, 1)),
        ("digest", r.digest.clone()),
    ];
    out.push_str("<table class=\"summary\">\n");
    for (name, value) in rows {
        let class = if name == "invariant violations" && !r.invariant_violations.is_empty() {
            " class=\"bad\""
        } else {
            ""
        };
        let value = if name == "digest" {
            format!("<code>{}</code>", escape(&value))
        } else {
            escape(&value)
        };
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td{class}>{value}</td></tr>",
            escape(name)
        );
    }
    out.push_str("</table>\n");
}

/// Writes a table with `header`, or "none" when there are no rows. Cells are
/// escaped here.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        out.push_str("<p class=\"nodata\">none</p>\n");
        return;
    }
    out.push_str("<table>\n<tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn slashings_table(out: &mut String, r: &Report) {
    let rows: Vec<Vec<String>> = r
        .slashings
        .iter()
        .map(|s| {
            vec![
                s.offence.clone(),
                s.validator.clone(),
                s.slot.to_string(),
                s.at_ms.to_string(),
            ]
        })
        .collect();
    table(out, &["offence", "validator", "slot", "at (ms)"], &rows);
}

fn reorgs_table(out: &mut String, r: &Report) {
    let rows: Vec<Vec<String>> = r
        .reorgs
        .iter()
        .map(|g| {
            let slots: Vec<String> = g.slots.iter().map(u64::to_string).collect();
            vec![
                g.at_ms.to_string(),
                g.depth_slots.to_string(),
                slots.join(", "),
                g.blocks.to_string(),
                g.cause.clone(),
            ]
        })
        .collect();
    table(
        out,
        &["at (ms)", "depth (slots)", "slots", "blocks", "cause"],
        &rows,
    );
}

fn violations_table(out: &mut String, r: &Report) {
    if r.invariant_violations.is_empty() {
        out.push_str("<p class=\"nodata\">none</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<tr><th>invariant</th><th>detail</th><th>seed</th><th>slot</th>\
         <th>at (ms)</th><th>last events</th></tr>\n",
    );
    for v in &r.invariant_violations {
        let trail: Vec<String> = v.trail.iter().map(|e| escape(e)).collect();
        let _ = writeln!(
            out,
            "<tr><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td></tr>",
            escape(&v.invariant),
            escape(&v.detail),
            v.seed,
            v.slot,
            v.at_ms,
            trail.join("<br>")
        );
    }
    out.push_str("</table>\n");
}

fn sweep_table(out: &mut String, group: &[&SweepPoint]) {
    let rows: Vec<Vec<String>> = group
        .iter()
        .map(|p| {
            let r = &p.report;
            vec![
                p.value.clone(),
                r.scenario.clone(),
                r.seed.to_string(),
                r.checkpoints.to_string(),
                fmt_f(r.throughput_tps, 2),
                fmt_f(r.latency_ms.provisional.p50, 1),
                fmt_f(r.latency_ms.provisional.p99, 1),
                fmt_f(r.latency_ms.checkpointed.p50, 1),
                r.reorgs.len().to_string(),
                r.slashings.len().to_string(),
                r.invariant_violations.len().to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "value",
            "scenario",
            "seed",
            "checkpoints",
            "throughput (tx/s)",
            "provisional p50 (ms)",
            "provisional p99 (ms)",
            "checkpointed p50 (ms)",
            "reorgs",
            "slashings",
            "violations",
        ],
        &rows,
    );
}

/// The empirical CDF of `samples` as (value, fraction) points, thinned to at
/// most [`CDF_MAX_POINTS`] points; non-finite samples are dropped.
fn cdf_points(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(CDF_MAX_POINTS).max(1);
    let mut points: Vec<(f64, f64)> = sorted
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || i + 1 == n)
        .map(|(i, &x)| (x, (i + 1) as f64 / n as f64))
        .collect();
    if let Some(&(first, _)) = points.first() {
        points.insert(0, (first, 0.0));
    }
    points
}

fn latency_cdf_chart(r: &Report) -> String {
    let prov = cdf_points(&r.provisional_samples);
    let ckpt = cdf_points(&r.checkpointed_samples);
    if prov.is_empty() && ckpt.is_empty() {
        return NO_DATA.to_string();
    }
    let values = || prov.iter().chain(ckpt.iter()).map(|&(x, _)| x);
    let max = values().fold(f64::MIN, f64::max);
    let min_positive = values().filter(|&x| x > 0.0).fold(f64::MAX, f64::min);
    // A log axis needs positive values: zero latencies sit on its left edge.
    // It starts at a power of ten so that the axis gets labels below the
    // first whole decade.
    let lo = if min_positive < f64::MAX {
        10f64.powf(min_positive.log10().floor()).max(0.01)
    } else {
        1.0
    };
    let hi = (max * 1.2).max(lo * 10.0);
    let clamp = |points: &[(f64, f64)]| -> Vec<(f64, f64)> {
        points.iter().map(|&(x, y)| (x.max(lo), y)).collect()
    };
    svg_chart(CHART_WIDTH, CHART_HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Latency CDF", CAPTION_FONT)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(BLACK.mix(0.04))
            .label_style(LABEL_FONT)
            .axis_desc_style(DESC_FONT)
            .x_max_light_lines(1)
            .x_desc("latency (ms, log scale)")
            .y_desc("fraction of transactions")
            .x_label_formatter(&|x| {
                if is_one_two_five(*x) {
                    format_axis(*x)
                } else {
                    String::new()
                }
            })
            .draw()?;
        for (points, color, label) in [
            (&prov, PROVISIONAL, "provisional"),
            (&ckpt, CHECKPOINTED, "checkpointed"),
        ] {
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(clamp(points), color.stroke_width(2)))?
                .label(format!(
                    "{label} ({} samples)",
                    points.len().saturating_sub(1)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .label_font(LABEL_FONT)
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// Whether `x` is 1, 2 or 5 times a power of ten: the labelled ticks of a
/// log axis (the others would crowd each other).
fn is_one_two_five(x: f64) -> bool {
    if !(x.is_finite() && x > 0.0) {
        return false;
    }
    let mantissa = x / 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 * m)
}

/// Axis label for a value that spans several orders of magnitude.
fn format_axis(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.round() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn throughput_chart(r: &Report) -> String {
    let points: Vec<_> = r
        .throughput
        .iter()
        .filter(|p| p.t_s.is_finite() && p.provisional_tps.is_finite())
        .filter(|p| p.checkpointed_tps.is_finite())
        .collect();
    if points.is_empty() {
        return NO_DATA.to_string();
    }
    let t_min = points.iter().map(|p| p.t_s).fold(f64::MAX, f64::min);
    let t_max = points.iter().map(|p| p.t_s).fold(f64::MIN, f64::max);
    let t_max = if t_max > t_min { t_max } else { t_min + 1.0 };
    let y_max = points
        .iter()
        .map(|p| p.provisional_tps.max(p.checkpointed_tps))
        .fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    svg_chart(CHART_WIDTH, CHART_HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Throughput over time", CAPTION_FONT)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(t_min..t_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(BLACK.mix(0.04))
            .label_style(LABEL_FONT)
            .axis_desc_style(DESC_FONT)
            .x_desc("time since genesis (s)")
            .y_desc("transactions per second")
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t_s, p.provisional_tps)),
                PROVISIONAL.stroke_width(2),
            ))?
            .label("provisional")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PROVISIONAL));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t_s, p.checkpointed_tps)),
                CHECKPOINTED.stroke_width(2),
            ))?
            .label("checkpointed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], CHECKPOINTED));
        chart
            .configure_series_labels()
            .label_font(LABEL_FONT)
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The end of each slot's row band: the next slot's start, or for the last
/// slot its start plus the typical slot length.
fn slot_ends(slots: &[SlotTimeline]) -> Vec<u64> {
    let mut gaps: Vec<u64> = slots
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b.start_ms.saturating_sub(a.start_ms)),
            _ => None,
        })
        .filter(|&g| g > 0)
        .collect();
    gaps.sort_unstable();
    let typical = gaps.get(gaps.len() / 2).copied().unwrap_or(1000);
    slots
        .iter()
        .enumerate()
        .map(|(i, s)| match slots.get(i + 1) {
            Some(next) if next.start_ms > s.start_ms => next.start_ms,
            _ => s.start_ms.saturating_add(typical),
        })
        .collect()
}

/// The slots the timeline draws: all of them, or for a long run a window of
/// [`TIMELINE_MAX_SLOTS`] starting a little before the first reorg or
/// slashing (else at the start), with a note saying so.
fn timeline_window(r: &Report) -> (Vec<SlotTimeline>, Option<String>) {
    let mut slots: Vec<SlotTimeline> = r.timeline.clone();
    slots.sort_by_key(|s| s.slot);
    let total = slots.len();
    if total <= TIMELINE_MAX_SLOTS {
        return (slots, None);
    }
    let first_incident = slots
        .iter()
        .filter(|s| s.reorged)
        .map(|s| s.slot)
        .chain(r.reorgs.iter().flat_map(|g| g.slots.iter().copied()))
        .chain(r.slashings.iter().map(|s| s.slot))
        .min();
    let start = first_incident.map_or(0, |incident| {
        let from = incident.saturating_sub(TIMELINE_LEAD_SLOTS);
        slots
            .iter()
            .position(|s| s.slot >= from)
            .unwrap_or(0)
            .min(total - TIMELINE_MAX_SLOTS)
    });
    let window: Vec<SlotTimeline> = slots
        .into_iter()
        .skip(start)
        .take(TIMELINE_MAX_SLOTS)
        .collect();
    let first = window.first().map_or(0, |s| s.slot);
    let last = window.last().map_or(0, |s| s.slot);
    let why = if first_incident.is_some() {
        "around the first reorg or slashing"
    } else {
        "the first ones"
    };
    let note = format!(
        "The run has {total} slots in its timeline; the chart shows {} of them, slots {first} to {last} ({why}).",
        window.len()
    );
    (window, Some(note))
}

fn timeline_chart(r: &Report, slots: Vec<SlotTimeline>) -> String {
    if slots.is_empty() {
        return NO_DATA.to_string();
    }
    let ends = slot_ends(&slots);
    let first_slot = slots.first().map_or(0, |s| s.slot);
    let last_slot = slots.last().map_or(0, |s| s.slot);
    let row = |slot: u64| slot as f64;

    let reorged: BTreeSet<u64> = slots
        .iter()
        .filter(|s| s.reorged)
        .map(|s| s.slot)
        .chain(r.reorgs.iter().flat_map(|g| g.slots.iter().copied()))
        .collect();
    let in_range = |slot: u64| (first_slot..=last_slot).contains(&slot);

    let mut times: Vec<u64> = Vec::new();
    for (s, end) in slots.iter().zip(&ends) {
        times.push(s.start_ms);
        times.push(*end);
        times.extend(s.checkpoint_ms);
        for b in &s.blocks {
            times.extend(b.built_ms);
            times.extend(b.proposed_ms);
            times.extend(b.provisional_ms);
        }
    }
    times.extend(
        r.slashings
            .iter()
            .filter(|s| in_range(s.slot))
            .map(|s| s.at_ms),
    );
    times.extend(r.reorgs.iter().map(|g| g.at_ms));
    let t_min = secs(times.iter().copied().min().unwrap_or(0));
    let t_max = secs(times.iter().copied().max().unwrap_or(0));
    let pad = ((t_max - t_min) * 0.01).max(0.05);
    let (x_lo, x_hi) = (t_min - pad, t_max + pad);
    let (y_lo, y_hi) = (row(first_slot) - 0.5, row(last_slot) + 0.5);

    let rows = usize::try_from(last_slot - first_slot + 1).unwrap_or(usize::MAX);
    let height = u32::try_from(rows.saturating_mul(22).saturating_add(140))
        .unwrap_or(u32::MAX)
        .clamp(320, 2400);

    svg_chart(CHART_WIDTH, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Per-slot timeline", CAPTION_FONT)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .light_line_style(BLACK.mix(0.04))
            .label_style(LABEL_FONT)
            .axis_desc_style(DESC_FONT)
            .disable_y_mesh()
            .x_desc("time since genesis (s)")
            .y_desc("slot")
            .y_labels(rows.clamp(2, 40))
            .y_label_formatter(&|y| {
                if (y - y.round()).abs() < 1e-6 && *y >= 0.0 {
                    format!("{y:.0}")
                } else {
                    String::new()
                }
            })
            .draw()?;

        // Row bands: alternating grey, red for reorged slots.
        chart.draw_series(slots.iter().zip(&ends).map(|(s, &end)| {
            let y = row(s.slot);
            let color = if reorged.contains(&s.slot) {
                ALERT.mix(0.22)
            } else if s.slot % 2 == 0 {
                RGBColor(120, 120, 120).mix(0.10)
            } else {
                RGBColor(120, 120, 120).mix(0.04)
            };
            Rectangle::new(
                [(secs(s.start_ms), y - 0.45), (secs(end), y + 0.45)],
                color.filled(),
            )
        }))?;
        // Reorgged slots not in the timeline's rows are already out of range;
        // extra reorg rows inside the range without a timeline entry get a band.
        chart.draw_series(
            reorged
                .iter()
                .filter(|&&slot| in_range(slot) && !slots.iter().any(|s| s.slot == slot))
                .map(|&slot| {
                    let y = row(slot);
                    Rectangle::new(
                        [(x_lo, y - 0.45), (x_hi, y + 0.45)],
                        ALERT.mix(0.22).filled(),
                    )
                }),
        )?;

        let blocks = || {
            slots
                .iter()
                .flat_map(|s| s.blocks.iter().map(move |b| (s.slot, b)))
        };
        chart
            .draw_series(blocks().filter_map(|(slot, b)| {
                b.built_ms.map(|t| {
                    EmptyElement::at((secs(t), row(slot) - 0.22))
                        + Rectangle::new([(-4, -4), (4, 4)], BUILT.filled())
                })
            }))?
            .label("block built")
            .legend(|(x, y)| Rectangle::new([(x + 6, y - 4), (x + 14, y + 4)], BUILT.filled()));
        chart
            .draw_series(blocks().filter_map(|(slot, b)| {
                b.proposed_ms
                    .map(|t| TriangleMarker::new((secs(t), row(slot) - 0.07), 5, PROPOSED.filled()))
            }))?
            .label("proposal sent")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 5, PROPOSED.filled()));
        chart
            .draw_series(blocks().filter_map(|(slot, b)| {
                b.provisional_ms.map(|t| {
                    Circle::new((secs(t), row(slot) + 0.08), 4, PROVISIONAL_BLOCK.filled())
                })
            }))?
            .label("block provisional")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, PROVISIONAL_BLOCK.filled()));
        chart
            .draw_series(slots.iter().filter_map(|s| {
                s.checkpoint_ms.map(|t| {
                    Cross::new(
                        (secs(t), row(s.slot) + 0.24),
                        6,
                        L1_INCLUSION.stroke_width(2),
                    )
                })
            }))?
            .label("checkpoint on L1")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, L1_INCLUSION.stroke_width(2)));
        chart
            .draw_series(
                r.slashings
                    .iter()
                    .filter(|s| in_range(s.slot))
                    .map(|s| Cross::new((secs(s.at_ms), row(s.slot)), 10, ALERT.stroke_width(3))),
            )?
            .label("slashing (at L1 inclusion)")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, ALERT.stroke_width(3)));
        chart
            .draw_series(r.reorgs.iter().flat_map(|g| {
                g.slots.iter().filter(|&&s| in_range(s)).map(move |&s| {
                    let (x, y) = (secs(g.at_ms), row(s));
                    PathElement::new(vec![(x, y - 0.45), (x, y + 0.45)], ALERT.stroke_width(3))
                })
            }))?
            .label("reorg seen")
            .legend(|(x, y)| Rectangle::new([(x + 9, y - 6), (x + 11, y + 6)], ALERT.filled()));
        chart
            .configure_series_labels()
            .label_font(LABEL_FONT)
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

fn sweep_chart(param: &str, group: &[&SweepPoint]) -> String {
    if group.is_empty() {
        return NO_DATA.to_string();
    }
    // Numeric values are plotted at their value, others one per position.
    let numeric: Option<Vec<f64>> = group
        .iter()
        .map(|p| p.value.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let labels: Vec<String> = group.iter().map(|p| p.value.clone()).collect();
    let categorical = numeric.is_none();
    let mut rows: Vec<(f64, &Report)> = match numeric {
        Some(xs) => xs
            .into_iter()
            .zip(group.iter().map(|p| &p.report))
            .collect(),
        None => group
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, &p.report))
            .collect(),
    };
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x_min = rows.first().map_or(0.0, |r| r.0);
    let x_max = rows.last().map_or(0.0, |r| r.0);
    let pad = if x_max > x_min {
        (x_max - x_min) * 0.05
    } else {
        0.5
    };
    let (x_lo, x_hi) = (x_min - pad, x_max + pad);
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let lat_max = rows
        .iter()
        .map(|(_, r)| {
            finite(r.latency_ms.provisional.p99).max(finite(r.latency_ms.provisional.p50))
        })
        .fold(0.0, f64::max);
    // Headroom keeps the top of the chart free for the legend.
    let lat_max = if lat_max > 0.0 { lat_max * 1.45 } else { 1.0 };
    let tps_max = rows
        .iter()
        .map(|(_, r)| finite(r.throughput_tps))
        .fold(0.0, f64::max);
    let tps_max = if tps_max > 0.0 { tps_max * 1.45 } else { 1.0 };
    let caption = format!("{param}: latency and throughput");

    svg_chart(CHART_WIDTH, CHART_HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, CAPTION_FONT)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .right_y_label_area_size(64)
            .build_cartesian_2d(x_lo..x_hi, 0.0..lat_max)?
            .set_secondary_coord(x_lo..x_hi, 0.0..tps_max);
        let label_of = |x: &f64| -> String {
            if categorical {
                if (x - x.round()).abs() > 1e-6 || *x < 0.0 {
                    return String::new();
                }
                labels.get(x.round() as usize).cloned().unwrap_or_default()
            } else {
                format_axis(*x)
            }
        };
        chart
            .configure_mesh()
            .light_line_style(BLACK.mix(0.04))
            .label_style(LABEL_FONT)
            .axis_desc_style(DESC_FONT)
            .x_desc(param)
            .y_desc("provisional latency (ms)")
            .x_labels(if categorical { labels.len() + 1 } else { 10 })
            .x_label_formatter(&label_of)
            .draw()?;
        chart
            .configure_secondary_axes()
            .label_style(LABEL_FONT)
            .axis_desc_style(DESC_FONT)
            .y_desc("checkpointed throughput (tx/s)")
            .draw()?;
        for (pick, color, label) in [
            (0, PROVISIONAL, "provisional p50"),
            (1, ALERT, "provisional p99"),
        ] {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .map(|(x, r)| {
                    let p = r.latency_ms.provisional;
                    (*x, finite(if pick == 0 { p.p50 } else { p.p99 }))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )?;
        }
        let tps: Vec<(f64, f64)> = rows
            .iter()
            .map(|(x, r)| (*x, finite(r.throughput_tps)))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(tps.clone(), CHECKPOINTED.stroke_width(2)))?
            .label("throughput (right axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], CHECKPOINTED));
        chart.draw_secondary_series(
            tps.into_iter()
                .map(|p| TriangleMarker::new(p, 5, CHECKPOINTED.filled())),
        )?;
        chart
            .configure_series_labels()
            .label_font(LABEL_FONT)
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{
        BlockTimeline, Latencies, Percentiles, ReorgRecord, SlashingRecord, ThroughputPoint,
        Violation,
    };

    /// A deterministic pseudo-random stream in [0, 1).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    fn sample_report(scenario: &str) -> Report {
        sample_report_with_slots(scenario, 10)
    }

    fn sample_report_with_slots(scenario: &str, slots: u64) -> Report {
        let mut rng = 7u64;
        let slot_ms = 2000u64;
        let timeline: Vec<SlotTimeline> = (0..slots)
            .map(|slot| {
                let start = slot * slot_ms;
                // Staggered: the proposer of slot N builds during slot N-1.
                let build_start = start.saturating_sub(slot_ms / 2);
                let blocks = (0..4u32)
                    .map(|i| {
                        let built = build_start + u64::from(i) * 400 + 300;
                        BlockTimeline {
                            index: i,
                            txs: 20 + i as usize,
                            built_ms: Some(built),
                            proposed_ms: Some(built + 15),
                            provisional_ms: (slot != 6).then_some(built + 180),
                            attestations: 4,
                        }
                    })
                    .collect();
                SlotTimeline {
                    slot,
                    proposer: (slot % 4) as usize,
                    start_ms: start,
                    blocks,
                    checkpoint_ms: (slot != 6).then_some(start + slot_ms + 3000),
                    checkpoint_blocks: 4,
                    reorged: slot == 6,
                }
            })
            .collect();
        let provisional_samples: Vec<f64> =
            (0..500).map(|_| 150.0 + 400.0 * noise(&mut rng)).collect();
        let checkpointed_samples: Vec<f64> = (0..500)
            .map(|_| 4000.0 + 3000.0 * noise(&mut rng))
            .collect();
        let throughput = (0..25)
            .map(|t| ThroughputPoint {
                t_s: f64::from(t),
                provisional_tps: 40.0 + 10.0 * noise(&mut rng),
                checkpointed_tps: if t < 5 {
                    0.0
                } else {
                    38.0 + 10.0 * noise(&mut rng)
                },
            })
            .collect();
        Report {
            scenario: scenario.to_string(),
            preset: "devnet-4".to_string(),
            validators: 4,
            slots: 10,
            seed: 424242,
            blocks_proposed: 40,
            blocks_provisional: 36,
            checkpoints: 9,
            txs_submitted: 1000,
            txs_provisional: 950,
            txs_checkpointed: 900,
            throughput_tps: 37.25,
            latency_ms: Latencies {
                provisional: Percentiles::of(&provisional_samples),
                checkpointed: Percentiles::of(&checkpointed_samples),
            },
            reorgs: vec![ReorgRecord {
                at_ms: 15_500,
                slots: vec![6],
                depth_slots: 1,
                blocks: 4,
                cause: "missed_publish_window".to_string(),
            }],
            slashings: vec![SlashingRecord {
                offence: "proposal_equivocation".to_string(),
                validator: "0x00000000000000000000000000000000000000a2".to_string(),
                slot: 6,
                at_ms: 17_000,
            }],
            invariant_violations: vec![Violation {
                invariant: "no_honest_slashed".to_string(),
                detail: "validator <2> & co".to_string(),
                seed: 424242,
                slot: 6,
                at_ms: 17_000,
                trail: vec!["event a".to_string(), "event <b>".to_string()],
            }],
            digest: "0xdeadbeefcafe".to_string(),
            virtual_seconds: 25.0,
            wall_seconds: 0.5,
            sim_speedup: 50.0,
            provisional_samples,
            checkpointed_samples,
            throughput,
            timeline,
        }
    }

    fn sweep() -> Vec<SweepPoint> {
        ["10", "50", "200"]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut report = sample_report("sweep");
                report.latency_ms.provisional.p50 = 200.0 + 100.0 * i as f64;
                report.latency_ms.provisional.p99 = 400.0 + 250.0 * i as f64;
                report.throughput_tps = 40.0 - 5.0 * i as f64;
                SweepPoint {
                    param: "link_latency_ms".to_string(),
                    value: (*v).to_string(),
                    report,
                }
            })
            .collect()
    }

    #[test]
    fn renders_charts_numbers_and_escapes() {
        let report = sample_report("equivocation <script>alert(1)</script>");
        let html = render_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.matches("<svg").count() >= 3, "three inline charts");
        assert!(
            !html.contains("<script"),
            "no script tag, escaped or external"
        );
        assert!(html.contains("equivocation &lt;script&gt;alert(1)&lt;/script&gt;"));
        for needle in [
            "devnet-4",
            "424242",
            "37.25",
            "0xdeadbeefcafe",
            "50.0",
            "proposal_equivocation",
            "missed_publish_window",
            "validator &lt;2&gt; &amp; co",
            "event &lt;b&gt;",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        let p = report.latency_ms.provisional;
        assert!(html.contains(&format!("{:.1} / {:.1} / {:.1}", p.p50, p.p90, p.p99)));
        // Chart text is SVG text, needing no font files.
        assert!(html.contains("<text"));
        assert!(html.contains("Latency CDF") && html.contains("Per-slot timeline"));
        // Self-contained: nothing loaded from elsewhere.
        assert!(!html.contains("<link") && !html.contains("src=") && !html.contains("@import"));
    }

    #[test]
    fn empty_report_renders_no_data() {
        let html = render_html(&Report::default());
        assert_eq!(html.matches("<svg").count(), 0);
        assert_eq!(html.matches("no data").count(), 3);
        assert!(html.contains("none"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn degenerate_data_renders() {
        let mut report = sample_report("degenerate");
        report.provisional_samples = vec![0.0, f64::NAN, 0.0];
        report.checkpointed_samples = vec![];
        report.throughput.truncate(1);
        report.timeline.truncate(1);
        if let Some(slot) = report.timeline.first_mut() {
            slot.blocks.clear();
            slot.checkpoint_ms = None;
        }
        let html = render_html(&report);
        assert_eq!(html.matches("<svg").count(), 3);
    }

    #[test]
    fn sweep_renders_one_chart_per_parameter() {
        let mut points = sweep();
        let html = render_sweep_html("latency <sweep>", &points);
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(html.contains("latency &lt;sweep&gt;"));
        assert!(html.contains("link_latency_ms") && html.contains("200"));

        points.push(SweepPoint {
            param: "byzantine".to_string(),
            value: "silent <proposer>".to_string(),
            report: sample_report("b"),
        });
        let html = render_sweep_html("two parameters", &points);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("silent &lt;proposer&gt;"));

        let html = render_sweep_html("empty", &[]);
        assert!(html.contains("no data"));
    }

    #[test]
    fn cdf_is_monotone_and_thinned() {
        let samples: Vec<f64> = (0..10_000).rev().map(f64::from).collect();
        let points = cdf_points(&samples);
        assert!(points.len() <= CDF_MAX_POINTS + 2);
        assert_eq!(points.last(), Some(&(9999.0, 1.0)));
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert!(cdf_points(&[f64::NAN]).is_empty());
        assert!(is_one_two_five(200.0) && is_one_two_five(0.05) && is_one_two_five(1000.0));
        assert!(!is_one_two_five(300.0) && !is_one_two_five(0.0) && !is_one_two_five(f64::NAN));
    }

    #[test]
    fn long_timeline_is_windowed_around_the_first_incident() {
        let mut report = sample_report("long");
        report.timeline = (0..500u64)
            .map(|slot| SlotTimeline {
                slot,
                start_ms: slot * 2000,
                reorged: slot == 300,
                ..SlotTimeline::default()
            })
            .collect();
        report.reorgs.clear();
        report.slashings.clear();
        let (window, note) = timeline_window(&report);
        assert_eq!(window.len(), TIMELINE_MAX_SLOTS);
        assert_eq!(window.first().map(|s| s.slot), Some(290));
        assert!(note.is_some_and(|n| n.contains("slots 290 to 409")));
        assert_eq!(render_html(&report).matches("<svg").count(), 3);

        report
            .timeline
            .iter_mut()
            .for_each(|s| s.reorged = s.slot == 495);
        let (window, _) = timeline_window(&report);
        assert_eq!(window.last().map(|s| s.slot), Some(499));

        report.timeline.iter_mut().for_each(|s| s.reorged = false);
        let (window, note) = timeline_window(&report);
        assert_eq!(window.first().map(|s| s.slot), Some(0));
        assert!(note.is_some_and(|n| n.contains("the first ones")));

        report.timeline.truncate(TIMELINE_MAX_SLOTS);
        assert!(timeline_window(&report).1.is_none());
    }

    /// Writes sample pages for a visual check:
    /// `CHUNKSEQ_HTML_OUT=/tmp/r.html cargo test -p chunkseq-sim -- --ignored write_sample`
    /// (the sweep goes next to it, with `-sweep` before the extension).
    #[test]
    #[ignore = "writes files for a visual check"]
    fn write_sample_html() {
        let Ok(path) = std::env::var("CHUNKSEQ_HTML_OUT") else {
            panic!("set CHUNKSEQ_HTML_OUT to the output path");
        };
        std::fs::write(&path, render_html(&sample_report("sample <run>"))).unwrap();
        let sweep_path = path.replace(".html", "-sweep.html");
        let mut points = sweep();
        for (i, value) in ["honest", "silent <proposer>", "equivocating"]
            .iter()
            .enumerate()
        {
            let mut report = sample_report("b");
            report.latency_ms.provisional.p99 = 500.0 + 300.0 * i as f64;
            report.throughput_tps = 35.0 - 10.0 * i as f64;
            points.push(SweepPoint {
                param: "byzantine".to_string(),
                value: (*value).to_string(),
                report,
            });
        }
        std::fs::write(&sweep_path, render_sweep_html("sample sweep", &points)).unwrap();
        let long_path = path.replace(".html", "-long.html");
        std::fs::write(
            &long_path,
            render_html(&sample_report_with_slots("long", 400)),
        )
        .unwrap();
    }
}
