//! Charts as inline SVG, written with maud (which escapes every value): stacked bars and lines
//! with gaps. Each chart is drawn on a fixed 800×300 viewBox and scales to the page's width, so
//! its text keeps its size relative to the drawing. Everything is readable without script: values sit in `<title>`
//! tooltips and, where few enough, as labels on the chart; the chart's own `<title>` and `<desc>`
//! say what it shows.
//!
//! Every mark carries `data-series="<id>"`, so tests (and curious readers) can find each series;
//! a chart with no data draws its frame and a `data-no-data` sentence instead, and a line series
//! with no value at all says so in a `data-empty="<id>"` note.

use maud::{Markup, html};

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 44.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;
/// Few enough bars to print each one's total above it without crowding.
const MAX_VALUE_LABELS: usize = 16;
/// The widest a bar gets: one week of data is a single labelled bar, not a slab across the chart.
const MAX_BAR_WIDTH: f64 = 72.0;

/// One series of a chart: its id (`data-series`), the name in its legend, its colour.
pub struct Series<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub colour: &'a str,
    /// Lines only: drawn dashed, so two lines differ in print without colour.
    pub dashed: bool,
    /// Lines only: what to say when the series has no value at all.
    pub missing: &'a str,
}

/// One place on the x axis: a week or a month.
pub struct Slot {
    /// The axis label, if this slot is one of the labelled ones.
    pub tick: Option<String>,
    /// What the tooltips call it: "week of 2025-10-06", "October 2025".
    pub name: String,
    /// One value per series, in the order of the chart's series; `None` is a gap.
    pub values: Vec<Option<f64>>,
}

pub struct Chart<'a> {
    /// The figure's id; the SVG's title and description ids derive from it.
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// What the values count: "lines", "lines/h".
    pub unit: &'a str,
    pub series: &'a [Series<'a>],
    pub slots: &'a [Slot],
    /// The sentence drawn when the chart has nothing to show.
    pub empty_message: &'a str,
}

/// Bars stacked by series, one bar per slot.
pub fn stacked_bars(chart: &Chart) -> Markup {
    let totals: Vec<f64> = chart
        .slots
        .iter()
        .map(|slot| {
            slot.values
                .iter()
                .flatten()
                .map(|value| value.max(0.0))
                .sum()
        })
        .collect();
    let max_total = totals.iter().copied().fold(0.0, f64::max);
    if chart.slots.is_empty() || max_total <= 0.0 {
        return frame(chart, false, empty(chart.empty_message));
    }
    let scale = Scale::new(max_total);
    let band = PLOT_WIDTH / chart.slots.len() as f64;
    let bar_width = (band * 0.7).clamp(1.0, MAX_BAR_WIDTH);
    let label_totals = chart.slots.len() <= MAX_VALUE_LABELS;
    let bars = html! {
        g class="bars" {
            @for (index, (slot, total)) in chart.slots.iter().zip(&totals).enumerate() {
                @let x = LEFT + index as f64 * band + (band - bar_width) / 2.0;
                @let (parts, top) = stack(chart.series, slot, &scale);
                @for part in parts {
                    rect data-series=(part.series.id) x=(number(x)) y=(number(part.top))
                        width=(number(bar_width)) height=(number(part.height)) fill=(part.series.colour) {
                        title {
                            (slot.name) " · " (part.series.name) ": " (value_label(part.value)) " "
                            (chart.unit)
                        }
                    }
                }
                @if label_totals && *total > 0.0 {
                    text class="value" x=(number(x + bar_width / 2.0)) y=(number(top - 4.0))
                        text-anchor="middle" font-size="11" { (value_label(*total)) }
                }
            }
        }
    };
    frame(
        chart,
        false,
        html! { (grid(&scale)) (bars) (ticks(chart.slots, band)) },
    )
}

/// One series' part of a bar.
struct BarPart<'a> {
    series: &'a Series<'a>,
    top: f64,
    height: f64,
    value: f64,
}

/// The visible parts of one slot's bar, bottom up, and the top of the whole bar.
fn stack<'a>(series: &'a [Series<'a>], slot: &Slot, scale: &Scale) -> (Vec<BarPart<'a>>, f64) {
    let mut top = TOP + PLOT_HEIGHT;
    let mut parts = Vec::new();
    for (series, value) in series.iter().zip(&slot.values) {
        let value = value.unwrap_or(0.0);
        if value <= 0.0 {
            continue;
        }
        let height = value / scale.top * PLOT_HEIGHT;
        top -= height;
        parts.push(BarPart {
            series,
            top,
            height,
            value,
        });
    }
    (parts, top)
}

/// One line per series over the slots, broken where a slot has no value; every value is also a
/// dot, so a lone week between gaps still shows.
pub fn lines(chart: &Chart) -> Markup {
    let max_value = chart
        .slots
        .iter()
        .flat_map(|slot| slot.values.iter().flatten())
        .copied()
        .fold(0.0, f64::max);
    let any_value = chart
        .slots
        .iter()
        .any(|slot| slot.values.iter().any(Option::is_some));
    if !any_value {
        return frame(chart, true, empty(chart.empty_message));
    }
    let scale = Scale::new(max_value);
    let band = PLOT_WIDTH / chart.slots.len() as f64;
    let radius = if chart.slots.len() > 30 { 2.2 } else { 3.5 };
    let mut notes = 0;
    let mut drawn = Vec::with_capacity(chart.series.len());
    for (series_index, series) in chart.series.iter().enumerate() {
        let points: Vec<Option<(f64, f64, f64)>> = chart
            .slots
            .iter()
            .enumerate()
            .map(|(index, slot)| {
                slot.values
                    .get(series_index)
                    .copied()
                    .flatten()
                    .map(|value| {
                        let x = LEFT + (index as f64 + 0.5) * band;
                        (x, scale.y(value), value)
                    })
            })
            .collect();
        if points.iter().all(Option::is_none) {
            drawn.push(html! {
                text class="note" data-empty=(series.id) x=(number(LEFT + 8.0))
                    y=(number(TOP + 16.0 + 16.0 * f64::from(notes))) font-size="12" {
                    (series.name) ": " (series.missing)
                }
            });
            notes += 1;
            continue;
        }
        let mut outline = String::new();
        let mut drawing = false;
        for point in &points {
            match point {
                Some((x, y, _)) => {
                    outline.push_str(&format!(
                        "{}{} {} ",
                        if drawing { "L" } else { "M" },
                        number(*x),
                        number(*y)
                    ));
                    drawing = true;
                }
                None => drawing = false,
            }
        }
        drawn.push(html! {
            // A lone point is a dot only: a path of one point would draw nothing and measure zero.
            @if outline.contains('L') {
                path data-series=(series.id) d=(outline.trim_end()) fill="none" stroke=(series.colour)
                    stroke-width="2.2" stroke-linejoin="round"
                    stroke-dasharray=[series.dashed.then_some("7 4")] {}
            }
            g fill=(series.colour) {
                @for (slot, point) in chart.slots.iter().zip(&points) {
                    @if let Some((x, y, value)) = point {
                        circle data-series=(series.id) cx=(number(*x)) cy=(number(*y)) r=(radius) {
                            title {
                                (slot.name) " · " (series.name) ": " (value_label(*value)) " "
                                (chart.unit)
                            }
                        }
                    }
                }
            }
        });
    }
    frame(
        chart,
        true,
        html! { (grid(&scale)) @for series in drawn { (series) } (ticks(chart.slots, band)) },
    )
}

/// The y axis: zero to a round number at or above the largest value, in round steps.
struct Scale {
    top: f64,
    step: f64,
}

impl Scale {
    fn new(max_value: f64) -> Scale {
        let max_value = if max_value > 0.0 { max_value } else { 1.0 };
        // About four steps of 1, 2 or 5 times a power of ten.
        let rough = max_value / 4.0;
        let magnitude = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|factor| factor * magnitude)
            .find(|&step| step >= rough)
            .unwrap_or(10.0 * magnitude);
        let top = (max_value / step).ceil() * step;
        Scale { top, step }
    }

    fn y(&self, value: f64) -> f64 {
        TOP + PLOT_HEIGHT - value.max(0.0) / self.top * PLOT_HEIGHT
    }
}

/// The chart's `<svg>`: its title, description and legend, then `body`. Empty elements are
/// written with an end tag (`<line></line>`), which SVG inside HTML reads as `<line/>`.
fn frame(chart: &Chart, as_lines: bool, body: Markup) -> Markup {
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%" preserveAspectRatio="xMidYMid meet"
            role="img" aria-labelledby={ (chart.id) "-title " (chart.id) "-desc" } font-size="12" {
            title id={ (chart.id) "-title" } { (chart.title) }
            desc id={ (chart.id) "-desc" } { (chart.description) }
            (legend(chart.series, as_lines))
            (body)
        }
    }
}

/// The legend along the top: a swatch (a dash pattern for lines) and each series' name.
fn legend(series: &[Series], as_lines: bool) -> Markup {
    // Where each swatch and each name starts, left to right.
    let mut x = LEFT;
    let placed: Vec<(f64, f64, &Series)> = series
        .iter()
        .map(|entry| {
            let swatch = x;
            x += if as_lines { 28.0 } else { 17.0 };
            let name = x;
            // A rough width for the name: the legend never needs more than a line.
            x += entry.name.chars().count() as f64 * 7.0 + 20.0;
            (swatch, name, entry)
        })
        .collect();
    html! {
        g class="legend" {
            @for (swatch, name, entry) in placed {
                @if as_lines {
                    line x1=(number(swatch)) y1="14" x2=(number(swatch + 22.0)) y2="14"
                        stroke=(entry.colour) stroke-width="3"
                        stroke-dasharray=[entry.dashed.then_some("7 4")] {}
                } @else {
                    rect x=(number(swatch)) y="8" width="12" height="12" fill=(entry.colour) {}
                }
                text data-legend=(entry.id) x=(number(name)) y="18" font-size="12" { (entry.name) }
            }
        }
    }
}

fn grid(scale: &Scale) -> Markup {
    let steps = (scale.top / scale.step).round() as u32;
    html! {
        g class="grid" {
            @for step in 0..=steps {
                @let value = f64::from(step) * scale.step;
                @let y = number(scale.y(value));
                line x1=(number(LEFT)) y1=(y) x2=(number(WIDTH - RIGHT)) y2=(y)
                    stroke=(if step == 0 { "#767676" } else { "#e0e0e0" }) stroke-width="1" {}
                text x=(number(LEFT - 8.0)) y=(number(scale.y(value) + 4.0)) text-anchor="end"
                    font-size="11" { (value_label(value)) }
            }
        }
    }
}

fn ticks(slots: &[Slot], band: f64) -> Markup {
    let baseline = TOP + PLOT_HEIGHT;
    html! {
        g class="ticks" {
            @for (index, slot) in slots.iter().enumerate() {
                @if let Some(tick) = &slot.tick {
                    @let x = number(LEFT + (index as f64 + 0.5) * band);
                    line x1=(x) y1=(number(baseline)) x2=(x) y2=(number(baseline + 5.0))
                        stroke="#767676" {}
                    text x=(x) y=(number(baseline + 19.0)) text-anchor="middle" font-size="11" {
                        (tick)
                    }
                }
            }
        }
    }
}

fn empty(message: &str) -> Markup {
    let baseline = number(TOP + PLOT_HEIGHT);
    html! {
        line x1=(number(LEFT)) y1=(baseline) x2=(number(WIDTH - RIGHT)) y2=(baseline)
            stroke="#767676" {}
        text class="no-data" data-no-data="true" x=(number(LEFT + PLOT_WIDTH / 2.0))
            y=(number(TOP + PLOT_HEIGHT / 2.0)) text-anchor="middle" font-size="14" { (message) }
    }
}

/// A coordinate with at most one decimal: enough at this scale, and it keeps the file small.
fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// A value as a reader sees it: whole numbers with separators, small ones with a decimal.
fn value_label(value: f64) -> String {
    if value >= 10.0 || value.fract() == 0.0 {
        super::count(value.round().max(0.0) as u64)
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_ends_on_a_round_number_in_a_few_round_steps() {
        // (largest value, top of the axis, step)
        let cases = [
            (1.0, 1.0, 0.5),
            (7.0, 8.0, 2.0),
            (715.0, 800.0, 200.0),
            (6_371.0, 8_000.0, 2_000.0),
            (0.06, 0.06, 0.02),
            (0.0, 1.0, 0.5),
        ];
        for (max_value, top, step) in cases {
            let scale = Scale::new(max_value);
            assert!(
                (scale.top - top).abs() < 1e-9,
                "{max_value}: top {}",
                scale.top
            );
            assert!(
                (scale.step - step).abs() < 1e-9,
                "{max_value}: step {}",
                scale.step
            );
        }
        assert_eq!(value_label(0.02), "0.02");
        assert_eq!(value_label(2.5), "2.5");
        assert_eq!(value_label(1_234.4), "1,234");
    }
}
