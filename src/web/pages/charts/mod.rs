//! Charts drawn on the server as inline SVG (DESIGN.md §11, issue 13). Pure functions: data in,
//! an [`Svg`] out. Every chart has a `viewBox` and scales to its container's width, carries
//! `role="img"` and an `aria-label`, labels its axes with round ticks and puts a `<title>` on each
//! point so a hover shows the value. Text is XML-escaped; coordinates are always finite, whatever
//! the input (NaN, ±inf, ±f64::MAX, empty). Colours come from the `chart-*` classes in
//! `static/style.css`.

mod axis;
mod bars;
mod calendar;
mod scatter;
mod time_series;

#[cfg(test)]
mod tests;

pub use bars::{breakdown, histogram, Bar};
pub use calendar::calendar;
pub use scatter::{scatter, Axes, Point};
pub use time_series::{daily, daily_drawdown, drawdown, time_series};

/// The equity curve of the dashboard and /history, in money; `None` when no balance is finite.
pub fn equity_chart(curve: &[(chrono::NaiveDateTime, f64)]) -> Option<Svg> {
    curve
        .iter()
        .any(|(_, v)| v.is_finite())
        .then(|| time_series("Equity curve", curve, Unit::Money))
}

use super::format;

/// A finished SVG document. Askama prints it unescaped: everything inside was escaped when built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(String);

impl Svg {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Svg {}

/// How the values of a chart read on its axis and in its hover titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `12,345.67`, as [`format::money`].
    Money,
    /// A multiple of the risk: `1.5R`.
    R,
    /// A plain count: `12`.
    Count,
}

impl Unit {
    /// The value as text, `—` when not finite.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return "—".to_owned();
        }
        match self {
            Unit::Money => format::money(value),
            Unit::R => format!("{}R", format::number(value, 2)),
            Unit::Count => format::number(value, 0),
        }
    }
}

/// `<`, `>`, `&`, `"` and `'` as XML entities.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate as printed: one decimal, `0` instead of anything not finite.
pub(crate) fn coord(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    format!("{value:.1}")
}

/// The opening `<svg>` tag with its `viewBox`, role, label and the chart's visible title.
pub(crate) fn open(title: &str, width: f64, height: f64) -> String {
    let title = escape(title);
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" \
         role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text class=\"chart-title\" x=\"4\" y=\"14\">{title}</text>",
        w = coord(width),
        h = coord(height),
    )
}

/// Horizontal grid lines at `ticks` of `y` from `left` to `right`, each labelled left of `left`.
pub(crate) fn y_grid(
    ticks: &[f64],
    y: &axis::Scale,
    (left, right): (f64, f64),
    unit: Unit,
) -> String {
    ticks
        .iter()
        .map(|tick| {
            let py = coord(y.at(*tick));
            format!(
                "<line class=\"chart-grid\" x1=\"{l}\" x2=\"{r}\" y1=\"{py}\" y2=\"{py}\"/>\
                 <text x=\"{lx}\" y=\"{py}\" text-anchor=\"end\" dominant-baseline=\"middle\">{label}</text>",
                l = coord(left),
                r = coord(right),
                lx = coord(left - 6.0),
                label = escape(&unit.format(*tick)),
            )
        })
        .collect()
}

/// Vertical grid lines at `ticks` of `x` from `top` to `bottom`, each labelled under `bottom`.
pub(crate) fn x_grid(
    ticks: &[f64],
    x: &axis::Scale,
    (top, bottom): (f64, f64),
    unit: Unit,
) -> String {
    ticks
        .iter()
        .map(|tick| {
            let px = coord(x.at(*tick));
            format!(
                "<line class=\"chart-grid\" x1=\"{px}\" x2=\"{px}\" y1=\"{t}\" y2=\"{b}\"/>\
                 <text x=\"{px}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
                t = coord(top),
                b = coord(bottom),
                ty = coord(bottom + 14.0),
                label = escape(&unit.format(*tick)),
            )
        })
        .collect()
}

/// The zero line across the plot at pixel `zy`, from `left` to `right`.
pub(crate) fn zero_across(zy: f64, (left, right): (f64, f64)) -> String {
    format!(
        "<line class=\"chart-zero\" x1=\"{}\" x2=\"{}\" y1=\"{zy}\" y2=\"{zy}\"/>",
        coord(left),
        coord(right),
        zy = coord(zy),
    )
}

/// The zero line down the plot at pixel `zx`, from `top` to `bottom`.
pub(crate) fn zero_down(zx: f64, (top, bottom): (f64, f64)) -> String {
    format!(
        "<line class=\"chart-zero\" x1=\"{zx}\" x2=\"{zx}\" y1=\"{}\" y2=\"{}\"/>",
        coord(top),
        coord(bottom),
        zx = coord(zx),
    )
}

/// A chart with nothing to draw: the frame and a "No data" text.
pub(crate) fn no_data(title: &str, width: f64, height: f64) -> Svg {
    let mut svg = open(title, width, height);
    svg.push_str(&format!(
        "<text class=\"chart-empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No data</text></svg>",
        coord(width / 2.0),
        coord(height / 2.0)
    ));
    Svg(svg)
}
