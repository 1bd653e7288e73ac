//! Reading the domain's words (LONG, ACTIVE, TAKE_PROFIT, …) straight out of TEXT columns, so
//! row structs carry typed values and a bad word in the file is an error, not a string. Writes
//! bind `as_str()`, which keeps `domain` free of diesel.

use diesel::deserialize::{self, FromSql, Queryable};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};

use crate::domain::{Direction, ExitReason, Outcome, SignalStatus};

macro_rules! text_column {
    ($($kind:ty),+) => {$(
        impl FromSql<Text, Sqlite> for $kind {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
                Ok(text.parse::<$kind>()?)
            }
        }

        impl Queryable<Text, Sqlite> for $kind {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}

text_column!(Direction, SignalStatus, ExitReason, Outcome);
