//! The actix actor that runs [`Engine::turn`] every `SIGNALDESK_TICK_SECS`: a tick while this
//! instance leads, an attempt to take the lease otherwise (made again right when the holder's
//! lease runs out, so a dead leader is replaced within one lease). A tick never overlaps the
//! previous one: the next turn is scheduled when one ends, one interval after it began (at once
//! when it took longer). A failing, panicking or hung tick is logged and counted
//! (`Engine::turn` catches and times it out) and the actor keeps going.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::{Engine, Turn};
use crate::feeds::{AnyFeed, PriceFeed};

/// Clears a job's "running" flag when the job's future ends or is dropped.
pub(super) struct Running(pub(super) Arc<AtomicBool>);

impl Running {
    /// Claim the flag; `None` while the previous job still runs.
    pub(super) fn claim(flag: &Arc<AtomicBool>) -> Option<Running> {
        (!flag.swap(true, Ordering::SeqCst)).then(|| Running(Arc::clone(flag)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub struct TickActor<F: 'static = AnyFeed> {
    engine: Arc<Engine<F>>,
    interval: Duration,
}

impl<F: PriceFeed + Send + Sync + 'static> TickActor<F> {
    pub fn new(engine: Arc<Engine<F>>) -> Self {
        let interval = Duration::from_secs(engine.config.tick_secs);
        TickActor { engine, interval }
    }

    /// The same actor ticking every `interval` instead of `SIGNALDESK_TICK_SECS`.
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    fn start_turn(&mut self, ctx: &mut Context<Self>) {
        let engine = Arc::clone(&self.engine);
        let interval = self.interval;
        ctx.spawn(
            async move {
                let began = Instant::now();
                match engine.turn().await {
                    Turn::Led(_) => interval.saturating_sub(began.elapsed()),
                    Turn::Followed { retry_in, .. } => retry_in.min(interval),
                }
            }
            .into_actor(self)
            .map(|next, _actor, ctx| {
                ctx.run_later(next, |actor, ctx| actor.start_turn(ctx));
            }),
        );
    }
}

impl<F: PriceFeed + Send + Sync + 'static> Actor for TickActor<F> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.start_turn(ctx);
    }
}
