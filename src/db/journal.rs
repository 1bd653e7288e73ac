//! `journal_entries`: the trading journal, one entry per closed trade. Entries are written by
//! [`super::signals::close_signal`] in the transaction that closes the trade.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::models::{JournalEntryRow, NewJournalEntry};
use crate::domain::time::day_bounds;

/// Insert one journal entry. The UNIQUE `signal_id` makes a second entry for a trade fail.
pub fn add_journal_entry(
    conn: &mut SqliteConnection,
    entry: &NewJournalEntry,
) -> QueryResult<JournalEntryRow> {
    use super::schema::journal_entries::dsl::*;
    diesel::insert_into(journal_entries)
        .values(entry)
        .returning(JournalEntryRow::as_returning())
        .get_result(conn)
}

/// Entries of trades closed on the UTC day `day`, newest first (a range on `closed_at`).
pub fn get_journal_entries_today(
    conn: &mut SqliteConnection,
    day: NaiveDate,
) -> QueryResult<Vec<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    let (start, end) = day_bounds(day);
    journal_entries
        .filter(closed_at.ge(start).and(closed_at.lt(end)))
        .order((closed_at.desc(), id.desc()))
        .select(JournalEntryRow::as_select())
        .load(conn)
}

/// The entry of one trade, if it has been closed.
pub fn for_signal(
    conn: &mut SqliteConnection,
    trade_id: i32,
) -> QueryResult<Option<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    journal_entries
        .filter(signal_id.eq(trade_id))
        .select(JournalEntryRow::as_select())
        .first(conn)
        .optional()
}

/// Replace the user-editable notes and tags of an entry.
pub fn update_notes(
    conn: &mut SqliteConnection,
    entry_id: i32,
    new_notes: Option<&str>,
    new_tags: &str,
    now: NaiveDateTime,
) -> QueryResult<JournalEntryRow> {
    use super::schema::journal_entries::dsl::*;
    diesel::update(journal_entries.find(entry_id))
        .set((notes.eq(new_notes), tags.eq(new_tags), updated_at.eq(now)))
        .returning(JournalEntryRow::as_returning())
        .get_result(conn)
}
