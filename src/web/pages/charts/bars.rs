//! Bars from a zero baseline: a histogram (one column per bin, left to right) and a breakdown
//! (one horizontal bar per bucket, coloured by sign, e.g. the pnl per symbol).

use super::axis::{nice_ticks, Scale};
use super::{coord, escape, no_data, open, x_grid, y_grid, zero_across, zero_down, Svg, Unit};

/// One bar: its axis label, its value and what the hover says besides `label: value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// A shorter label under a histogram's column (`+0.5` for `+0.5R to +1.0R`); `None`: the
    /// label.
    pub axis: Option<String>,
    pub value: f64,
    /// Appended to the hover text after the value (`+0.5R to +1.0R: 12` then ` trades`), may
    /// be empty.
    pub note: String,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: f64) -> Bar {
        Bar {
            label: label.into(),
            axis: None,
            value,
            note: String::new(),
        }
    }

    pub fn axis(mut self, axis: impl Into<String>) -> Bar {
        self.axis = Some(axis.into());
        self
    }

    fn axis_label(&self) -> &str {
        self.axis.as_deref().unwrap_or(&self.label)
    }

    pub fn note(mut self, note: impl Into<String>) -> Bar {
        self.note = note.into();
        self
    }

    /// `label: value note`, escaped.
    fn title(&self, unit: Unit) -> String {
        let mut title = format!("{}: {}", self.label, unit.format(self.value));
        if !self.note.is_empty() {
            title.push(' ');
            title.push_str(&self.note);
        }
        escape(&title)
    }
}

/// The average width of a character of the 11 px chart font, for fitting labels.
const CHAR_WIDTH: f64 = 6.2;

/// At most this many bars in a breakdown: the first and the last half of them, with a line
/// saying how many are left out between (breakdowns come sorted by pnl, so those are the best and
/// the worst buckets).
pub const MAX_ROWS: usize = 40;

/// The value range of `values` together with zero, as round ticks. Counts tick in whole numbers.
fn value_ticks(values: &[f64], unit: Unit, count: usize) -> (Vec<f64>, f64, f64, bool) {
    let min = values.iter().copied().fold(0.0, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    let (mut ticks, lo, hi) = nice_ticks(min, max, count);
    if unit == Unit::Count {
        ticks.retain(|t| t.fract() == 0.0);
    }
    (ticks, lo, hi, min < 0.0)
}

/// The finite bars of `bars`.
fn finite(bars: &[Bar]) -> Vec<&Bar> {
    bars.iter().filter(|b| b.value.is_finite()).collect()
}

const H_WIDTH: f64 = 480.0;
const H_HEIGHT: f64 = 230.0;
const H_LEFT: f64 = 56.0;
const H_RIGHT: f64 = 12.0;
/// Bucket names are often capitals (`BTCUSDT`, `LONG`): wider than the average character.
const LABEL_CHAR_WIDTH: f64 = 7.2;
const H_TOP: f64 = 26.0;
const H_BOTTOM: f64 = 44.0;

/// Columns of `bars` in their order, e.g. a histogram: `x_name` names the bins under the axis,
/// the y axis reads in `unit` from zero (a zero line shows when a value is below it). Bars that
/// are not finite are left out; with none left the chart says "No data". Labels that would
/// overlap are thinned to every n-th; every bar keeps its hover `<title>`.
pub fn histogram(title: &str, x_name: &str, bars: &[Bar], unit: Unit) -> Svg {
    let bars = finite(bars);
    if bars.is_empty() {
        return no_data(title, H_WIDTH, H_HEIGHT);
    }
    let values: Vec<f64> = bars.iter().map(|b| b.value).collect();
    let (ticks, lo, hi, below_zero) = value_ticks(&values, unit, 4);
    let y = Scale {
        lo,
        hi,
        from: H_HEIGHT - H_BOTTOM,
        to: H_TOP,
    };
    let plot = H_WIDTH - H_LEFT - H_RIGHT;
    let slot = plot / bars.len() as f64;
    let widest_label = bars
        .iter()
        .map(|b| b.axis_label().chars().count())
        .max()
        .unwrap_or(0) as f64;
    let every = ((widest_label * CHAR_WIDTH + 6.0) / slot).ceil().max(1.0) as usize;

    let mut svg = open(title, H_WIDTH, H_HEIGHT);
    svg.push_str("<g class=\"chart-axis chart-y\">");
    svg.push_str(&y_grid(&ticks, &y, (H_LEFT, H_WIDTH - H_RIGHT), unit));
    svg.push_str("</g>");
    if below_zero {
        svg.push_str(&zero_across(y.at(0.0), (H_LEFT, H_WIDTH - H_RIGHT)));
    }
    svg.push_str("<g class=\"chart-bars\">");
    let zero = y.at(0.0);
    for (i, bar) in bars.iter().enumerate() {
        let top = y.at(bar.value);
        let (y0, h) = if top <= zero {
            (top, zero - top)
        } else {
            (zero, top - zero)
        };
        svg.push_str(&format!(
            "<rect class=\"chart-bar {tone}\" x=\"{x}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\"><title>{t}</title></rect>",
            tone = tone_class(bar.value, unit),
            x = coord(H_LEFT + slot * i as f64 + slot * 0.1),
            y0 = coord(y0),
            w = coord(slot * 0.8),
            // A bar of zero keeps a sliver so its hover title can be reached.
            h = coord(h.max(1.0)),
            t = bar.title(unit),
        ));
    }
    svg.push_str("</g><g class=\"chart-axis chart-x\">");
    for (i, bar) in bars.iter().enumerate().step_by(every) {
        svg.push_str(&format!(
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
            x = coord(H_LEFT + slot * (i as f64 + 0.5)),
            ty = coord(H_HEIGHT - H_BOTTOM + 14.0),
            label = escape(bar.axis_label()),
        ));
    }
    svg.push_str(&format!(
        "<line class=\"chart-tick\" x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\"/>\
         <text class=\"chart-axis-name\" x=\"{mid}\" y=\"{ny}\" text-anchor=\"middle\">{name}</text></g></svg>",
        l = coord(H_LEFT),
        r = coord(H_WIDTH - H_RIGHT),
        b = coord(H_HEIGHT - H_BOTTOM),
        mid = coord(H_LEFT + plot / 2.0),
        ny = coord(H_HEIGHT - 8.0),
        name = escape(x_name),
    ));
    Svg(svg)
}

const B_WIDTH: f64 = 480.0;
const B_ROW: f64 = 20.0;
const B_TOP: f64 = 26.0;
const B_BOTTOM: f64 = 40.0;
/// Room for half the last tick label, which is centred on the plot's right edge.
const B_RIGHT: f64 = 34.0;

/// One horizontal bar per entry of `bars`, top to bottom in their order, from a zero line
/// (drawn when a value is negative) along a value axis in `unit` named `value_name`; positive
/// bars have the `up` class, negative ones `down`. More than [`MAX_ROWS`] bars: the first and the
/// last [`MAX_ROWS`]` / 2`, and a line saying how many are left out between.
pub fn breakdown(title: &str, value_name: &str, bars: &[Bar], unit: Unit) -> Svg {
    let all = finite(bars);
    let skipped = all.len().saturating_sub(MAX_ROWS);
    let shown: Vec<Option<&Bar>> = if skipped > 0 {
        let half = MAX_ROWS / 2;
        all[..half]
            .iter()
            .map(|b| Some(*b))
            .chain(std::iter::once(None))
            .chain(all[all.len() - half..].iter().map(|b| Some(*b)))
            .collect()
    } else {
        all.iter().map(|b| Some(*b)).collect()
    };
    let rows = shown.len().max(1) as f64;
    let height = B_TOP + rows * B_ROW + B_BOTTOM;
    if all.is_empty() {
        return no_data(title, B_WIDTH, height);
    }
    let values: Vec<f64> = all.iter().map(|b| b.value).collect();
    let (ticks, lo, hi, below_zero) = value_ticks(&values, unit, 5);
    let widest_label = all
        .iter()
        .map(|b| b.label.chars().count().min(28))
        .max()
        .unwrap_or(0) as f64;
    let left = (widest_label * LABEL_CHAR_WIDTH + 12.0).clamp(48.0, 160.0);
    let max_chars = ((left - 12.0) / LABEL_CHAR_WIDTH).floor() as usize;
    let x = Scale {
        lo,
        hi,
        from: left,
        to: B_WIDTH - B_RIGHT,
    };
    let bottom = B_TOP + rows * B_ROW;

    let mut svg = open(title, B_WIDTH, height);
    svg.push_str("<g class=\"chart-axis chart-x\">");
    svg.push_str(&x_grid(&ticks, &x, (B_TOP, bottom), unit));
    svg.push_str(&format!(
        "<text class=\"chart-axis-name\" x=\"{mid}\" y=\"{ny}\" text-anchor=\"middle\">{name}</text></g>",
        mid = coord(left + (B_WIDTH - B_RIGHT - left) / 2.0),
        ny = coord(height - 6.0),
        name = escape(value_name),
    ));
    if below_zero {
        svg.push_str(&zero_down(x.at(0.0), (B_TOP, bottom)));
    }
    svg.push_str("<g class=\"chart-bars\">");
    let zero = x.at(0.0);
    for (i, bar) in shown.iter().enumerate() {
        let row_y = B_TOP + B_ROW * i as f64;
        let Some(bar) = bar else {
            svg.push_str(&format!(
                "<text class=\"chart-empty\" x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">… {skipped} more between</text>",
                coord(left + 4.0),
                coord(row_y + B_ROW / 2.0),
            ));
            continue;
        };
        let end = x.at(bar.value);
        let (x0, w) = if end >= zero {
            (zero, end - zero)
        } else {
            (end, zero - end)
        };
        let mut label: String = bar.label.chars().take(max_chars).collect();
        if label.chars().count() < bar.label.chars().count() {
            label.pop();
            label.push('…');
        }
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ly}\" text-anchor=\"end\" dominant-baseline=\"middle\">{label}</text>\
             <rect class=\"chart-bar {tone}\" x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\"><title>{t}</title></rect>",
            lx = coord(left - 6.0),
            ly = coord(row_y + B_ROW / 2.0),
            label = escape(&label),
            tone = tone_class(bar.value, unit),
            x0 = coord(x0),
            y0 = coord(row_y + 3.0),
            w = coord(w.max(1.0)),
            h = coord(B_ROW - 6.0),
            t = bar.title(unit),
        ));
    }
    svg.push_str("</g></svg>");
    Svg(svg)
}

/// Money bars read green or red by sign; counts and R in the chart's one colour.
fn tone_class(value: f64, unit: Unit) -> &'static str {
    match unit {
        Unit::Count => "count",
        _ if value > 0.0 => "up",
        _ if value < 0.0 => "down",
        _ => "flat",
    }
}
