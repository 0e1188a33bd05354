//! Charts as inline SVG strings, written by hand: stacked bars and lines with gaps. Each chart is
//! drawn on a fixed 800×300 viewBox and scales to the page's width, so its text keeps its size
//! relative to the drawing. Everything is readable without script: values sit in `<title>`
//! tooltips and, where few enough, as labels on the chart; the chart's own `<title>` and `<desc>`
//! say what it shows.
//!
//! Every mark carries `data-series="<id>"`, so tests (and curious readers) can find each series;
//! a chart with no data draws its frame and a `data-no-data` sentence instead, and a line series
//! with no value at all says so in a `data-empty="<id>"` note.

use super::escape;

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
pub fn stacked_bars(chart: &Chart) -> String {
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
    let mut out = open(chart);
    legend(&mut out, chart.series, false);
    if chart.slots.is_empty() || max_total <= 0.0 {
        empty(&mut out, chart.empty_message);
        out.push_str("</svg>");
        return out;
    }
    let scale = Scale::new(max_total);
    grid(&mut out, &scale);
    let band = PLOT_WIDTH / chart.slots.len() as f64;
    let bar_width = (band * 0.7).clamp(1.0, MAX_BAR_WIDTH);
    out.push_str("<g class=\"bars\">");
    for (index, (slot, total)) in chart.slots.iter().zip(&totals).enumerate() {
        let x = LEFT + index as f64 * band + (band - bar_width) / 2.0;
        let mut top = TOP + PLOT_HEIGHT;
        for (series, value) in chart.series.iter().zip(&slot.values) {
            let value = value.unwrap_or(0.0);
            if value <= 0.0 {
                continue;
            }
            let height = value / scale.top * PLOT_HEIGHT;
            top -= height;
            out.push_str(&format!(
                "<rect data-series=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} · {}: {} {}</title></rect>",
                escape(series.id),
                number(x),
                number(top),
                number(bar_width),
                number(height),
                escape(series.colour),
                escape(&slot.name),
                escape(series.name),
                escape(&value_label(value)),
                escape(chart.unit)
            ));
        }
        if chart.slots.len() <= MAX_VALUE_LABELS && *total > 0.0 {
            out.push_str(&format!(
                "<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                number(x + bar_width / 2.0),
                number(top - 4.0),
                escape(&value_label(*total))
            ));
        }
    }
    out.push_str("</g>");
    ticks(&mut out, chart.slots, band);
    out.push_str("</svg>");
    out
}

/// One line per series over the slots, broken where a slot has no value; every value is also a
/// dot, so a lone week between gaps still shows.
pub fn lines(chart: &Chart) -> String {
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
    let mut out = open(chart);
    legend(&mut out, chart.series, true);
    if !any_value {
        empty(&mut out, chart.empty_message);
        out.push_str("</svg>");
        return out;
    }
    let scale = Scale::new(max_value);
    grid(&mut out, &scale);
    let band = PLOT_WIDTH / chart.slots.len() as f64;
    let radius = if chart.slots.len() > 30 { 2.2 } else { 3.5 };
    let mut notes = 0;
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
            out.push_str(&format!(
                "<text class=\"note\" data-empty=\"{}\" x=\"{}\" y=\"{}\" font-size=\"12\">{}: {}</text>",
                escape(series.id),
                number(LEFT + 8.0),
                number(TOP + 16.0 + 16.0 * f64::from(notes)),
                escape(series.name),
                escape(series.missing)
            ));
            notes += 1;
            continue;
        }
        let mut path = String::new();
        let mut drawing = false;
        for point in &points {
            match point {
                Some((x, y, _)) => {
                    path.push_str(&format!(
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
        // A lone point is a dot only: a path of one point would draw nothing and measure zero.
        if path.contains('L') {
            out.push_str(&format!(
            "<path data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\" stroke-linejoin=\"round\"{}/>",
            escape(series.id),
            path.trim_end(),
            escape(series.colour),
            if series.dashed {
                " stroke-dasharray=\"7 4\""
            } else {
                ""
            }
        ));
        }
        out.push_str(&format!("<g fill=\"{}\">", escape(series.colour)));
        for (slot, point) in chart.slots.iter().zip(&points) {
            if let Some((x, y, value)) = point {
                out.push_str(&format!(
                    "<circle data-series=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{radius}\"><title>{} · {}: {} {}</title></circle>",
                    escape(series.id),
                    number(*x),
                    number(*y),
                    escape(&slot.name),
                    escape(series.name),
                    escape(&value_label(*value)),
                    escape(chart.unit)
                ));
            }
        }
        out.push_str("</g>");
    }
    ticks(&mut out, chart.slots, band);
    out.push_str("</svg>");
    out
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

fn open(chart: &Chart) -> String {
    format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-size=\"12\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(chart.title),
        escape(chart.description),
        id = escape(chart.id),
    )
}

/// The legend along the top: a swatch (a dash pattern for lines) and each series' name.
fn legend(out: &mut String, series: &[Series], as_lines: bool) {
    out.push_str("<g class=\"legend\">");
    let mut x = LEFT;
    for entry in series {
        if as_lines {
            out.push_str(&format!(
                "<line x1=\"{}\" y1=\"14\" x2=\"{}\" y2=\"14\" stroke=\"{}\" stroke-width=\"3\"{}/>",
                number(x),
                number(x + 22.0),
                escape(entry.colour),
                if entry.dashed {
                    " stroke-dasharray=\"7 4\""
                } else {
                    ""
                }
            ));
            x += 28.0;
        } else {
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>",
                number(x),
                escape(entry.colour)
            ));
            x += 17.0;
        }
        out.push_str(&format!(
            "<text data-legend=\"{}\" x=\"{}\" y=\"18\" font-size=\"12\">{}</text>",
            escape(entry.id),
            number(x),
            escape(entry.name)
        ));
        // A rough width for the name: the legend never needs more than a line.
        x += entry.name.chars().count() as f64 * 7.0 + 20.0;
    }
    out.push_str("</g>");
}

fn grid(out: &mut String, scale: &Scale) {
    out.push_str("<g class=\"grid\">");
    let steps = (scale.top / scale.step).round() as u32;
    for step in 0..=steps {
        let value = f64::from(step) * scale.step;
        let y = scale.y(value);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"1\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            number(LEFT),
            number(WIDTH - RIGHT),
            if step == 0 { "#767676" } else { "#e0e0e0" },
            number(LEFT - 8.0),
            number(y + 4.0),
            escape(&value_label(value)),
            y = number(y),
        ));
    }
    out.push_str("</g>");
}

fn ticks(out: &mut String, slots: &[Slot], band: f64) {
    out.push_str("<g class=\"ticks\">");
    let baseline = TOP + PLOT_HEIGHT;
    for (index, slot) in slots.iter().enumerate() {
        if let Some(tick) = &slot.tick {
            let x = LEFT + (index as f64 + 0.5) * band;
            out.push_str(&format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#767676\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                number(baseline),
                number(baseline + 5.0),
                number(baseline + 19.0),
                escape(tick),
                x = number(x),
            ));
        }
    }
    out.push_str("</g>");
}

fn empty(out: &mut String, message: &str) {
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{baseline}\" x2=\"{}\" y2=\"{baseline}\" stroke=\"#767676\"/><text class=\"no-data\" data-no-data=\"true\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">{}</text>",
        number(LEFT),
        number(WIDTH - RIGHT),
        number(LEFT + PLOT_WIDTH / 2.0),
        number(TOP + PLOT_HEIGHT / 2.0),
        escape(message),
        baseline = number(TOP + PLOT_HEIGHT),
    ));
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
