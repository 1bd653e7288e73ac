//! Reading the domain's words (LONG, ACTIVE, TAKE_PROFIT, …) straight out of TEXT columns, so
//! row structs carry typed values and a bad word in the database is an error, not a string, on
//! either backend. Writes bind `as_str()`, which keeps `domain` free of diesel.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::sql_types::Text;

use crate::domain::{Direction, ExitReason, Outcome, SignalStatus};

macro_rules! text_column {
    ($($kind:ty),+) => {$(
        impl<DB: Backend> FromSql<Text, DB> for $kind
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(value)?;
                Ok(text.parse::<$kind>()?)
            }
        }

        impl<DB: Backend> Queryable<Text, DB> for $kind
        where
            Self: FromSql<Text, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}

text_column!(Direction, SignalStatus, ExitReason, Outcome);
