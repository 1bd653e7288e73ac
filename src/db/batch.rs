//! Many rows in one statement on SQLite: a `VALUES` list of bound parameters, padded with rows
//! that match nothing to one of a few fixed lengths ([`SIZES`]). Each length is then one SQL text,
//! so diesel keeps its prepared statement (keyed by that text) and SQLite parses the thousands of
//! placeholders of a full batch once per connection, not once per batch: a profile of the tick
//! found a quarter of its time in that parsing. PostgreSQL binds arrays instead (`unnest`) and
//! needs none of this.

use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

/// The lengths a batch is padded to: at most 4 times the rows it holds, and six statements per
/// kind of batch in a connection's cache.
pub const SIZES: [usize; 6] = [1, 4, 16, 64, 256, 1_000];

/// The most rows one batch holds.
pub const MAX_ROWS: usize = SIZES[SIZES.len() - 1];

/// One row of a `VALUES` list: pushes `(?, ?, …)` with its values bound.
pub trait ValuesRow: Sized {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()>;

    /// A row the statement ignores (its `WHERE` leaves it out), to pad a batch.
    fn padding() -> Self;
}

/// `head` `VALUES (…), (…)` `tail`, the rows padded to the next of [`SIZES`].
pub struct Values<R> {
    head: &'static str,
    rows: Vec<R>,
    tail: &'static str,
}

impl<R: ValuesRow> Values<R> {
    /// At most [`MAX_ROWS`] rows.
    pub fn new(head: &'static str, mut rows: Vec<R>, tail: &'static str) -> Self {
        debug_assert!(!rows.is_empty() && rows.len() <= MAX_ROWS);
        let size = SIZES
            .iter()
            .copied()
            .find(|size| *size >= rows.len())
            .unwrap_or(rows.len());
        rows.resize_with(size, R::padding);
        Values { head, rows, tail }
    }

    pub fn execute(self, conn: &mut SqliteConnection) -> QueryResult<usize> {
        RunQueryDsl::execute(self, conn)
    }
}

impl<R> QueryId for Values<R> {
    type QueryId = ();
    // Cached by its SQL text, which the padding keeps to a few.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<R: ValuesRow> QueryFragment<Sqlite> for Values<R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(self.head);
        out.push_sql(" VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            row.push(&mut out)?;
        }
        out.push_sql(self.tail);
        Ok(())
    }
}

impl<R> RunQueryDsl<SqliteConnection> for Values<R> {}
