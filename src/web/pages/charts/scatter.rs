//! A scatter of points on two value axes, e.g. each trade's MAE (x) against its MFE (y) in R.

use super::axis::{nice_ticks, Scale};
use super::{coord, escape, no_data, open, x_grid, y_grid, zero_across, zero_down, Svg, Unit};

/// One point: where it is, its class (`win`, `loss`, … for its colour) and its hover text.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub class: &'static str,
    pub title: String,
}

/// The axes of a scatter: their names and units.
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    pub x_name: &'a str,
    pub x_unit: Unit,
    pub y_name: &'a str,
    pub y_unit: Unit,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 46.0;

/// `points` on `axes`, both of which include zero; a zero line shows on an axis whose range has
/// values on both sides of zero. `legend` lists (class, label) pairs drawn as swatches right of the
/// title. Points with a coordinate that is not finite are left out; with none left the
/// chart says "No data".
pub fn scatter(title: &str, axes: Axes<'_>, points: &[Point], legend: &[(&str, &str)]) -> Svg {
    let points: Vec<&Point> = points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    if points.is_empty() {
        return no_data(title, WIDTH, HEIGHT);
    }
    let range = |values: &mut dyn Iterator<Item = f64>| {
        values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let (x_min, x_max) = range(&mut points.iter().map(|p| p.x));
    let (y_min, y_max) = range(&mut points.iter().map(|p| p.y));
    let (x_ticks, x_lo, x_hi) = nice_ticks(x_min, x_max, 6);
    let (y_ticks, y_lo, y_hi) = nice_ticks(y_min, y_max, 5);
    let x = Scale {
        lo: x_lo,
        hi: x_hi,
        from: LEFT,
        to: WIDTH - RIGHT,
    };
    let y = Scale {
        lo: y_lo,
        hi: y_hi,
        from: HEIGHT - BOTTOM,
        to: TOP,
    };
    let (plot_top, plot_bottom) = (TOP, HEIGHT - BOTTOM);
    let (plot_left, plot_right) = (LEFT, WIDTH - RIGHT);

    let mut svg = open(title, WIDTH, HEIGHT);
    svg.push_str("<g class=\"chart-axis chart-y\">");
    svg.push_str(&y_grid(&y_ticks, &y, (plot_left, plot_right), axes.y_unit));
    svg.push_str(&format!(
        "<text class=\"chart-axis-name\" x=\"{px}\" y=\"{py}\" text-anchor=\"start\">{name}</text></g>",
        px = coord(plot_left + 4.0),
        py = coord(plot_top + 10.0),
        name = escape(axes.y_name),
    ));
    svg.push_str("<g class=\"chart-axis chart-x\">");
    svg.push_str(&x_grid(&x_ticks, &x, (plot_top, plot_bottom), axes.x_unit));
    svg.push_str(&format!(
        "<text class=\"chart-axis-name\" x=\"{mid}\" y=\"{ny}\" text-anchor=\"middle\">{name}</text></g>",
        mid = coord(plot_left + (plot_right - plot_left) / 2.0),
        ny = coord(plot_bottom + 29.0),
        name = escape(axes.x_name),
    ));
    if x_min < 0.0 && x_max > 0.0 {
        svg.push_str(&zero_down(x.at(0.0), (plot_top, plot_bottom)));
    }
    if y_min < 0.0 && y_max > 0.0 {
        svg.push_str(&zero_across(y.at(0.0), (plot_left, plot_right)));
    }
    svg.push_str("<g class=\"chart-dots\">");
    for p in &points {
        svg.push_str(&format!(
            "<circle class=\"chart-dot {class}\" cx=\"{cx}\" cy=\"{cy}\" r=\"4\"><title>{t}</title></circle>",
            class = escape(p.class),
            cx = coord(x.at(p.x)),
            cy = coord(y.at(p.y)),
            t = escape(&p.title),
        ));
    }
    svg.push_str("</g>");
    if !legend.is_empty() {
        svg.push_str("<g class=\"chart-legend\">");
        let width = |label: &str| 24.0 + label.chars().count() as f64 * 6.2;
        // Right-aligned on the title's line.
        let mut at = WIDTH - RIGHT - legend.iter().map(|(_, l)| width(l)).sum::<f64>();
        let ly = 14.0;
        for (class, label) in legend {
            svg.push_str(&format!(
                "<circle class=\"chart-dot {class}\" cx=\"{cx}\" cy=\"{cy}\" r=\"4\"/>\
                 <text x=\"{tx}\" y=\"{ty}\">{label}</text>",
                class = escape(class),
                cx = coord(at + 4.0),
                cy = coord(ly - 4.0),
                tx = coord(at + 12.0),
                ty = coord(ly),
                label = escape(label),
            ));
            at += width(label);
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    Svg(svg)
}
