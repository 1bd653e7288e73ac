//! signaldesk: crypto trading signals and paper trading, with the database as the only source
//! of truth. Integration tests use the crate through these modules.

pub mod app;
pub mod backtest;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod events;
pub mod export;
pub mod feeds;
pub mod notify;
pub mod status;
pub mod web;
