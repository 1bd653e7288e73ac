//! Wiring for `serve`: open the database, bind, start the HTTP server. `App::build` returns once
//! the port is bound, so callers (and tests) learn the real address before serving.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Actor;
use actix_web::dev::{Server, Service};
use actix_web::middleware::{from_fn, Compress, Logger};
use actix_web::{web, HttpServer};

use crate::clock::now_utc;
use crate::config::Config;
use crate::db::{self, DbError};
use crate::engine::actor::TickActor;
use crate::engine::scanner::ScanActor;
use crate::engine::Engine;
use crate::events::EventBus;
use crate::feeds::{AnyFeed, FeedError, PriceFeed};
use crate::notify::sender::Sender;
use crate::notify::Outbox;
use crate::status::StatusBoard;
use crate::web::api::events::StreamSlots;
use crate::web::connections::{self, ConnectionCounts};
use crate::web::limiter::FailureLimiter;
use crate::web::security::{self, AllowedHosts};
use crate::web::session::{random_bytes, RandomError, SessionKey};
use crate::web::{routes, AppState};

/// Open connections in all, across the workers: well below the usual limit of 1024 open files,
/// which the database and the feed need too. Beyond it, new connections wait in the backlog.
const MAX_CONNECTIONS: usize = 768;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("price feed: {0}")]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("notifications: {0}")]
    Notify(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

pub struct App {
    server: Server,
    addr: SocketAddr,
    engine: Arc<Engine>,
}

impl App {
    /// Open (and migrate) the database, bind the listen address, and prepare the server.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let pool = db::open_pool(&config.database_url, 8)?;
        {
            // Today's row records the day's opening balance, carried from the last day the
            // account traded (DESIGN.md §2).
            let mut conn = pool.get().map_err(DbError::from)?;
            let now = now_utc();
            db::write_tx(&mut conn, |conn| {
                db::daily_stats::ensure_day(conn, now.date(), config.initial_balance, now)
            })
            .map_err(DbError::from)?;
        }
        // The session key: created by the first start on this database, read by every later
        // one (DESIGN.md §13).
        let session_key = {
            let mut conn = pool.get().map_err(DbError::from)?;
            let candidate = random_bytes()?;
            let key = db::secrets::get_or_create(
                &mut conn,
                db::secrets::SESSION_KEY,
                &candidate,
                now_utc(),
            )
            .map_err(DbError::from)?;
            SessionKey::new(&key)
        };
        let bind_error = |source| StartError::Bind {
            addr: config.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&config.bind).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let feed = AnyFeed::from_config(&config, chrono::Utc::now())?;
        let status = StatusBoard::new(feed.source());
        log::info!("instance {}", status.identity().id);
        let config = Arc::new(config);
        let events = EventBus::default();
        events.relay(pool.clone());
        let engine = Arc::new(Engine::new(
            pool.clone(),
            Arc::clone(&config),
            feed,
            status.clone(),
        ));
        if config.webhook_token.is_none() && config.api_token.is_some() {
            log::info!(
                "SIGNALDESK_WEBHOOK_TOKEN is unset: the TradingView webhook accepts the API token; \
                 set a separate webhook token so alerts never carry the API token"
            );
        }
        let sender = Sender::new(pool.clone(), &config).map_err(StartError::Notify)?;
        let leader = Arc::clone(&engine);
        Arc::new(sender).spawn(move || leader.fence());
        TickActor::new(Arc::clone(&engine)).start();
        if config.scan {
            ScanActor::new(Arc::clone(&engine)).start();
        }
        let state = web::Data::new(AppState {
            pool,
            status,
            events,
            hosts: AllowedHosts::from_config(&config),
            event_streams: StreamSlots::new(config.max_event_streams),
            session_key,
            failures: FailureLimiter::default(),
            outbox: Arc::new(Outbox::from_config(&config)),
            config,
            started_at: Instant::now(),
        });
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let connections = ConnectionCounts::new(connections::PER_CLIENT);
        let server = HttpServer::new(move || {
            let counted = state.status.clone();
            actix_web::App::new()
                .app_data(state.clone())
                // Count requests by route pattern (not raw path, which would grow without bound).
                .wrap_fn(move |req, srv| {
                    let counted = counted.clone();
                    let call = srv.call(req);
                    async move {
                        let response = call.await?;
                        let route = response
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".to_owned());
                        counted.count_request(&route, response.status().as_u16());
                        Ok(response)
                    }
                })
                .wrap(Compress::default())
                .wrap(from_fn(security::body_deadline))
                .wrap(from_fn(security::allowed_host))
                .wrap(Logger::new("%r %s %Dms"))
                // Outermost, so every response gets the headers, refusals included.
                .wrap(from_fn(security::security_headers))
                .configure(routes)
        })
        .workers(workers)
        // At most connections::PER_CLIENT of them per client address.
        .on_connect(move |io, data| connections::on_connect(&connections, io, data))
        // Bounded connection lifetimes, so idle or slow clients cannot hold sockets (and file
        // descriptors) open: the head within 5 s, the body within 10 s (security::body_deadline),
        // idle keep-alive 5 s. Half-closed connections stay allowed (a client that shuts down its
        // sending side still gets its answer); an event stream whose client went away ends at the
        // next keep-alive write that fails (api::events::KEEPALIVE).
        .client_request_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .max_connections(MAX_CONNECTIONS.div_ceil(workers))
        .listen(listener)
        .map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })?
        .run();
        Ok(App {
            server,
            addr,
            engine,
        })
    }

    /// The bound address (the real port when the config asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serve until SIGINT/SIGTERM; in-flight requests and a running tick's database write
    /// finish first, then the leader gives its lease up so another instance takes over at once.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let engine = self.engine;
        let _ = actix_web::rt::task::spawn_blocking(move || {
            engine.wait_idle(std::time::Duration::from_secs(30));
            engine.resign();
        })
        .await;
        served
    }
}
