//! Notification targets and events as configured (DESIGN.md §12): `SIGNALDESK_NOTIFY` names the
//! targets, `SIGNALDESK_NOTIFY_EVENTS` the events sent to them. A target's text holds secrets (a
//! bot token, a webhook URL's key), so it is shown only as [`Target::masked`].

use std::fmt;

/// Where notifications go.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// Telegram Bot API `sendMessage` to `chat_id` (a number, negative for groups, or
    /// `@channelname`).
    Telegram { bot_token: String, chat_id: String },
    /// A Discord incoming webhook.
    Discord { webhook_url: String },
    /// A JSON POST of the event.
    Webhook { url: String },
}

impl Target {
    /// `telegram:<bot_token>:<chat_id>`, `discord:<webhook_url>` or `webhook:<url>`. A bot token
    /// holds a colon itself (`123456:AA…`): the chat id follows the last colon.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        let (kind, rest) = text.split_once(':').ok_or_else(|| {
            "expected telegram:<bot_token>:<chat_id>, discord:<url> or webhook:<url>".to_owned()
        })?;
        match kind.to_ascii_lowercase().as_str() {
            "telegram" => {
                let (bot_token, chat_id) = rest.rsplit_once(':').ok_or_else(|| {
                    "telegram: expected telegram:<bot_token>:<chat_id>".to_owned()
                })?;
                let token_ok = bot_token.split_once(':').is_some_and(|(id, key)| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_digit())
                        && !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                });
                if !token_ok {
                    return Err(
                        "telegram: the bot token is <digits>:<key>, as @BotFather gives it"
                            .to_owned(),
                    );
                }
                let digits = chat_id.strip_prefix('-').unwrap_or(chat_id);
                let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                let channel = chat_id.strip_prefix('@').is_some_and(|name| {
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
                if !(channel || numeric) {
                    return Err(
                        "telegram: the chat id is a number (negative for a group) or @channel"
                            .to_owned(),
                    );
                }
                Ok(Target::Telegram {
                    bot_token: bot_token.to_owned(),
                    chat_id: chat_id.to_owned(),
                })
            }
            "discord" => Ok(Target::Discord {
                webhook_url: http_url(rest).map_err(|e| format!("discord: {e}"))?,
            }),
            "webhook" => Ok(Target::Webhook {
                url: http_url(rest).map_err(|e| format!("webhook: {e}"))?,
            }),
            other => Err(format!(
                "{other:?}: unknown target; expected telegram:, discord: or webhook:"
            )),
        }
    }

    /// The comma-separated targets of `SIGNALDESK_NOTIFY`; a URL holds no comma unescaped.
    pub fn parse_list(text: &str) -> Result<Vec<Target>, String> {
        let mut targets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let target = Target::parse(item)?;
            if targets.contains(&target) {
                return Err(format!("{} is named twice", target.masked()));
            }
            targets.push(target);
        }
        Ok(targets)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Target::Telegram { .. } => "telegram",
            Target::Discord { .. } => "discord",
            Target::Webhook { .. } => "webhook",
        }
    }

    /// The target without its secrets, for logs, `/api/health`, `/metrics`, the effective
    /// configuration and the outbox's `target` column: Telegram's bot id and chat id; a URL's
    /// scheme and host and a short fingerprint of the rest, so two webhooks on one host (two
    /// Discord channels) keep their own names, and no secret can be read back from one.
    pub fn masked(&self) -> String {
        match self {
            Target::Telegram { bot_token, chat_id } => {
                let bot = bot_token.split(':').next().unwrap_or_default();
                format!("telegram:{bot}:****:{chat_id}")
            }
            Target::Discord { webhook_url } => {
                format!(
                    "discord:{}/****{}",
                    origin(webhook_url),
                    fingerprint(webhook_url)
                )
            }
            Target::Webhook { url } => format!("webhook:{}/****{}", origin(url), fingerprint(url)),
        }
    }
}

/// Debug shows what `masked` shows: a target is never printed with its secrets.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// An `http://` or `https://` URL with a host and no whitespace.
fn http_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or("expected an http:// or https:// URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("expected an http:// or https:// URL with a host".to_owned());
    }
    Ok(text.to_owned())
}

/// `scheme://host[:port]` of a URL [`http_url`] accepted.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// `(6 hex digits)` of FNV-1a over `text`: stable across builds and versions (the names are
/// stored), and 24 bits say nothing of a secret of dozens of characters.
fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("({:06x})", hash >> 8)
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    SignalOpened,
    /// A partial exit (DESIGN.md §10).
    TradeExit,
    TradeClosed,
    /// The day before, at `SIGNALDESK_DAILY_SUMMARY_UTC`.
    DailySummary,
    FeedDown,
    FeedRecovered,
    AccountBlown,
    LeaderChanged,
}

impl Event {
    pub const ALL: [Event; 8] = [
        Event::SignalOpened,
        Event::TradeExit,
        Event::TradeClosed,
        Event::DailySummary,
        Event::FeedDown,
        Event::FeedRecovered,
        Event::AccountBlown,
        Event::LeaderChanged,
    ];

    /// The name in `SIGNALDESK_NOTIFY_EVENTS` and in `notifications.event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::SignalOpened => "signal_opened",
            Event::TradeExit => "trade_exit",
            Event::TradeClosed => "trade_closed",
            Event::DailySummary => "daily_summary",
            Event::FeedDown => "feed_down",
            Event::FeedRecovered => "feed_recovered",
            Event::AccountBlown => "account_blown",
            Event::LeaderChanged => "leader_changed",
        }
    }

    pub fn parse(text: &str) -> Option<Event> {
        let text = text.trim().to_ascii_lowercase();
        Event::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// The comma-separated events of `SIGNALDESK_NOTIFY_EVENTS`, or `all`; in [`Event::ALL`]'s
    /// order, each once.
    pub fn parse_list(text: &str) -> Result<Vec<Event>, String> {
        if text.trim().eq_ignore_ascii_case("all") {
            return Ok(Event::ALL.to_vec());
        }
        let mut events = Vec::new();
        for name in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let event = Event::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "unknown event {name:?}; expected all or some of {}",
                    known.join(", ")
                )
            })?;
            events.push(event);
        }
        if events.is_empty() {
            return Err("expected all or at least one event".to_owned());
        }
        events.sort_unstable();
        events.dedup();
        Ok(events)
    }
}

/// The first retry's wait, seconds; each failure doubles it up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: i64 = 5;
pub const MAX_BACKOFF_SECS: i64 = 3_600;

/// The wait before the next delivery of a notification that has failed `attempts` times (≥ 1):
/// exponential, 5 s × 2^(attempts − 1) capped at an hour, with jitter — `jitter` in [0, 1) takes
/// it to between half and all of that, so targets that failed together do not retry together.
/// A target's own hint (429's `Retry-After`, Telegram's `parameters.retry_after`, Discord's
/// `retry_after`) is waited out in full when it is longer.
pub fn backoff(attempts: u32, jitter: f64, hint: Option<chrono::TimeDelta>) -> chrono::TimeDelta {
    let doubling = attempts.saturating_sub(1).min(20);
    let full = (FIRST_BACKOFF_SECS << doubling).min(MAX_BACKOFF_SECS) as f64;
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let millis = (full * 1_000.0 * (0.5 + jitter / 2.0)).round() as i64;
    let wait = chrono::TimeDelta::milliseconds(millis);
    match hint {
        Some(hint) if hint > wait => hint,
        _ => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_telegram_target_splits_at_the_last_colon() {
        let t = Target::parse("telegram:123456:AA-bc_DEF:-100987").unwrap();
        assert_eq!(
            t,
            Target::Telegram {
                bot_token: "123456:AA-bc_DEF".into(),
                chat_id: "-100987".into()
            }
        );
        assert_eq!(t.masked(), "telegram:123456:****:-100987");
        assert!(!format!("{t:?}").contains("AA-bc"), "Debug masks the token");
        let channel = Target::parse("TELEGRAM:1:k:@my_channel").unwrap();
        assert_eq!(channel.kind(), "telegram");
    }

    #[test]
    fn discord_and_webhook_targets_are_urls() {
        let d = Target::parse("discord:https://discord.com/api/webhooks/1/s3cr3t").unwrap();
        let masked = d.masked();
        assert!(
            masked.starts_with("discord:https://discord.com/****("),
            "{masked}"
        );
        let other = Target::parse("discord:https://discord.com/api/webhooks/2/other").unwrap();
        assert_ne!(other.masked(), masked, "two channels, two names");
        assert!(!masked.contains("s3cr3t"));
        let w = Target::parse("webhook:http://127.0.0.1:9000/hook?key=s3cr3t").unwrap();
        assert!(w
            .masked()
            .starts_with("webhook:http://127.0.0.1:9000/****("));
        assert!(!format!("{w:?}").contains("s3cr3t"));
    }

    #[test]
    fn bad_targets_name_the_problem_without_the_secret() {
        let cases = [
            ("telegram:123456:AAkey", "the bot token"),
            ("telegram:abc:key:42", "the bot token"),
            ("telegram:1:key:", "the chat id"),
            ("telegram:1:key:12a", "the chat id"),
            ("telegram:1:key:-", "the chat id"),
            ("discord:ftp://x", "http"),
            ("webhook:https://", "host"),
            ("webhook:https://a b", "host"),
            ("slack:https://hooks", "unknown target"),
            ("s3cr3t-token-without-kind", "expected telegram:"),
        ];
        for (text, reason) in cases {
            let error = Target::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(!error.contains("s3cr3t"), "{text}: {error}");
        }
        let twice = "webhook:http://a/x,webhook:http://a/x";
        assert!(Target::parse_list(twice).unwrap_err().contains("twice"));
        assert_eq!(Target::parse_list(" , ").unwrap(), Vec::new());
    }

    #[test]
    fn events_parse_by_name_or_all() {
        assert_eq!(Event::parse_list("all").unwrap(), Event::ALL.to_vec());
        assert_eq!(
            Event::parse_list("trade_closed, SIGNAL_OPENED,trade_closed").unwrap(),
            vec![Event::SignalOpened, Event::TradeClosed]
        );
        assert!(Event::parse_list("trade_closed,nope")
            .unwrap_err()
            .contains("\"nope\""));
        assert!(Event::parse_list(",").is_err());
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_an_hour_and_honours_a_longer_hint() {
        // To the tenth of a second: a jitter just under 1 is just under the full wait.
        let secs = |a, j| (backoff(a, j, None).num_milliseconds() as f64 / 100.0).round() / 10.0;
        assert_eq!(secs(1, 0.999_999), 5.0);
        assert_eq!(secs(1, 0.0), 2.5, "half, at the least jitter");
        assert_eq!(secs(2, 0.999_999), 10.0);
        assert_eq!(secs(4, 0.999_999), 40.0);
        assert_eq!(secs(30, 0.999_999), 3_600.0, "capped");
        assert_eq!(secs(u32::MAX, f64::NAN), 1_800.0, "no overflow, no NaN");
        let hint = chrono::TimeDelta::seconds(90);
        assert_eq!(backoff(1, 0.5, Some(hint)), hint, "a longer hint wins");
        assert_eq!(
            backoff(30, 0.5, Some(hint)),
            backoff(30, 0.5, None),
            "a shorter one does not"
        );
    }
}
