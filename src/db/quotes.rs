//! `quotes`: the latest accepted quote of every symbol (DESIGN.md §9). The tick writes it in its
//! own transaction; new signals, manual closes, the price strip and the glitch guard read it, so
//! no price a decision uses lives only in one process's memory.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::QuoteRow;
use super::Conn;

/// The stored quote of `wanted`, if it was ever quoted.
pub fn get(conn: &mut Conn, wanted: &str) -> QueryResult<Option<QuoteRow>> {
    use super::schema::quotes::dsl::*;
    quotes
        .find(wanted)
        .select(QuoteRow::as_select())
        .first(conn)
        .optional()
}

/// The stored quotes of `symbols` (those that have one), in symbol order.
pub fn for_symbols(conn: &mut Conn, wanted: &[&str]) -> QueryResult<Vec<QuoteRow>> {
    use super::schema::quotes::dsl::*;
    quotes
        .filter(symbol.eq_any(wanted))
        .order(symbol.asc())
        .select(QuoteRow::as_select())
        .load(conn)
}

/// Store an accepted quote: it replaces the symbol's quote unless that one is newer (a late
/// answer never moves the price back), and clears a pending jump. Written as update-then-insert
/// inside the caller's write transaction, which makes it race-free.
pub fn store(conn: &mut Conn, quote: &QuoteRow) -> QueryResult<()> {
    use super::schema::quotes::dsl::*;
    let changed = diesel::update(
        quotes
            .find(&quote.symbol)
            .filter(price_time.le(quote.price_time)),
    )
    .set((
        price.eq(quote.price),
        high_24h.eq(quote.high_24h),
        low_24h.eq(quote.low_24h),
        change_24h_pct.eq(quote.change_24h_pct),
        volume_24h.eq(quote.volume_24h),
        price_time.eq(quote.price_time),
        market_time.eq(quote.market_time),
        pending_price.eq(None::<f64>),
        pending_time.eq(None::<NaiveDateTime>),
        updated_at.eq(quote.updated_at),
    ))
    .execute(conn)?;
    if changed == 0 && get(conn, &quote.symbol)?.is_none() {
        diesel::insert_into(quotes).values(quote).execute(conn)?;
    }
    Ok(())
}

/// Remember a jump the glitch guard refused, for the next poll to confirm.
pub fn set_pending(conn: &mut Conn, wanted: &str, jump: f64, at: NaiveDateTime) -> QueryResult<()> {
    use super::schema::quotes::dsl::*;
    diesel::update(quotes.find(wanted))
        .set((
            pending_price.eq(Some(jump)),
            pending_time.eq(Some(at)),
            updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
