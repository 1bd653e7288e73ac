//! The closed sets of words stored in the database and sent in JSON (DESIGN.md §2). Each one is
//! spelled exactly as the CHECK constraints of the migrations spell it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that is not one of a kind's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}; expected one of {}", expected.join(", "))]
pub struct ParseKindError {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

macro_rules! text_kind {
    ($(#[$meta:meta])* $name:ident, $label:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseKindError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseKindError {
                        kind: $label,
                        value: s.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

text_kind!(
    /// Side of a trade.
    Direction, "direction" { Long => "LONG", Short => "SHORT" }
);

text_kind!(
    /// Life cycle of a signal and its paper trade.
    SignalStatus, "status" {
        /// Open paper trade, followed by every tick.
        Active => "ACTIVE",
        /// Exited; its pnl is booked and it has a journal entry.
        Closed => "CLOSED",
        /// Withdrawn before anything was booked.
        Cancelled => "CANCELLED",
    }
);

text_kind!(
    /// Why (part of) a trade left the market (DESIGN.md §10).
    ExitReason, "exit_reason" {
        /// A partial target of `take_profits`, filled at its level.
        PartialTakeProfit => "PARTIAL_TAKE_PROFIT",
        TakeProfit => "TAKE_PROFIT",
        /// The initial stop, or one moved by hand.
        StopLoss => "STOP_LOSS",
        /// A stop that breakeven moved to the entry.
        BreakevenStop => "BREAKEVEN_STOP",
        /// A stop that the trailing stop moved last.
        TrailingStop => "TRAILING_STOP",
        Manual => "MANUAL",
        EndOfDay => "END_OF_DAY",
        MaxDuration => "MAX_DURATION",
    }
);

text_kind!(
    /// What moved a trade's stop (`stop_moves.reason`, DESIGN.md §10).
    StopReason, "stop reason" {
        Breakeven => "BREAKEVEN",
        Trailing => "TRAILING",
        Manual => "MANUAL",
    }
);

impl StopReason {
    /// The reason of an exit at a stop last moved by `moved_by` (`None`: the initial stop).
    pub const fn exit_reason(moved_by: Option<StopReason>) -> ExitReason {
        match moved_by {
            Some(StopReason::Breakeven) => ExitReason::BreakevenStop,
            Some(StopReason::Trailing) => ExitReason::TrailingStop,
            Some(StopReason::Manual) | None => ExitReason::StopLoss,
        }
    }
}

text_kind!(
    /// Result of a closed trade, after fees.
    Outcome, "outcome" { Win => "WIN", Loss => "LOSS", Breakeven => "BREAKEVEN" }
);

impl Direction {
    /// +1 for LONG, −1 for SHORT: the sign of a price move's effect on PnL.
    pub const fn sign(self) -> f64 {
        match self {
            Direction::Long => 1.0,
            Direction::Short => -1.0,
        }
    }
}

/// An exchange symbol in the exchange's form, `BTCUSDT`: 4 to 20 ASCII letters and digits, upper
/// case. The only way to make one is [`Symbol::parse`], so a `Symbol` is always valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Symbol(String);

impl Symbol {
    /// `btcusdt`, ` BTCUSDT ` and `BINANCE:BTCUSDT` → `BTCUSDT`. The prefix is TradingView's
    /// `{{exchange}}:`, one word of ASCII letters, digits and `_`; surrounding spaces are trimmed.
    pub fn parse(s: &str) -> Result<Symbol, String> {
        let trimmed = s.trim();
        let (prefix, bare) = trimmed.split_once(':').unwrap_or(("", trimmed));
        let prefix_ok = !trimmed.contains(':')
            || (!prefix.is_empty()
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let bare = bare.to_ascii_uppercase();
        let valid = prefix_ok
            && (4..=20).contains(&bare.len())
            && bare.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(Symbol(bare))
        } else {
            Err(format!(
                "`{s}` is not an exchange symbol like BTCUSDT (4 to 20 letters and digits)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_normalised_to_the_exchange_form() {
        assert_eq!(
            Symbol::parse("BINANCE:btcusdt").unwrap().as_str(),
            "BTCUSDT"
        );
        assert_eq!(Symbol::parse(" ethusdt ").unwrap().as_str(), "ETHUSDT");
        assert_eq!(
            Symbol::parse("BYBIT_SPOT:SolUsdt").unwrap().as_str(),
            "SOLUSDT"
        );
        assert!(Symbol::parse("BTC-USDT").is_err());
        assert!(Symbol::parse(":BTCUSDT").is_err(), "an empty prefix");
        assert!(Symbol::parse("A:B:BTCUSDT").is_err(), "two prefixes");
        assert!(
            Symbol::parse("BIN ANCE:BTCUSDT").is_err(),
            "a space in the prefix"
        );
        assert!(Symbol::parse("BTC").is_err());
        assert!(Symbol::parse("").is_err());
    }

    #[test]
    fn every_kind_round_trips_through_its_spelling() {
        for d in Direction::ALL {
            assert_eq!(d.as_str().parse::<Direction>().unwrap(), *d);
        }
        for s in SignalStatus::ALL {
            assert_eq!(s.as_str().parse::<SignalStatus>().unwrap(), *s);
        }
        for r in ExitReason::ALL {
            assert_eq!(r.as_str().parse::<ExitReason>().unwrap(), *r);
        }
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
        }
    }

    #[test]
    fn serde_uses_the_stored_spelling() {
        assert_eq!(
            serde_json::to_string(&ExitReason::TakeProfit).unwrap(),
            "\"TAKE_PROFIT\""
        );
        assert_eq!(
            serde_json::from_str::<Direction>("\"SHORT\"").unwrap(),
            Direction::Short
        );
    }

    #[test]
    fn unknown_spelling_names_the_kind_and_the_choices() {
        let err = "long".parse::<Direction>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`long` is not a valid direction; expected one of LONG, SHORT"
        );
    }
}
