//! `signaldesk convert-db --to <DATABASE_URL>` (DESIGN.md §9): copy the configured database's
//! account into an empty database of either backend (`db::convert`), then run `check` on the
//! target and compare both sides' row counts and balances. Exits 0 only when every figure agrees
//! and the target checks clean.

use super::{open_existing, print_findings};
use crate::config::Config;
use crate::db::{self, convert, Backend};

/// Refuse what is no database URL at all, before anything is opened or created: an empty value,
/// or a scheme that is neither PostgreSQL's nor SQLite's (a SQLite path would otherwise be made
/// of `mysql://…`).
fn target_url(raw: &str) -> Result<&str, String> {
    let url = raw.trim();
    if url.is_empty() {
        return Err("--to: expected a SQLite file path or a postgres:// URL".to_owned());
    }
    if let Some((scheme, _)) = url.split_once("://") {
        let known = ["postgres", "postgresql", "sqlite"];
        if !known.contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "--to {}: unsupported scheme `{scheme}`; expected a SQLite file path or a postgres:// URL",
                db::redact(url)
            ));
        }
    }
    Ok(url)
}

pub fn convert_db(config: &Config, to: &str) -> Result<(), String> {
    let to = target_url(to).map_err(|e| format!("{e}; nothing was written"))?;
    let source_name = db::redact(&config.database_url);
    let target_name = db::redact(to);
    let mut source = open_existing(config)?;
    match db::has_pending_migrations(&mut source) {
        Ok(false) => {}
        Ok(true) => {
            return Err(format!(
                "the source {source_name} has pending migrations; run `signaldesk migrate` on it first (or start its server once)"
            ))
        }
        Err(e) => return Err(format!("cannot read the source's migration state: {e}")),
    }
    let mut target = db::connect(to).map_err(|e| format!("target: {e}"))?;
    let applied = db::run_migrations(&mut target).map_err(|e| format!("target {e}"))?;
    println!(
        "converting {} {source_name} -> {} {target_name}",
        Backend::of(&config.database_url).as_str(),
        Backend::of(to).as_str()
    );
    if !applied.is_empty() {
        println!("migrated the target: {}", applied.join(", "));
    }

    let copied =
        convert::copy_account(&mut source, &mut target, &target_name).map_err(|e| e.to_string())?;
    for (table, rows) in &copied.tables {
        println!("copied  {table:<16} {rows:>10} rows");
    }

    println!("      {:<34} {:>18} {:>18}", "compare", "source", "target");
    let comparisons = convert::compare(&copied.source, &copied.target);
    for c in &comparisons {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {:<34} {:>18} {:>18}", c.what, c.source, c.target);
    }
    let differing: Vec<&str> = comparisons
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.what.as_str())
        .collect();

    println!("check on the target:");
    let pending = db::has_pending_migrations(&mut target)
        .map_err(|e| format!("cannot read the target's migration state: {e}"))?;
    println!(
        "{}  migrations applied",
        if pending { "FAIL" } else { "ok  " }
    );
    let findings = db::check::run_checks(&mut target, config.initial_balance)
        .map_err(|e| format!("check failed to run on the target: {e}"))?;
    print_findings(&findings);
    let mut failing: Vec<&str> = findings.iter().filter(|f| !f.ok).map(|f| f.name).collect();
    if pending {
        failing.insert(0, "migrations applied");
    }

    if !differing.is_empty() {
        return Err(format!(
            "the copy in {target_name} differs from the source: {}",
            differing.join("; ")
        ));
    }
    if !failing.is_empty() {
        return Err(format!(
            "check fails on the target {target_name}: {}; run `signaldesk check` on the source to see whether it fails there too",
            failing.join("; ")
        ));
    }
    let rows: i64 = copied.tables.iter().map(|(_, n)| n).sum();
    println!(
        "converted: {rows} rows in {} tables, every figure agrees and the target checks clean; set DATABASE_URL to {target_name} to use it",
        copied.tables.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_paths_and_postgres_urls_are_targets() {
        let cases = [
            ("data/new.db", true, "a SQLite path"),
            ("sqlite://data/new.db", true, "a sqlite:// URL"),
            ("postgres://u:p@localhost/db", true, "PostgreSQL"),
            (
                "POSTGRESQL://localhost/db",
                true,
                "either spelling, any case",
            ),
            ("", false, "nothing"),
            ("   ", false, "blanks"),
            ("mysql://u:p@localhost/db", false, "another database"),
            ("https://example.com/db", false, "not a database"),
        ];
        for (raw, accepted, reason) in cases {
            assert_eq!(target_url(raw).is_ok(), accepted, "{reason}: {raw:?}");
        }
        let refused = target_url("mysql://u:s3cret@localhost/db").unwrap_err();
        assert!(refused.contains("mysql"), "{refused}");
        assert!(!refused.contains("s3cret"), "{refused}");
    }
}
