//! Configuration (DESIGN.md §6): defaults, then `signaldesk.toml` (or `--config <file>`), then
//! the environment, then command-line flags; validated once into typed fields. A bad value stops
//! the start with a message naming the key and where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use chrono::NaiveTime;

use crate::domain::management::{ManagementDefaults, TargetSpec, MAX_TRAILING_PCT};
use crate::domain::market::Timeframe;
use crate::domain::notify::{Event, Target};
use crate::domain::rules::TradingRules;
use crate::domain::Symbol;

/// The file read from the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "signaldesk.toml";

/// Every key, spelled as in the toml file; the env var is `SIGNALDESK_` + upper case, except
/// `database_url`, which is `DATABASE_URL` as diesel's tools expect.
pub const KEYS: &[&str] = &[
    "database_url",
    "bind",
    "feed",
    "exchange_url",
    "replay_dir",
    "replay_speed",
    "symbols",
    "tick_secs",
    "leader_lease_secs",
    "scan",
    "scan_secs",
    "timeframe",
    "api_token",
    "webhook_token",
    "public_url",
    "allowed_hosts",
    "max_event_streams",
    "initial_balance",
    "stale_secs",
    "candle_retention_days",
    "notify",
    "notify_events",
    "notify_max_attempts",
    "telegram_api_url",
    "daily_summary_utc",
    "risk_per_trade",
    "max_position_pct",
    "fee_rate",
    "slippage",
    "max_trades_per_symbol",
    "max_open_trades",
    "max_signals_per_day",
    "cooldown_minutes",
    "min_confidence",
    "max_portfolio_risk",
    "min_balance",
    "eod_close_utc",
    "max_hold_hours",
    "take_profits",
    "breakeven_at_r",
    "trailing_stop_pct",
    "trailing_activate_at_r",
];

/// Keys whose values are secrets: masked in the effective configuration and in errors.
pub const SECRET_KEYS: &[&str] = &["api_token", "webhook_token", "notify"];

/// The shortest token accepted (DESIGN.md §13): short ones fall to guessing.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The environment variable of a key.
pub fn env_name(key: &str) -> String {
    if key == "database_url" {
        "DATABASE_URL".to_owned()
    } else {
        format!("SIGNALDESK_{}", key.to_ascii_uppercase())
    }
}

/// Where the price feed comes from (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Bybit,
    Binance,
    Simulated,
    Replay,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Bybit => "bybit",
            FeedKind::Binance => "binance",
            FeedKind::Simulated => "simulated",
            FeedKind::Replay => "replay",
        }
    }

    /// `bybit`, `binance`, `simulated` or `replay`, in any case.
    pub fn parse(s: &str) -> Result<FeedKind, String> {
        match s.to_ascii_lowercase().as_str() {
            "bybit" => Ok(FeedKind::Bybit),
            "binance" => Ok(FeedKind::Binance),
            "simulated" => Ok(FeedKind::Simulated),
            "replay" => Ok(FeedKind::Replay),
            _ => Err("unknown feed; expected bybit, binance, simulated or replay".to_owned()),
        }
    }

    /// The exchange's public REST base URL, for the exchange feeds.
    pub fn default_exchange_url(self) -> Option<&'static str> {
        match self {
            FeedKind::Bybit => Some("https://api.bybit.com"),
            FeedKind::Binance => Some("https://api.binance.com"),
            FeedKind::Simulated | FeedKind::Replay => None,
        }
    }
}

/// The longest candle retention accepted: a century, far from any date arithmetic's limits.
pub const MAX_CANDLE_RETENTION_DAYS: u32 = 36_500;

/// Candle timeframes the feeds and the scanner understand.
pub const TIMEFRAMES: &[&str] = &["1m", "5m", "15m", "1h", "4h", "1d"];

/// The validated configuration. Its `Debug`, like its `Display`, masks the secrets, so no
/// `{:?}` (a log line, a panic message) can print a token.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// SQLite file path.
    pub database_url: String,
    /// Listen address, `host:port`.
    pub bind: String,
    pub feed: FeedKind,
    /// Base URL of the bybit/binance REST API (the exchange's public URL by default).
    pub exchange_url: Option<String>,
    /// Folder of `<SYMBOL>-<interval>.csv` kline files for the replay feed.
    pub replay_dir: Option<PathBuf>,
    /// Replay pace in market seconds per wall-clock second.
    pub replay_speed: f64,
    /// Watch-list in exchange form (`BTCUSDT`).
    pub symbols: Vec<Symbol>,
    /// `update_paper_trades` interval.
    pub tick_secs: u64,
    /// How long the leader's lease lasts after each renewal (DESIGN.md §9): another instance
    /// takes over this long after the leader's last tick.
    pub leader_lease_secs: u64,
    /// Whether the strategy scanner runs.
    pub scan: bool,
    pub scan_secs: u64,
    /// Scanner candle timeframe.
    pub timeframe: Timeframe,
    /// Bearer token for write endpoints (at least 16 characters); `None` refuses every write.
    pub api_token: Option<String>,
    /// The TradingView webhook's own secret (at least 16 characters); when set it is the only
    /// one the webhook accepts, and it opens nothing else (DESIGN.md §13).
    pub webhook_token: Option<String>,
    /// The URL users reach signaldesk at (`https://…` behind a TLS proxy): its host is allowed
    /// and an https URL makes the session cookie `Secure`.
    pub public_url: Option<String>,
    /// Host names accepted in the `Host` header besides the bind host and loopback names,
    /// lower case, without port.
    pub allowed_hosts: Vec<String>,
    /// Concurrent `/api/events` streams; one more gets 503.
    pub max_event_streams: usize,
    /// Paper account start, quote currency.
    pub initial_balance: f64,
    /// A price older than this many seconds is stale.
    pub stale_secs: u64,
    /// Candles older than this many days are pruned, except those within a trade's span
    /// (DESIGN.md §11); 1 to 36 500.
    pub candle_retention_days: u32,
    /// Where notifications go (DESIGN.md §12); empty: none are written.
    pub notify: Vec<Target>,
    /// The events notified, in `Event::ALL`'s order.
    pub notify_events: Vec<Event>,
    /// Deliveries tried before a notification is `FAILED`.
    pub notify_max_attempts: u32,
    /// Telegram's Bot API base URL, without a trailing slash.
    pub telegram_api_url: String,
    /// When the daily summary of the day before is written, UTC.
    pub daily_summary_utc: NaiveTime,
    pub rules: TradingRules,
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value {value:?} for {key} ({source_desc}): {reason}")]
    Invalid {
        key: String,
        value: String,
        source_desc: String,
        reason: String,
    },
    #[error("{0}")]
    File(String),
}

impl ConfigError {
    /// The key the error is about, as the user wrote it (env var, toml key or flag).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::File(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Env,
    Flag,
}

#[derive(Debug, Clone)]
struct Raw {
    value: String,
    source: Source,
}

/// Raw values by key, later layers overriding earlier ones.
#[derive(Debug, Default)]
struct Layers(BTreeMap<&'static str, Raw>);

impl Layers {
    fn get(&self, key: &'static str) -> Option<&Raw> {
        self.0.get(key).filter(|raw| !raw.value.trim().is_empty())
    }

    fn error(&self, key: &'static str, reason: impl Into<String>) -> ConfigError {
        let raw = self.0.get(key);
        let (name, source_desc) = match raw.map(|r| &r.source) {
            Some(Source::File(path)) => (key.to_owned(), format!("in {}", path.display())),
            Some(Source::Env) => (env_name(key), "from the environment".to_owned()),
            Some(Source::Flag) => (format!("--{}", key.replace('_', "-")), "flag".to_owned()),
            None => (env_name(key), "default".to_owned()),
        };
        // A secret never reaches the terminal or a log, not even a rejected one.
        let value = match raw {
            Some(_) if SECRET_KEYS.contains(&key) => "****".to_owned(),
            Some(r) => r.value.clone(),
            None => String::new(),
        };
        ConfigError::Invalid {
            key: name,
            value,
            source_desc,
            reason: reason.into(),
        }
    }

    /// Parse a key with `parse`, or take `default` when it is unset.
    fn parse<T>(
        &self,
        key: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            Some(raw) => parse(raw.value.trim()).map_err(|reason| self.error(key, reason)),
            None => Ok(default),
        }
    }
}

fn key_of(name: &str) -> Option<&'static str> {
    KEYS.iter().copied().find(|k| *k == name)
}

fn toml_to_string(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(toml_to_string)
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Table(_) => None,
    }
}

fn number(s: &str) -> Result<f64, String> {
    let value: f64 = s.parse().map_err(|_| "not a number".to_owned())?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err("not a finite number".to_owned())
    }
}

/// A fraction written as `0.01` or `1%`, within `[min, max]`.
fn fraction(min: f64, max: f64, allow_min: bool) -> impl Fn(&str) -> Result<f64, String> {
    move |s: &str| {
        let value = match s.strip_suffix('%') {
            Some(pct) => number(pct.trim())? / 100.0,
            None => number(s)?,
        };
        let above_min = if allow_min { value >= min } else { value > min };
        if above_min && value <= max {
            Ok(value)
        } else {
            let low = if allow_min { "at least" } else { "above" };
            Err(format!(
                "must be {low} {min} and at most {max} (a fraction: 0.01 or 1% is one percent)"
            ))
        }
    }
}

fn positive_number(s: &str) -> Result<f64, String> {
    let value = number(s)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err("must be greater than 0".to_owned())
    }
}

fn whole<T: TryFrom<u64>>(min: u64) -> impl Fn(&str) -> Result<T, String> {
    move |s: &str| {
        let value: u64 = s.parse().map_err(|_| "not a whole number".to_owned())?;
        if value < min {
            return Err(format!("must be at least {min}"));
        }
        T::try_from(value).map_err(|_| "too large".to_owned())
    }
}

fn switch(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err("expected on or off".to_owned()),
    }
}

fn off_or<T>(
    parse: impl Fn(&str) -> Result<T, String>,
) -> impl Fn(&str) -> Result<Option<T>, String> {
    move |s: &str| {
        if s.eq_ignore_ascii_case("off") {
            Ok(None)
        } else {
            parse(s).map(Some)
        }
    }
}

/// Partial targets as the configuration writes them, `1R:30%,2R:30%`, or `off`.
pub fn target_list(specs: &[TargetSpec]) -> String {
    if specs.is_empty() {
        return "off".to_owned();
    }
    specs
        .iter()
        .map(|t| format!("{}R:{}%", t.r, t.fraction * 100.0))
        .collect::<Vec<_>>()
        .join(",")
}

/// A trailing distance in percent, `2` or `2%`: above 0 and below 50.
fn trailing_pct(s: &str) -> Result<f64, String> {
    let value = number(s.strip_suffix('%').unwrap_or(s).trim())?;
    if value > 0.0 && value < MAX_TRAILING_PCT {
        Ok(value)
    } else {
        Err(format!(
            "must be above 0 and below {MAX_TRAILING_PCT} (percent: 2 trails 2 % behind the best price)"
        ))
    }
}

// The trade management keys (DESIGN.md §10), one parser each, shared with the flags of
// `signaldesk backtest` so a flag takes exactly what its key takes.

/// `take_profits`: `1R:50%`, `1R:30%,2R:30%`, or `off`.
pub fn take_profits_value(s: &str) -> Result<Vec<TargetSpec>, String> {
    TargetSpec::parse_list(s)
}

/// `breakeven_at_r`: a number of R above 0, or `off`.
pub fn breakeven_at_r_value(s: &str) -> Result<Option<f64>, String> {
    off_or(positive_number)(s.trim())
}

/// `trailing_stop_pct`: percent, above 0 and below 50 (`2` or `2%`), or `off`.
pub fn trailing_stop_pct_value(s: &str) -> Result<Option<f64>, String> {
    off_or(trailing_pct)(s.trim())
}

/// `trailing_activate_at_r`: a number of R, 0 or more.
pub fn trailing_activate_at_r_value(s: &str) -> Result<f64, String> {
    let value = number(s.trim())?;
    if value < 0.0 {
        Err("must be 0 or more (in R)".to_owned())
    } else {
        Ok(value)
    }
}

fn time_of_day(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| "expected off or a UTC time HH:MM".to_owned())
}

fn feed_kind(s: &str) -> Result<FeedKind, String> {
    FeedKind::parse(s)
}

fn bind_address(s: &str) -> Result<String, String> {
    let resolves = s
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.next().is_some());
    if resolves {
        Ok(s.to_owned())
    } else {
        Err("expected host:port, e.g. 127.0.0.1:8080".to_owned())
    }
}

fn base_url(s: &str) -> Result<String, String> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(s.trim_end_matches('/').to_owned())
    } else {
        Err("expected an http:// or https:// URL".to_owned())
    }
}

fn token(s: &str) -> Result<Option<String>, String> {
    if s.chars().count() < MIN_TOKEN_CHARS {
        Err(format!(
            "must be at least {MIN_TOKEN_CHARS} characters (a random one: `openssl rand -hex 24`)"
        ))
    } else {
        Ok(Some(s.to_owned()))
    }
}

/// An `http://` or `https://` URL with a host and no user name, password, query or fragment.
fn public_url(s: &str) -> Result<Option<String>, String> {
    let bad = || {
        "expected the http:// or https:// URL users open, e.g. https://signals.example.com"
            .to_owned()
    };
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let visible = s.bytes().all(|b| b.is_ascii_graphic());
    if !visible || s.contains(['?', '#', '@', '\\']) || host_of(authority).is_none() {
        return Err(bad());
    }
    Ok(Some(s.trim_end_matches('/').to_owned()))
}

/// The lower-case host name of `host[:port]` (IPv6 in brackets), if it is one.
pub fn host_of(authority: &str) -> Option<String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']')?;
        let port = v6[end + 1..].strip_prefix(':');
        if port.is_none() && end + 1 != v6.len() {
            return None;
        }
        (&authority[..end + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return None;
        }
    }
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let name_ok = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    let ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => name_ok(&host),
    };
    ok.then_some(host)
}

fn host_list(s: &str) -> Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let host = host_of(part)
            .filter(|_| !part.contains(':') || part.starts_with('['))
            .filter(|_| !part.starts_with('[') || part.ends_with(']'))
            .ok_or_else(|| {
                format!(
                    "`{part}` is not a host name (names only, without port: signals.example.com)"
                )
            })?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

fn symbol_list(s: &str) -> Result<Vec<Symbol>, String> {
    let mut symbols = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let symbol = Symbol::parse(part)?;
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
    }
    if symbols.is_empty() {
        Err("the watch-list is empty".to_owned())
    } else {
        Ok(symbols)
    }
}

fn timeframe(s: &str) -> Result<Timeframe, String> {
    Timeframe::parse(s).ok_or_else(|| format!("expected one of {}", TIMEFRAMES.join(", ")))
}

impl Config {
    /// Load from the config file (`path`, else `./signaldesk.toml` when present), the process
    /// environment, then `flags` (`key = value` pairs from the command line).
    pub fn load(path: Option<&Path>, flags: &[(String, String)]) -> Result<Config, ConfigError> {
        let file = match path {
            Some(path) => Some(read_file(path)?),
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    Some(read_file(default)?)
                } else {
                    None
                }
            }
        };
        let file = file.as_ref().map(|(p, text)| (p.as_path(), text.as_str()));
        Config::from_layers(file, std::env::vars(), flags)
    }

    /// Build from explicit layers: file `(path, toml text)`, environment pairs, flag pairs.
    pub fn from_layers(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut layers = Layers::default();
        if let Some((path, text)) = file {
            let table: toml::Table = text
                .parse()
                .map_err(|e| ConfigError::File(format!("cannot parse {}: {e}", path.display())))?;
            for (name, value) in table {
                let key = key_of(&name).ok_or_else(|| {
                    ConfigError::File(format!(
                        "unknown key `{name}` in {}; known keys: {}",
                        path.display(),
                        KEYS.join(", ")
                    ))
                })?;
                let value = toml_to_string(&value).ok_or_else(|| {
                    ConfigError::File(format!(
                        "`{name}` in {} must be a string, number, boolean or list",
                        path.display()
                    ))
                })?;
                let source = Source::File(path.to_path_buf());
                layers.0.insert(key, Raw { value, source });
            }
        }
        let env: BTreeMap<String, String> = env.into_iter().collect();
        for key in KEYS {
            if let Some(value) = env.get(&env_name(key)) {
                let raw = Raw {
                    value: value.clone(),
                    source: Source::Env,
                };
                layers.0.insert(key, raw);
            }
        }
        for (name, value) in flags {
            let key = key_of(name).ok_or_else(|| {
                ConfigError::File(format!(
                    "unknown setting `{name}`; known keys: {}",
                    KEYS.join(", ")
                ))
            })?;
            let raw = Raw {
                value: value.clone(),
                source: Source::Flag,
            };
            layers.0.insert(key, raw);
        }
        Config::from_raw(&layers)
    }

    fn from_raw(l: &Layers) -> Result<Config, ConfigError> {
        let initial_balance = l.parse("initial_balance", 10_000.0, positive_number)?;
        let d = TradingRules::defaults_for(initial_balance);
        let rules = TradingRules {
            risk_per_trade: l.parse(
                "risk_per_trade",
                d.risk_per_trade,
                fraction(0.0, 0.25, false),
            )?,
            max_position_pct: l.parse(
                "max_position_pct",
                d.max_position_pct,
                fraction(0.0, 10.0, false),
            )?,
            fee_rate: l.parse("fee_rate", d.fee_rate, fraction(0.0, 0.05, true))?,
            slippage: l.parse("slippage", d.slippage, fraction(0.0, 0.05, true))?,
            max_trades_per_symbol: l.parse(
                "max_trades_per_symbol",
                d.max_trades_per_symbol,
                whole(1),
            )?,
            max_open_trades: l.parse("max_open_trades", d.max_open_trades, whole(1))?,
            max_signals_per_day: l.parse("max_signals_per_day", d.max_signals_per_day, whole(1))?,
            cooldown_minutes: l.parse("cooldown_minutes", d.cooldown_minutes, whole(0))?,
            min_confidence: l.parse(
                "min_confidence",
                d.min_confidence,
                fraction(0.0, 1.0, true),
            )?,
            max_portfolio_risk: l.parse(
                "max_portfolio_risk",
                d.max_portfolio_risk,
                fraction(0.0, 1.0, false),
            )?,
            min_balance: l.parse("min_balance", d.min_balance, |s| {
                let value = number(s)?;
                if value < 0.0 {
                    Err("must not be negative".to_owned())
                } else if value >= initial_balance {
                    Err(format!(
                        "must be below the initial balance {initial_balance}"
                    ))
                } else {
                    Ok(value)
                }
            })?,
            eod_close_utc: l.parse("eod_close_utc", None, off_or(time_of_day))?,
            max_hold_hours: l.parse("max_hold_hours", None, off_or(positive_number))?,
            management: ManagementDefaults {
                take_profits: l.parse("take_profits", Vec::new(), take_profits_value)?,
                breakeven_at_r: l.parse("breakeven_at_r", None, breakeven_at_r_value)?,
                trailing_stop_pct: l.parse("trailing_stop_pct", None, trailing_stop_pct_value)?,
                trailing_activate_at_r: l.parse(
                    "trailing_activate_at_r",
                    0.0,
                    trailing_activate_at_r_value,
                )?,
            },
        };
        let feed = l.parse("feed", FeedKind::Bybit, feed_kind)?;
        let replay_dir = l.parse("replay_dir", None, |s| Ok(Some(PathBuf::from(s))))?;
        if feed == FeedKind::Replay && replay_dir.is_none() {
            return Err(l.error(
                "replay_dir",
                "the replay feed needs a folder of <SYMBOL>-<interval>.csv kline files",
            ));
        }
        let exchange_url = l.parse(
            "exchange_url",
            feed.default_exchange_url().map(str::to_owned),
            |s| base_url(s).map(Some),
        )?;
        let api_token = l.parse("api_token", None, token)?;
        let webhook_token = l.parse("webhook_token", None, token)?;
        if webhook_token.is_some() && webhook_token == api_token {
            return Err(l.error(
                "webhook_token",
                "must differ from the API token: it is the webhook's own secret",
            ));
        }
        let tick_secs = l.parse("tick_secs", 5, whole(1))?;
        Ok(Config {
            database_url: l.parse("database_url", "data/signaldesk.db".to_owned(), |s| {
                Ok(s.to_owned())
            })?,
            bind: l.parse("bind", "127.0.0.1:8080".to_owned(), bind_address)?,
            feed,
            exchange_url,
            replay_dir,
            replay_speed: l.parse("replay_speed", 60.0, positive_number)?,
            symbols: l.parse(
                "symbols",
                ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
                    .iter()
                    .filter_map(|s| Symbol::parse(s).ok())
                    .collect(),
                symbol_list,
            )?,
            tick_secs,
            leader_lease_secs: l.parse(
                "leader_lease_secs",
                tick_secs.saturating_mul(3),
                |s| {
                    let secs: u64 = whole(1)(s)?;
                    if secs < tick_secs.saturating_mul(2) {
                        Err(format!(
                            "must be at least twice tick_secs ({tick_secs}): the leader renews it every tick"
                        ))
                    } else {
                        Ok(secs)
                    }
                },
            )?,
            scan: l.parse("scan", true, switch)?,
            scan_secs: l.parse("scan_secs", 60, whole(1))?,
            timeframe: l.parse("timeframe", Timeframe::M5, timeframe)?,
            api_token,
            webhook_token,
            public_url: l.parse("public_url", None, public_url)?,
            allowed_hosts: l.parse("allowed_hosts", Vec::new(), host_list)?,
            max_event_streams: l.parse("max_event_streams", 64, whole(1))?,
            initial_balance,
            stale_secs: l.parse("stale_secs", 30, whole(1))?,
            candle_retention_days: l.parse("candle_retention_days", 30, |s| {
                let days: u32 = whole(1)(s)?;
                if days > MAX_CANDLE_RETENTION_DAYS {
                    Err(format!("must be at most {MAX_CANDLE_RETENTION_DAYS} (a century)"))
                } else {
                    Ok(days)
                }
            })?,
            notify: l.parse("notify", Vec::new(), Target::parse_list)?,
            notify_events: l.parse("notify_events", Event::ALL.to_vec(), Event::parse_list)?,
            notify_max_attempts: l.parse("notify_max_attempts", 10, |s| {
                let attempts: u32 = whole(1)(s)?;
                if attempts > 1_000 {
                    Err("must be at most 1000".to_owned())
                } else {
                    Ok(attempts)
                }
            })?,
            telegram_api_url: l.parse(
                "telegram_api_url",
                "https://api.telegram.org".to_owned(),
                base_url,
            )?,
            daily_summary_utc: l.parse(
                "daily_summary_utc",
                NaiveTime::from_hms_opt(0, 5, 0).unwrap_or(NaiveTime::MIN),
                |s| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| "expected a UTC time HH:MM".to_owned()),
            )?,
            rules,
        })
    }
}

fn read_file(path: &Path) -> Result<(PathBuf, String), ConfigError> {
    std::fs::read_to_string(path)
        .map(|text| (path.to_path_buf(), text))
        .map_err(|e| ConfigError::File(format!("cannot read {}: {e}", path.display())))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Config {{\n{self}}}")
    }
}

impl fmt::Display for Config {
    /// The effective configuration, one `key = value` per line, every secret masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rules;
        let off = |v: Option<String>| v.unwrap_or_else(|| "off".to_owned());
        let lines: Vec<(&str, String)> = vec![
            ("database_url", crate::db::redact(&self.database_url)),
            ("bind", self.bind.clone()),
            ("feed", self.feed.as_str().to_owned()),
            (
                "exchange_url",
                self.exchange_url.clone().unwrap_or_else(|| "-".to_owned()),
            ),
            (
                "replay_dir",
                self.replay_dir
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
            ),
            ("replay_speed", self.replay_speed.to_string()),
            (
                "symbols",
                self.symbols
                    .iter()
                    .map(Symbol::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("tick_secs", self.tick_secs.to_string()),
            ("leader_lease_secs", self.leader_lease_secs.to_string()),
            ("scan", if self.scan { "on" } else { "off" }.to_owned()),
            ("scan_secs", self.scan_secs.to_string()),
            ("timeframe", self.timeframe.as_str().to_owned()),
            (
                "api_token",
                if self.api_token.is_some() {
                    "****"
                } else {
                    "unset (writes refused)"
                }
                .to_owned(),
            ),
            (
                "webhook_token",
                if self.webhook_token.is_some() {
                    "****"
                } else {
                    "unset (the webhook accepts the API token)"
                }
                .to_owned(),
            ),
            (
                "public_url",
                self.public_url.clone().unwrap_or_else(|| "-".to_owned()),
            ),
            (
                "allowed_hosts",
                if self.allowed_hosts.is_empty() {
                    "-".to_owned()
                } else {
                    self.allowed_hosts.join(",")
                },
            ),
            ("max_event_streams", self.max_event_streams.to_string()),
            ("initial_balance", self.initial_balance.to_string()),
            ("stale_secs", self.stale_secs.to_string()),
            (
                "candle_retention_days",
                self.candle_retention_days.to_string(),
            ),
            (
                "notify",
                if self.notify.is_empty() {
                    "off".to_owned()
                } else {
                    self.notify
                        .iter()
                        .map(Target::masked)
                        .collect::<Vec<_>>()
                        .join(",")
                },
            ),
            (
                "notify_events",
                if self.notify_events == Event::ALL {
                    "all".to_owned()
                } else {
                    self.notify_events
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                },
            ),
            ("notify_max_attempts", self.notify_max_attempts.to_string()),
            ("telegram_api_url", self.telegram_api_url.clone()),
            (
                "daily_summary_utc",
                self.daily_summary_utc.format("%H:%M").to_string(),
            ),
            ("risk_per_trade", r.risk_per_trade.to_string()),
            ("max_position_pct", r.max_position_pct.to_string()),
            ("fee_rate", r.fee_rate.to_string()),
            ("slippage", r.slippage.to_string()),
            ("max_trades_per_symbol", r.max_trades_per_symbol.to_string()),
            ("max_open_trades", r.max_open_trades.to_string()),
            ("max_signals_per_day", r.max_signals_per_day.to_string()),
            ("cooldown_minutes", r.cooldown_minutes.to_string()),
            ("min_confidence", r.min_confidence.to_string()),
            ("max_portfolio_risk", r.max_portfolio_risk.to_string()),
            ("min_balance", r.min_balance.to_string()),
            (
                "eod_close_utc",
                off(r.eod_close_utc.map(|t| t.format("%H:%M").to_string())),
            ),
            (
                "max_hold_hours",
                off(r.max_hold_hours.map(|h| h.to_string())),
            ),
            ("take_profits", target_list(&r.management.take_profits)),
            (
                "breakeven_at_r",
                off(r.management.breakeven_at_r.map(|v| v.to_string())),
            ),
            (
                "trailing_stop_pct",
                off(r.management.trailing_stop_pct.map(|v| format!("{v}%"))),
            ),
            (
                "trailing_activate_at_r",
                r.management.trailing_activate_at_r.to_string(),
            ),
        ];
        for (key, value) in lines {
            writeln!(f, "  {key} = {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_design() {
        let config = Config::from_layers(None, env(&[]), &[]).unwrap();
        assert_eq!(config.database_url, "data/signaldesk.db");
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.feed, FeedKind::Bybit);
        assert_eq!(
            config.exchange_url.as_deref(),
            Some("https://api.bybit.com")
        );
        let symbols: Vec<&str> = config.symbols.iter().map(Symbol::as_str).collect();
        assert_eq!(symbols, ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]);
        assert_eq!(config.tick_secs, 5);
        assert_eq!(config.rules.risk_per_trade, 0.01);
        assert_eq!(config.rules.min_balance, 1_000.0);
        assert_eq!(config.rules.eod_close_utc, None);
        assert_eq!(config.api_token, None);
    }

    #[test]
    fn the_leader_lease_follows_the_tick_and_must_outlast_two_ticks() {
        let config = Config::from_layers(None, env(&[("SIGNALDESK_TICK_SECS", "4")]), &[]).unwrap();
        assert_eq!(config.leader_lease_secs, 12, "3 × tick_secs by default");
        let err = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_TICK_SECS", "4"),
                ("SIGNALDESK_LEADER_LEASE_SECS", "7"),
            ]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("SIGNALDESK_LEADER_LEASE_SECS"), "{err}");
        assert!(err.contains("twice tick_secs"), "{err}");
    }

    #[test]
    fn candles_are_kept_thirty_days_unless_configured_within_a_century() {
        let config = Config::from_layers(None, env(&[]), &[]).unwrap();
        assert_eq!(config.candle_retention_days, 30);
        let file = "candle_retention_days = 7\n";
        let config =
            Config::from_layers(Some((Path::new("signaldesk.toml"), file)), env(&[]), &[]).unwrap();
        assert_eq!(config.candle_retention_days, 7, "from the file");
        for (value, reason) in [
            ("0", "at least 1"),
            ("36501", "at most 36500"),
            ("-3", "not a whole number"),
            ("1.5", "not a whole number"),
            ("99999999999", "too large"),
        ] {
            let err = Config::from_layers(
                None,
                env(&[("SIGNALDESK_CANDLE_RETENTION_DAYS", value)]),
                &[],
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("SIGNALDESK_CANDLE_RETENTION_DAYS"),
                "{value}: {err}"
            );
            assert!(err.contains(reason), "{value}: {err}");
        }
    }

    #[test]
    fn environment_overrides_file_and_flags_override_environment() {
        let file = "feed = \"binance\"\ntick_secs = 7\nsymbols = [\"btcusdt\", \"ethusdt\"]\n";
        let config = Config::from_layers(
            Some((Path::new("signaldesk.toml"), file)),
            env(&[("SIGNALDESK_TICK_SECS", "9"), ("DATABASE_URL", "/tmp/x.db")]),
            &[("tick_secs".to_owned(), "11".to_owned())],
        )
        .unwrap();
        assert_eq!(config.feed, FeedKind::Binance);
        assert_eq!(
            config.exchange_url.as_deref(),
            Some("https://api.binance.com")
        );
        assert_eq!(config.tick_secs, 11);
        let symbols: Vec<&str> = config.symbols.iter().map(Symbol::as_str).collect();
        assert_eq!(symbols, ["BTCUSDT", "ETHUSDT"]);
        assert_eq!(config.database_url, "/tmp/x.db");
    }

    #[test]
    fn percentages_and_fractions_mean_the_same() {
        let a = Config::from_layers(None, env(&[("SIGNALDESK_FEE_RATE", "0.1%")]), &[]).unwrap();
        let b = Config::from_layers(None, env(&[("SIGNALDESK_FEE_RATE", "0.001")]), &[]).unwrap();
        assert!((a.rules.fee_rate - b.rules.fee_rate).abs() < 1e-15);
    }

    #[test]
    fn trade_management_defaults_are_off_and_read_as_written() {
        let config = Config::from_layers(None, env(&[]), &[]).unwrap();
        assert_eq!(config.rules.management, ManagementDefaults::default());
        let config = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_TAKE_PROFITS", "1R:30%,2R:30%"),
                ("SIGNALDESK_BREAKEVEN_AT_R", "1"),
                ("SIGNALDESK_TRAILING_STOP_PCT", "2%"),
                ("SIGNALDESK_TRAILING_ACTIVATE_AT_R", "1.5"),
            ]),
            &[],
        )
        .unwrap();
        let m = &config.rules.management;
        assert_eq!(
            m.take_profits,
            [
                TargetSpec {
                    r: 1.0,
                    fraction: 0.3
                },
                TargetSpec {
                    r: 2.0,
                    fraction: 0.3
                }
            ]
        );
        assert_eq!(
            (
                m.breakeven_at_r,
                m.trailing_stop_pct,
                m.trailing_activate_at_r
            ),
            (Some(1.0), Some(2.0), 1.5)
        );
        let shown = config.to_string();
        assert!(shown.contains("take_profits = 1R:30%,2R:30%"), "{shown}");
        assert!(shown.contains("trailing_stop_pct = 2%"), "{shown}");
        let plain =
            Config::from_layers(None, env(&[("SIGNALDESK_TRAILING_STOP_PCT", "2")]), &[]).unwrap();
        assert_eq!(
            plain.rules.management.trailing_stop_pct,
            Some(2.0),
            "2 is 2 %"
        );
    }

    #[test]
    fn bad_values_name_their_key_and_source() {
        let cases: &[(&str, &str, &str)] = &[
            ("SIGNALDESK_FEED", "kraken", "unknown feed"),
            ("SIGNALDESK_FEE_RATE", "-0.1", "negative rate"),
            ("SIGNALDESK_TICK_SECS", "five", "unparsable number"),
            ("SIGNALDESK_INITIAL_BALANCE", "NaN", "not finite"),
            ("SIGNALDESK_EOD_CLOSE_UTC", "25:00", "not a time"),
            ("SIGNALDESK_SYMBOLS", "BTC/USDT", "not a symbol"),
            ("SIGNALDESK_BIND", "nowhere", "no port"),
            ("SIGNALDESK_EXCHANGE_URL", "ftp://x", "not http"),
            (
                "SIGNALDESK_TAKE_PROFITS",
                "1R:60%,2R:40%",
                "parts summing to 100 %",
            ),
            ("SIGNALDESK_TAKE_PROFITS", "50%", "no R"),
            ("SIGNALDESK_BREAKEVEN_AT_R", "0", "breakeven at 0R"),
            ("SIGNALDESK_TRAILING_STOP_PCT", "50", "a 50 % trail"),
            ("SIGNALDESK_TRAILING_STOP_PCT", "0%", "no trail"),
            (
                "SIGNALDESK_TRAILING_ACTIVATE_AT_R",
                "-1",
                "a negative activation",
            ),
        ];
        for (key, value, reason) in cases {
            let err = Config::from_layers(None, env(&[(key, value)]), &[]).unwrap_err();
            assert_eq!(err.key(), Some(*key), "{reason}");
            assert!(
                err.to_string().contains("from the environment"),
                "{reason}: {err}"
            );
        }
    }

    #[test]
    fn file_errors_name_the_toml_key() {
        let err = Config::from_layers(Some((Path::new("s.toml"), "slippage = 2")), env(&[]), &[])
            .unwrap_err();
        assert_eq!(err.key(), Some("slippage"));
        assert!(err.to_string().contains("in s.toml"));
        let unknown = Config::from_layers(Some((Path::new("s.toml"), "tick = 2")), env(&[]), &[])
            .unwrap_err();
        assert!(unknown.to_string().contains("unknown key `tick`"));
    }

    #[test]
    fn replay_feed_requires_a_folder() {
        let err =
            Config::from_layers(None, env(&[("SIGNALDESK_FEED", "replay")]), &[]).unwrap_err();
        assert_eq!(err.key(), Some("SIGNALDESK_REPLAY_DIR"));
    }

    #[test]
    fn display_masks_every_secret() {
        let config = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_API_TOKEN", "s3cret-token-0123456789"),
                ("SIGNALDESK_WEBHOOK_TOKEN", "hook-secret-0123456789"),
                ("SIGNALDESK_PUBLIC_URL", "https://signals.example.com/"),
            ]),
            &[],
        )
        .unwrap();
        let shown = config.to_string();
        assert!(!shown.contains("s3cret"));
        assert!(!shown.contains("hook-secret"));
        assert!(shown.contains("api_token = ****"));
        assert!(shown.contains("webhook_token = ****"));
        assert!(shown.contains("public_url = https://signals.example.com\n"));
        assert!(shown.contains("max_event_streams = 64"));
    }

    #[test]
    fn notification_settings_parse_and_mask_their_secrets() {
        let config = Config::from_layers(None, env(&[]), &[]).unwrap();
        assert!(config.notify.is_empty());
        assert_eq!(config.notify_events, Event::ALL.to_vec());
        assert_eq!(config.notify_max_attempts, 10);
        assert_eq!(config.telegram_api_url, "https://api.telegram.org");
        assert_eq!(
            config.daily_summary_utc.format("%H:%M").to_string(),
            "00:05"
        );
        let config = Config::from_layers(
            None,
            env(&[
                (
                    "SIGNALDESK_NOTIFY",
                    "telegram:123456:AAsecretkey:-1001,webhook:http://127.0.0.1:9/h?k=hooksecret",
                ),
                ("SIGNALDESK_NOTIFY_EVENTS", "trade_closed,daily_summary"),
                ("SIGNALDESK_NOTIFY_MAX_ATTEMPTS", "3"),
                ("SIGNALDESK_TELEGRAM_API_URL", "http://127.0.0.1:8081/"),
                ("SIGNALDESK_DAILY_SUMMARY_UTC", "06:30"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(config.notify.len(), 2);
        assert_eq!(
            config.notify_events,
            [Event::TradeClosed, Event::DailySummary]
        );
        assert_eq!(config.telegram_api_url, "http://127.0.0.1:8081");
        for shown in [config.to_string(), format!("{config:?}")] {
            assert!(
                shown.contains(
                    "notify = telegram:123456:****:-1001,webhook:http://127.0.0.1:9/****("
                ),
                "{shown}"
            );
            assert!(
                !shown.contains("AAsecretkey") && !shown.contains("hooksecret"),
                "{shown}"
            );
            assert!(shown.contains("notify_events = trade_closed,daily_summary\n"));
            assert!(shown.contains("daily_summary_utc = 06:30\n"));
        }
        let cases = [
            ("SIGNALDESK_NOTIFY", "telegram:123456:AAsecretkey:"),
            (
                "SIGNALDESK_NOTIFY",
                "slack:https://hooks.example/AAsecretkey",
            ),
            ("SIGNALDESK_NOTIFY_EVENTS", "trade_closed,everything"),
            ("SIGNALDESK_NOTIFY_MAX_ATTEMPTS", "0"),
            ("SIGNALDESK_TELEGRAM_API_URL", "api.telegram.org"),
            ("SIGNALDESK_DAILY_SUMMARY_UTC", "25:00"),
        ];
        for (key, value) in cases {
            let error = Config::from_layers(None, env(&[(key, value)]), &[]).unwrap_err();
            assert_eq!(error.key(), Some(key), "{error}");
            assert!(!error.to_string().contains("AAsecretkey"), "{error}");
        }
    }

    #[test]
    fn debug_masks_the_secrets_too() {
        let config = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_API_TOKEN", "s3cret-token-0123456789"),
                ("SIGNALDESK_WEBHOOK_TOKEN", "hook-secret-0123456789"),
            ]),
            &[],
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("hook-secret"),
            "{shown}"
        );
        assert!(shown.contains("tick_secs = 5"), "{shown}");
    }

    #[test]
    fn short_tokens_stop_the_start_without_being_shown() {
        for key in ["SIGNALDESK_API_TOKEN", "SIGNALDESK_WEBHOOK_TOKEN"] {
            let err = Config::from_layers(None, env(&[(key, "ab")]), &[]).unwrap_err();
            assert_eq!(err.key(), Some(key));
            assert!(err.to_string().contains("at least 16 characters"), "{err}");
            assert!(!err.to_string().contains("\"ab\""), "{err}");
        }
        let fifteen = "x".repeat(15);
        let err =
            Config::from_layers(None, env(&[("SIGNALDESK_API_TOKEN", &fifteen)]), &[]).unwrap_err();
        assert!(!err.to_string().contains(&fifteen), "{err}");
        let sixteen = "x".repeat(16);
        let config =
            Config::from_layers(None, env(&[("SIGNALDESK_API_TOKEN", &sixteen)]), &[]).unwrap();
        assert_eq!(config.api_token, Some(sixteen.clone()));
        let same = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_API_TOKEN", &sixteen),
                ("SIGNALDESK_WEBHOOK_TOKEN", &sixteen),
            ]),
            &[],
        )
        .unwrap_err();
        assert_eq!(same.key(), Some("SIGNALDESK_WEBHOOK_TOKEN"));
    }

    #[test]
    fn public_url_and_allowed_hosts_are_validated() {
        let ok = Config::from_layers(
            None,
            env(&[
                ("SIGNALDESK_PUBLIC_URL", "http://10.0.0.5:8080/desk"),
                (
                    "SIGNALDESK_ALLOWED_HOSTS",
                    "Signals.Example.com, [::2], my_box",
                ),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(ok.public_url.as_deref(), Some("http://10.0.0.5:8080/desk"));
        assert_eq!(ok.allowed_hosts, ["signals.example.com", "[::2]", "my_box"]);
        let cases: &[(&str, &str, &str)] = &[
            ("SIGNALDESK_PUBLIC_URL", "signals.example.com", "no scheme"),
            ("SIGNALDESK_PUBLIC_URL", "ftp://example.com", "not http"),
            ("SIGNALDESK_PUBLIC_URL", "https://", "no host"),
            (
                "SIGNALDESK_PUBLIC_URL",
                "https://u:p@example.com",
                "credentials",
            ),
            ("SIGNALDESK_PUBLIC_URL", "https://exa mple.com", "a space"),
            (
                "SIGNALDESK_PUBLIC_URL",
                "https://example.com:99999",
                "bad port",
            ),
            ("SIGNALDESK_ALLOWED_HOSTS", "example.com:443", "a port"),
            ("SIGNALDESK_ALLOWED_HOSTS", "http://example.com", "a URL"),
            ("SIGNALDESK_ALLOWED_HOSTS", "a..b", "an empty label"),
            ("SIGNALDESK_MAX_EVENT_STREAMS", "0", "no streams"),
        ];
        for (key, value, reason) in cases {
            let err = Config::from_layers(None, env(&[(key, value)]), &[]).unwrap_err();
            assert_eq!(err.key(), Some(*key), "{reason}");
        }
    }

    #[test]
    fn host_of_reads_names_with_and_without_ports() {
        let cases: &[(&str, Option<&str>)] = &[
            ("localhost", Some("localhost")),
            ("LOCALHOST:8080", Some("localhost")),
            ("127.0.0.1:1", Some("127.0.0.1")),
            ("[::1]:8080", Some("[::1]")),
            ("[::1]", Some("[::1]")),
            ("example.com.", Some("example.com")),
            ("::1", None),
            ("[::1", None),
            ("[::1]x", None),
            ("a b", None),
            ("host:", None),
            ("host:http", None),
            ("", None),
        ];
        for (given, expected) in cases {
            assert_eq!(host_of(given).as_deref(), *expected, "{given}");
        }
    }
}
