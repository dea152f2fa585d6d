//! Shared plumbing of the Gadai services.

pub mod api_key;
pub mod cli;
pub mod config;
pub mod error;
pub mod ops;
pub mod rate;
pub mod server;
pub mod telemetry;

pub use error::{ApiError, FieldError};
