//! Local fake notification receivers on a real socket, answering as the real services do:
//! Telegram's Bot API `sendMessage` (`{"ok": true, "result": …}`, or `{"ok": false,
//! "error_code", "description", "parameters": {"retry_after"}}`), a Discord incoming webhook
//! (204, or 429 with `{"message", "retry_after", "global"}`), and a generic JSON webhook. Each
//! service has a queue of failure modes for its next requests; every request is recorded, and
//! every message delivered is kept as the service would show it (Telegram's HTML parsed back to
//! text, Discord's markdown escapes undone) so tests can check what a trader reads.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

/// How the fake answers one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Ok,
    /// 429 with the service's own retry hint of this many seconds.
    RateLimited(u64),
    /// 502.
    ServerError,
    /// No answer for 30 s (past the sender's timeout).
    Timeout,
    /// Telegram: 400 "can't parse entities" for any message sent with a parse mode.
    ParseError,
    /// 404 (an unknown webhook, a chat not found): refused for good.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Telegram,
    Discord,
    Webhook,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: Service,
    pub at: Instant,
    pub body: Value,
    /// What the fake answered: a failure's status, 200 for any delivery.
    pub status: u16,
}

/// A message a service accepted, as its reader sees it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub service: Service,
    /// The text on screen.
    pub text: String,
    /// The generic webhook's JSON (the others' request bodies).
    pub body: Value,
}

#[derive(Default)]
struct State {
    /// The modes of the next requests, per service; `Ok` when empty, unless `always` is set.
    next: Vec<(Service, VecDeque<Mode>)>,
    always: Vec<(Service, Mode)>,
    requests: Vec<Request>,
    delivered: Vec<Delivered>,
}

impl State {
    fn mode(&mut self, service: Service) -> Mode {
        if let Some((_, queue)) = self.next.iter_mut().find(|(s, _)| *s == service) {
            if let Some(mode) = queue.pop_front() {
                return mode;
            }
        }
        self.always
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(Mode::Ok, |(_, m)| *m)
    }
}

pub struct FakeNotify {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: actix_web::dev::ServerHandle,
}

pub const BOT_TOKEN: &str = "123456:AAfake-token_Secret";
pub const CHAT_ID: &str = "-100777";

impl FakeNotify {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::JsonConfig::default().limit(1 << 20))
                        .route("/bot{token}/sendMessage", web::post().to(telegram))
                        .route("/api/webhooks/{id}/{key}", web::post().to(discord))
                        .route("/hook/{name}", web::post().to(webhook))
                })
                .workers(2)
                .shutdown_timeout(0)
                .bind("127.0.0.1:0")
                .expect("bind fake notify");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).expect("send port");
                let _ = server.await;
            });
        });
        let (port, stop) = rx.recv().expect("fake notify started");
        FakeNotify {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
        }
    }

    /// `SIGNALDESK_NOTIFY` for the three services here; `hook` names the webhook's path.
    pub fn targets(&self, hook: &str) -> String {
        format!(
            "telegram:{BOT_TOKEN}:{CHAT_ID},discord:{}/api/webhooks/42/d1sc0rd-s3cret,webhook:{}/hook/{hook}?key=w3bh00k-s3cret",
            self.url, self.url
        )
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Answer `service`'s next requests with `modes`, one each, then as before.
    pub fn queue(&self, service: Service, modes: &[Mode]) {
        self.with(|s| {
            match s.next.iter_mut().find(|(x, _)| *x == service) {
                Some((_, q)) => q.extend(modes.iter().copied()),
                None => s.next.push((service, modes.iter().copied().collect())),
            };
        });
    }

    /// Answer every request of `service` with `mode` from now on.
    pub fn set(&self, service: Service, mode: Mode) {
        self.with(|s| {
            s.always.retain(|(x, _)| *x != service);
            s.always.push((service, mode));
        });
    }

    pub fn requests(&self, service: Service) -> Vec<Request> {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|r| r.service == service)
                .cloned()
                .collect()
        })
    }

    pub fn delivered(&self, service: Service) -> Vec<Delivered> {
        self.with(|s| {
            s.delivered
                .iter()
                .filter(|d| d.service == service)
                .cloned()
                .collect()
        })
    }
}

impl Drop for FakeNotify {
    fn drop(&mut self) {
        drop(self.stop.stop(false));
    }
}

type Shared = web::Data<Arc<Mutex<State>>>;

/// Record the request, and the failure its mode asks for (`None`: deliver it).
async fn answer(
    state: &Shared,
    service: Service,
    body: &Value,
    fail: impl Fn(Mode) -> Option<HttpResponse>,
) -> Option<HttpResponse> {
    let mode = state.lock().unwrap().mode(service);
    let response = if mode == Mode::Timeout {
        // The sender gave up long before: nothing is delivered.
        actix_web::rt::time::sleep(Duration::from_secs(30)).await;
        Some(HttpResponse::GatewayTimeout().finish())
    } else {
        fail(mode)
    };
    let status = response.as_ref().map_or(200, |r| r.status().as_u16());
    state.lock().unwrap().requests.push(Request {
        service,
        at: Instant::now(),
        body: body.clone(),
        status,
    });
    response
}

fn deliver(state: &Shared, service: Service, text: String, body: Value) {
    state.lock().unwrap().delivered.push(Delivered {
        service,
        text,
        body,
    });
}

async fn telegram(state: Shared, path: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    if path.as_str() != BOT_TOKEN {
        return HttpResponse::Unauthorized()
            .json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    let html = body["parse_mode"] == "HTML";
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    let parsed = if html {
        parse_telegram_html(&text)
    } else {
        Ok(text.clone())
    };
    let failed = answer(&state, Service::Telegram, &body, |mode| match mode {
        Mode::RateLimited(secs) => Some(HttpResponse::TooManyRequests().json(json!({
            "ok": false, "error_code": 429,
            "description": format!("Too Many Requests: retry after {secs}"),
            "parameters": {"retry_after": secs}
        }))),
        Mode::ServerError => Some(HttpResponse::BadGateway().json(json!({
            "ok": false, "error_code": 502, "description": "Bad Gateway"
        }))),
        Mode::NotFound => Some(HttpResponse::BadRequest().json(json!({
            "ok": false, "error_code": 400, "description": "Bad Request: chat not found"
        }))),
        Mode::ParseError if html => Some(parse_error("forced by the test")),
        _ => match &parsed {
            Err(why) => Some(parse_error(why)),
            Ok(_) if body["chat_id"] != CHAT_ID => Some(HttpResponse::BadRequest().json(json!({
                "ok": false, "error_code": 400, "description": "Bad Request: chat not found"
            }))),
            Ok(_) => None,
        },
    })
    .await;
    if let Some(response) = failed {
        return response;
    }
    deliver(&state, Service::Telegram, parsed.unwrap_or_default(), body);
    HttpResponse::Ok().json(json!({
        "ok": true,
        "result": {"message_id": 1, "chat": {"id": -100777, "type": "supergroup"}, "date": 0, "text": "…"}
    }))
}

fn parse_error(why: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "ok": false, "error_code": 400,
        "description": format!("Bad Request: can't parse entities: {why}")
    }))
}

/// Telegram's HTML parse mode, strictly: the tags it knows, balanced; `&lt;` `&gt;` `&amp;`
/// `&quot;` and numeric entities; a bare `<` or an unknown entity is an error. Returns the text
/// a reader sees.
pub fn parse_telegram_html(html: &str) -> Result<String, String> {
    const TAGS: [&str; 12] = [
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a",
    ];
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("unclosed start tag")?;
                let inner = &rest[1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!("unmatched end tag {name}"));
                    }
                } else {
                    let name = inner.split_whitespace().next().unwrap_or_default();
                    if !TAGS.contains(&name) {
                        return Err(format!("unsupported start tag \"{name}\""));
                    }
                    if name == "a" && !inner.contains("href=\"") {
                        return Err("a tag without href".into());
                    }
                    open.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').ok_or("unclosed entity")?;
                let entity = &rest[1..end];
                out.push(match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    _ => return Err(format!("unknown entity &{entity};")),
                });
                rest = &rest[end + 1..];
            }
            '>' => return Err("a bare >".into()),
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!("unclosed tag {tag}"));
    }
    Ok(out)
}

/// Discord's markdown as shown: a backslash before a markup character shows the character.
pub fn unescape_discord(content: &str) -> String {
    let mut out = String::new();
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn discord(state: Shared, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let failed = answer(&state, Service::Discord, &body, |mode| match mode {
        Mode::RateLimited(secs) => Some(
            HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", secs.to_string()))
                .json(json!({
                    "message": "You are being rate limited.",
                    "retry_after": secs as f64,
                    "global": false
                })),
        ),
        Mode::ServerError => Some(HttpResponse::BadGateway().body("<html>502</html>")),
        Mode::NotFound => Some(
            HttpResponse::NotFound().json(json!({"message": "Unknown Webhook", "code": 10015})),
        ),
        _ => None,
    })
    .await;
    if let Some(response) = failed {
        return response;
    }
    if body["allowed_mentions"]["parse"] != json!([]) {
        return HttpResponse::BadRequest().json(json!({"message": "mentions allowed"}));
    }
    let content = body["content"].as_str().unwrap_or_default();
    deliver(
        &state,
        Service::Discord,
        unescape_discord(content),
        body.clone(),
    );
    if req.query_string().contains("wait=true") {
        HttpResponse::Ok().json(json!({"id": "1", "content": content}))
    } else {
        HttpResponse::NoContent().finish()
    }
}

async fn webhook(state: Shared, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let failed = answer(&state, Service::Webhook, &body, |mode| match mode {
        Mode::RateLimited(secs) => Some(
            HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", secs.to_string()))
                .finish(),
        ),
        Mode::ServerError => Some(HttpResponse::InternalServerError().body("boom")),
        Mode::NotFound => Some(HttpResponse::NotFound().finish()),
        _ => None,
    })
    .await;
    if let Some(response) = failed {
        return response;
    }
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    deliver(&state, Service::Webhook, text, body);
    HttpResponse::Ok().json(json!({"received": true}))
}

#[test]
fn the_fake_parses_telegram_html_strictly() {
    assert_eq!(
        parse_telegram_html("<b>a &lt;b&gt; &amp;</b>\n<a href=\"x\">l</a>").unwrap(),
        "a <b> &\nl"
    );
    for bad in [
        "<b>x",
        "a < b",
        "<script>x</script>",
        "&nope;",
        "x > y",
        "</b>",
    ] {
        assert!(parse_telegram_html(bad).is_err(), "{bad}");
    }
    assert_eq!(
        unescape_discord("\\*\\*x\\*\\* \\@everyone"),
        "**x** @everyone"
    );
}
