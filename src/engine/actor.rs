//! The actix actor that runs [`Engine::tick`] every `SIGNALDESK_TICK_SECS`. A tick never overlaps
//! the previous one: while one runs, the next interval is skipped. A failing, panicking or hung
//! tick is logged and counted (`Engine::tick` catches and times it out) and the actor keeps
//! ticking: the "running" flag is cleared however the tick ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::Engine;
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
    running: Arc<AtomicBool>,
    interval: Duration,
}

impl<F: PriceFeed + Send + Sync + 'static> TickActor<F> {
    pub fn new(engine: Arc<Engine<F>>) -> Self {
        let interval = Duration::from_secs(engine.config.tick_secs);
        TickActor {
            engine,
            running: Arc::new(AtomicBool::new(false)),
            interval,
        }
    }

    /// The same actor ticking every `interval` instead of `SIGNALDESK_TICK_SECS`.
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    fn start_tick(&mut self, ctx: &mut Context<Self>) {
        let Some(running) = Running::claim(&self.running) else {
            log::debug!("previous tick still running; skipping this interval");
            return;
        };
        let engine = Arc::clone(&self.engine);
        ctx.spawn(
            async move {
                let _running = running;
                let _ = engine.tick().await;
            }
            .into_actor(self),
        );
    }
}

impl<F: PriceFeed + Send + Sync + 'static> Actor for TickActor<F> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.start_tick(ctx);
        ctx.run_interval(self.interval, |actor, ctx| actor.start_tick(ctx));
    }
}
