//! One delivery attempt of one notification to one target, over HTTP with a timeout: Telegram's
//! Bot API `sendMessage`, a Discord incoming webhook, or a JSON POST. The answer is classified
//! for the sender: delivered, worth retrying (timeouts, network errors, 5xx, 429 with the
//! target's own wait), or refused for good (any other 4xx: retrying the same message cannot
//! change the answer). No error text ever holds a secret: the request URL (with Telegram's bot
//! token, a webhook's key) is stripped from every transport error.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::render::{discord_body, telegram_html, webhook_body};
use super::Note;
use crate::domain::notify::Target;

/// The longest wait a target can impose through `Retry-After` or `retry_after`.
pub const MAX_HINT: Duration = Duration::from_secs(3_600);
/// Every request's limit, connect included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Try again later, after `hint` when the target asked for it.
    Retry {
        error: String,
        hint: Option<Duration>,
    },
    /// The target refuses this message; it is marked FAILED.
    Refused(String),
}

impl Failure {
    pub fn error(&self) -> &str {
        match self {
            Failure::Retry { error, .. } | Failure::Refused(error) => error,
        }
    }
}

/// Sends notes to targets; cheap to share.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    telegram_api: String,
}

impl Deliverer {
    /// A deliverer whose requests give up after `timeout`, sending Telegram messages through
    /// `telegram_api` (`SIGNALDESK_TELEGRAM_API_URL`).
    pub fn new(telegram_api: &str, timeout: Duration) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirected POST would go out again as a GET somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("signaldesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Deliverer {
            client,
            telegram_api: telegram_api.trim_end_matches('/').to_owned(),
        })
    }

    /// Deliver `note` to `target`, once.
    pub async fn send(&self, target: &Target, note: &Note) -> Result<(), Failure> {
        match target {
            Target::Telegram { bot_token, chat_id } => {
                let url = format!("{}/bot{bot_token}/sendMessage", self.telegram_api);
                let html = json!({
                    "chat_id": chat_id,
                    "text": telegram_html(note),
                    "parse_mode": "HTML",
                    "link_preview_options": {"is_disabled": true},
                });
                match self.telegram(&url, &html).await {
                    // Escaping makes this unreachable; should Telegram still not parse the
                    // entities, the message goes out as plain text rather than not at all.
                    Err(Failure::Refused(error)) if error.contains("can't parse entities") => {
                        let plain = json!({"chat_id": chat_id, "text": note.text()});
                        self.telegram(&url, &plain).await
                    }
                    other => other,
                }
            }
            Target::Discord { webhook_url } => {
                let answer = self.post(webhook_url, &discord_body(note)).await?;
                judge(answer, |body| {
                    // {"message": "You are being rate limited.", "retry_after": 1.5, ...}
                    let retry_after = body.get("retry_after").and_then(|v| v.as_f64());
                    let message = body.get("message").and_then(|v| v.as_str());
                    (message.map(str::to_owned), retry_after)
                })
            }
            Target::Webhook { url } => {
                let answer = self.post(url, &webhook_body(note)).await?;
                judge(answer, |_| (None, None))
            }
        }
    }

    async fn telegram(&self, url: &str, body: &serde_json::Value) -> Result<(), Failure> {
        let answer = self.post(url, body).await?;
        // {"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
        //  "parameters": {"retry_after": 3}}
        if answer.status.is_success() {
            let ok = answer.json.as_ref().and_then(|b| b.get("ok")?.as_bool());
            if ok != Some(true) {
                return Err(Failure::Retry {
                    error: format!("HTTP {}: not a Bot API answer", answer.status.as_u16()),
                    hint: None,
                });
            }
        }
        judge(answer, |body| {
            let description = body.get("description").and_then(|v| v.as_str());
            let retry_after = body
                .get("parameters")
                .and_then(|p| p.get("retry_after"))
                .and_then(|v| v.as_f64());
            (description.map(str::to_owned), retry_after)
        })
    }

    async fn post(&self, url: &str, body: &serde_json::Value) -> Result<Answer, Failure> {
        let response = self
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let bytes = response.bytes().await.map_err(transport)?;
        Ok(Answer {
            status,
            retry_after,
            json: serde_json::from_slice(&bytes).ok(),
            snippet: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        })
    }
}

struct Answer {
    status: StatusCode,
    /// `Retry-After` in seconds (a date is not honoured: the backoff applies).
    retry_after: Option<f64>,
    json: Option<serde_json::Value>,
    snippet: String,
}

/// A transport error without its URL.
fn transport(error: reqwest::Error) -> Failure {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let error = error.without_url();
    Failure::Retry {
        error: format!("{kind}: {error}"),
        hint: None,
    }
}

/// Seconds from a target, as a wait no longer than [`MAX_HINT`].
fn hint(secs: Option<f64>) -> Option<Duration> {
    let secs = secs.filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(Duration::from_secs_f64(secs.min(MAX_HINT.as_secs_f64())))
}

/// Classify an answer; `read` takes the target's own error text and retry hint from its JSON.
fn judge(
    answer: Answer,
    read: impl Fn(&serde_json::Value) -> (Option<String>, Option<f64>),
) -> Result<(), Failure> {
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    let (message, body_hint) = answer.json.as_ref().map(read).unwrap_or_default();
    let detail = message.unwrap_or_else(|| answer.snippet.trim().to_owned());
    let error = if detail.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {detail}", status.as_u16())
    };
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        // The longer of the two, when a target sends both.
        let wait = match (hint(body_hint), hint(answer.retry_after)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Err(Failure::Retry { error, hint: wait })
    } else {
        Err(Failure::Refused(error))
    }
}
