//! One integration test binary: the repository on real SQLite files, the CLI, and the real
//! server started as a process on a free port.

mod analytics;
mod analytics_history;
mod analytics_kill;
mod analytics_page;
mod backtest;
mod browser;
mod candles;
mod cli;
mod contract;
mod convert;
mod engine;
mod export;
mod fake_exchange;
mod faults;
mod feeds;
mod helpers;
mod hostile;
mod instances;
mod leases;
mod lists;
mod manage_api;
mod manage_engine;
mod management;
mod openapi;
mod pages;
mod recompute;
mod repository;
mod rollups;
mod scanner;
mod scenarios;
mod schema;
mod security;
mod server;
mod tick;
mod trading;
