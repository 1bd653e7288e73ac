//! JSON endpoints, one group per file.

pub mod health;
pub mod overview;
