//! The HTTP side of the exchange feeds: a timeout on every request, retries with exponential
//! backoff and jitter on timeouts, network errors and 5xx, and 429/418 honoured through
//! `Retry-After` — a long wait blocks further requests until it has passed instead of hammering
//! the exchange. A server-supplied wait is clamped to [`MAX_SERVER_WAIT`]: an absurd
//! `Retry-After` must neither overflow the clock arithmetic nor silence the feed for good.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::rng::SplitMix64;
use super::FeedError;

/// The longest wait an exchange can impose with `Retry-After` (DESIGN.md §13).
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(3_600);

/// How hard to try one request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    /// Longest single wait, also the longest `Retry-After` waited in place.
    pub max_delay: Duration,
    /// Per-attempt timeout (connect + response).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A response the exchange module still has to interpret: 2xx or a 4xx with a body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    base_url: String,
    policy: RetryPolicy,
    blocked_until: Mutex<Option<Instant>>,
    jitter: Mutex<SplitMix64>,
}

impl HttpClient {
    pub fn new(base_url: &str, policy: RetryPolicy) -> Result<Self, FeedError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("signaldesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeedError::Network(format!("cannot build HTTP client: {e}")))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        Ok(HttpClient {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            policy,
            blocked_until: Mutex::new(None),
            jitter: Mutex::new(SplitMix64::new(seed)),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.policy.base_delay.saturating_mul(1 << attempt.min(10));
        let capped = exp.min(self.policy.max_delay);
        let jitter = self.jitter.lock().map_or(0.5, |mut r| r.next_f64());
        // "Full jitter" halves the synchronised retries of many clients after one outage.
        capped.mul_f64(0.5 + jitter / 2.0)
    }

    fn blocked_for(&self) -> Option<Duration> {
        let until = (*self.blocked_until.lock().ok()?)?;
        until.checked_duration_since(Instant::now())
    }

    fn block(&self, wait: Duration) {
        let now = Instant::now();
        let until = now.checked_add(wait.min(MAX_SERVER_WAIT)).unwrap_or(now);
        if let Ok(mut blocked) = self.blocked_until.lock() {
            *blocked = Some(until);
        }
    }

    /// GET `path` with `query`; retries what is worth retrying.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, FeedError> {
        if let Some(wait) = self.blocked_for() {
            return Err(FeedError::RateLimited {
                retry_after_secs: Some(wait.as_secs().max(1)),
            });
        }
        let url = format!("{}{path}", self.base_url);
        let mut last_error = FeedError::Network("no attempt made".to_owned());
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                actix_web::rt::time::sleep(self.backoff(attempt - 1)).await;
            }
            let response = match self.client.get(&url).query(query).send().await {
                Ok(response) => response,
                Err(e) => {
                    last_error = if e.is_timeout() {
                        FeedError::Timeout(format!("GET {path}"))
                    } else {
                        FeedError::Network(format!("GET {path}: {e}"))
                    };
                    continue;
                }
            };
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 418 {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|secs| secs.min(MAX_SERVER_WAIT.as_secs()));
                let wait = Duration::from_secs(retry_after.unwrap_or(1));
                last_error = FeedError::RateLimited {
                    retry_after_secs: retry_after,
                };
                if wait > self.policy.max_delay || attempt + 1 == self.policy.attempts {
                    self.block(wait);
                    return Err(last_error);
                }
                actix_web::rt::time::sleep(wait).await;
                continue;
            }
            let body = match response.bytes().await {
                Ok(body) => body.to_vec(),
                Err(e) => {
                    last_error = if e.is_timeout() {
                        FeedError::Timeout(format!("GET {path} (reading the body)"))
                    } else {
                        FeedError::Network(format!("GET {path}: {e}"))
                    };
                    continue;
                }
            };
            if status.is_server_error() {
                last_error = FeedError::Http {
                    status: status.as_u16(),
                    body: snippet(&body),
                };
                continue;
            }
            return Ok(Answer { status, body });
        }
        Err(last_error)
    }
}

/// The start of a body, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut short: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        short.push('…');
    }
    short
}
