//! Named crash points, for the tests that kill the mailer between a state change and the event
//! that announces it. `GADAI_FAILPOINTS=mailer.after_sent_recorded,...` (read once) makes the
//! process abort when it reaches one of the named points: it dies as a `kill -9` would, with no
//! destructor, no rollback sent and no ack. Unset (always, outside tests) every point is a no-op.
//!
//! The points:
//! - `mailer.after_smtp_accepted`: the SMTP server accepted the mail; nothing recorded yet.
//! - `mailer.after_sent_recorded`: the row is `sent`; `verification.sent` not yet published.
//! - `mailer.after_outcome_published`: `verification.sent` (or `.failed`) stored; not yet marked
//!   announced, the request not yet acked.
//! - `mailer.after_failed_recorded`: the row is `failed` with its reason; `verification.failed`
//!   not yet published.
//! - `mailer.after_verified_published`: `order.verified` stored; the code not yet `matched`.

use std::sync::OnceLock;

static ARMED: OnceLock<Vec<String>> = OnceLock::new();

fn armed() -> &'static [String] {
    ARMED.get_or_init(|| {
        std::env::var("GADAI_FAILPOINTS")
            .unwrap_or_default()
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

/// Aborts the process when `name` is armed.
pub fn hit(name: &str) {
    if armed().iter().any(|p| p == name) {
        eprintln!("fail point {name} reached: aborting");
        std::process::abort();
    }
}
