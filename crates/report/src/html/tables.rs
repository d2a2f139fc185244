//! The tables of a run's page: the summary, slashings, reorgs and invariant
//! violations, and the plain table they share with the sweep page.

use std::fmt::Write as _;

use super::escape;
use crate::report::Report;

pub(super) fn fmt_f(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

pub(super) fn summary_table(out: &mut String, r: &Report) {
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
pub(super) fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
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

pub(super) fn slashings_table(out: &mut String, r: &Report) {
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

pub(super) fn reorgs_table(out: &mut String, r: &Report) {
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

pub(super) fn violations_table(out: &mut String, r: &Report) {
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
