//! What happened, for `GET /api/events` (Server-Sent Events): a tick finished, a signal opened, a
//! trade closed. Whichever instance did it recorded it in the `events` table (DESIGN.md §9); the
//! [`EventBus::relay`] of every instance reads the new rows and hands them to its own streams.
//! Events carry only ids; the web layer reads the rows from the database, so the stream never
//! becomes a second copy of the trading state.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::db::{events, DbPool};

/// How often each instance looks for new events: the most a stream lags behind the database.
pub const RELAY_EVERY: Duration = Duration::from_millis(200);
/// Events read per look; more wait for the next.
const RELAY_BATCH: i64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Tick,
    SignalOpened(i32),
    TradeClosed(i32),
}

/// Cheap to clone; every clone publishes to the same subscribers.
#[derive(Debug, Clone)]
pub struct EventBus(broadcast::Sender<Event>);

impl Default for EventBus {
    fn default() -> Self {
        EventBus(broadcast::channel(256).0)
    }
}

impl EventBus {
    /// Publish; nobody listening is fine.
    pub fn publish(&self, event: Event) {
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }

    /// Publish every event recorded in the database from now on, by any instance, in order;
    /// runs until the runtime stops. A database that does not answer is retried at the next
    /// look, and nothing recorded meanwhile is skipped.
    pub fn relay(&self, pool: DbPool) {
        let bus = self.clone();
        actix_web::rt::spawn(async move {
            let mut seen: Option<i32> = None;
            let mut failing = false;
            let mut every = actix_web::rt::time::interval(RELAY_EVERY);
            loop {
                every.tick().await;
                let pool = pool.clone();
                let read = actix_web::rt::task::spawn_blocking(move || {
                    let mut conn = pool.get().map_err(|e| e.to_string())?;
                    match seen {
                        // The first look only finds where "now" is.
                        None => events::latest_id(&mut conn).map(|id| (id, Vec::new())),
                        Some(after) => events::after(&mut conn, after, RELAY_BATCH)
                            .map(|new| (new.last().map_or(after, |(id, _)| *id), new)),
                    }
                    .map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|read| read);
                match read {
                    Ok((last, new)) => {
                        failing = false;
                        seen = Some(last);
                        for (_, event) in new {
                            bus.publish(event);
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        log::warn!("cannot read events for the streams, retrying: {e}");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}
