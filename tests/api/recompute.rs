//! `GET /api/analytics` recomputed from the raw rows — `journal_entries`, `signals`,
//! `trade_exits` and `daily_stats`, read by plain SQL — with the formulas the README names
//! ("## Analytics: what is my edge?"), written here without `domain::analytics` or the
//! rollups, and compared with what the server answers: every field, counts exactly, money, R
//! and ratios to 1e-9 relative.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use diesel::sql_types::{Date, Double, Integer, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Map, Value};
use signaldesk::db::Conn;

use crate::helpers::TestServer;

#[derive(QueryableByName)]
struct TradeRow {
    #[diesel(sql_type = Integer)]
    journal_id: i32,
    #[diesel(sql_type = Integer)]
    signal_id: i32,
    #[diesel(sql_type = Text)]
    symbol: String,
    #[diesel(sql_type = Text)]
    direction: String,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Double)]
    pnl: f64,
    #[diesel(sql_type = Double)]
    r_multiple: f64,
    #[diesel(sql_type = Text)]
    exit_reason: String,
    #[diesel(sql_type = Timestamp)]
    opened_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    closed_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    tags: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    strategy: String,
    #[diesel(sql_type = Nullable<Text>)]
    timeframe: Option<String>,
    #[diesel(sql_type = Double)]
    confidence: f64,
    #[diesel(sql_type = Double)]
    entry_price: f64,
    #[diesel(sql_type = Double)]
    quantity: f64,
    #[diesel(sql_type = Double)]
    risk_amount: f64,
    #[diesel(sql_type = Double)]
    best: f64,
    #[diesel(sql_type = Double)]
    worst: f64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    last_exit_reason: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    exits_pnl: Option<f64>,
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Date)]
    date: NaiveDate,
    #[diesel(sql_type = Double)]
    starting_balance: f64,
    #[diesel(sql_type = Double)]
    paper_balance: f64,
}

/// A closed trade as the README's formulas see it.
#[derive(Debug, Clone)]
pub struct Trade {
    pub journal_id: i32,
    pub signal_id: i32,
    pub symbol: String,
    pub direction: String,
    pub strategy: String,
    pub timeframe: Option<String>,
    pub confidence: f64,
    /// The last exit's reason.
    pub exit_reason: String,
    pub outcome: String,
    /// Σ pnl of every exit.
    pub pnl: f64,
    /// pnl ÷ the initial risk.
    pub r: f64,
    pub opened_at: NaiveDateTime,
    pub closed_at: NaiveDateTime,
    pub tags: Vec<String>,
    pub mae_r: f64,
    pub mfe_r: f64,
}

/// Every closed trade and every day of the account, as stored.
pub struct Raw {
    pub trades: Vec<Trade>,
    /// (date, starting balance, closing balance), by date.
    pub days: Vec<(NaiveDate, f64, f64)>,
}

fn close(a: f64, b: f64) -> bool {
    // 1e-9 relative; the absolute 1e-12 only lets a figure that is zero on one side be a
    // rounding residue on the other (a sum that cancels out).
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

/// Read the raw rows, checking on the way that they say the same thing twice where they do
/// (the journal's pnl = Σ exits, its R = pnl ÷ risk, its outcome the pnl's sign, its reason
/// the last exit's, its open time the signal's).
pub fn raw(conn: &mut Conn) -> Raw {
    let rows: Vec<TradeRow> = diesel::sql_query(
        "SELECT j.id AS journal_id, j.signal_id, j.symbol, j.direction, j.outcome, j.pnl, \
         j.r_multiple, j.exit_reason, j.opened_at, j.closed_at, j.tags, s.status, s.strategy, \
         s.timeframe, s.confidence, s.entry_price, s.quantity, s.risk_amount, \
         s.max_favorable_price AS best, s.max_adverse_price AS worst, s.created_at, \
         (SELECT e.reason FROM trade_exits e WHERE e.signal_id = s.id ORDER BY e.id DESC LIMIT 1) \
           AS last_exit_reason, \
         (SELECT SUM(e.pnl) FROM trade_exits e WHERE e.signal_id = s.id) AS exits_pnl \
         FROM journal_entries j JOIN signals s ON s.id = j.signal_id ORDER BY j.id",
    )
    .load(conn)
    .expect("read the closed trades");
    let trades = rows
        .into_iter()
        .map(|row| {
            let what = format!("journal entry {}", row.journal_id);
            assert_eq!(row.status, "CLOSED", "{what}");
            assert_eq!(row.opened_at, row.created_at, "{what}: opened_at");
            let exits_pnl = row.exits_pnl.expect("a closed trade has exits");
            assert!(
                close(row.pnl, exits_pnl),
                "{what}: pnl {} vs Σ exits {exits_pnl}",
                row.pnl
            );
            assert_eq!(
                row.last_exit_reason.as_deref(),
                Some(row.exit_reason.as_str()),
                "{what}: the journal's reason is the last exit's"
            );
            let r = row.pnl / row.risk_amount;
            assert!(
                close(r, row.r_multiple),
                "{what}: R {} vs {r}",
                row.r_multiple
            );
            let sign_outcome = if row.pnl > 0.0 {
                "WIN"
            } else if row.pnl < 0.0 {
                "LOSS"
            } else {
                "BREAKEVEN"
            };
            assert_eq!(
                row.outcome, sign_outcome,
                "{what}: outcome of pnl {}",
                row.pnl
            );
            let sign = if row.direction == "LONG" { 1.0 } else { -1.0 };
            let unit_risk = row.risk_amount / row.quantity;
            Trade {
                journal_id: row.journal_id,
                signal_id: row.signal_id,
                symbol: row.symbol,
                direction: row.direction,
                strategy: row.strategy,
                timeframe: row.timeframe,
                confidence: row.confidence,
                exit_reason: row.exit_reason,
                outcome: row.outcome,
                pnl: row.pnl,
                r,
                opened_at: row.opened_at,
                closed_at: row.closed_at,
                tags: row
                    .tags
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
                mae_r: ((row.worst - row.entry_price) * sign / unit_risk).min(0.0),
                mfe_r: ((row.best - row.entry_price) * sign / unit_risk).max(0.0),
            }
        })
        .collect();
    let days: Vec<DayRow> = diesel::sql_query(
        "SELECT date, starting_balance, paper_balance FROM daily_stats ORDER BY date",
    )
    .load(conn)
    .expect("read daily_stats");
    Raw {
        trades,
        days: days
            .into_iter()
            .map(|d| (d.date, d.starting_balance, d.paper_balance))
            .collect(),
    }
}

/// The parameters of one request; `None` leaves a parameter out.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub tag: Option<String>,
    pub direction: Option<String>,
}

impl Filter {
    pub fn range(from: NaiveDate, to: NaiveDate) -> Filter {
        Filter {
            from: Some(from),
            to: Some(to),
            ..Filter::default()
        }
    }

    pub fn path(&self) -> String {
        let pairs = [
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
            ("strategy", self.strategy.clone()),
            ("symbol", self.symbol.clone()),
            ("tag", self.tag.clone()),
            ("direction", self.direction.clone()),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
            .collect();
        format!("/api/analytics?{}", query.join("&"))
    }
}

/// Percent-encode everything but unreserved characters.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ratio(num: f64, den: f64) -> Value {
    if den == 0.0 {
        Value::Null
    } else {
        json!(num / den)
    }
}

fn opt(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!(v))
}

/// The figures of a summary and of each breakdown row, from the README's table.
fn figures(trades: &[&Trade]) -> Map<String, Value> {
    let n = trades.len() as i64;
    let wins: Vec<f64> = trades
        .iter()
        .filter(|t| t.outcome == "WIN")
        .map(|t| t.pnl)
        .collect();
    let losses: Vec<f64> = trades
        .iter()
        .filter(|t| t.outcome == "LOSS")
        .map(|t| t.pnl)
        .collect();
    let gross_profit: f64 = wins.iter().sum();
    let gross_loss: f64 = losses.iter().sum();
    let total: f64 = trades.iter().map(|t| t.pnl).sum();
    let r_sum: f64 = trades.iter().map(|t| t.r).sum();
    let hold: i64 = trades
        .iter()
        .map(|t| (t.closed_at - t.opened_at).num_seconds())
        .sum();
    let average_win = (!wins.is_empty()).then(|| gross_profit / wins.len() as f64);
    let average_loss = (!losses.is_empty()).then(|| gross_loss / losses.len() as f64);
    let decided = (wins.len() + losses.len()) as f64;
    let mut m = Map::new();
    m.insert("trades".into(), json!(n));
    m.insert("wins".into(), json!(wins.len() as i64));
    m.insert("losses".into(), json!(losses.len() as i64));
    m.insert(
        "breakevens".into(),
        json!(n - (wins.len() + losses.len()) as i64),
    );
    m.insert("win_rate".into(), ratio(wins.len() as f64 * 100.0, decided));
    m.insert("total_pnl".into(), json!(total));
    m.insert("expectancy".into(), ratio(total, n as f64));
    m.insert("expectancy_r".into(), ratio(r_sum, n as f64));
    m.insert("average_r".into(), ratio(r_sum, n as f64));
    m.insert(
        "profit_factor".into(),
        if losses.is_empty() {
            Value::Null
        } else {
            json!(gross_profit / -gross_loss)
        },
    );
    m.insert("gross_profit".into(), json!(gross_profit));
    m.insert("gross_loss".into(), json!(gross_loss));
    m.insert("average_win".into(), opt(average_win));
    m.insert("average_loss".into(), opt(average_loss));
    m.insert(
        "payoff_ratio".into(),
        match (average_win, average_loss) {
            (Some(w), Some(l)) => json!(w / -l),
            _ => Value::Null,
        },
    );
    m.insert("average_hold_secs".into(), ratio(hold as f64, n as f64));
    m
}

/// Any non-empty string: a label the README does not spell out.
const ANY: &str = "<any label>";

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The hold-time bins of the README: label and lower edge in seconds.
const HOLD: [(&str, i64); 9] = [
    ("<5m", 0),
    ("5–15m", 300),
    ("15m–1h", 900),
    ("1–4h", 3_600),
    ("4–12h", 4 * 3_600),
    ("12–24h", 12 * 3_600),
    ("1–3d", 86_400),
    ("3–7d", 3 * 86_400),
    ("≥7d", 7 * 86_400),
];

/// 0.1-wide confidence buckets by their lower edge in tenths; 1.0 joins 0.9–1.0.
fn confidence_bucket(confidence: f64) -> i64 {
    (1..=9)
        .rev()
        .find(|k| confidence >= *k as f64 / 10.0)
        .unwrap_or(0)
}

/// 0.5 R bins `[k/2, (k+1)/2)`, k from −20 (everything below −9.5 R) to 19 (from 9.5 R up).
fn r_bin(r: f64) -> i64 {
    (-19..=19)
        .rev()
        .find(|k| r >= *k as f64 / 2.0)
        .unwrap_or(-20)
}

/// A trade's buckets in each breakdown, keyed as the API keys them.
fn buckets(t: &Trade, dimension: &str) -> Vec<(String, String)> {
    let one = |key: String, label: &str| vec![(key, label.to_owned())];
    match dimension {
        "strategy" => one(t.strategy.clone(), &t.strategy),
        "symbol" => one(t.symbol.clone(), &t.symbol),
        "direction" => one(t.direction.clone(), &t.direction),
        "exit_reason" => one(t.exit_reason.clone(), &t.exit_reason),
        "tag" => t.tags.iter().map(|g| (g.clone(), g.clone())).collect(),
        "weekday" => {
            let day = t.opened_at.weekday().num_days_from_monday();
            one(day.to_string(), WEEKDAYS[day as usize])
        }
        "hour" => one(format!("{:02}", t.opened_at.hour()), ANY),
        "timeframe" => one(t.timeframe.clone().unwrap_or_default(), ANY),
        "confidence" => one(confidence_bucket(t.confidence).to_string(), ANY),
        other => panic!("no breakdown {other}"),
    }
}

const BREAKDOWNS: [&str; 9] = [
    "strategy",
    "symbol",
    "direction",
    "exit_reason",
    "tag",
    "weekday",
    "hour",
    "timeframe",
    "confidence",
];

/// What `GET /api/analytics` must answer for `filter` on the account `raw`, `today` being the
/// server's date and `configured` its configured initial balance.
pub fn expected(raw: &Raw, filter: &Filter, today: NaiveDate, configured: f64) -> Value {
    let to = filter.to.unwrap_or(today);
    let from = filter.from.unwrap_or(to - Duration::days(364));
    let symbol = filter.symbol.as_ref().map(|s| s.trim().to_uppercase());
    let direction = filter.direction.as_ref().map(|s| s.trim().to_uppercase());
    let strategy = filter.strategy.as_ref().map(|s| s.trim().to_owned());
    let tag = filter.tag.as_ref().map(|s| s.trim().to_owned());
    let mut selected: Vec<&Trade> = raw
        .trades
        .iter()
        .filter(|t| (from..=to).contains(&t.closed_at.date()))
        .filter(|t| strategy.as_ref().is_none_or(|s| *s == t.strategy))
        .filter(|t| symbol.as_ref().is_none_or(|s| *s == t.symbol))
        .filter(|t| direction.as_ref().is_none_or(|d| *d == t.direction))
        .filter(|t| tag.as_ref().is_none_or(|g| t.tags.contains(g)))
        .collect();
    // The order they closed in: UTC day, then booking order.
    selected.sort_by_key(|t| (t.closed_at.date(), t.journal_id));

    // Equity: from the closed-trade equity before the range (the account's initial balance plus
    // the pnl of every trade closed before it), one point per calendar day.
    let initial = raw
        .days
        .first()
        .map(|(_, opening, _)| *opening)
        .unwrap_or(configured);
    let starting = initial
        + raw
            .trades
            .iter()
            .filter(|t| t.closed_at.date() < from)
            .map(|t| t.pnl)
            .sum::<f64>();
    let first = raw.days.first().map_or(from, |(d, _, _)| (*d).max(from));
    let last = to.min(today);
    let mut equity = Vec::new();
    let mut calendar = Vec::new();
    let (mut balance, mut peak) = (starting, starting);
    let mut curve: Vec<(NaiveDate, f64)> = Vec::new();
    let mut returns = Vec::new();
    let mut day = first;
    while day <= last {
        let closed: Vec<&&Trade> = selected
            .iter()
            .filter(|t| t.closed_at.date() == day)
            .collect();
        let pnl: f64 = closed.iter().map(|t| t.pnl).sum();
        let daily_return = (balance > 0.0).then(|| pnl / balance);
        returns.extend(daily_return);
        balance += pnl;
        peak = peak.max(balance);
        curve.push((day, balance));
        equity.push(json!({
            "date": day.to_string(), "trades": closed.len() as i64, "pnl": pnl,
            "equity": balance, "drawdown": balance - peak, "daily_return": opt(daily_return),
        }));
        calendar.push(json!({"date": day.to_string(), "trades": closed.len() as i64, "pnl": pnl}));
        day += Duration::days(1);
    }

    // Max drawdown: the largest fall below the running peak, the starting balance the first
    // peak (dated the range's first day).
    let mut top = (starting, curve.first().map(|(d, _)| *d));
    let (mut amount, mut pct, mut peak_day, mut trough, mut peak_value) =
        (0.0, 0.0, None, None, starting);
    for (d, e) in &curve {
        if *e > top.0 {
            top = (*e, Some(*d));
        }
        if top.0 - e > amount {
            amount = top.0 - e;
            pct = if top.0 > 0.0 {
                amount / top.0 * 100.0
            } else {
                0.0
            };
            peak_day = top.1;
            trough = Some(*d);
            peak_value = top.0;
        }
    }
    let recovered = trough.and_then(|low| {
        curve
            .iter()
            .find(|(d, e)| *d > low && *e >= peak_value)
            .map(|(d, _)| *d)
    });
    let drawdown_days = match (peak_day, trough) {
        (Some(p), Some(_)) => {
            (recovered.or(curve.last().map(|(d, _)| *d)).unwrap_or(p) - p).num_days()
        }
        _ => 0,
    };

    // Sharpe and Sortino of the daily returns, √365 a year; null with fewer than two returns.
    let (sharpe, sortino) = if returns.len() < 2 {
        (None, None)
    } else {
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let down = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
        (
            (sd > 0.0).then(|| mean / sd * 365f64.sqrt()),
            (down > 0.0).then(|| mean / down * 365f64.sqrt()),
        )
    };

    // Streaks in closing order; a breakeven ends both.
    let (mut wins, mut losses, mut best_wins, mut best_losses) = (0i64, 0i64, 0i64, 0i64);
    for t in &selected {
        match t.outcome.as_str() {
            "WIN" => (wins, losses) = (wins + 1, 0),
            "LOSS" => (wins, losses) = (0, losses + 1),
            _ => (wins, losses) = (0, 0),
        }
        best_wins = best_wins.max(wins);
        best_losses = best_losses.max(losses);
    }

    let mut rs: Vec<f64> = selected.iter().map(|t| t.r).collect();
    rs.sort_by(f64::total_cmp);
    let median = match rs.len() {
        0 => None,
        n if n % 2 == 1 => Some(rs[n / 2]),
        n => Some((rs[n / 2 - 1] + rs[n / 2]) / 2.0),
    };

    let mut summary = figures(&selected);
    let extra = json!({
        "median_r": opt(median),
        "longest_win_streak": best_wins,
        "longest_loss_streak": best_losses,
        "max_drawdown": amount,
        "max_drawdown_pct": pct,
        "max_drawdown_days": drawdown_days,
        "max_drawdown_peak": peak_day.map(|d| d.to_string()),
        "max_drawdown_trough": trough.map(|d| d.to_string()),
        "max_drawdown_recovered": recovered.map(|d| d.to_string()),
        "sharpe": opt(sharpe),
        "sortino": opt(sortino),
        "starting_equity": starting,
        "ending_equity": balance,
        "days": curve.len() as i64,
    });
    summary.extend(extra.as_object().cloned().unwrap_or_default());

    let mut breakdowns = Map::new();
    for dimension in BREAKDOWNS {
        let mut groups: BTreeMap<String, (String, Vec<&Trade>)> = BTreeMap::new();
        for t in &selected {
            for (key, label) in buckets(t, dimension) {
                groups
                    .entry(key)
                    .or_insert_with(|| (label, Vec::new()))
                    .1
                    .push(t);
            }
        }
        let rows: Vec<Value> = groups
            .into_iter()
            .map(|(key, (label, trades))| {
                let mut row = figures(&trades);
                row.insert("key".into(), json!(key));
                row.insert("label".into(), json!(label));
                Value::Object(row)
            })
            .collect();
        breakdowns.insert(dimension.to_owned(), Value::Array(rows));
    }

    let mut r_bins: BTreeMap<i64, i64> = BTreeMap::new();
    for t in &selected {
        *r_bins.entry(r_bin(t.r)).or_default() += 1;
    }
    let r_histogram: Vec<Value> = r_bins
        .into_iter()
        .map(|(k, n)| {
            json!({
                "key": k.to_string(), "label": ANY, "trades": n,
                "from": if k > -20 { json!(k as f64 / 2.0) } else { Value::Null },
                "to": if k < 19 { json!((k + 1) as f64 / 2.0) } else { Value::Null },
            })
        })
        .collect();
    let hold_histogram: Vec<Value> = HOLD
        .iter()
        .enumerate()
        .map(|(i, (label, low))| {
            let high = HOLD.get(i + 1).map(|(_, h)| *h);
            let n = selected
                .iter()
                .map(|t| (t.closed_at - t.opened_at).num_seconds())
                .filter(|s| *s >= *low && high.is_none_or(|h| *s < h))
                .count() as i64;
            json!({
                "key": i.to_string(), "label": label, "trades": n,
                "from": *low as f64, "to": high.map(|h| h as f64),
            })
        })
        .collect();
    assert!(
        selected.len() <= 500,
        "the scatter below expects every trade"
    );
    let points: Vec<Value> = selected
        .iter()
        .map(|t| {
            json!({
                "signal_id": t.signal_id, "symbol": t.symbol, "outcome": t.outcome,
                "mae_r": t.mae_r, "mfe_r": t.mfe_r, "r_multiple": t.r,
                "efficiency": if t.mfe_r > 0.0 { json!(t.r / t.mfe_r) } else { Value::Null },
            })
        })
        .collect();

    json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "strategy": strategy,
        "symbol": symbol,
        "direction": direction,
        "tag": tag,
        "summary": summary,
        "breakdowns": breakdowns,
        "r_histogram": r_histogram,
        "hold_histogram": hold_histogram,
        "scatter": {"trades": selected.len() as i64, "points": points},
        "equity": equity,
        "calendar": calendar,
    })
}

/// Put the lists whose order the README leaves open in one order: breakdown rows by key, R bins
/// by their lower edge, scatter points by signal.
fn normalized(mut report: Value) -> Value {
    if let Some(breakdowns) = report["breakdowns"].as_object_mut() {
        for rows in breakdowns.values_mut() {
            if let Some(rows) = rows.as_array_mut() {
                rows.sort_by_key(|r| r["key"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    if let Some(bins) = report["r_histogram"].as_array_mut() {
        bins.sort_by_key(|b| b["key"].as_str().and_then(|k| k.parse::<i64>().ok()));
    }
    if let Some(points) = report["scatter"]["points"].as_array_mut() {
        points.sort_by_key(|p| p["signal_id"].as_i64());
    }
    report
}

fn compare(actual: &Value, expected: &Value, path: &str, wrong: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<&String> = e.keys().collect();
            let mut ak: Vec<&String> = a.keys().collect();
            ek.sort();
            ak.sort();
            if ek != ak {
                wrong.push(format!("{path}: fields {ak:?}, expected {ek:?}"));
            }
            for (k, ev) in e {
                if let Some(av) = a.get(k) {
                    compare(av, ev, &format!("{path}.{k}"), wrong);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                let ids = |items: &[Value]| -> Vec<String> {
                    items
                        .iter()
                        .map(|v| v.get("signal_id").or(v.get("key")).or(v.get("date")))
                        .map(|id| id.map_or_else(String::new, ToString::to_string))
                        .collect()
                };
                wrong.push(format!(
                    "{path}: {} items {:?}, expected {} {:?}",
                    a.len(),
                    ids(a),
                    e.len(),
                    ids(e)
                ));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                compare(av, ev, &format!("{path}[{i}]"), wrong);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.is_i64() => {
            if a.as_i64() != e.as_i64() {
                wrong.push(format!("{path}: {a}, expected exactly {e}"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            if !close(x, y) {
                wrong.push(format!("{path}: {x}, expected {y}"));
            }
        }
        (Value::String(e), Value::String(a)) if e == ANY => {
            if a.is_empty() {
                wrong.push(format!("{path}: an empty label"));
            }
        }
        (e, a) => {
            if a != e {
                wrong.push(format!("{path}: {a}, expected {e}"));
            }
        }
    }
}

/// Assert that `actual` (a server's answer) is `expected` field by field; the message lists
/// every difference.
pub fn assert_report(actual: &Value, expected: &Value, what: &str) {
    let mut wrong = Vec::new();
    compare(
        &normalized(actual.clone()),
        &normalized(expected.clone()),
        "",
        &mut wrong,
    );
    assert!(
        wrong.is_empty(),
        "{what}: the server disagrees with the recomputation:\n{}",
        wrong.join("\n")
    );
}

/// The server's date: the `to` of a request without one.
pub fn server_today(server: &TestServer) -> NaiveDate {
    let body = server.get_json("/api/analytics");
    NaiveDate::parse_from_str(body["to"].as_str().expect("to"), "%Y-%m-%d").expect("a date")
}

/// Ask `server` for `filter` and compare with the recomputation from `conn`'s rows; returns
/// the answer.
pub fn assert_matches(
    server: &TestServer,
    conn: &mut Conn,
    filter: &Filter,
    today: NaiveDate,
    configured: f64,
) -> Value {
    let path = filter.path();
    let response = server.get(&path);
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let actual: Value = response.json().expect("JSON");
    let want = expected(&raw(conn), filter, today, configured);
    assert_report(&actual, &want, &path);
    actual
}
