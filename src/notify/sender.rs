//! The leader's sender (DESIGN.md §12): it takes each target's oldest due PENDING row, claims it
//! in a write fenced by the leader's lease, delivers it, and books the outcome — SENT, or a retry
//! after an exponential backoff with jitter (longer when the target asked for it), or FAILED
//! once `SIGNALDESK_NOTIFY_MAX_ATTEMPTS` are used up or the target refuses the message.
//!
//! A claim moves the row's `next_attempt_at` past the longest a delivery can take ([`CLAIM`]):
//! an instance that takes over the lead meanwhile does not send it too, and one that crashed
//! mid-delivery leaves a row that is simply due again when the claim runs out. A message is
//! sent twice only when the crash fell between its delivery and its booking (at least once).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;

use super::deliver::{Deliverer, Failure, TIMEOUT};
use super::Note;
use crate::config::Config;
use crate::db::leases::{self, Fence};
use crate::db::notifications::{self, NotificationRow};
use crate::db::{write_tx, DbPool};
use crate::domain::notify::{backoff, Target};
use crate::feeds::rng::SplitMix64;

/// How long a claimed row is left alone by every sender: past the delivery's timeout, with room.
pub const CLAIM: Duration = Duration::from_secs(60);
/// How often the sender looks for due rows while there is nothing to send.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The configured targets by their stored names, and how to reach them. Holds no outbox state:
/// every pass reads the rows from the database.
pub struct Sender {
    pool: DbPool,
    targets: BTreeMap<String, Target>,
    deliverer: Deliverer,
    max_attempts: u32,
    jitter: Mutex<SplitMix64>,
}

impl Sender {
    pub fn new(pool: DbPool, config: &Config) -> Result<Sender, String> {
        Ok(Sender {
            pool,
            targets: config
                .notify
                .iter()
                .map(|t| (t.masked(), t.clone()))
                .collect(),
            deliverer: Deliverer::new(&config.telegram_api_url, TIMEOUT)?,
            max_attempts: config.notify_max_attempts.max(1),
            jitter: Mutex::new(SplitMix64::new(seed())),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// One pass as the leader holding `fence`: claim each target's due head and start its
    /// delivery, which books its own outcome when it ends. A target's slow or hung delivery
    /// holds up no other target; its own later rows wait behind the claimed one. Returns the
    /// deliveries started.
    pub async fn pass(self: &Arc<Self>, fence: &Fence) -> Result<usize, String> {
        let pool = self.pool.clone();
        let fence = fence.clone();
        let names: Vec<String> = self.targets.keys().cloned().collect();
        let claimed = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            leases::fenced(&mut conn, &fence, |conn| {
                let now = leases::db_now(conn)?;
                let rows: Vec<NotificationRow> = notifications::due(conn, now)?
                    .into_iter()
                    .filter(|row| names.contains(&row.target))
                    .collect();
                let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
                notifications::claim(conn, &ids, now + span(CLAIM))?;
                Ok::<_, diesel::result::Error>(rows)
            })
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        let rows = claimed.unwrap_or_default();
        let started = rows.len();
        for row in rows {
            let sender = Arc::clone(self);
            actix_web::rt::spawn(async move { sender.deliver(row).await });
        }
        Ok(started)
    }

    /// Deliver one claimed row and book the outcome: SENT, a retry after the backoff (or the
    /// target's longer wait), or FAILED.
    async fn deliver(self: Arc<Self>, row: NotificationRow) {
        let outcome = match (self.targets.get(&row.target), note_of(&row)) {
            (Some(target), Ok(note)) => self.deliverer.send(target, &note).await,
            (_, Err(e)) => Err(Failure::Refused(e)),
            (None, _) => return,
        };
        let attempt = Attempt {
            id: row.id,
            target: row.target,
            attempts: u32::try_from(row.attempts).unwrap_or(0).saturating_add(1),
            outcome,
            jitter: self.next_jitter(),
        };
        let pool = self.pool.clone();
        let max_attempts = self.max_attempts;
        let booked = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            write_tx(&mut conn, |conn| book(conn, &attempt, max_attempts))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|booked| booked);
        if let Err(e) = booked {
            // The row stays claimed; it is due again when the claim runs out (at least once).
            log::warn!("could not book notification #{}'s delivery: {e}", row.id);
        }
    }

    fn next_jitter(&self) -> f64 {
        self.jitter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_f64()
    }

    /// Deliver while `fence()` says this instance leads, until the runtime stops: a pass every
    /// [`LOOK_EVERY`].
    pub fn spawn(self: Arc<Self>, fence: impl Fn() -> Option<Fence> + 'static) {
        if self.is_empty() {
            return;
        }
        actix_web::rt::spawn(async move {
            let mut failing = false;
            loop {
                if let Some(fence) = fence() {
                    match self.pass(&fence).await {
                        Ok(_) => failing = false,
                        Err(e) => {
                            if !failing {
                                log::warn!("cannot send notifications, retrying: {e}");
                            }
                            failing = true;
                        }
                    }
                }
                actix_web::rt::time::sleep(LOOK_EVERY).await;
            }
        });
    }
}

/// Book `attempt`'s outcome, in the caller's write transaction.
fn book(
    conn: &mut crate::db::Conn,
    attempt: &Attempt,
    max_attempts: u32,
) -> diesel::QueryResult<()> {
    let Attempt {
        id,
        target,
        attempts,
        outcome,
        jitter,
    } = attempt;
    let now = leases::db_now(conn)?;
    let failure = match outcome {
        Ok(()) => return notifications::mark_sent(conn, *id, now),
        Err(failure) => failure,
    };
    let retry_at = retry_at(failure, *attempts, max_attempts, *jitter, now);
    match retry_at {
        Some(at) => log::warn!(
            "notification #{id} to {target} not delivered (attempt {attempts} of \
             {max_attempts}), retrying at {at}: {}",
            failure.error()
        ),
        None => log::error!(
            "notification #{id} to {target} FAILED after {attempts} attempts: {}",
            failure.error()
        ),
    }
    notifications::mark_failed(conn, *id, failure.error(), retry_at)
}

/// One delivery's outcome, to be booked.
struct Attempt {
    id: i32,
    target: String,
    /// The row's attempts, this one included.
    attempts: u32,
    outcome: Result<(), Failure>,
    jitter: f64,
}

/// When to try a failed delivery again: `None` when the target refused it or the attempts are
/// used up.
fn retry_at(
    failure: &Failure,
    attempts: u32,
    max_attempts: u32,
    jitter: f64,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    match failure {
        Failure::Refused(_) => None,
        Failure::Retry { .. } if attempts >= max_attempts => None,
        Failure::Retry { hint, .. } => {
            let hint = hint.and_then(|h| chrono::TimeDelta::from_std(h).ok());
            Some(now + backoff(attempts, jitter, hint))
        }
    }
}

fn note_of(row: &NotificationRow) -> Result<Note, String> {
    serde_json::from_str(&row.payload).map_err(|e| format!("unreadable payload: {e}"))
}

fn span(length: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(length).unwrap_or_else(|_| chrono::TimeDelta::minutes(1))
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_or_the_last_attempt_gives_up() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let retry = Failure::Retry {
            error: "HTTP 502".into(),
            hint: None,
        };
        let refused = Failure::Refused("HTTP 400: chat not found".into());
        assert_eq!(retry_at(&refused, 1, 10, 0.5, now), None);
        assert_eq!(retry_at(&retry, 10, 10, 0.5, now), None);
        let at = retry_at(&retry, 3, 10, 0.999_999, now).unwrap();
        assert_eq!(
            (at - now).num_seconds(),
            20,
            "5 s × 2² with the most jitter"
        );
        let hinted = Failure::Retry {
            error: "HTTP 429".into(),
            hint: Some(Duration::from_secs(120)),
        };
        let at = retry_at(&hinted, 1, 10, 0.0, now).unwrap();
        assert_eq!((at - now).num_seconds(), 120, "the target's wait");
    }
}
