//! Notifications (DESIGN.md §12), database-first like everything else: what a change announces
//! is written to the `notifications` outbox by the [`Outbox`], inside the transaction that makes
//! the change, one row per target; the leader's [`sender`] delivers the rows later, retrying
//! until they are sent or given up. A crash between a close and its message loses nothing: the
//! row committed with the close, and is sent after the restart.
//!
//! A row's payload is a [`Note`]: the message as plain text (a title, a few lines, the trade
//! page's link) and the event's figures as JSON. Each target's own formatting and escaping is
//! applied when it is sent ([`render`]).

pub mod deliver;
pub mod render;
pub mod sender;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Config;
use crate::db::exits::{self, Booked};
use crate::db::models::SignalRow;
use crate::db::{notifications, Conn};
use crate::domain::format::price;
use crate::domain::management::StopMove;
use crate::domain::notify::{Event, Target};
use crate::domain::Direction;

/// A notification as stored in `notifications.payload`, and as the generic webhook receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub event: String,
    /// One line saying what happened.
    pub title: String,
    /// The details, one per line, plain text.
    pub lines: Vec<String>,
    /// The trade page, when `SIGNALDESK_PUBLIC_URL` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The event's figures, for scripts.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Note {
    /// The whole message as plain text: the title, the lines, the link.
    pub fn text(&self) -> String {
        let mut text = self.title.clone();
        for line in &self.lines {
            text.push('\n');
            text.push_str(line);
        }
        if let Some(url) = &self.url {
            text.push('\n');
            text.push_str(url);
        }
        text
    }
}

/// What to queue, and for whom: the configured targets (by their masked names, as the outbox
/// stores them), the events they want, and what the messages need from the configuration.
/// [`Outbox::off`] queues nothing (backtests, imports, benchmarks without notifications).
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    targets: Vec<String>,
    events: Vec<Event>,
    public_url: Option<String>,
    /// At or below this balance the account is blown (`SIGNALDESK_MIN_BALANCE`).
    min_balance: f64,
}

impl Outbox {
    pub const fn off() -> Outbox {
        Outbox {
            targets: Vec::new(),
            events: Vec::new(),
            public_url: None,
            min_balance: 0.0,
        }
    }

    pub fn new(
        targets: &[Target],
        events: &[Event],
        public_url: Option<&str>,
        min_balance: f64,
    ) -> Outbox {
        Outbox {
            targets: targets.iter().map(Target::masked).collect(),
            events: events.to_vec(),
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            min_balance,
        }
    }

    pub fn from_config(config: &Config) -> Outbox {
        Outbox::new(
            &config.notify,
            &config.notify_events,
            config.public_url.as_deref(),
            config.rules.min_balance,
        )
    }

    /// Whether `event` goes anywhere.
    pub fn wants(&self, event: Event) -> bool {
        !self.targets.is_empty() && self.events.contains(&event)
    }

    /// Queue `note` as `event` under `dedupe_key` for every target, in the caller's transaction.
    pub fn queue(
        &self,
        conn: &mut Conn,
        event: Event,
        dedupe_key: &str,
        note: &Note,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        if !self.wants(event) {
            return Ok(0);
        }
        let payload = serde_json::to_string(note).unwrap_or_default();
        notifications::enqueue(conn, &self.targets, event, dedupe_key, &payload, now)
    }

    /// Queue `notes` for every target that wants them, in one statement per 1 000 rows, in the
    /// caller's transaction. Returns the rows written.
    pub fn queue_all(&self, conn: &mut Conn, notes: &[Queued]) -> QueryResult<usize> {
        let mut rows = Vec::new();
        for queued in notes.iter().filter(|q| self.wants(q.event)) {
            let payload = serde_json::to_string(&queued.note).unwrap_or_default();
            for target in &self.targets {
                rows.push(notifications::NewNotification {
                    target: target.clone(),
                    event: queued.event,
                    dedupe_key: queued.key.clone(),
                    payload: payload.clone(),
                    at: queued.at,
                });
            }
        }
        let mut written = 0;
        for chunk in rows.chunks(1_000) {
            written += notifications::enqueue_rows(conn, chunk)?;
        }
        Ok(written)
    }

    /// Whether `dedupe_key` is already in the outbox (for the first target: all get it at once).
    pub fn queued(&self, conn: &mut Conn, dedupe_key: &str) -> QueryResult<bool> {
        match self.targets.first() {
            Some(target) => notifications::queued(conn, target, dedupe_key),
            None => Ok(false),
        }
    }

    fn trade_url(&self, id: i32) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/trades/{id}"))
    }

    /// A signal was opened as a paper trade.
    pub fn signal_opened(&self, conn: &mut Conn, signal: &SignalRow) -> QueryResult<usize> {
        if !self.wants(Event::SignalOpened) {
            return Ok(0);
        }
        let mut lines = vec![
            format!(
                "Entry {} · stop {} · target {}",
                price(signal.entry_price),
                price(signal.stop_loss),
                price(signal.take_profit)
            ),
            format!(
                "Size {} · risk {:.2} · confidence {:.2}",
                price(signal.quantity),
                signal.risk_amount,
                signal.confidence
            ),
            format!(
                "Strategy {}{}",
                signal.strategy,
                signal
                    .timeframe
                    .as_deref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default()
            ),
        ];
        lines.extend(notes_line(signal.notes.as_deref()));
        let note = Note {
            event: Event::SignalOpened.as_str().to_owned(),
            title: format!(
                "{} {} {} opened (#{})",
                side_mark(signal.direction),
                signal.symbol,
                signal.direction,
                signal.id
            ),
            lines,
            url: self.trade_url(signal.id),
            data: json!({
                "signal_id": signal.id,
                "symbol": signal.symbol,
                "direction": signal.direction,
                "entry_price": signal.entry_price,
                "stop_loss": signal.stop_loss,
                "take_profit": signal.take_profit,
                "quantity": signal.quantity,
                "risk_amount": signal.risk_amount,
                "confidence": signal.confidence,
                "strategy": signal.strategy,
                "timeframe": signal.timeframe,
                "notes": signal.notes,
            }),
        };
        let key = format!("signal_opened:{}", signal.id);
        self.queue(conn, Event::SignalOpened, &key, &note, signal.created_at)
    }

    /// An exit was booked (`exits::exit_in_transaction`): a partial exit (`trade_exit`) or the
    /// close (`trade_closed`, with the trade's exits and stop moves), and `account_blown` when
    /// this exit took the balance to `SIGNALDESK_MIN_BALANCE` or below. `stop_move` is the move
    /// of the stop that follows a partial exit in the same interval (breakeven, trailing).
    pub fn exit_booked(
        &self,
        conn: &mut Conn,
        booked: &Booked,
        stop_move: Option<&StopMove>,
    ) -> QueryResult<usize> {
        let notes = self.exit_notes(conn, booked, stop_move)?;
        self.queue_all(conn, &notes)
    }

    /// The notifications of [`Outbox::exit_booked`], to be queued by [`Outbox::queue_all`] in
    /// the same transaction (the tick queues a whole tick's at once).
    pub fn exit_notes(
        &self,
        conn: &mut Conn,
        booked: &Booked,
        stop_move: Option<&StopMove>,
    ) -> QueryResult<Vec<Queued>> {
        let mut queued = Vec::new();
        let signal = &booked.signal;
        let exit = &booked.exit;
        let r_of = |pnl: f64| {
            if signal.risk_amount > 0.0 {
                pnl / signal.risk_amount
            } else {
                0.0
            }
        };
        match &booked.journal {
            None if self.wants(Event::TradeExit) => {
                let note = Note {
                    event: Event::TradeExit.as_str().to_owned(),
                    title: format!(
                        "{} {} {} partial exit (#{}): {}",
                        pnl_mark(exit.pnl),
                        signal.symbol,
                        signal.direction,
                        signal.id,
                        exit.reason
                    ),
                    lines: vec![
                        format!(
                            "Sold {} at {} · pnl {:+.2} ({:+.2}R)",
                            price(exit.quantity),
                            price(exit.price),
                            exit.pnl,
                            r_of(exit.pnl)
                        ),
                        format!(
                            "Entry {} · {} of {} left · {}",
                            price(signal.entry_price),
                            price(signal.remaining_quantity),
                            price(signal.quantity),
                            match stop_move {
                                Some(m) => format!(
                                    "stop {} → {} ({})",
                                    price(m.old_stop),
                                    price(m.new_stop),
                                    m.reason
                                ),
                                None => format!("stop {}", price(signal.stop_loss)),
                            }
                        ),
                        format!("Balance {:.2}", booked.balance_after),
                    ],
                    url: self.trade_url(signal.id),
                    data: json!({
                        "signal_id": signal.id,
                        "symbol": signal.symbol,
                        "direction": signal.direction,
                        "exit_id": exit.id,
                        "reason": exit.reason,
                        "price": exit.price,
                        "quantity": exit.quantity,
                        "pnl": exit.pnl,
                        "r_multiple": r_of(exit.pnl),
                        "remaining_quantity": signal.remaining_quantity,
                        "stop_loss": stop_move.map_or(signal.stop_loss, |m| m.new_stop),
                        "balance": booked.balance_after,
                    }),
                };
                queued.push(Queued {
                    event: Event::TradeExit,
                    key: format!("trade_exit:{}:{}", signal.id, exit.id),
                    note,
                    at: exit.created_at,
                });
            }
            None => {}
            Some(journal) if self.wants(Event::TradeClosed) => {
                // Read only what there is: most trades close in one exit, with their first stop.
                let all_exits = if journal.exit_count > 1 {
                    exits::exits_of(conn, signal.signal_id())?
                } else {
                    Vec::new()
                };
                let moves = if signal.stop_moved_by.is_some() {
                    exits::stop_moves_of(conn, signal.signal_id())?
                } else {
                    Vec::new()
                };
                let mut lines = vec![
                    format!(
                        "Entry {} → exit {}",
                        price(journal.entry_price),
                        price(journal.exit_price)
                    ),
                    format!(
                        "PnL {:+.2} ({:+.2}%) · {:+.2}R",
                        journal.pnl, journal.pnl_pct, journal.r_multiple
                    ),
                ];
                if all_exits.len() > 1 {
                    let parts: Vec<String> = all_exits
                        .iter()
                        .map(|e| {
                            format!(
                                "{} at {} ({:+.2})",
                                price(e.quantity),
                                price(e.price),
                                e.pnl
                            )
                        })
                        .collect();
                    lines.push(format!("Exits: {}", parts.join(", ")));
                }
                if !moves.is_empty() {
                    let parts: Vec<String> = moves
                        .iter()
                        .map(|m| {
                            format!(
                                "{} → {} ({})",
                                price(m.old_stop),
                                price(m.new_stop),
                                m.reason
                            )
                        })
                        .collect();
                    lines.push(format!("Stop moves: {}", parts.join(", ")));
                }
                lines.push(format!(
                    "Balance {:.2} · held {}",
                    booked.balance_after,
                    held(journal.duration_secs)
                ));
                lines.extend(notes_line(journal.notes.as_deref()));
                let note = Note {
                    event: Event::TradeClosed.as_str().to_owned(),
                    title: format!(
                        "{} {} {} closed (#{}): {}",
                        pnl_mark(journal.pnl),
                        signal.symbol,
                        signal.direction,
                        signal.id,
                        journal.exit_reason
                    ),
                    lines,
                    url: self.trade_url(signal.id),
                    data: json!({
                        "signal_id": signal.id,
                        "symbol": signal.symbol,
                        "direction": signal.direction,
                        "entry_price": journal.entry_price,
                        "exit_price": journal.exit_price,
                        "exit_reason": journal.exit_reason,
                        "quantity": journal.quantity,
                        "pnl": journal.pnl,
                        "pnl_pct": journal.pnl_pct,
                        "r_multiple": journal.r_multiple,
                        "outcome": journal.outcome,
                        "balance": booked.balance_after,
                        "duration_secs": journal.duration_secs,
                        "exits": journal.exit_count,
                        "stop_moves": moves.len(),
                        "notes": journal.notes,
                    }),
                };
                queued.push(Queued {
                    event: Event::TradeClosed,
                    key: format!("trade_closed:{}", signal.id),
                    note,
                    at: journal.closed_at,
                });
            }
            Some(_) => {}
        }
        let before = booked.balance_after - exit.pnl;
        if self.wants(Event::AccountBlown)
            && booked.balance_after <= self.min_balance
            && before > self.min_balance
        {
            let note = Note {
                event: Event::AccountBlown.as_str().to_owned(),
                title: format!("⛔ Account blown: balance {:.2}", booked.balance_after),
                lines: vec![
                    format!(
                        "At or below the minimum balance {:.2}: no new trades open",
                        self.min_balance
                    ),
                    format!("After #{} {} ({:+.2})", signal.id, signal.symbol, exit.pnl),
                ],
                url: self.public_url.clone(),
                data: json!({
                    "balance": booked.balance_after,
                    "min_balance": self.min_balance,
                    "signal_id": signal.id,
                }),
            };
            queued.push(Queued {
                event: Event::AccountBlown,
                key: format!("account_blown:{}", exit.id),
                note,
                at: exit.created_at,
            });
        }
        Ok(queued)
    }

    /// Announce the feed's health as of `at` when it differs from the last one announced (read
    /// from the outbox, so a restart or a new leader does not announce it again): `feed_down`
    /// when no symbol has a fresh price, `feed_recovered` when prices return after that.
    pub fn feed_health(
        &self,
        conn: &mut Conn,
        down: bool,
        source: &str,
        error: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        if !self.wants(Event::FeedDown) && !self.wants(Event::FeedRecovered) {
            return Ok(0);
        }
        // Without feed_recovered, an outage's end leaves no mark: each outage is announced.
        let announced_down = self.wants(Event::FeedRecovered)
            && notifications::latest_of(conn, &[Event::FeedDown, Event::FeedRecovered])?.as_deref()
                == Some(Event::FeedDown.as_str());
        if down == announced_down {
            return Ok(0);
        }
        self.feed_changed(conn, down, source, error, at)
    }

    /// The feed failed for every symbol (`down`) or is fresh again, as of the event at `since`
    /// (its dedupe key: one message per change).
    pub fn feed_changed(
        &self,
        conn: &mut Conn,
        down: bool,
        source: &str,
        error: Option<&str>,
        since: NaiveDateTime,
    ) -> QueryResult<usize> {
        let event = if down {
            Event::FeedDown
        } else {
            Event::FeedRecovered
        };
        let (title, lines) = if down {
            (
                format!("⚠️ Price feed {source} is down"),
                vec![
                    error.map(one_line).unwrap_or_default(),
                    "Open trades are not followed until fresh prices return".to_owned(),
                ],
            )
        } else {
            (
                format!("✅ Price feed {source} recovered"),
                vec!["Fresh prices again: open trades are followed".to_owned()],
            )
        };
        let note = Note {
            event: event.as_str().to_owned(),
            title,
            lines: lines.into_iter().filter(|l| !l.is_empty()).collect(),
            url: self.public_url.clone(),
            data: json!({"source": source, "error": error, "since": since.and_utc().to_rfc3339()}),
        };
        let key = format!("{}:{}", event.as_str(), since.and_utc().timestamp_micros());
        self.queue(conn, event, &key, &note, since)
    }

    /// Instance `holder` took the leader's lease at `epoch`.
    pub fn leader_changed(
        &self,
        conn: &mut Conn,
        holder: &str,
        epoch: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let note = Note {
            event: Event::LeaderChanged.as_str().to_owned(),
            title: format!("👑 {holder} now leads"),
            lines: vec![format!(
                "It ticks, scans and sends notifications (lease epoch {epoch})"
            )],
            url: self.public_url.clone(),
            data: json!({"holder": holder, "epoch": epoch}),
        };
        let key = format!("leader_changed:{epoch}");
        self.queue(conn, Event::LeaderChanged, &key, &note, now)
    }

    /// The summary of `day`'s closed trades.
    pub fn daily_summary(
        &self,
        conn: &mut Conn,
        day: chrono::NaiveDate,
        summary: &DaySummary,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let s = summary;
        let mut lines = vec![format!(
            "{} trades · {} won · win rate {:.0}%",
            s.trades,
            s.wins,
            s.win_rate() * 100.0
        )];
        lines.push(format!("PnL {:+.2} · {:+.2}R", s.pnl, s.r));
        lines.push(format!(
            "Max drawdown {:.2} ({:.2}%)",
            s.max_drawdown, s.max_drawdown_pct
        ));
        lines.push(format!("Balance {:.2} · {} open", s.balance, s.open_trades));
        let note = Note {
            event: Event::DailySummary.as_str().to_owned(),
            title: format!("📊 {day}: {:+.2}", s.pnl),
            lines,
            url: self
                .public_url
                .as_ref()
                .map(|base| format!("{base}/journal")),
            data: json!({
                "day": day.to_string(),
                "trades": s.trades,
                "wins": s.wins,
                "win_rate": s.win_rate(),
                "pnl": s.pnl,
                "r_multiple": s.r,
                "max_drawdown": s.max_drawdown,
                "max_drawdown_pct": s.max_drawdown_pct,
                "balance": s.balance,
                "open_trades": s.open_trades,
            }),
        };
        let key = format!("daily_summary:{day}");
        self.queue(conn, Event::DailySummary, &key, &note, now)
    }
}

/// A notification made, not yet queued.
#[derive(Debug, Clone)]
pub struct Queued {
    pub event: Event,
    pub key: String,
    pub note: Note,
    pub at: NaiveDateTime,
}

/// A day's closed trades, for [`Outbox::daily_summary`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaySummary {
    pub trades: i64,
    pub wins: i64,
    pub pnl: f64,
    /// Σ R of the day's trades.
    pub r: f64,
    /// The deepest fall of the balance from its high during the day, over the day's exits.
    pub max_drawdown: f64,
    pub max_drawdown_pct: f64,
    /// The balance at the end of the day.
    pub balance: f64,
    /// Trades open when the summary was made.
    pub open_trades: i64,
}

impl DaySummary {
    pub fn win_rate(&self) -> f64 {
        if self.trades > 0 {
            self.wins as f64 / self.trades as f64
        } else {
            0.0
        }
    }
}

/// `day`'s figures from the database: its closed trades (journal), the balance after each of
/// its exits (for the drawdown, from the day's opening balance), the trades open now.
pub fn summarise_day(
    conn: &mut Conn,
    day: chrono::NaiveDate,
    initial_balance: f64,
) -> QueryResult<DaySummary> {
    use diesel::prelude::*;

    use crate::db::schema::{signals, trade_exits};
    use crate::domain::Outcome;
    let (start, end) = crate::domain::time::day_bounds(day);
    let closed = crate::db::journal::get_journal_entries_today(conn, day)?;
    let balances: Vec<f64> = trade_exits::table
        .filter(trade_exits::created_at.ge(start))
        .filter(trade_exits::created_at.lt(end))
        .order(trade_exits::id.asc())
        .select(trade_exits::balance_after)
        .load(conn)?;
    let opening = match crate::db::daily_stats::for_date(conn, day)? {
        Some(row) => row.starting_balance,
        None => crate::db::daily_stats::current_balance(conn, initial_balance)?,
    };
    let mut peak = opening;
    let (mut max_drawdown, mut max_drawdown_pct) = (0.0_f64, 0.0_f64);
    for balance in &balances {
        peak = peak.max(*balance);
        let fall = peak - balance;
        if fall > max_drawdown {
            max_drawdown = fall;
            max_drawdown_pct = if peak > 0.0 { fall / peak * 100.0 } else { 0.0 };
        }
    }
    let open_trades: i64 = signals::table
        .filter(crate::db::signals::is_active())
        .count()
        .get_result(conn)?;
    Ok(DaySummary {
        trades: closed.len() as i64,
        wins: closed.iter().filter(|j| j.outcome == Outcome::Win).count() as i64,
        pnl: closed.iter().map(|j| j.pnl).sum(),
        r: closed.iter().map(|j| j.r_multiple).sum(),
        max_drawdown,
        max_drawdown_pct,
        balance: balances.last().copied().unwrap_or(opening),
        open_trades,
    })
}

fn side_mark(direction: Direction) -> &'static str {
    match direction {
        Direction::Long => "🟢",
        Direction::Short => "🔴",
    }
}

fn pnl_mark(pnl: f64) -> &'static str {
    if pnl > 0.0 {
        "✅"
    } else if pnl < 0.0 {
        "❌"
    } else {
        "➖"
    }
}

/// `Notes: …` on one line, when there are notes.
fn notes_line(notes: Option<&str>) -> Option<String> {
    notes
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!("Notes: {}", one_line(n)))
}

/// User text on one line, at most 200 characters: notes must not take over a phone's screen.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 200 {
        let cut: String = flat.chars().take(199).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// `3d 4h`, `2h 5m`, `12m`, `40s`.
fn held(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{}s", secs.max(0)),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_reads_short() {
        assert_eq!(held(40), "40s");
        assert_eq!(held(12 * 60 + 5), "12m");
        assert_eq!(held(2 * 3_600 + 5 * 60), "2h 5m");
        assert_eq!(held(3 * 86_400 + 4 * 3_600 + 59), "3d 4h");
    }

    #[test]
    fn notes_are_one_short_line() {
        assert_eq!(one_line("a\n\n b\tc "), "a b c");
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), 200);
    }

    #[test]
    fn a_note_reads_as_plain_text() {
        let note = Note {
            event: "trade_closed".into(),
            title: "T".into(),
            lines: vec!["a".into(), "b".into()],
            url: Some("https://x/trades/1".into()),
            data: json!({}),
        };
        assert_eq!(note.text(), "T\na\nb\nhttps://x/trades/1");
        let back: Note = serde_json::from_str(&serde_json::to_string(&note).unwrap()).unwrap();
        assert_eq!(back, note);
    }
}
