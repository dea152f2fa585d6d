//! dashboard-api: the operators' read model and API.
//!
//! Projects every event into its `dashboard` schema, serves `/dashboard/*` (orders, stats,
//! history, deletion, the live feed) and the built web app.

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod limits;
pub mod projection;
pub mod read_model;
pub mod startup;

pub use startup::Application;
