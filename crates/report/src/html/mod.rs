//! The self-contained HTML report of a run, and of a parameter sweep.
//!
//! Charts are drawn with `plotters` into SVG strings and embedded inline, so
//! the page needs no scripts, fonts or style sheets from anywhere: text in the
//! charts is SVG `<text>` set in the browser's `sans-serif`. Every piece of
//! text taken from a report is HTML-escaped. Missing data (no samples, no
//! slots) shows "no data" instead of a chart.
//!
//! - this module: page assembly ([`render_html`]) and [`escape`];
//! - `charts`: the SVG canvas, palette, latency CDF and throughput charts;
//! - `timeline`: the per-slot timeline chart;
//! - `tables`: the summary and incident tables;
//! - `sweep`: the page of a parameter sweep ([`render_sweep_html`]).

use std::fmt::Write as _;

use crate::report::Report;

mod charts;
#[cfg(test)]
mod samples;
mod sweep;
mod tables;
mod timeline;

pub use sweep::{SweepPoint, render_sweep_html};

use charts::{latency_cdf_chart, throughput_chart};
use tables::{reorgs_table, slashings_table, summary_table, violations_table};
use timeline::{timeline_chart, timeline_window};

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

#[cfg(test)]
mod tests {
    use super::*;
    use samples::{sample_report, sample_report_with_slots, sweep};

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

    /// Writes sample pages for a visual check:
    /// `CHUNKSEQ_HTML_OUT=/tmp/r.html cargo test -p chunkseq-report -- --ignored write_sample`
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
