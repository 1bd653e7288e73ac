//! One integration test binary: the repository on real SQLite files, the CLI, and the real
//! server started as a process on a free port.

mod browser;
mod cli;
mod fake_exchange;
mod feeds;
mod helpers;
mod lists;
mod pages;
mod repository;
mod server;
mod tick;
mod trading;
