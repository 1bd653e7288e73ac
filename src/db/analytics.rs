//! `analytics_rollups` (DESIGN.md §11): one [`Rollup`] of the closed trades per [`Span`] (UTC
//! day of the close, and calendar month), dimension and bucket, kept in the transaction that
//! closes a trade (and, for the tag dimension, in the one that edits a journal entry's tags), so
//! the analytics of a range read its whole months' rows and the days at its ends, a few hundred
//! rows a year however long the history is. Rollups are derived data: [`rebuild`] recomputes
//! them from the raw rows, [`verify`] compares them with a recomputation.
//!
//! Every path folds trades the same way — `domain::analytics::Rollup::then` for a day, one trade
//! after the other in journal id order, and `Rollup::plus` for a month (no streaks) — so the
//! close, the rebuild and a filtered query read from the raw rows agree exactly (money within
//! float rounding).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::analytics_rollups as rollups;
use super::time::clamp_bound;
use super::Conn;
use crate::domain::analytics::{buckets, ClosedTrade, Dimension, Rollup};
use crate::domain::time::day_bounds;
use crate::domain::{Direction, ExitReason, Outcome};

/// The name of the rollup table in `derived_tables`.
const ROLLUPS: &str = "analytics_rollups";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rollups, check_for_backend(crate::db::MultiBackend))]
pub struct RollupRow {
    pub span: String,
    pub dimension: String,
    pub date: NaiveDate,
    pub bucket: String,
    pub trades: i64,
    pub wins: i64,
    pub losses: i64,
    pub pnl: f64,
    pub win_pnl: f64,
    pub loss_pnl: f64,
    pub r_sum: f64,
    pub hold_secs: i64,
    pub win_first: i64,
    pub win_last: i64,
    pub win_max: i64,
    pub loss_first: i64,
    pub loss_last: i64,
    pub loss_max: i64,
    pub r_min: f64,
    pub r_max: f64,
}

impl RollupRow {
    fn new(key: &Key, r: &Rollup) -> RollupRow {
        let (span, date, dimension, bucket) = key;
        RollupRow {
            span: span.as_str().to_owned(),
            dimension: dimension.column(bucket).into_owned(),
            date: *date,
            bucket: bucket.clone(),
            trades: r.trades,
            wins: r.wins,
            losses: r.losses,
            pnl: r.pnl,
            win_pnl: r.win_pnl,
            loss_pnl: r.loss_pnl,
            r_sum: r.r_sum,
            hold_secs: r.hold_secs,
            win_first: r.win_first,
            win_last: r.win_last,
            win_max: r.win_max,
            loss_first: r.loss_first,
            loss_last: r.loss_last,
            loss_max: r.loss_max,
            r_min: r.r_min,
            r_max: r.r_max,
        }
    }

    fn key(&self) -> Option<Key> {
        Some((
            Span::parse(&self.span)?,
            self.date,
            Dimension::of_column(&self.dimension, &self.bucket)?,
            self.bucket.clone(),
        ))
    }

    pub fn rollup(&self) -> Rollup {
        Rollup {
            trades: self.trades,
            wins: self.wins,
            losses: self.losses,
            pnl: self.pnl,
            win_pnl: self.win_pnl,
            loss_pnl: self.loss_pnl,
            r_sum: self.r_sum,
            hold_secs: self.hold_secs,
            win_first: self.win_first,
            win_last: self.win_last,
            win_max: self.win_max,
            loss_first: self.loss_first,
            loss_last: self.loss_last,
            loss_max: self.loss_max,
            r_min: self.r_min,
            r_max: self.r_max,
        }
    }
}

/// What one rollup row covers: the trades closed on one UTC day, or in one calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Span {
    Day,
    /// Dated by its first day; additive sums and R range only, streak fields 0.
    Month,
}

impl Span {
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Day => "day",
            Span::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Span> {
        [Span::Day, Span::Month]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The date of the row of this span that holds `day`.
    pub fn date_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Span::Day => day,
            Span::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// The first day of the month after the one holding `day`; `None` past the calendar's end.
fn month_after(day: NaiveDate) -> Option<NaiveDate> {
    Span::Month
        .date_of(day)
        .checked_add_months(chrono::Months::new(1))
}

/// A rollup's key: the span, its date (the day, or the month's first day), the dimension and the
/// bucket.
pub type Key = (Span, NaiveDate, Dimension, String);

/// Trades filtered as `GET /api/analytics` filters them; every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TradeFilter {
    /// `closed_at >= from`
    pub from: Option<NaiveDateTime>,
    /// `closed_at < to`
    pub to: Option<NaiveDateTime>,
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub direction: Option<Direction>,
    /// Trades carrying this tag.
    pub tag: Option<String>,
}

type TradeColumns = (
    i32,
    i32,
    String,
    Direction,
    String,
    Option<String>,
    f64,
    ExitReason,
    Outcome,
    f64,
    f64,
    NaiveDateTime,
    NaiveDateTime,
    i64,
    String,
);

fn closed_trade(c: TradeColumns) -> ClosedTrade {
    ClosedTrade {
        journal_id: c.0,
        signal_id: c.1,
        symbol: c.2,
        direction: c.3,
        strategy: c.4,
        timeframe: c.5,
        confidence: c.6,
        exit_reason: c.7,
        outcome: c.8,
        pnl: c.9,
        r_multiple: c.10,
        opened_at: c.11,
        closed_at: c.12,
        duration_secs: c.13,
        tags: c.14,
    }
}

/// Up to `limit` closed trades matching `filter` with journal ids above `after`, by journal id.
/// The tag filter is only a pre-filter here (a substring of the tags); [`each_closed_trade`]
/// matches whole tags.
pub fn closed_trades(
    conn: &mut Conn,
    filter: &TradeFilter,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<ClosedTrade>> {
    use super::schema::journal_entries::dsl as j;
    use super::schema::signals::dsl as s;
    let mut query = j::journal_entries
        .inner_join(s::signals)
        .filter(j::id.gt(after))
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(j::closed_at.ge(clamp_bound(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(j::closed_at.lt(clamp_bound(to)));
    }
    if let Some(strategy) = &filter.strategy {
        query = query.filter(s::strategy.eq(strategy.clone()));
    }
    if let Some(symbol) = &filter.symbol {
        query = query.filter(j::symbol.eq(symbol.clone()));
    }
    if let Some(direction) = filter.direction {
        query = query.filter(j::direction.eq(direction.as_str()));
    }
    if let Some(tag) = &filter.tag {
        // A cheap pre-filter in SQL; the exact tag match is below.
        query = query.filter(
            j::tags
                .like(format!("%{}%", like_escaped(tag)))
                .escape('\\'),
        );
    }
    let rows: Vec<TradeColumns> = query
        .order(j::id.asc())
        .limit(limit)
        .select((
            j::id,
            j::signal_id,
            j::symbol,
            j::direction,
            s::strategy,
            s::timeframe,
            s::confidence,
            j::exit_reason,
            j::outcome,
            j::pnl,
            j::r_multiple,
            j::opened_at,
            j::closed_at,
            j::duration_secs,
            j::tags,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(closed_trade).collect())
}

fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The trades a page of [`closed_trades`] reads at a time.
const PAGE: i64 = 5_000;

/// Every closed trade matching `filter`, a page at a time; `each` is called once per page. A
/// filter with both ends reads a calendar month of closes at a time, each in journal id order
/// (by the index that serves its filter; paging by id instead would sort every match again
/// for each page); one without, pages of [`PAGE`] in journal id order.
pub fn each_closed_trade(
    conn: &mut Conn,
    filter: &TradeFilter,
    mut each: impl FnMut(&[ClosedTrade]),
) -> QueryResult<()> {
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return each_page(conn, filter, PAGE, each);
    };
    let mut low = from;
    while low < to {
        let next = month_after(low.date())
            .map_or(to, |month| month.and_time(chrono::NaiveTime::MIN).min(to));
        let window = TradeFilter {
            from: Some(low),
            to: Some(next),
            ..filter.clone()
        };
        each_page(conn, &window, i64::MAX, &mut each)?;
        low = next;
    }
    Ok(())
}

/// [`each_closed_trade`] by pages of `page` trades in journal id order.
fn each_page(
    conn: &mut Conn,
    filter: &TradeFilter,
    page_size: i64,
    mut each: impl FnMut(&[ClosedTrade]),
) -> QueryResult<()> {
    let mut after = 0;
    loop {
        let page = closed_trades(conn, filter, after, page_size)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.journal_id;
        let full = page.len() as i64 == page_size;
        match &filter.tag {
            Some(tag) => {
                let tagged: Vec<ClosedTrade> = page
                    .into_iter()
                    .filter(|t| crate::domain::analytics::tags_of(&t.tags).any(|x| x == tag))
                    .collect();
                each(&tagged);
            }
            None => each(&page),
        }
        if !full {
            return Ok(());
        }
    }
}

/// Fold trades, in journal id order, into rollups by span, dimension and bucket.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Folded {
    pub rollups: BTreeMap<Key, Rollup>,
    /// Days only: a filtered query folds what it reads.
    days_only: bool,
}

impl Folded {
    /// Day rollups, without the months.
    pub fn days() -> Folded {
        Folded {
            days_only: true,
            ..Folded::default()
        }
    }

    pub fn add(&mut self, trade: &ClosedTrade) {
        let one = Rollup::of(trade);
        let day = trade.closed_at.date();
        for dimension in Dimension::ALL {
            for bucket in buckets(trade, dimension) {
                if !self.days_only {
                    let month = Span::Month.date_of(day);
                    let slot = self
                        .rollups
                        .entry((Span::Month, month, dimension, bucket.clone()))
                        .or_default();
                    *slot = slot.plus(&one);
                }
                let slot = self
                    .rollups
                    .entry((Span::Day, day, dimension, bucket))
                    .or_default();
                *slot = slot.then(&one);
            }
        }
    }
}

/// The rollup rows of one trade just closed, merged into the rows of its day inside the
/// closing transaction (`db::exits`): read, merged after what is there, written.
pub fn record_close(conn: &mut Conn, trade: &ClosedTrade) -> QueryResult<()> {
    let mut folded = Folded::default();
    folded.add(trade);
    merge(conn, &folded)
}

/// Merge folded rollups after the stored ones of the same keys.
fn merge(conn: &mut Conn, folded: &Folded) -> QueryResult<()> {
    use rollups::dsl::*;
    for (k, delta) in &folded.rollups {
        let (period, day, dim, key) = k;
        let column = dim.column(key);
        let key_filter =
            rollups::table.find((period.as_str(), column.as_ref(), *day, key.as_str()));
        let stored: Option<RollupRow> = key_filter
            .select(RollupRow::as_select())
            .first(conn)
            .optional()?;
        match stored {
            Some(row) => {
                let r = match period {
                    Span::Day => row.rollup().then(delta),
                    Span::Month => row.rollup().plus(delta),
                };
                diesel::update(key_filter)
                    .set((
                        trades.eq(r.trades),
                        wins.eq(r.wins),
                        losses.eq(r.losses),
                        pnl.eq(r.pnl),
                        win_pnl.eq(r.win_pnl),
                        loss_pnl.eq(r.loss_pnl),
                        r_sum.eq(r.r_sum),
                        hold_secs.eq(r.hold_secs),
                        win_first.eq(r.win_first),
                        win_last.eq(r.win_last),
                        win_max.eq(r.win_max),
                        loss_first.eq(r.loss_first),
                        loss_last.eq(r.loss_last),
                        loss_max.eq(r.loss_max),
                        r_min.eq(r.r_min),
                        r_max.eq(r.r_max),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(rollups::table)
                    .values(RollupRow::new(k, delta))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Recompute the rollups of the days `days` from the raw rows, and their months from the days,
/// inside the caller's write transaction: a journal entry's tags changed, so its day's tag
/// buckets did.
pub fn refresh_days(conn: &mut Conn, days: &[NaiveDate]) -> QueryResult<()> {
    for day in days {
        let (start, end) = day_bounds(*day);
        diesel::delete(
            rollups::table
                .filter(rollups::span.eq(Span::Day.as_str()))
                .filter(rollups::date.eq(*day)),
        )
        .execute(conn)?;
        let mut folded = Folded::days();
        let filter = TradeFilter {
            from: Some(start),
            to: Some(end),
            ..TradeFilter::default()
        };
        each_closed_trade(conn, &filter, |page| {
            page.iter().for_each(|t| folded.add(t))
        })?;
        insert_all(conn, &folded)?;
    }
    let mut months: Vec<NaiveDate> = days.iter().map(|d| Span::Month.date_of(*d)).collect();
    months.sort_unstable();
    months.dedup();
    for month in months {
        month_from_days(conn, month)?;
    }
    Ok(())
}

/// The month rows of `month` (its first day) summed again from its day rows.
fn month_from_days(conn: &mut Conn, month: NaiveDate) -> QueryResult<()> {
    use diesel::sql_types::Date;
    let next = month_after(month).unwrap_or(NaiveDate::MAX);
    diesel::delete(
        rollups::table
            .filter(rollups::span.eq(Span::Month.as_str()))
            .filter(rollups::date.eq(month)),
    )
    .execute(conn)?;
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back.
    diesel::sql_query(
        "INSERT INTO analytics_rollups (span, dimension, date, bucket, trades, wins, losses, \
             pnl, win_pnl, loss_pnl, r_sum, hold_secs, win_first, win_last, win_max, \
             loss_first, loss_last, loss_max, r_min, r_max) \
         SELECT 'month', dimension, $1, bucket, CAST(SUM(trades) AS BIGINT), \
             CAST(SUM(wins) AS BIGINT), CAST(SUM(losses) AS BIGINT), SUM(pnl), SUM(win_pnl), \
             SUM(loss_pnl), SUM(r_sum), CAST(SUM(hold_secs) AS BIGINT), 0, 0, 0, 0, 0, 0, \
             MIN(r_min), MAX(r_max) \
         FROM analytics_rollups WHERE span = 'day' AND date >= $2 AND date < $3 \
         GROUP BY dimension, bucket",
    )
    .bind::<Date, _>(month)
    .bind::<Date, _>(month)
    .bind::<Date, _>(next)
    .execute(conn)
    .map(drop)
}

fn insert_all(conn: &mut Conn, folded: &Folded) -> QueryResult<()> {
    let rows: Vec<RollupRow> = folded
        .rollups
        .iter()
        .map(|(key, r)| RollupRow::new(key, r))
        .collect();
    // PostgreSQL allows 65 535 bind parameters per statement, SQLite 32 766: 20 columns each.
    for chunk in rows.chunks(1_000) {
        match conn {
            Conn::Postgres(pg) => diesel::insert_into(rollups::table)
                .values(chunk)
                .execute(pg)?,
            Conn::Sqlite(_) => {
                for row in chunk {
                    diesel::insert_into(rollups::table)
                        .values(row)
                        .execute(conn)?;
                }
                0
            }
        };
    }
    Ok(())
}

/// The rollups recomputed from every closed trade. `progress(done, total)` after each page.
pub fn recompute(conn: &mut Conn, mut progress: impl FnMut(usize, usize)) -> QueryResult<Folded> {
    use super::schema::journal_entries::dsl::*;
    let total = journal_entries.count().get_result::<i64>(conn)?;
    let total = usize::try_from(total).unwrap_or(0);
    let mut folded = Folded::default();
    let mut done = 0;
    each_closed_trade(conn, &TradeFilter::default(), |page| {
        page.iter().for_each(|t| folded.add(t));
        done += page.len();
        progress(done, total);
    })?;
    Ok(folded)
}

/// Recompute every rollup from the raw rows inside the caller's write transaction, and mark the
/// table rebuilt. Returns how many rollup rows it wrote.
pub fn rebuild(
    conn: &mut Conn,
    now: NaiveDateTime,
    progress: impl FnMut(usize, usize),
) -> QueryResult<usize> {
    diesel::delete(rollups::table).execute(conn)?;
    let folded = recompute(conn, progress)?;
    insert_all(conn, &folded)?;
    mark_rebuilt(conn, now)?;
    Ok(folded.rollups.len())
}

fn mark_rebuilt(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<()> {
    use super::schema::derived_tables::dsl::*;
    diesel::update(derived_tables.find(ROLLUPS))
        .set(rebuilt_at.eq(Some(now)))
        .execute(conn)
        .map(drop)
}

/// Whether the rollups were never built (a migration created them over existing trades, e.g.
/// with `diesel migration run`): they must be rebuilt before they are read.
pub fn needs_rebuild(conn: &mut Conn) -> QueryResult<bool> {
    use super::schema::derived_tables::dsl::*;
    let state: Option<Option<NaiveDateTime>> = derived_tables
        .find(ROLLUPS)
        .select(rebuilt_at)
        .first(conn)
        .optional()?;
    Ok(matches!(state, Some(None)))
}

/// Every stored rollup.
pub fn stored(conn: &mut Conn) -> QueryResult<BTreeMap<Key, Rollup>> {
    let rows: Vec<RollupRow> = rollups::table.select(RollupRow::as_select()).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.key()?, row.rollup())))
        .collect())
}

/// A rollup key with its stored and its recomputed rollup, either missing.
pub type Disagreement = (Key, Option<Rollup>, Option<Rollup>);

/// The rollups that disagree with a recomputation from the raw rows: (key, stored, recomputed).
pub fn verify(conn: &mut Conn) -> QueryResult<Vec<Disagreement>> {
    let raw: Vec<RollupRow> = rollups::table.select(RollupRow::as_select()).load(conn)?;
    let mut wrong = Vec::new();
    let mut kept = BTreeMap::new();
    for row in raw {
        match row.key() {
            Some(key) => {
                kept.insert(key, row.rollup());
            }
            // A span or dimension this version does not know is not derived from the trades.
            None => wrong.push((
                (
                    Span::Day,
                    row.date,
                    Dimension::All,
                    format!("{}:{}:{}", row.span, row.dimension, row.bucket),
                ),
                Some(row.rollup()),
                None,
            )),
        }
    }
    let recomputed = recompute(conn, |_, _| {})?;
    for (key, r) in &recomputed.rollups {
        match kept.remove(key) {
            Some(s) if s.agrees_with(r) => {}
            other => wrong.push((key.clone(), other, Some(*r))),
        }
    }
    wrong.extend(kept.into_iter().map(|(k, s)| (k, Some(s), None)));
    Ok(wrong)
}

/// What `GET /api/analytics` asks for: closed trades of the days `from..=to` (UTC, by close),
/// narrowed by the filter's other fields.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub direction: Option<Direction>,
    pub tag: Option<String>,
    /// The calendar days of the equity curve and the daily returns; `None`: the range, from
    /// the account's first day at the earliest to `today` at the latest.
    pub days: Option<(NaiveDate, NaiveDate)>,
}

impl AnalyticsQuery {
    fn filtered(&self) -> bool {
        self.strategy.is_some()
            || self.symbol.is_some()
            || self.direction.is_some()
            || self.tag.is_some()
    }

    fn trade_filter(&self) -> TradeFilter {
        TradeFilter {
            from: Some(day_bounds(self.from).0),
            to: Some(day_bounds(self.to).1),
            strategy: self.strategy.clone(),
            symbol: self.symbol.clone(),
            direction: self.direction,
            tag: self.tag.clone(),
        }
    }
}

/// The most trades the MAE/MFE scatter shows.
pub const SCATTER_POINTS: usize = 500;

/// The analytics of a range (DESIGN.md §11). Unfiltered, from the rollups: a few rows per day
/// of the range, whatever the number of trades, the exact median R from the R histogram's bin
/// that holds it, and a scatter of at most [`SCATTER_POINTS`] trades spread over the range.
/// Filtered by strategy, symbol, direction or tag, from the matching trades' rows, folded the
/// same way. Call inside one read transaction, so every part sees one snapshot.
pub fn report(
    conn: &mut Conn,
    query: &AnalyticsQuery,
    configured_balance: f64,
    today: NaiveDate,
) -> QueryResult<crate::domain::analytics::Report> {
    use crate::domain::analytics::{Parts, Report, Scatter};
    let starting_equity = equity_before(conn, query.from, configured_balance)?;
    let (first_day, last_day) = match query.days {
        Some(days) => days,
        None => {
            let opened = super::daily_stats::first_day(conn)?;
            (
                opened.map_or(query.from, |d| d.max(query.from)),
                query.to.min(today),
            )
        }
    };
    let mut parts = Parts {
        starting_equity,
        first_day,
        last_day,
        ..Parts::default()
    };
    let (start, end) = (day_bounds(query.from).0, day_bounds(query.to).1);
    if query.filtered() {
        let mut folded = Folded::days();
        let mut r_values = Vec::new();
        let mut ids = Vec::new();
        each_closed_trade(conn, &query.trade_filter(), |page| {
            for t in page {
                folded.add(t);
                r_values.push(t.r_multiple);
                ids.push(t.journal_id);
            }
        })?;
        r_values.sort_by(f64::total_cmp);
        parts.median_r = crate::domain::analytics::median(&r_values);
        ids.sort_unstable();
        let sample = crate::domain::analytics::spread(&ids, SCATTER_POINTS);
        parts.scatter = Scatter {
            trades: ids.len() as i64,
            points: excursions(conn, &sample, (start, end))?,
        };
        parts.days = folded
            .rollups
            .iter()
            .filter(|((_, _, d, _), _)| *d == Dimension::All)
            .map(|((_, day, _, _), r)| (*day, *r))
            .collect();
        for ((_, _, dim, key), r) in &folded.rollups {
            if !matches!(dim, Dimension::All | Dimension::RFine) {
                let slot = parts.sums.entry((*dim, key.clone())).or_default();
                *slot = slot.plus(r);
            }
        }
    } else {
        parts.days = all_days(conn, query.from, query.to)?;
        parts.sums = sums(conn, query.from, query.to)?;
        parts.median_r = median_r(conn, &parts.sums, query.from, query.to)?;
        let trades = parts.days.iter().map(|(_, r)| r.trades).sum();
        let sample = sample_ids(conn, start, end, trades)?;
        parts.scatter = Scatter {
            trades,
            points: excursions(conn, &sample, (start, end))?,
        };
    }
    Ok(Report::build(parts))
}

/// [`report`] in one read snapshot of its own.
pub fn read_report(
    conn: &mut Conn,
    query: &AnalyticsQuery,
    configured_balance: f64,
    today: NaiveDate,
) -> QueryResult<crate::domain::analytics::Report> {
    super::overview::snapshot(conn, |conn| report(conn, query, configured_balance, today))
}

/// The closed-trade equity at the start of `day`: the account's initial balance plus the pnl of
/// every trade closed before it, read from the `all` rollups (one row per day). A trade still open
/// then is not in it, partial exits included: its close counts them, on its day.
fn equity_before(conn: &mut Conn, day: NaiveDate, configured: f64) -> QueryResult<f64> {
    use diesel::sql_types::{Date, Double, Nullable};
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = Nullable<Double>)]
        pnl: Option<f64>,
    }
    let initial = super::daily_stats::initial_balance(conn, configured)?;
    let before: Total = diesel::sql_query(
        "SELECT SUM(pnl) AS pnl FROM analytics_rollups \
         WHERE span = 'day' AND dimension = 'all' AND date < $1",
    )
    .bind::<Date, _>(day)
    .get_result(conn)?;
    Ok(initial + before.pnl.unwrap_or(0.0))
}

/// The `All` rollup of every day of `from..=to` with a close.
fn all_days(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, Rollup)>> {
    let rows: Vec<RollupRow> = rollups::table
        .filter(rollups::span.eq(Span::Day.as_str()))
        .filter(rollups::dimension.eq(Dimension::All.as_str()))
        .filter(rollups::date.ge(from).and(rollups::date.le(to)))
        .order(rollups::date.asc())
        .select(RollupRow::as_select())
        .load(conn)?;
    Ok(rows.iter().map(|r| (r.date, r.rollup())).collect())
}

/// One breakdown over the days `from..=to` from the rollups: each bucket's sums (the streak
/// fields are not used), highest pnl first.
pub fn breakdown(
    conn: &mut Conn,
    dimension: Dimension,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(String, Rollup)>> {
    let mut rows: Vec<(String, Rollup)> = sums_of(conn, from, to, &[dimension.as_str()])?
        .into_iter()
        .map(|((_, bucket), r)| (bucket, r))
        .collect();
    rows.sort_by(|a, b| b.1.pnl.total_cmp(&a.1.pnl).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

/// The rows that cover the days `from..=to`: the months wholly inside it, then the days before
/// the first of them and after the last (all of it when it holds no whole month). Each part is
/// an inclusive date range, empty when its start is after its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    /// First days of the first and the last whole month.
    pub months: (NaiveDate, NaiveDate),
    pub head: (NaiveDate, NaiveDate),
    pub tail: (NaiveDate, NaiveDate),
}

impl Cover {
    pub fn of(from: NaiveDate, to: NaiveDate) -> Cover {
        let first = if from.day() == 1 {
            Some(from)
        } else {
            month_after(from)
        };
        // The first day of the month after the last whole one.
        let end = to.succ_opt().map(|next| Span::Month.date_of(next));
        match (first, end) {
            (Some(first), Some(end)) if first < end && first <= to => {
                let last = end
                    .checked_sub_months(chrono::Months::new(1))
                    .unwrap_or(first);
                Cover {
                    months: (first, last),
                    head: (from, first.pred_opt().unwrap_or(first)),
                    tail: (end, to),
                }
            }
            _ => {
                let empty = (to.succ_opt().unwrap_or(to), to);
                Cover {
                    months: empty,
                    head: (from, to),
                    tail: empty,
                }
            }
        }
    }
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = diesel::sql_types::Text)]
    dimension: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    bucket: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    trades: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    wins: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    losses: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pnl: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    win_pnl: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    loss_pnl: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    r_sum: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    hold_secs: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    r_min: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    r_max: f64,
}

/// The sums of every breakdown and histogram (dimension, bucket) over the days `from..=to`: not
/// `All`'s (the days are read one by one) nor the fine R bins (the median's).
fn sums(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<(Dimension, String), Rollup>> {
    let dimensions: Vec<&str> = Dimension::ALL
        .into_iter()
        .filter(|d| !matches!(d, Dimension::All | Dimension::RFine))
        .map(Dimension::as_str)
        .collect();
    sums_of(conn, from, to, &dimensions)
}

/// The additive sums and R range (no streaks) of each bucket of the `dimension` columns given
/// ([`Dimension::column`]) over the days `from..=to`: the whole months' rows and the days at
/// either end, by the primary key (span, dimension, date).
fn sums_of(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
    columns: &[&str],
) -> QueryResult<BTreeMap<(Dimension, String), Rollup>> {
    use diesel::sql_types::Date;
    let cover = Cover::of(from, to);
    // The names are this program's, not input: a dimension's name, a fine bin's `r_fine/N`.
    let names: Vec<String> = columns.iter().map(|c| format!("'{c}'")).collect();
    let names = names.join(", ");
    let part = |span: Span, low: usize| {
        format!(
            "SELECT dimension, bucket, trades, wins, losses, pnl, win_pnl, loss_pnl, r_sum, \
             hold_secs, r_min, r_max FROM analytics_rollups WHERE span = '{}' AND dimension IN ({names}) \
             AND date >= ${low} AND date <= ${}",
            span.as_str(),
            low + 1
        )
    };
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back.
    let sql = format!(
        "SELECT dimension, bucket, CAST(SUM(trades) AS BIGINT) AS trades, \
         CAST(SUM(wins) AS BIGINT) AS wins, CAST(SUM(losses) AS BIGINT) AS losses, \
         SUM(pnl) AS pnl, SUM(win_pnl) AS win_pnl, SUM(loss_pnl) AS loss_pnl, \
         SUM(r_sum) AS r_sum, CAST(SUM(hold_secs) AS BIGINT) AS hold_secs, \
         MIN(r_min) AS r_min, MAX(r_max) AS r_max \
         FROM ({} UNION ALL {} UNION ALL {}) AS covered GROUP BY dimension, bucket",
        part(Span::Month, 1),
        part(Span::Day, 3),
        part(Span::Day, 5),
    );
    let rows: Vec<Sum> = diesel::sql_query(sql)
        .bind::<Date, _>(cover.months.0)
        .bind::<Date, _>(cover.months.1)
        .bind::<Date, _>(cover.head.0)
        .bind::<Date, _>(cover.head.1)
        .bind::<Date, _>(cover.tail.0)
        .bind::<Date, _>(cover.tail.1)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|s| {
            let dim = Dimension::of_column(&s.dimension, &s.bucket)?;
            let r = Rollup {
                trades: s.trades,
                wins: s.wins,
                losses: s.losses,
                pnl: s.pnl,
                win_pnl: s.win_pnl,
                loss_pnl: s.loss_pnl,
                r_sum: s.r_sum,
                hold_secs: s.hold_secs,
                r_min: s.r_min,
                r_max: s.r_max,
                ..Rollup::default()
            };
            Some(((dim, s.bucket), r))
        })
        .collect())
}

/// The exact median R of the trades closed on the days `from..=to`. The R histogram's counts
/// (in `sums`) say which 0.5 R bin holds the middle trade(s), its fine bins' counts (1/128 R)
/// which of those: when that fine bin's trades all share one R (its lowest equals its highest)
/// that is the value, otherwise only its trades are read, in R order, from its nearer end.
fn median_r(
    conn: &mut Conn,
    sums: &BTreeMap<(Dimension, String), Rollup>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Option<f64>> {
    use crate::domain::analytics::{r_fine_range, R_FINE_PER_R};
    let (start, end) = (day_bounds(from).0, day_bounds(to).1);
    let coarse = bins_of(Dimension::RBin, sums);
    let n: i64 = coarse.iter().map(|(_, r)| r.trades).sum();
    if n == 0 {
        return Ok(None);
    }
    let mut nth = |rank: i64| -> QueryResult<Option<f64>> {
        let Some((bin, _, rank)) = locate(&coarse, rank) else {
            return Ok(None);
        };
        let column = Dimension::RFine.column(&(bin * R_FINE_PER_R / 2).to_string());
        let fine = bins_of(Dimension::RFine, &sums_of(conn, from, to, &[&column])?);
        let Some((fine_bin, r, rank)) = locate(&fine, rank) else {
            return Ok(None);
        };
        if r.r_min == r.r_max {
            return Ok(Some(r.r_min));
        }
        nth_in_bin(conn, r_fine_range(fine_bin), rank, r.trades, start, end)
    };
    let low = nth((n - 1) / 2)?;
    let high = if n % 2 == 0 { nth(n / 2)? } else { low };
    Ok(match (low, high) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        _ => None,
    })
}

/// The numbered bins of `dimension` in `sums`, in order.
fn bins_of(
    dimension: Dimension,
    sums: &BTreeMap<(Dimension, String), Rollup>,
) -> Vec<(i64, Rollup)> {
    let mut bins: Vec<(i64, Rollup)> = sums
        .iter()
        .filter(|((d, _), _)| *d == dimension)
        .filter_map(|((_, k), r)| Some((k.parse::<i64>().ok()?, *r)))
        .collect();
    bins.sort_unstable_by_key(|(bin, _)| *bin);
    bins
}

/// The bin of `bins` that holds the `rank`-th trade (from 0), and the rank within it.
fn locate(bins: &[(i64, Rollup)], rank: i64) -> Option<(i64, Rollup, i64)> {
    let mut below = 0;
    for (bin, r) in bins {
        if rank < below + r.trades {
            return Some((*bin, *r, rank - below));
        }
        below += r.trades;
    }
    None
}

/// The `rank`-th smallest R (from 0) of the `count` trades with R in `[low, high)` (an open end
/// unbounded) closed in `[start, end)`.
fn nth_in_bin(
    conn: &mut Conn,
    (low, high): (Option<f64>, Option<f64>),
    rank: i64,
    count: i64,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Option<f64>> {
    use super::schema::journal_entries::dsl::*;
    let mut query = journal_entries
        .filter(closed_at.ge(clamp_bound(start)))
        .filter(closed_at.lt(clamp_bound(end)))
        .select(r_multiple)
        .into_boxed();
    if let Some(low) = low {
        query = query.filter(r_multiple.ge(low));
    }
    if let Some(high) = high {
        query = query.filter(r_multiple.lt(high));
    }
    let from_top = count - 1 - rank;
    let query = if from_top < rank {
        query.order(r_multiple.desc()).offset(from_top)
    } else {
        query.order(r_multiple.asc()).offset(rank)
    };
    query.limit(1).first(conn).optional()
}

/// Up to [`SCATTER_POINTS`] journal ids spread evenly over those of the `trades` trades closed
/// in `[start, end)`. A few thousand are read whole, by the `closed_at` index. Beyond that, ids
/// follow the order trades were booked, so an even spread of the id span between the range's
/// first and last close is one over time — a sample: ids are not always in closing order (a
/// trade closes at its quote's time, and the trades of a tick are booked one after the other),
/// so the span can leave out a trade booked out of order. Then the ids are candidates: one
/// missing or closed outside the range is left out by [`excursions`], which reads them anyway.
fn sample_ids(
    conn: &mut Conn,
    start: NaiveDateTime,
    end: NaiveDateTime,
    trades: i64,
) -> QueryResult<Vec<i32>> {
    use super::schema::journal_entries::dsl::*;
    let in_range = || {
        journal_entries
            .filter(closed_at.ge(clamp_bound(start)))
            .filter(closed_at.lt(clamp_bound(end)))
            .select(id)
    };
    if trades <= (SCATTER_POINTS * 4) as i64 {
        let mut ids: Vec<i32> = in_range().load(conn)?;
        ids.sort_unstable();
        return Ok(crate::domain::analytics::spread(&ids, SCATTER_POINTS));
    }
    let first: Option<i32> = in_range()
        .order((closed_at.asc(), id.asc()))
        .first(conn)
        .optional()?;
    let last: Option<i32> = in_range()
        .order((closed_at.desc(), id.desc()))
        .first(conn)
        .optional()?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let (low, high) = (first.min(last), first.max(last));
    if (high - low) as usize > SCATTER_POINTS * 4 {
        let step = f64::from(high - low) / (SCATTER_POINTS - 1) as f64;
        return Ok((0..SCATTER_POINTS)
            .map(|i| low + (i as f64 * step).round() as i32)
            .collect());
    }
    let span: Vec<i32> = (low..=high).collect();
    let mut found: Vec<i32> = Vec::new();
    for chunk in span.chunks(1_000) {
        found.extend(
            in_range()
                .filter(id.eq_any(chunk.to_vec()))
                .load::<i32>(conn)?,
        );
    }
    found.sort_unstable();
    Ok(crate::domain::analytics::spread(&found, SCATTER_POINTS))
}

/// Signal id, symbol, outcome, R, direction, entry, initial stop, best and worst price.
type ExcursionColumns = (i32, String, Outcome, f64, Direction, f64, f64, f64, f64);

/// The MAE/MFE excursions of those of the journal entries `ids` closed in `[start, end)`.
fn excursions(
    conn: &mut Conn,
    ids: &[i32],
    (start, end): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Vec<crate::domain::analytics::Excursion>> {
    use super::schema::journal_entries::dsl as j;
    use super::schema::signals::dsl as s;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let rows: Vec<ExcursionColumns> = j::journal_entries
            .inner_join(s::signals)
            .filter(j::id.eq_any(chunk.to_vec()))
            .filter(j::closed_at.ge(clamp_bound(start)))
            .filter(j::closed_at.lt(clamp_bound(end)))
            .order(j::id.asc())
            .select((
                s::id,
                j::symbol,
                j::outcome,
                j::r_multiple,
                s::direction,
                s::entry_price,
                s::initial_stop_loss,
                s::max_favorable_price,
                s::max_adverse_price,
            ))
            .load(conn)?;
        for (signal_id, symbol, outcome, r, direction, entry, stop, best, worst) in rows {
            let Some((mae_r, mfe_r)) =
                crate::domain::analytics::excursion(direction, entry, stop, best, worst)
            else {
                continue;
            };
            out.push(crate::domain::analytics::Excursion {
                signal_id,
                symbol,
                outcome,
                mae_r,
                mfe_r,
                r_multiple: r,
                efficiency: (mfe_r > 0.0).then(|| r / mfe_r),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn days(range: (NaiveDate, NaiveDate)) -> Vec<NaiveDate> {
        range.0.iter_days().take_while(|x| *x <= range.1).collect()
    }

    /// Every day of the range exactly once: in a whole month, or at an end.
    fn covered(cover: &Cover) -> Vec<NaiveDate> {
        let mut out = days(cover.head);
        for month in days(cover.months).into_iter().filter(|m| m.day() == 1) {
            let next = month.checked_add_months(chrono::Months::new(1)).unwrap();
            out.extend(month.iter_days().take_while(|x| *x < next));
        }
        out.extend(days(cover.tail));
        out.sort_unstable();
        out
    }

    #[test]
    fn a_cover_holds_every_day_once() {
        let cases = [
            ("2025-12-02", "2026-12-02", 11, "a year to today"),
            ("2026-01-01", "2026-12-31", 12, "a calendar year"),
            ("2026-11-01", "2026-11-30", 1, "one whole month"),
            ("2026-11-15", "2026-11-20", 0, "inside a month"),
            ("2026-10-31", "2026-11-01", 0, "across a month's end"),
            ("2026-02-01", "2026-02-28", 1, "February"),
            ("2026-05-05", "2026-05-05", 0, "one day"),
            (
                "2024-01-31",
                "2024-03-01",
                1,
                "a leap February between two ends",
            ),
        ];
        for (from, to, months, why) in cases {
            let (from, to) = (d(from), d(to));
            let cover = Cover::of(from, to);
            assert_eq!(covered(&cover), days((from, to)), "{why}");
            let whole = days(cover.months).iter().filter(|m| m.day() == 1).count();
            assert_eq!(whole, months, "{why}");
        }
    }
}
