//! What happened, for `GET /api/events` (Server-Sent Events): a tick finished, a signal opened, a
//! trade closed. Events carry only ids; the web layer reads the rows from the database, so the
//! stream never becomes a second copy of the trading state.

use tokio::sync::broadcast;

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
}
