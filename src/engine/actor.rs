//! The actix actor that runs [`Engine::tick`] every `SIGNALDESK_TICK_SECS`. A tick never overlaps
//! the previous one: while one runs, the next interval is skipped. A failing tick is logged and
//! the actor keeps ticking.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::Engine;

pub struct TickActor {
    engine: Arc<Engine>,
    running: Arc<AtomicBool>,
    interval: Duration,
}

impl TickActor {
    pub fn new(engine: Arc<Engine>) -> Self {
        let interval = Duration::from_secs(engine.config.tick_secs);
        TickActor {
            engine,
            running: Arc::new(AtomicBool::new(false)),
            interval,
        }
    }

    fn start_tick(&mut self, ctx: &mut Context<Self>) {
        if self.running.swap(true, Ordering::SeqCst) {
            log::debug!("previous tick still running; skipping this interval");
            return;
        }
        let engine = Arc::clone(&self.engine);
        let running = Arc::clone(&self.running);
        ctx.spawn(
            async move {
                let _ = engine.tick().await;
                running.store(false, Ordering::SeqCst);
            }
            .into_actor(self),
        );
    }
}

impl Actor for TickActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.start_tick(ctx);
        ctx.run_interval(self.interval, |actor, ctx| actor.start_tick(ctx));
    }
}
