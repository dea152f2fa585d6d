//! dashboard-api through its public surface, against real Postgres and NATS JetStream.
//! Events are published the way the other services publish them: on the stream.

mod api;
mod auth;
mod customer;
mod helpers;
mod live;
mod mail_template;
mod openapi;
mod privacy;
mod projection;
mod retention;
mod trust;
mod web_app;
