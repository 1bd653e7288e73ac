//! The one generated `src/db/schema.rs` (from the SQLite migrations) describes the PostgreSQL
//! tables too: every table has the same columns, in the same order, in the PostgreSQL type that
//! diesel reads as the column's SQL type, nullable exactly where schema.rs says so.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::helpers::TempDb;

/// (table, column, diesel type with `Nullable<…>`), in declaration order.
fn declared_columns() -> Vec<(String, String, String)> {
    let schema = include_str!("../../src/db/schema.rs");
    let mut columns = Vec::new();
    let mut table = None;
    for line in schema.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix('{').and_then(|l| l.split(" (").next()) {
            if !line.starts_with("diesel::") {
                table = Some(name.trim().to_owned());
                continue;
            }
        }
        if line == "}" {
            table = None;
        }
        if let (Some(table), Some((column, sql_type))) = (&table, line.split_once(" -> ")) {
            let sql_type = sql_type.trim_end_matches(',').to_owned();
            columns.push((table.clone(), column.to_owned(), sql_type));
        }
    }
    columns
}

/// The PostgreSQL type diesel reads as `sql_type`.
fn postgres_type(sql_type: &str) -> &'static str {
    match sql_type {
        "Integer" => "integer",
        "BigInt" => "bigint",
        "Bool" => "boolean",
        "Double" => "double precision",
        "Text" => "text",
        "Timestamp" => "timestamp without time zone",
        "Date" => "date",
        "Binary" => "bytea",
        other => panic!("schema.rs uses {other}, which this test does not know"),
    }
}

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[test]
fn the_postgres_tables_are_the_ones_schema_rs_declares() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let actual: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                data_type::text AS data_type, is_nullable::text AS is_nullable \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() \
           AND table_name <> '__diesel_schema_migrations' \
         ORDER BY table_name COLLATE \"C\", ordinal_position",
    )
    .load(&mut db.conn())
    .unwrap();
    let mut declared = declared_columns();
    declared.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(actual.len(), declared.len(), "{actual:#?}");
    for (column, (table, name, sql_type)) in actual.iter().zip(&declared) {
        let (nullable, inner) = match sql_type.strip_prefix("Nullable<") {
            Some(inner) => ("YES", inner.trim_end_matches('>')),
            None => ("NO", sql_type.as_str()),
        };
        assert_eq!(
            (
                column.table_name.as_str(),
                column.column_name.as_str(),
                column.data_type.as_str(),
                column.is_nullable.as_str()
            ),
            (
                table.as_str(),
                name.as_str(),
                postgres_type(inner),
                nullable
            ),
            "{table}.{name}"
        );
    }
}
