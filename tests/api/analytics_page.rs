//! `/analytics` over HTTP: the page shows the figures `GET /api/analytics` answers for the same
//! range and filters (the API's own figures are recomputed from raw rows in `analytics.rs`), its
//! charts draw the same data mark for mark, its filters narrow it as the API's do, and bad
//! filters are a 400 page naming the field.

use serde_json::Value;

use crate::analytics::serve;
use crate::analytics_history::seed;
use crate::fake_exchange::FakeExchange;
use crate::helpers::{TempDb, TestServer};

fn page(server: &TestServer, path: &str) -> (u16, String) {
    let response = server.get(path);
    (response.status().as_u16(), response.text().unwrap())
}

/// The rows of the page's table whose heading is `title`.
fn table_after<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html
        .find(&format!("<h2>{title}</h2>"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

/// `text` as askama escapes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// `text` as the charts escape it.
fn svg_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The part of the page from the heading `title` to the next heading.
fn section<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html
        .find(&format!("<h2>{title}</h2>"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &html[start + 4..];
    &rest[..rest.find("<h2>").unwrap_or(rest.len())]
}

/// The charts show what the API says: a day of the calendar per day of the range, a point of
/// the scatter per sampled trade, a column per R bin from the lowest to the highest, a bar per
/// breakdown row, a point per equity and per drawdown day; hover titles with the values.
fn assert_charts_show(html: &str, api: &Value) {
    let calendar = api["calendar"].as_array().unwrap();
    let cells = section(html, "Calendar");
    // Nine more: the legend's swatches.
    assert_eq!(
        cells.matches("<rect class=\"cal cal-").count(),
        calendar.len() + 9
    );
    for day in calendar {
        let (date, trades) = (
            day["date"].as_str().unwrap(),
            day["trades"].as_i64().unwrap(),
        );
        let title = match trades {
            0 => format!("<title>{date}: no closed trade</title>"),
            1 => format!("<title>{date}: 1 trade, "),
            n => format!("<title>{date}: {n} trades, "),
        };
        assert!(cells.contains(&title), "{title} in the calendar");
    }
    let equity = section(html, "Equity and drawdown");
    let days = api["equity"].as_array().unwrap();
    assert_eq!(
        equity.matches("<circle class=\"chart-point\"").count(),
        2 * days.len()
    );
    assert!(equity.contains("aria-label=\"Equity at each day&#39;s end (USDT)\""));
    assert!(equity.contains("chart-area-down"), "the drawdown area");

    let scatter = section(html, "MAE / MFE per trade");
    let points = api["scatter"]["points"].as_array().unwrap();
    // Three more: the legend.
    assert_eq!(
        scatter.matches("<circle class=\"chart-dot ").count(),
        points.len() + 3
    );
    for point in points {
        let title = format!(
            "<title>#{} {} ",
            point["signal_id"],
            point["symbol"].as_str().unwrap()
        );
        assert!(scatter.contains(&title), "{title} in the scatter");
    }

    let r_bins = api["r_histogram"].as_array().unwrap();
    let keys: Vec<i64> = r_bins
        .iter()
        .map(|b| b["key"].as_str().unwrap().parse().unwrap())
        .collect();
    let columns = keys.iter().max().unwrap() - keys.iter().min().unwrap() + 1;
    let r_chart = section(html, "R-multiple distribution");
    assert_eq!(
        r_chart.matches("<rect class=\"chart-bar").count() as i64,
        columns
    );
    let hold_chart = section(html, "Hold time");
    for (chart, bins) in [
        (r_chart, r_bins),
        (hold_chart, api["hold_histogram"].as_array().unwrap()),
    ] {
        for bin in bins {
            let trades = bin["trades"].as_i64().unwrap();
            let title = format!(
                "<title>{}: {trades} {}</title>",
                svg_escaped(bin["label"].as_str().unwrap()),
                if trades == 1 { "trade" } else { "trades" }
            );
            assert!(chart.contains(&title), "{title} in {chart}");
        }
    }

    for (dimension, title) in [
        ("strategy", "By strategy"),
        ("symbol", "By symbol"),
        ("tag", "By tag"),
        ("hour", "By hour of entry (UTC)"),
    ] {
        let rows = api["breakdowns"][dimension].as_array().unwrap();
        let chart = section(html, title);
        assert_eq!(
            chart.matches("<rect class=\"chart-bar").count(),
            rows.len().min(40),
            "{title}"
        );
        for row in rows.iter().take(20) {
            let label = svg_escaped(row["label"].as_str().unwrap());
            assert!(
                chart.contains(&format!("<title>{label}: ")),
                "{label} in {title}"
            );
        }
        let negative = rows.iter().any(|r| r["total_pnl"].as_f64().unwrap() < 0.0);
        assert_eq!(
            chart.contains("chart-zero"),
            negative,
            "{title}: a zero line iff a loss"
        );
    }
}

fn assert_page_shows(server: &TestServer, query: &str) -> Value {
    let api = server.get_json(&format!("/api/analytics?{query}"));
    let (status, html) = page(server, &format!("/analytics?{query}"));
    assert_eq!(status, 200, "{html}");
    let summary = &api["summary"];
    let trades = summary["trades"].as_i64().unwrap();
    if trades == 0 {
        assert!(html.contains("No closed trades in this range."), "{html}");
        assert!(!html.contains("<svg"), "no empty charts: {html}");
        return api;
    }
    assert_charts_show(&html, &api);
    let summary_table = table_after(&html, "Summary");
    assert!(
        summary_table.contains(&format!("<td class=\"num \">{trades}</td>")),
        "trades {trades} in {summary_table}"
    );
    if let Some(rate) = summary["win_rate"].as_f64() {
        assert!(summary_table.contains(&format!("{rate:.1}%")), "win rate");
    }
    let (wins, losses) = (&summary["wins"], &summary["losses"]);
    assert!(
        summary_table.contains(&format!("{wins} / {losses} / {}", summary["breakevens"])),
        "{summary_table}"
    );
    for (dimension, title) in [
        ("strategy", "By strategy"),
        ("symbol", "By symbol"),
        ("direction", "By direction"),
        ("exit_reason", "By exit reason"),
        ("tag", "By tag"),
        ("weekday", "By weekday of entry (UTC)"),
        ("hour", "By hour of entry (UTC)"),
        ("timeframe", "By timeframe"),
        ("confidence", "By confidence"),
    ] {
        let table = table_after(&html, title);
        for row in api["breakdowns"][dimension].as_array().unwrap() {
            let label = escaped(row["label"].as_str().unwrap());
            let cells = format!(
                "<td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                row["trades"], row["wins"], row["losses"]
            );
            assert!(table.contains(&cells), "{title}: {cells} not in {table}");
        }
    }
    for (key, title) in [
        ("r_histogram", "R-multiple distribution"),
        ("hold_histogram", "Hold time"),
    ] {
        let table = table_after(&html, title);
        for bin in api[key].as_array().unwrap() {
            let cells = format!(
                "<td>{}</td><td class=\"num\">{}</td>",
                escaped(bin["label"].as_str().unwrap()),
                bin["trades"]
            );
            assert!(table.contains(&cells), "{title}: {cells} not in {table}");
        }
    }
    let scatter = &api["scatter"];
    assert!(html.contains(&format!(
        "{} of {} trades",
        scatter["points"].as_array().unwrap().len(),
        scatter["trades"]
    )));
    for point in scatter["points"].as_array().unwrap() {
        assert!(html.contains(&format!("<td>#{}</td>", point["signal_id"])));
    }
    let days = table_after(&html, "Days with closes");
    for day in api["calendar"].as_array().unwrap() {
        let shown = days.contains(&format!("<td>{}</td>", day["date"].as_str().unwrap()));
        assert_eq!(shown, day["trades"].as_i64() > Some(0), "{day}");
    }
    api
}

fn the_analytics_page_shows_the_apis_figures(db: TempDb) {
    let mut conn = db.conn();
    let base = seed(&mut conn);
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = serve(&db, &exchange);
    let from = base - chrono::Duration::days(10);
    let whole = assert_page_shows(&server, &format!("from={from}"));
    assert!(whole["summary"]["trades"].as_i64() > Some(20), "{whole}");
    let narrowed = assert_page_shows(
        &server,
        &format!("from={from}&symbol=btcusdt&direction=long"),
    );
    assert!(narrowed["summary"]["trades"].as_i64() < whole["summary"]["trades"].as_i64());
    assert_page_shows(&server, &format!("from={from}&strategy=ict&tag=breakout"));
    let (_, html) = page(&server, &format!("/analytics?from={from}&symbol=BTCUSDT"));
    assert!(
        html.contains("value=\"BTCUSDT\""),
        "the form keeps the filter"
    );
    assert_page_shows(&server, "from=2001-01-01&to=2001-01-31");

    for (query, field) in [
        ("direction=UP", "direction"),
        ("from=2026-02-30", "from"),
        ("from=2026-01-05&to=2026-01-04", "from"),
        ("color=red", "color"),
    ] {
        let (status, html) = page(&server, &format!("/analytics?{query}"));
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(field), "{query}: {html}");
    }
    let head = server
        .client
        .head(format!("{}/analytics", server.address))
        .send()
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let (_, dashboard) = page(&server, "/");
    assert!(dashboard.contains("href=\"/analytics\""), "nav link");
}

crate::on_both_backends!(the_analytics_page_shows_the_apis_figures);
