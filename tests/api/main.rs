//! One integration test binary: the repository on real SQLite files, the CLI, and the real
//! server started as a process on a free port.

mod cli;
mod fake_exchange;
mod feeds;
mod helpers;
mod repository;
mod server;
mod tick;
mod trading;
