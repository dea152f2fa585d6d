//! The services together, on one database and one stream, through their public surfaces, as
//! n8n and the dashboard use them, with a real SMTP server (aiosmtpd).

mod bridge;
mod harness;
mod verification;
