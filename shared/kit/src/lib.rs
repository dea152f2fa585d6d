//! Shared plumbing of the Gadai services.

pub mod api_key;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod memory;
pub mod openapi;
pub mod ops;
pub mod server;
pub mod telemetry;

pub use error::{ApiError, FieldError};
