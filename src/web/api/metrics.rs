//! `GET /metrics`: Prometheus text format. Account figures are read from the database; counters
//! (ticks, feed errors, HTTP requests, refusals) are the process's own since it started.

use std::fmt::Write;

use actix_web::{web, HttpResponse};

use super::super::{ApiError, AppState};
use super::overview::current_stats;
use crate::status::{EngineView, FeedHealth, TICK_BUCKETS};

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn get_metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = current_stats(&state).await?;
    let board = state.status.clone();
    let view = state
        .with_conn(move |conn| {
            let view = EngineView::read(conn, &board)?;
            Ok((view, crate::db::notifications::summary(conn)?))
        })
        .await?;
    let (view, outbox) = view;
    let f = &stats.figures;
    let engine = state.status.engine();
    let counters = state.status.counters();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "signaldesk_balance",
        "Paper balance in quote currency.",
        f.balance,
    );
    gauge(
        "signaldesk_equity",
        "Balance plus unrealized pnl.",
        f.equity,
    );
    gauge(
        "signaldesk_unrealized_pnl",
        "Unrealized pnl of open trades.",
        f.unrealized_pnl,
    );
    gauge(
        "signaldesk_open_trades",
        "ACTIVE signals.",
        f.active_trades as f64,
    );
    gauge(
        "signaldesk_signals_today",
        "Signals created today (UTC).",
        f.signals_today as f64,
    );
    gauge(
        "signaldesk_trades_closed_today",
        "Trades closed today (UTC).",
        f.completed_trades as f64,
    );
    gauge(
        "signaldesk_feed_up",
        "1 when every symbol has a fresh price, 0.5 degraded, 0 down.",
        match stats.feed.status {
            FeedHealth::Ok => 1.0,
            FeedHealth::Degraded => 0.5,
            FeedHealth::Down => 0.0,
        },
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_ticks_total update_paper_trades ticks since start.\n# TYPE signaldesk_ticks_total counter\nsignaldesk_ticks_total {}",
        engine.ticks
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_tick_failures_total Ticks that changed nothing because of an error, a panic or a timeout.\n# TYPE signaldesk_tick_failures_total counter\nsignaldesk_tick_failures_total {}",
        engine.failed_ticks
    );
    let config = &state.config;
    let _ = writeln!(
        out,
        "# HELP signaldesk_stalled 1 while no tick (or, with the scanner on, no scan) has run to its end for three of its intervals.\n# TYPE signaldesk_stalled gauge\nsignaldesk_stalled {}",
        u8::from(
            view.stall(
                state.status.started_at(),
                config.tick_secs,
                config.scan.then_some(config.scan_secs)
            )
            .any()
        )
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_is_leader 1 while this instance holds the leader's lease (it alone ticks and scans).\n# TYPE signaldesk_is_leader gauge\nsignaldesk_is_leader {}",
        u8::from(view.is_leader(&state.status.identity().id))
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_booking_failures_total Trade bookings a tick rolled back alone (retried the next tick).\n# TYPE signaldesk_booking_failures_total counter\nsignaldesk_booking_failures_total {}",
        engine.booking_failures_total
    );
    let scan = state.status.scan();
    let _ = writeln!(
        out,
        "# HELP signaldesk_scan_failures_total Scans that panicked or timed out.\n# TYPE signaldesk_scan_failures_total counter\nsignaldesk_scan_failures_total {}",
        scan.failed_scans
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_tick_duration_seconds Duration of update_paper_trades ticks.\n# TYPE signaldesk_tick_duration_seconds histogram"
    );
    let mut cumulative = 0;
    for (upper, count) in TICK_BUCKETS.iter().zip(engine.tick_buckets) {
        cumulative += count;
        let _ = writeln!(
            out,
            "signaldesk_tick_duration_seconds_bucket{{le=\"{upper}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "signaldesk_tick_duration_seconds_bucket{{le=\"+Inf\"}} {}\nsignaldesk_tick_duration_seconds_sum {}\nsignaldesk_tick_duration_seconds_count {}",
        engine.ticks, engine.tick_seconds_sum, engine.ticks
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_feed_errors_total Symbols that got no usable price in a poll.\n# TYPE signaldesk_feed_errors_total counter\nsignaldesk_feed_errors_total{{source=\"{}\"}} {}",
        escape(&stats.feed.source),
        counters.feed_errors
    );
    let _ = writeln!(
        out,
        "# HELP signaldesk_signals_refused_total Signals refused by a gate.\n# TYPE signaldesk_signals_refused_total counter"
    );
    for (gate, count) in state.status.refusals() {
        let _ = writeln!(
            out,
            "signaldesk_signals_refused_total{{gate=\"{gate}\"}} {count}"
        );
    }
    // The outbox's rows by target and status, from the database: the same on every instance.
    let _ = writeln!(
        out,
        "# HELP signaldesk_notifications Notifications in the outbox by target and status (pending, sent, failed).\n# TYPE signaldesk_notifications gauge"
    );
    for target in &outbox {
        for (status, count) in [
            ("pending", target.pending),
            ("sent", target.sent),
            ("failed", target.failed),
        ] {
            let _ = writeln!(
                out,
                "signaldesk_notifications{{target=\"{}\",status=\"{status}\"}} {count}",
                escape(&target.target)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP signaldesk_http_requests_total HTTP requests by route and status.\n# TYPE signaldesk_http_requests_total counter"
    );
    for ((route, status), count) in counters.http {
        let _ = writeln!(
            out,
            "signaldesk_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
            escape(&route)
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
