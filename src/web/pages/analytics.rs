//! `/analytics` (DESIGN.md §11): every figure of `GET /api/analytics` for a date range and its
//! filters, as charts (inline SVG from [`super::charts`], no script) over tables a phone can
//! scroll.
//!
//! Reuse: [`AnalyticsView::new`] turns a [`Report`] into display strings and charts once;
//! `templates/analytics_report.html` draws it, so the live page and a backtest's report show one
//! and the same thing. Give your template struct a `report: AnalyticsView` field and
//! `{% include "analytics_report.html" %}` it; the fragment links nowhere and loads nothing, so
//! with `static/style.css` inlined (as [`BacktestHtml`] does) the page is self-contained.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::charts::{self, Axes, Bar, Point, Svg, Unit};
use super::format::{duration, money, number, signed_money, tone};
use super::{html, session_of, Layout, PageError};
use crate::backtest::{BacktestReport, BacktestSpec};
use crate::clock::now_utc;
use crate::db::analytics::AnalyticsQuery;
use crate::domain::analytics::{
    bucket_label, r_bin_range, Bin, BreakdownRow, Dimension, Excursion, Figures, Report,
};
use crate::web::api::analytics::{analytics_query, load_report};
use crate::web::AppState;

/// A figure as shown, `—` where it is undefined.
fn or_dash(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| "—".to_owned(), show)
}

fn r(value: f64) -> String {
    format!("{value:+.2}R")
}

fn ratio(value: f64) -> String {
    number(value, 2)
}

fn pct(value: f64) -> String {
    format!("{value:.1}%")
}

/// The figures of a breakdown row or of the summary, formatted.
pub struct FiguresView {
    pub label: String,
    pub trades: i64,
    pub wins: i64,
    pub losses: i64,
    pub win_rate: String,
    pub pnl: String,
    pub tone: &'static str,
    pub average_r: String,
    pub expectancy: String,
    pub profit_factor: String,
    pub average_hold: String,
}

impl FiguresView {
    fn new(label: String, f: &Figures) -> FiguresView {
        FiguresView {
            label,
            trades: f.trades,
            wins: f.wins,
            losses: f.losses,
            win_rate: or_dash(f.win_rate, pct),
            pnl: signed_money(f.total_pnl),
            tone: tone(f.total_pnl),
            average_r: or_dash(f.average_r, r),
            expectancy: or_dash(f.expectancy, signed_money),
            profit_factor: or_dash(f.profit_factor, ratio),
            average_hold: or_dash(f.average_hold_secs, |s| duration(s.round() as i64)),
        }
    }

    fn row(row: &BreakdownRow) -> FiguresView {
        FiguresView::new(row.label.clone(), &row.figures)
    }
}

/// One line of the summary table.
pub struct Figure {
    pub name: &'static str,
    pub value: String,
    pub tone: &'static str,
}

fn figure(name: &'static str, value: String) -> Figure {
    Figure {
        name,
        value,
        tone: "",
    }
}

/// A breakdown table and its chart of the pnl per bucket.
pub struct BreakdownView {
    pub title: &'static str,
    pub rows: Vec<FiguresView>,
    pub chart: Svg,
}

impl BreakdownView {
    fn new(dimension: Dimension, rows: &[BreakdownRow]) -> BreakdownView {
        let title = breakdown_title(dimension.as_str());
        let bars: Vec<Bar> = rows
            .iter()
            .map(|row| {
                let f = &row.figures;
                let trades = match f.trades {
                    1 => "1 trade".to_owned(),
                    n => format!("{n} trades"),
                };
                let note = match f.win_rate {
                    Some(rate) => format!("({trades}, win rate {})", pct(rate)),
                    None => format!("({trades})"),
                };
                Bar::new(row.label.clone(), f.total_pnl).note(note)
            })
            .collect();
        BreakdownView {
            title,
            rows: rows.iter().map(FiguresView::row).collect(),
            chart: charts::breakdown(
                &format!("PnL {}", title.replacen("By ", "by ", 1)),
                "PnL (USDT)",
                &bars,
                Unit::Money,
            ),
        }
    }
}

/// A histogram bin, as its table row shows it.
pub struct BinView {
    pub label: String,
    pub trades: i64,
}

fn bins(list: &[Bin]) -> Vec<BinView> {
    list.iter()
        .map(|b| BinView {
            label: b.label.clone(),
            trades: b.trades,
        })
        .collect()
}

fn trades_note(trades: i64) -> &'static str {
    if trades == 1 {
        "trade"
    } else {
        "trades"
    }
}

/// The R histogram's columns: every 0.5 R bin from the lowest to the highest with a trade, the
/// empty ones between included so the shape reads true.
fn r_bars(list: &[Bin]) -> Vec<Bar> {
    let keys: Vec<i64> = list.iter().filter_map(|b| b.key.parse().ok()).collect();
    let (Some(low), Some(high)) = (keys.iter().min(), keys.iter().max()) else {
        return Vec::new();
    };
    (*low..=*high)
        .map(|bin| {
            let key = bin.to_string();
            let trades = list.iter().find(|b| b.key == key).map_or(0, |b| b.trades);
            let axis = match r_bin_range(bin) {
                (Some(from), _) => number(from, 1),
                (None, Some(to)) => format!("<{}", number(to, 1)),
                (None, None) => String::new(),
            };
            Bar::new(bucket_label(Dimension::RBin, &key), trades as f64)
                .axis(axis)
                .note(trades_note(trades))
        })
        .collect()
}

fn hold_bars(list: &[Bin]) -> Vec<Bar> {
    list.iter()
        .map(|b| Bar::new(b.label.clone(), b.trades as f64).note(trades_note(b.trades)))
        .collect()
}

/// A trade of the scatter as a point: x its MAE, y its MFE, coloured by outcome.
fn excursion_point(e: &Excursion) -> Point {
    let efficiency = or_dash(e.efficiency, |v| format!("{:.0}%", v * 100.0));
    Point {
        x: e.mae_r,
        y: e.mfe_r,
        class: match e.outcome {
            crate::domain::Outcome::Win => "win",
            crate::domain::Outcome::Loss => "loss",
            crate::domain::Outcome::Breakeven => "breakeven",
        },
        title: format!(
            "#{} {} {}: MAE {}, MFE {}, realized {}, exit efficiency {efficiency}",
            e.signal_id,
            e.symbol,
            e.outcome.as_str(),
            r(e.mae_r),
            r(e.mfe_r),
            r(e.r_multiple),
        ),
    }
}

/// A trade of the MAE/MFE scatter.
pub struct ExcursionView {
    pub signal_id: i32,
    pub symbol: String,
    pub outcome: &'static str,
    pub mae_r: String,
    pub mfe_r: String,
    pub r_multiple: String,
    pub efficiency: String,
}

/// A calendar day with closes.
pub struct DayView {
    pub date: String,
    pub trades: i64,
    pub pnl: String,
    pub tone: &'static str,
    pub equity: String,
}

/// Everything the analytics fragment shows, formatted once.
pub struct AnalyticsView {
    pub trades: i64,
    pub summary: Vec<Figure>,
    pub breakdowns: Vec<BreakdownView>,
    pub r_histogram: Vec<BinView>,
    pub r_chart: Svg,
    pub hold_histogram: Vec<BinView>,
    pub hold_chart: Svg,
    /// Trades the scatter samples from, and the sample.
    pub scatter_of: i64,
    pub scatter: Vec<ExcursionView>,
    pub scatter_chart: Svg,
    /// The equity at each day's end and its drawdown from the peak before, every calendar day.
    pub equity_chart: Svg,
    pub drawdown_chart: Svg,
    /// The pnl of every day of the range as a heatmap.
    pub calendar_chart: Svg,
    /// Days with at least one close, newest first.
    pub days: Vec<DayView>,
}

impl AnalyticsView {
    pub fn new(report: &Report) -> AnalyticsView {
        let s = &report.summary;
        let f = &s.figures;
        let mut summary = vec![
            figure("Trades", f.trades.to_string()),
            figure(
                "Wins / losses / breakeven",
                format!("{} / {} / {}", f.wins, f.losses, f.breakevens),
            ),
            figure("Win rate", or_dash(f.win_rate, pct)),
            Figure {
                name: "Total pnl",
                value: signed_money(f.total_pnl),
                tone: tone(f.total_pnl),
            },
            figure("Average win", or_dash(f.average_win, signed_money)),
            figure("Average loss", or_dash(f.average_loss, signed_money)),
            figure("Payoff ratio", or_dash(f.payoff_ratio, ratio)),
            figure("Expectancy", or_dash(f.expectancy, signed_money)),
            figure("Expectancy (R) = average R", or_dash(f.expectancy_r, r)),
            figure("Median R", or_dash(s.median_r, r)),
            figure("Profit factor", or_dash(f.profit_factor, ratio)),
            figure(
                "Max drawdown",
                format!(
                    "{} ({}), {} days",
                    money(s.max_drawdown),
                    pct(s.max_drawdown_pct),
                    s.max_drawdown_days
                ),
            ),
            figure(
                "Longest winning / losing streak",
                format!("{} / {}", s.longest_win_streak, s.longest_loss_streak),
            ),
            figure("Sharpe (daily, √365)", or_dash(s.sharpe, ratio)),
            figure("Sortino (daily, √365)", or_dash(s.sortino, ratio)),
            figure(
                "Average hold",
                or_dash(f.average_hold_secs, |v| duration(v.round() as i64)),
            ),
            figure(
                "Equity",
                format!("{} → {}", money(s.starting_equity), money(s.ending_equity)),
            ),
        ];
        if let Some(peak) = s.max_drawdown_peak {
            let end = s
                .max_drawdown_recovered
                .map_or_else(|| "not recovered".to_owned(), |d| format!("recovered {d}"));
            let trough = s
                .max_drawdown_trough
                .map_or(String::new(), |d| d.to_string());
            summary.push(figure(
                "Drawdown peak → trough",
                format!("{peak} → {trough}, {end}"),
            ));
        }
        let breakdowns = report
            .breakdowns
            .iter()
            .map(|(dimension, rows)| BreakdownView::new(*dimension, rows))
            .collect();
        let scatter = report
            .scatter
            .points
            .iter()
            .map(|e| ExcursionView {
                signal_id: e.signal_id,
                symbol: e.symbol.clone(),
                outcome: e.outcome.as_str(),
                mae_r: r(e.mae_r),
                mfe_r: r(e.mfe_r),
                r_multiple: r(e.r_multiple),
                efficiency: or_dash(e.efficiency, |v| format!("{:.0}%", v * 100.0)),
            })
            .collect();
        let days = report
            .equity
            .iter()
            .rev()
            .filter(|d| d.trades > 0)
            .map(|d| DayView {
                date: d.date.to_string(),
                trades: d.trades,
                pnl: signed_money(d.pnl),
                tone: tone(d.pnl),
                equity: money(d.equity),
            })
            .collect();
        AnalyticsView {
            trades: f.trades,
            summary,
            breakdowns,
            r_histogram: bins(&report.r_histogram),
            r_chart: charts::histogram(
                "Trades per R multiple",
                "R multiple (0.5 R bins)",
                &r_bars(&report.r_histogram),
                Unit::Count,
            ),
            hold_histogram: bins(&report.hold_histogram),
            hold_chart: charts::histogram(
                "Trades per hold time",
                "Hold time",
                &hold_bars(&report.hold_histogram),
                Unit::Count,
            ),
            scatter_of: report.scatter.trades,
            scatter,
            scatter_chart: charts::scatter(
                "MAE against MFE per trade",
                Axes {
                    x_name: "MAE (R): the worst excursion while open",
                    x_unit: Unit::R,
                    y_name: "MFE (R): the best",
                    y_unit: Unit::R,
                },
                &report
                    .scatter
                    .points
                    .iter()
                    .map(excursion_point)
                    .collect::<Vec<_>>(),
                &[("win", "win"), ("loss", "loss"), ("breakeven", "breakeven")],
            ),
            equity_chart: charts::daily(
                "Equity at each day's end (USDT)",
                &report
                    .equity
                    .iter()
                    .map(|d| (d.date, d.equity))
                    .collect::<Vec<_>>(),
                Unit::Money,
            ),
            drawdown_chart: charts::daily_drawdown(
                "Drawdown from the peak (USDT)",
                &report
                    .equity
                    .iter()
                    .map(|d| (d.date, d.drawdown))
                    .collect::<Vec<_>>(),
                Unit::Money,
            ),
            calendar_chart: charts::calendar("PnL per day (USDT)", &report.calendar),
            days,
        }
    }
}

fn breakdown_title(dimension: &str) -> &'static str {
    match dimension {
        "strategy" => "By strategy",
        "symbol" => "By symbol",
        "direction" => "By direction",
        "exit_reason" => "By exit reason",
        "tag" => "By tag",
        "weekday" => "By weekday of entry (UTC)",
        "hour" => "By hour of entry (UTC)",
        "timeframe" => "By timeframe",
        "confidence" => "By confidence",
        _ => "Breakdown",
    }
}

#[derive(Template)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    pub layout: Layout,
    pub from: String,
    pub to: String,
    pub strategy: String,
    pub symbol: String,
    pub tag: String,
    pub direction: String,
    pub report: AnalyticsView,
}

pub async fn analytics_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = session_of(&req, &state).await;
    let query: AnalyticsQuery = analytics_query(req.query_string(), now_utc().date())?;
    let report = load_report(&state, query.clone()).await?;
    let page = AnalyticsPage {
        layout: Layout::new("Analytics", "analytics", session.as_ref()),
        from: query.from.to_string(),
        to: query.to.to_string(),
        strategy: query.strategy.unwrap_or_default(),
        symbol: query.symbol.unwrap_or_default(),
        tag: query.tag.unwrap_or_default(),
        direction: query
            .direction
            .map_or(String::new(), |d| d.as_str().to_owned()),
        report: AnalyticsView::new(&report),
    };
    html(&page)
}

/// `signaldesk backtest --html FILE`: the backtest's analytics in one file that opens from disk
/// (the stylesheet inline, the charts inline SVG, no link, script or image to fetch).
#[derive(Template)]
#[template(path = "backtest_report.html")]
pub struct BacktestHtml {
    pub css: &'static str,
    pub symbol: String,
    pub timeframe: &'static str,
    pub from: String,
    pub to: String,
    pub candles: usize,
    pub signals: usize,
    pub open_at_end: usize,
    pub management: String,
    pub generated: String,
    pub version: &'static str,
    pub report: AnalyticsView,
}

/// The HTML of a backtest's report; `management` says the trade management it ran with.
pub fn backtest_html(
    report: &BacktestReport,
    spec: &BacktestSpec,
    management: String,
) -> askama::Result<String> {
    BacktestHtml {
        css: include_str!("../../../static/style.css"),
        symbol: report.symbol.clone(),
        timeframe: report.timeframe,
        from: spec.from.format("%Y-%m-%d %H:%M UTC").to_string(),
        to: spec.to.format("%Y-%m-%d %H:%M UTC").to_string(),
        candles: report.candles,
        signals: report.signals,
        open_at_end: report.open_at_end,
        management,
        generated: now_utc().format("%Y-%m-%d %H:%M UTC").to_string(),
        version: env!("CARGO_PKG_VERSION"),
        report: AnalyticsView::new(&report.analytics),
    }
    .render()
}
