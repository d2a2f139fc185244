//! The charts drawn with plotters: the SVG canvas every chart is drawn on,
//! the palette and fonts they share, the latency CDF and throughput over
//! time.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::escape;
use crate::report::Report;

pub(super) type DrawResult = Result<(), Box<dyn Error>>;
pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

pub(super) const CHART_WIDTH: u32 = 1100;
pub(super) const CHART_HEIGHT: u32 = 380;
/// Most points drawn for one CDF; larger sample sets are thinned to quantiles.
const CDF_MAX_POINTS: usize = 1000;

pub(super) const CAPTION_FONT: (&str, u32) = ("sans-serif", 22);
pub(super) const LABEL_FONT: (&str, u32) = ("sans-serif", 15);
pub(super) const DESC_FONT: (&str, u32) = ("sans-serif", 16);

pub(super) const PROVISIONAL: RGBColor = RGBColor(31, 119, 180);
pub(super) const CHECKPOINTED: RGBColor = RGBColor(214, 96, 16);
pub(super) const ALERT: RGBColor = RGBColor(214, 39, 40);

pub(super) const NO_DATA: &str = "<p class=\"nodata\">no data</p>";

/// Draws with `draw` on a fresh SVG canvas and returns the SVG text, or a
/// note saying why the chart could not be drawn.
pub(super) fn svg_chart(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> String {
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

pub(super) fn latency_cdf_chart(r: &Report) -> String {
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
pub(super) fn format_axis(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.round() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

pub(super) fn throughput_chart(r: &Report) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
