//! HTTP as every Gadai service speaks it: serving with the shared middleware (request ids,
//! traces, metrics, limits), the error bodies, the API key, client addresses behind proxies, the
//! ops routes (health, readiness, metrics) and the OpenAPI pieces both documents share.

pub mod api_key;
pub mod client;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod server;

pub use error::{ApiError, FieldError};
