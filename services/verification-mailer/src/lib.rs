//! verification-mailer: mails one-time codes and checks them.
//!
//! It keeps its own projection of each order's recipient and whether the order can still be
//! verified, and reports health and metrics.

pub mod config;
pub mod projection;
pub mod startup;

pub use startup::Application;
