//! Reading and writing the domain's words (LONG, ACTIVE, TAKE_PROFIT, …) in TEXT columns, so
//! row structs carry typed values and a bad word in the database is an error, not a string, on
//! either backend. A word is written as its `as_str()` spelling, which keeps `domain` free of
//! diesel.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

use crate::domain::{Direction, ExitReason, Outcome, SignalStatus, StopReason};

/// `AsExpression<$sql_type>` for `$ty`, bound as the word's `&'static str` spelling.
macro_rules! bound_as_str {
    ($ty:ty, $sql_type:ty) => {
        impl AsExpression<$sql_type> for $ty {
            type Expression = <&'static str as AsExpression<$sql_type>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<$sql_type>>::as_expression(self.as_str())
            }
        }
    };
}

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

        // Writing: a nullable column takes `Option<$kind>` through diesel's own `Option` impls,
        // which need `ToSql` of the word itself.
        impl<DB: Backend> ToSql<Text, DB> for $kind
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        bound_as_str!($kind, Text);
        bound_as_str!(&$kind, Text);
        bound_as_str!($kind, Nullable<Text>);
        bound_as_str!(&$kind, Nullable<Text>);
    )+};
}

text_column!(Direction, SignalStatus, ExitReason, Outcome, StopReason);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use crate::db::models::SignalRow;
    use crate::db::schema::signals;
    use crate::db::Conn;
    use crate::domain::{Direction, ExitReason, SignalStatus};

    #[test]
    fn a_whole_row_written_with_its_words_reads_back_the_same() {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_micro_opt(9, 30, 0, 123_456)
            .unwrap();
        let open = SignalRow {
            id: 7,
            symbol: "ETHUSDT".to_owned(),
            direction: Direction::Short,
            status: SignalStatus::Active,
            entry_price: 100.0,
            stop_loss: 105.0,
            take_profit: 90.0,
            quantity: 1.5,
            risk_amount: 7.5,
            confidence: 0.75,
            strategy: "api".to_owned(),
            timeframe: None,
            external_id: Some("x-1".to_owned()),
            reasons: String::new(),
            notes: None,
            current_price: 100.0,
            unrealized_pnl: -0.15,
            max_favorable_price: 100.0,
            max_adverse_price: 100.0,
            exit_price: None,
            exit_reason: None,
            pnl: None,
            fees: 0.15,
            created_at: at,
            closed_at: None,
            updated_at: at,
            initial_stop_loss: 105.0,
            remaining_quantity: 1.5,
            realized_pnl: 0.0,
            take_profits: "[]".to_owned(),
            breakeven_at_r: None,
            trailing_stop_pct: None,
            trailing_activate_at_r: 0.0,
            targets_hit: 0,
            stop_moved_by: None,
            entry_fee: 0.15,
        };
        let closed = SignalRow {
            id: 9,
            external_id: None,
            status: SignalStatus::Closed,
            exit_price: Some(90.0),
            exit_reason: Some(ExitReason::TakeProfit),
            pnl: Some(14.7),
            closed_at: Some(at),
            remaining_quantity: 0.0,
            realized_pnl: 14.7,
            ..open.clone()
        };
        for row in [&open, &closed] {
            diesel::insert_into(signals::table)
                .values(row)
                .execute(&mut conn)
                .unwrap();
        }
        let read: Vec<SignalRow> = signals::table
            .order(signals::id)
            .select(SignalRow::as_select())
            .load(&mut conn)
            .unwrap();
        assert_eq!(read, [open, closed]);
    }
}
