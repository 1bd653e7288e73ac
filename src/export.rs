//! `signaldesk export`: the signals, journal or daily stats as CSV or JSON, streamed in pages of
//! 1 000 rows (keyset on id) so a history of millions of rows never sits in memory. Column names
//! are the tables' own; times are RFC 3339 UTC as in the API.

use std::io::{self, Write};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::db::time::clamp_bound;
use crate::db::{daily_stats, journal, signals, Conn};
use crate::domain::time::days_overlapping;

const PAGE: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Signals,
    Journal,
    Daily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("writing: {0}")]
    Io(#[from] io::Error),
}

/// A CSV cell: quoted when it holds a comma, quote or line break.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The CSV header of each table: its column names in table order, which is also the order of
/// the fields of its row struct (a test holds them together). Printed even when no row matches,
/// so a script reading an empty export still finds its columns.
impl Table {
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Signals => &[
                "id",
                "symbol",
                "direction",
                "status",
                "entry_price",
                "stop_loss",
                "take_profit",
                "quantity",
                "risk_amount",
                "confidence",
                "strategy",
                "timeframe",
                "external_id",
                "reasons",
                "notes",
                "current_price",
                "unrealized_pnl",
                "max_favorable_price",
                "max_adverse_price",
                "exit_price",
                "exit_reason",
                "pnl",
                "fees",
                "created_at",
                "closed_at",
                "updated_at",
                "initial_stop_loss",
                "remaining_quantity",
                "realized_pnl",
                "take_profits",
                "breakeven_at_r",
                "trailing_stop_pct",
                "trailing_activate_at_r",
                "targets_hit",
                "stop_moved_by",
                "entry_fee",
            ],
            Table::Journal => &[
                "id",
                "signal_id",
                "symbol",
                "direction",
                "entry_price",
                "exit_price",
                "quantity",
                "pnl",
                "pnl_pct",
                "r_multiple",
                "outcome",
                "exit_reason",
                "opened_at",
                "closed_at",
                "duration_secs",
                "balance_after",
                "notes",
                "tags",
                "created_at",
                "updated_at",
                "exit_count",
            ],
            Table::Daily => &[
                "id",
                "date",
                "scan_count",
                "signals_generated",
                "trades_closed",
                "wins",
                "losses",
                "starting_balance",
                "paper_balance",
                "realized_pnl",
                "total_pnl",
                "updated_at",
            ],
        }
    }
}

struct Writer<'a, W: Write> {
    out: &'a mut W,
    format: Format,
    columns: &'static [&'static str],
    rows: usize,
}

impl<W: Write> Writer<'_, W> {
    fn start(&mut self) -> Result<(), ExportError> {
        if self.format == Format::Csv {
            writeln!(self.out, "{}", self.columns.join(","))?;
        }
        Ok(())
    }

    fn row(&mut self, row: &impl Serialize) -> Result<(), ExportError> {
        let value = serde_json::to_value(row).map_err(io::Error::other)?;
        match self.format {
            Format::Json => {
                self.out
                    .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *self.out, &value).map_err(io::Error::other)?;
            }
            Format::Csv => {
                let cells: Vec<String> = self
                    .columns
                    .iter()
                    .map(|column| cell(value.get(column).unwrap_or(&Value::Null)))
                    .collect();
                writeln!(self.out, "{}", cells.join(","))?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(self) -> Result<usize, ExportError> {
        if self.format == Format::Json {
            self.out
                .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        Ok(self.rows)
    }
}

/// Write `table` rows whose time (signals: created_at, journal: closed_at) lies in `[from, to)`,
/// or (daily) whose day overlaps it, to `out`; returns the number of rows.
pub fn export(
    conn: &mut Conn,
    table: Table,
    format: Format,
    from: NaiveDateTime,
    to: NaiveDateTime,
    out: &mut impl Write,
) -> Result<usize, ExportError> {
    let (from, to) = (clamp_bound(from), clamp_bound(to));
    let mut writer = Writer {
        out,
        format,
        columns: table.columns(),
        rows: 0,
    };
    writer.start()?;
    let mut after = 0;
    loop {
        let count = match table {
            Table::Signals => {
                let page = signals::page_created(conn, after, from, to, PAGE)?;
                for row in &page {
                    writer.row(row)?;
                }
                after = page.last().map_or(after, |r| r.id);
                page.len()
            }
            Table::Journal => {
                let page = journal::page_closed(conn, after, from, to, PAGE)?;
                for row in &page {
                    writer.row(row)?;
                }
                after = page.last().map_or(after, |r| r.id);
                page.len()
            }
            Table::Daily => {
                let Some((first_day, last_day)) = days_overlapping(from, to) else {
                    break;
                };
                let page = daily_stats::page_of_days(conn, after, first_day, last_day, PAGE)?;
                for row in &page {
                    writer.row(row)?;
                }
                after = page.last().map_or(after, |r| r.id);
                page.len()
            }
        };
        if (count as i64) < PAGE {
            break;
        }
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::intake::{opened_signal, SignalRequest};
    use crate::db::signals::{close_in_transaction, insert_signal, AddOutcome, CloseRequest};
    use crate::domain::trading::Sizing;
    use crate::domain::{Direction, ExitReason, Symbol};

    fn export_text(conn: &mut Conn, table: Table, format: Format) -> String {
        let (from, to) = (crate::db::time::EARLIEST, crate::db::time::LATEST);
        let mut out = Vec::new();
        export(conn, table, format, from, to, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_headers_are_the_row_fields_with_or_without_rows() {
        let mut conn = crate::db::connect(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let tables = [Table::Signals, Table::Journal, Table::Daily];
        for table in tables {
            let csv = export_text(&mut conn, table, Format::Csv);
            assert_eq!(
                csv,
                format!("{}\n", table.columns().join(",")),
                "{table:?} empty"
            );
        }
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let request = SignalRequest {
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            direction: Direction::Long,
            stop_loss: 95.0,
            take_profit: 110.0,
            confidence: 0.8,
            strategy: "test".to_owned(),
            timeframe: None,
            external_id: None,
            reasons: "fixture".to_owned(),
            notes: None,
            management: Default::default(),
        };
        let sizing = Sizing {
            quantity: 1.0,
            risk_amount: 5.0,
            entry_fee: 0.1,
        };
        let new = opened_signal(&request, 100.0, &sizing, &Default::default(), now);
        let close = CloseRequest {
            exit_price: 110.0,
            exit_reason: ExitReason::TakeProfit,
            fee_rate: 0.001,
            closed_at: now,
        };
        crate::db::write_tx(&mut conn, |conn| {
            let AddOutcome::Created(row) = insert_signal(conn, &new, 10_000.0)? else {
                panic!("a new signal");
            };
            close_in_transaction(conn, row.signal_id(), &close, 10_000.0)
        })
        .unwrap();
        for table in tables {
            let json: Vec<serde_json::Map<String, Value>> =
                serde_json::from_str(&export_text(&mut conn, table, Format::Json)).unwrap();
            let keys: Vec<&str> = json[0].keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                table.columns(),
                "{table:?}: the header is every field"
            );
            let csv = export_text(&mut conn, table, Format::Csv);
            assert_eq!(csv.lines().count(), 2, "{table:?}: header and one row");
        }
    }

    #[test]
    fn csv_cells_are_quoted_only_when_needed() {
        assert_eq!(cell(&Value::String("plain".into())), "plain");
        assert_eq!(cell(&Value::String("a,b".into())), "\"a,b\"");
        assert_eq!(
            cell(&Value::String("say \"hi\"".into())),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&serde_json::json!(1.5)), "1.5");
    }
}
