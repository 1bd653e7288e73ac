//! JSON endpoints, one group per file.

mod body;
pub mod health;
pub mod overview;
pub mod signals;
pub mod webhook;
