//! `GET /api/events`: Server-Sent Events (DESIGN.md §5). A `stats` event (the `/api/stats` body)
//! on connect and after every tick, `signal_opened` with the new signal, `trade_closed` with the
//! closed signal and its journal entry. Every payload is read from the database when it is sent.
//! At most `SIGNALDESK_MAX_EVENT_STREAMS` streams are open at once (DESIGN.md §13): each holds a
//! connection and costs a query per event, so an unbounded number would starve everything else.
//! A HEAD request opens none.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::super::{ApiError, AppState};
use super::overview::current_stats;
use crate::db::models::{JournalEntryRow, SignalId, SignalRow};
use crate::db::{journal, signals};
use crate::events::Event;

/// A comment line keeps idle connections (and proxies) from timing out, and finds clients that
/// went away: the write after their connection closed fails, which ends the stream and frees its
/// slot, within two intervals.
const KEEPALIVE: Duration = Duration::from_secs(5);

fn frame(event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

#[derive(Serialize)]
struct Closed {
    signal: SignalRow,
    journal: Option<JournalEntryRow>,
}

async fn render(state: &AppState, event: Event) -> Result<Bytes, ApiError> {
    match event {
        Event::Tick => Ok(frame("stats", &current_stats(state).await?)),
        Event::SignalOpened(id) => {
            let row = state
                .with_conn(move |conn| Ok(signals::get_signal(conn, SignalId(id))?))
                .await?;
            Ok(frame("signal_opened", &row))
        }
        Event::TradeClosed(id) => {
            let closed = state
                .with_conn(move |conn| {
                    Ok(Closed {
                        signal: signals::get_signal(conn, SignalId(id))?,
                        journal: journal::for_signal(conn, id)?,
                    })
                })
                .await?;
            Ok(frame("trade_closed", &closed))
        }
    }
}

/// The open streams of this process, counted against the configured maximum.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open stream; its slot is free again when the stream is dropped (the client went away or
/// the server stops).
#[derive(Debug)]
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl StreamSlots {
    pub fn new(max: usize) -> StreamSlots {
        StreamSlots {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A slot, unless `max` streams are open.
    pub fn acquire(&self) -> Option<StreamSlot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .ok()
            .map(|_| StreamSlot(Arc::clone(&self.open)))
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

struct Subscription {
    state: web::Data<AppState>,
    events: Receiver<Event>,
    greeted: bool,
    _slot: StreamSlot,
}

async fn next(mut sub: Subscription) -> Option<(Result<Bytes, actix_web::Error>, Subscription)> {
    if !sub.greeted {
        sub.greeted = true;
        let first = render(&sub.state, Event::Tick).await;
        return Some((first.map_err(Into::into), sub));
    }
    loop {
        let event = match actix_web::rt::time::timeout(KEEPALIVE, sub.events.recv()).await {
            Err(_) => return Some((Ok(Bytes::from_static(b": keepalive\n\n")), sub)),
            Ok(Ok(event)) => event,
            // Fell behind: the latest figures say all a client needs.
            Ok(Err(RecvError::Lagged(_))) => Event::Tick,
            Ok(Err(RecvError::Closed)) => return None,
        };
        match render(&sub.state, event).await {
            Ok(bytes) => return Some((Ok(bytes), sub)),
            Err(e) => log::warn!("event stream: {e}"),
        }
    }
}

/// The head of a stream's answer.
fn stream_head() -> HttpResponseBuilder {
    let mut head = HttpResponse::Ok();
    head.content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    head
}

/// `GET /api/events` opens a stream. `HEAD` gets the status and head a GET would get, without a
/// stream or a slot: actix polls the body of a HEAD answer to its end while writing none of it,
/// so a stream that never ends would never write, never find its client gone, and hold its slot
/// and its connection for as long as the server runs.
pub async fn get_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let full = || {
        ApiError::Unavailable(format!(
            "too many event streams are open (SIGNALDESK_MAX_EVENT_STREAMS = {}); poll /api/stats instead",
            state.config.max_event_streams
        ))
    };
    if req.method() == Method::HEAD {
        if state.event_streams.open() >= state.config.max_event_streams {
            return Err(full());
        }
        return Ok(stream_head().body(actix_web::body::None::new()));
    }
    let slot = state.event_streams.acquire().ok_or_else(full)?;
    let subscription = Subscription {
        events: state.events.subscribe(),
        state,
        greeted: false,
        _slot: slot,
    };
    Ok(stream_head().streaming(stream::unfold(subscription, next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_limited_and_freed_when_dropped() {
        let slots = StreamSlots::new(2);
        let a = slots.acquire().expect("first");
        let _b = slots.acquire().expect("second");
        assert!(slots.acquire().is_none(), "a third is refused");
        drop(a);
        assert_eq!(slots.open(), 1);
        assert!(slots.acquire().is_some(), "a freed slot is reused");
    }
}
