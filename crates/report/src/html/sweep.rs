//! The page of a parameter sweep: per swept parameter, latency and
//! throughput against its value, and a table of the runs.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::{
    charts::{
        ALERT, CAPTION_FONT, CHART_HEIGHT, CHART_WIDTH, CHECKPOINTED, DESC_FONT, LABEL_FONT,
        NO_DATA, PROVISIONAL, format_axis, svg_chart,
    },
    escape, figure, page_start,
    tables::{fmt_f, table},
};
use crate::report::Report;

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
    use crate::html::samples::{sample_report, sweep};

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
}
