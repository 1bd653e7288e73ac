//! `GET /api/events`: Server-Sent Events (DESIGN.md §5). A `stats` event (the `/api/stats` body)
//! on connect and after every tick, `signal_opened` with the new signal, `trade_closed` with the
//! closed signal and its journal entry. Every payload is read from the database when it is sent.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use futures_util::stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use super::super::{ApiError, AppState};
use super::overview::current_stats;
use crate::db::models::{JournalEntryRow, SignalId, SignalRow};
use crate::db::{journal, signals};
use crate::events::Event;

/// A comment line keeps idle connections (and proxies) from timing out.
const KEEPALIVE: Duration = Duration::from_secs(15);

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

struct Subscription {
    state: web::Data<AppState>,
    events: Receiver<Event>,
    greeted: bool,
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

pub async fn get_events(state: web::Data<AppState>) -> HttpResponse {
    let subscription = Subscription {
        events: state.events.subscribe(),
        state,
        greeted: false,
    };
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream::unfold(subscription, next))
}
