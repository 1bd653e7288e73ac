//! `signaldesk export`: the signals, journal or daily stats as CSV or JSON, streamed in pages of
//! 1 000 rows (keyset on id) so a history of millions of rows never sits in memory. Column names
//! are the tables' own; times are RFC 3339 UTC as in the API.

use std::io::{self, Write};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::models::{DailyStatsRow, JournalEntryRow, SignalRow};
use crate::domain::time::{clamp_bound, days_overlapping};

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

struct Writer<'a, W: Write> {
    out: &'a mut W,
    format: Format,
    rows: usize,
}

impl<W: Write> Writer<'_, W> {
    fn row(&mut self, row: &impl Serialize) -> Result<(), ExportError> {
        let value = serde_json::to_value(row).map_err(io::Error::other)?;
        match self.format {
            Format::Json => {
                self.out
                    .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *self.out, &value).map_err(io::Error::other)?;
            }
            Format::Csv => {
                let Value::Object(map) = value else {
                    return Ok(());
                };
                if self.rows == 0 {
                    let header: Vec<&str> = map.keys().map(String::as_str).collect();
                    writeln!(self.out, "{}", header.join(","))?;
                }
                let cells: Vec<String> = map.values().map(cell).collect();
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
    conn: &mut SqliteConnection,
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
        rows: 0,
    };
    let mut after = 0;
    loop {
        let count = match table {
            Table::Signals => {
                use crate::db::schema::signals::dsl::*;
                let page: Vec<SignalRow> = signals
                    .filter(id.gt(after))
                    .filter(created_at.ge(from).and(created_at.lt(to)))
                    .order(id.asc())
                    .limit(PAGE)
                    .select(SignalRow::as_select())
                    .load(conn)?;
                for row in &page {
                    writer.row(row)?;
                }
                after = page.last().map_or(after, |r| r.id);
                page.len()
            }
            Table::Journal => {
                use crate::db::schema::journal_entries::dsl::*;
                let page: Vec<JournalEntryRow> = journal_entries
                    .filter(id.gt(after))
                    .filter(closed_at.ge(from).and(closed_at.lt(to)))
                    .order(id.asc())
                    .limit(PAGE)
                    .select(JournalEntryRow::as_select())
                    .load(conn)?;
                for row in &page {
                    writer.row(row)?;
                }
                after = page.last().map_or(after, |r| r.id);
                page.len()
            }
            Table::Daily => {
                use crate::db::schema::daily_stats::dsl::*;
                let Some((first_day, last_day)) = days_overlapping(from, to) else {
                    break;
                };
                let page: Vec<DailyStatsRow> = daily_stats
                    .filter(id.gt(after))
                    .filter(date.ge(first_day).and(date.le(last_day)))
                    .order(id.asc())
                    .limit(PAGE)
                    .select(DailyStatsRow::as_select())
                    .load(conn)?;
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
