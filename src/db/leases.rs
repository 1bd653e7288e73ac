//! `leases`: which instance is the leader (DESIGN.md §9), and when the leader's occasional jobs
//! are next due ([`take_due`]). The leader alone runs the scheduled jobs
//! (`update_paper_trades`, the scanner, the candle prune). It takes or renews the `leader` lease
//! at the start of every tick ([`claim`]), and every write it makes as leader runs in
//! [`fenced`], which checks inside that write's own transaction that the lease is still its own,
//! at the same epoch, and not expired. An instance that was paused or cut off past its lease therefore writes nothing
//! when it wakes, even in the middle of a tick: another instance has taken the lease with the
//! next epoch, or will have to wait for the write lock this transaction holds.
//!
//! Every time here is the database's clock ([`db_now`]), so instances on machines whose clocks
//! disagree still agree on who leads.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use serde::Serialize;

use super::models::rfc3339;
use super::schema::leases;
use super::{write_tx, Backend, Conn};
use crate::domain::time::truncate_to_micros;

/// The lease of the leader.
pub const LEADER: &str = "leader";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = leases, check_for_backend(crate::db::MultiBackend))]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    /// Counts the changes of holder: a takeover gets the next epoch.
    pub epoch: i64,
    #[serde(with = "rfc3339")]
    pub acquired_at: NaiveDateTime,
    #[serde(with = "rfc3339")]
    pub expires_at: NaiveDateTime,
}

/// Proof of leadership: the holder and the epoch it was granted. A write made with it lands only
/// while the lease is still exactly this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub holder: String,
    pub epoch: i64,
}

/// What [`claim`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// `me` holds the lease until `lease.expires_at`.
    Leader { fence: Fence, lease: LeaseRow },
    /// Another instance holds the lease, until `lease.expires_at` unless it renews; `now` is
    /// the database's clock when that was read.
    Follower { lease: LeaseRow, now: NaiveDateTime },
}

/// The database's clock now, in UTC. On SQLite the database is a file on this machine, so its
/// clock is this process's clock; PostgreSQL's is the server's (the real time, not the start of
/// the transaction).
pub fn db_now(conn: &mut Conn) -> QueryResult<NaiveDateTime> {
    match conn.backend() {
        Backend::Sqlite => Ok(crate::clock::now_utc()),
        Backend::Postgres => diesel::select(diesel::dsl::sql::<Timestamp>(
            "CAST(clock_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)",
        ))
        .get_result(conn)
        .map(truncate_to_micros),
    }
}

/// The lease `name`, if anyone ever held it.
pub fn current(conn: &mut Conn, name: &str) -> QueryResult<Option<LeaseRow>> {
    leases::table
        .find(name)
        .select(LeaseRow::as_select())
        .first(conn)
        .optional()
}

/// Take or renew the lease `name` for `me`, lasting `length` from now, in one write transaction:
/// renewed while `me` holds it, taken (with the next epoch) when it is free or has expired, and
/// left alone while another holder's lease runs. The database's clock decides.
pub fn claim(conn: &mut Conn, name: &str, me: &str, length: Duration) -> QueryResult<Claim> {
    write_tx(conn, |conn| {
        claim_in_transaction(conn, name, me, length, &|_, _| false)
    })
}

/// [`claim`] inside a write transaction the caller holds. `gone(hostname, pid)` says whether
/// the holder's process (from its `instances` row) is known to have died: a leader killed on
/// this machine is then replaced at once, without waiting for its lease to run out (a restart
/// after `kill -9`). Only a definite answer counts: when in doubt, the lease runs out first.
pub fn claim_in_transaction(
    conn: &mut Conn,
    name: &str,
    me: &str,
    length: Duration,
    gone: &dyn Fn(&str, i32) -> bool,
) -> QueryResult<Claim> {
    let now = db_now(conn)?;
    let expires_at = now + span(length);
    let lease = match current(conn, name)? {
        None => {
            let lease = LeaseRow {
                name: name.to_owned(),
                holder: me.to_owned(),
                epoch: 1,
                acquired_at: now,
                expires_at,
            };
            diesel::insert_into(leases::table)
                .values(&lease)
                .execute(conn)?;
            lease
        }
        // Still ours: renew it. Once expired it is a new term, even for the same holder (the
        // expired epoch's writes still under way are fenced out).
        Some(held) if held.holder == me && held.expires_at > now => {
            diesel::update(leases::table.find(name))
                .set(leases::expires_at.eq(expires_at))
                .execute(conn)?;
            LeaseRow { expires_at, ..held }
        }
        Some(held) if held.expires_at > now && !holder_gone(conn, &held.holder, gone)? => {
            return Ok(Claim::Follower { lease: held, now })
        }
        Some(expired) => {
            let lease = LeaseRow {
                name: name.to_owned(),
                holder: me.to_owned(),
                epoch: expired.epoch + 1,
                acquired_at: now,
                expires_at,
            };
            diesel::update(leases::table.find(name))
                .set((
                    leases::holder.eq(&lease.holder),
                    leases::epoch.eq(lease.epoch),
                    leases::acquired_at.eq(lease.acquired_at),
                    leases::expires_at.eq(lease.expires_at),
                ))
                .execute(conn)?;
            lease
        }
    };
    Ok(Claim::Leader {
        fence: Fence {
            holder: lease.holder.clone(),
            epoch: lease.epoch,
        },
        lease,
    })
}

/// Whether the process of `holder` is known to be gone.
fn holder_gone(
    conn: &mut Conn,
    holder: &str,
    gone: &dyn Fn(&str, i32) -> bool,
) -> QueryResult<bool> {
    use super::schema::instances;
    let row: Option<(String, i32)> = instances::table
        .find(holder)
        .select((instances::hostname, instances::pid))
        .first(conn)
        .optional()?;
    Ok(row.is_some_and(|(hostname, pid)| gone(&hostname, pid)))
}

/// The lease whose expiry says when the leader next prunes candles ([`take_due`]).
pub const CANDLE_PRUNE: &str = "candle_prune";

/// Whether the leader's scheduled job `name` is due, inside the caller's write transaction
/// (which the leader's fence guards): when its lease is missing or has run out, `me` takes it
/// for `every` and the answer is yes; otherwise no. So the job runs about once per `every`
/// whichever instance leads, and a restart or a change of leader does not run it again early.
pub fn take_due(conn: &mut Conn, name: &str, me: &str, every: Duration) -> QueryResult<bool> {
    let now = db_now(conn)?;
    let expires_at = now + span(every);
    match current(conn, name)? {
        Some(held) if held.expires_at > now => Ok(false),
        Some(expired) => {
            diesel::update(leases::table.find(name))
                .set((
                    leases::holder.eq(me),
                    leases::epoch.eq(expired.epoch + 1),
                    leases::acquired_at.eq(now),
                    leases::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(leases::table)
                .values(&LeaseRow {
                    name: name.to_owned(),
                    holder: me.to_owned(),
                    epoch: 1,
                    acquired_at: now,
                    expires_at,
                })
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Whether `fence` still holds the lease `name` now. Meant for inside a write transaction,
/// where no other instance can take the lease until it ends.
pub fn holds(conn: &mut Conn, name: &str, fence: &Fence) -> QueryResult<bool> {
    let now = db_now(conn)?;
    Ok(current(conn, name)?.is_some_and(|lease| {
        lease.holder == fence.holder && lease.epoch == fence.epoch && lease.expires_at > now
    }))
}

/// Renew the `leader` lease for `length` from now if `fence` still holds it (same holder, same
/// epoch, not expired), inside the leader's write transaction; `false`, with nothing written,
/// when it does not: the caller writes nothing as leader either.
pub fn renew(conn: &mut Conn, fence: &Fence, length: Duration) -> QueryResult<bool> {
    if !holds(conn, LEADER, fence)? {
        return Ok(false);
    }
    let now = db_now(conn)?;
    diesel::update(leases::table.find(LEADER))
        .set(leases::expires_at.eq(now + span(length)))
        .execute(conn)?;
    Ok(true)
}

/// `length` as a chrono duration (a day when it does not fit, which no configuration reaches).
fn span(length: Duration) -> chrono::Duration {
    chrono::Duration::from_std(length).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// Run `f` in one write transaction as the holder of the `leader` lease at `fence`: `Ok(None)`,
/// with nothing written, when that is no longer so.
pub fn fenced<T, E, F>(conn: &mut Conn, fence: &Fence, f: F) -> Result<Option<T>, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    write_tx(conn, |conn| {
        if !holds(conn, LEADER, fence)? {
            return Ok(None);
        }
        f(conn).map(Some)
    })
}

/// Give the lease `name` up, if `me` holds it, so another instance takes over at its next try
/// instead of waiting for the lease to run out (a clean stop).
pub fn release(conn: &mut Conn, name: &str, me: &str) -> QueryResult<()> {
    write_tx(conn, |conn| {
        let now = db_now(conn)?;
        diesel::update(
            leases::table
                .find(name)
                .filter(leases::holder.eq(me))
                .filter(leases::expires_at.gt(now))
                .filter(leases::acquired_at.le(now)),
        )
        .set(leases::expires_at.eq(now))
        .execute(conn)?;
        Ok(())
    })
}
