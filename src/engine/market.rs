//! The market state a tick writes (DESIGN.md §9): each polled quote is judged by the glitch guard
//! against the symbol's stored quote, and an accepted one replaces it, in the tick's transaction.
//! The guard's reference is therefore the database's, the same after a restart as before it.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::models::QuoteRow;
use crate::db::quotes;
use crate::db::Conn;
use crate::domain::market::{check_jump, JumpCheck, MAX_JUMP};
use crate::domain::time::truncate_to_micros;
use crate::feeds::{FeedError, Quote};

/// A poll after the glitch guard.
#[derive(Debug, Default)]
pub struct Guarded {
    /// Quotes to follow trades with, now stored.
    pub accepted: BTreeMap<String, Quote>,
    /// Jumps held back until the next poll confirms them.
    pub refused: BTreeMap<String, FeedError>,
}

/// The stored form of an accepted quote; its time is never later than `now`.
pub fn quote_row(quote: &Quote, now: NaiveDateTime) -> QuoteRow {
    QuoteRow {
        symbol: quote.symbol.clone(),
        price: quote.last_price,
        high_24h: quote.high_24h,
        low_24h: quote.low_24h,
        change_24h_pct: quote.change_24h_pct,
        volume_24h: quote.volume_24h,
        price_time: truncate_to_micros(quote.price_time.naive_utc().min(now)),
        market_time: truncate_to_micros(quote.market_time.naive_utc()),
        pending_price: None,
        pending_time: None,
        updated_at: now,
    }
}

/// Judge `polled` against the stored quotes (`domain::market::check_jump`), store what is
/// accepted and remember what is refused, inside the caller's write transaction.
pub fn guard_quotes(
    conn: &mut Conn,
    polled: BTreeMap<String, Quote>,
    now: NaiveDateTime,
) -> QueryResult<Guarded> {
    let symbols: Vec<&str> = polled.keys().map(String::as_str).collect();
    let stored: BTreeMap<String, QuoteRow> = quotes::for_symbols(conn, &symbols)?
        .into_iter()
        .map(|row| (row.symbol.clone(), row))
        .collect();
    let mut guarded = Guarded::default();
    for (symbol, quote) in polled {
        let previous = stored.get(&symbol);
        let verdict = check_jump(
            quote.last_price,
            previous.map(|q| q.price),
            previous.and_then(|q| q.pending_price),
        );
        match verdict {
            JumpCheck::Accepted => {
                quotes::store(conn, &quote_row(&quote, now))?;
                guarded.accepted.insert(symbol, quote);
            }
            JumpCheck::Refused { reference } => {
                quotes::set_pending(conn, &symbol, quote.last_price, now)?;
                let error = FeedError::Implausible {
                    price: quote.last_price,
                    previous: reference,
                    limit_pct: MAX_JUMP * 100.0,
                };
                guarded.refused.insert(symbol, error);
            }
        }
    }
    Ok(guarded)
}
