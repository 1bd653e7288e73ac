//! Pure trading rules: the kinds of things signaldesk talks about, market data, PnL arithmetic,
//! day boundaries and how a price reads. Depends on std, chrono and serde derives only: no
//! database, no HTTP, no IO, no clock. Time and prices come in as arguments, so every rule here is unit-tested directly.

pub mod analytics;
pub mod format;
mod kinds;
pub mod management;
pub mod market;
pub mod notify;
pub mod pnl;
pub mod rules;
pub mod strategy;
pub mod time;
pub mod trading;

pub use kinds::{Direction, ExitReason, Outcome, ParseKindError, SignalStatus, StopReason, Symbol};
