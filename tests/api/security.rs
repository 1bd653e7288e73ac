//! DESIGN.md §13 from outside: the real server refuses what an attacker would try (short tokens,
//! open redirects, guessing, replayed sessions, foreign Host names, slow bodies, too many event
//! streams) and every response carries the security headers.

use crate::helpers::{run_cli, TempDb};

#[test]
fn tokens_shorter_than_16_characters_stop_the_start_naming_the_key() {
    let db = TempDb::new();
    for key in ["SIGNALDESK_API_TOKEN", "SIGNALDESK_WEBHOOK_TOKEN"] {
        let (code, _, err) = run_cli(&db.path, &["serve"], &[(key, "2c")]);
        assert_eq!(code, 2, "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains("at least 16 characters"), "{key}: {err}");
        assert!(!err.contains("\"2c\""), "the token is not shown: {err}");
    }
}
