//! JSON endpoints, one group per file.

pub mod analytics;
pub mod body;
pub mod events;
pub mod health;
pub mod lists;
pub mod metrics;
pub mod openapi;
pub mod overview;
pub mod params;
pub mod signals;
pub mod webhook;
