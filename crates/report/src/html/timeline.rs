//! The per-slot timeline chart: one row per slot with its blocks' steps, its
//! checkpoint, and the reorgs and slashings that touched it.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::charts::{ALERT, CAPTION_FONT, CHART_WIDTH, DESC_FONT, LABEL_FONT, NO_DATA, svg_chart};
use crate::report::{Report, SlotTimeline};

/// Most slots drawn in the timeline; a longer run shows a window.
const TIMELINE_MAX_SLOTS: usize = 120;
/// Slots shown before the first incident when the timeline is a window.
const TIMELINE_LEAD_SLOTS: u64 = 10;

const BUILT: RGBColor = RGBColor(90, 90, 90);
const PROPOSED: RGBColor = RGBColor(148, 103, 189);
const PROVISIONAL_BLOCK: RGBColor = RGBColor(44, 160, 44);
const L1_INCLUSION: RGBColor = RGBColor(20, 20, 20);

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
pub(super) fn timeline_window(r: &Report) -> (Vec<SlotTimeline>, Option<String>) {
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

pub(super) fn timeline_chart(r: &Report, slots: Vec<SlotTimeline>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{render_html, samples::sample_report};

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
}
