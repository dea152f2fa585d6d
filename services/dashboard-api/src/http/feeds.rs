//! The open live feeds of this replica, each tied to the session that opened it.
//!
//! A feed ends when its session ends: at logout (at once on this replica), and on expiry,
//! deactivation, password reset or a logout on another replica within [`CHECK_EVERY`], when
//! [`watch`] finds its session gone (one query per replica for all its feeds). Each operator may
//! hold at most `LIVE_FEEDS_PER_OPERATOR` feeds on one replica.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the sessions of open feeds are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Default)]
pub struct Feeds {
    open: Arc<Mutex<Vec<Open>>>,
    next_id: Arc<AtomicU64>,
}

struct Open {
    id: u64,
    operator: Uuid,
    session: Vec<u8>,
    stop: CancellationToken,
}

/// An open feed; dropping it (the client went away) forgets it.
pub struct Feed {
    feeds: Feeds,
    id: u64,
    /// Cancelled when the session ends or the replica shuts down.
    pub stop: CancellationToken,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.feeds.lock().retain(|o| o.id != self.id);
    }
}

impl Feeds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a feed of `session` (its token hash); `None` when the operator already holds
    /// `limit` feeds here.
    pub fn open(
        &self,
        operator: Uuid,
        session: &[u8],
        limit: usize,
        closing: &CancellationToken,
    ) -> Option<Feed> {
        let mut open = self.lock();
        if open.iter().filter(|o| o.operator == operator).count() >= limit {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stop = closing.child_token();
        open.push(Open {
            id,
            operator,
            session: session.to_vec(),
            stop: stop.clone(),
        });
        Some(Feed {
            feeds: self.clone(),
            id,
            stop,
        })
    }

    /// Ends the feeds of one session (a logout on this replica).
    pub fn end_session(&self, session: &[u8]) {
        self.end_where(|o| o.session == session);
    }

    fn end_where(&self, gone: impl Fn(&Open) -> bool) {
        for o in self.lock().iter().filter(|o| gone(o)) {
            o.stop.cancel();
        }
    }

    fn sessions(&self) -> Vec<Vec<u8>> {
        let mut sessions: Vec<Vec<u8>> = self.lock().iter().map(|o| o.session.clone()).collect();
        sessions.sort();
        sessions.dedup();
        sessions
    }

    /// The number of feeds open on this replica.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Ends feeds whose session expired, was deleted (logout elsewhere, password reset) or whose
/// operator was deactivated; every [`CHECK_EVERY`] until shutdown.
pub async fn watch(feeds: Feeds, pool: PgPool, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        metrics::gauge!("live_feeds_open").set(feeds.len() as f64);
        let sessions = feeds.sessions();
        if sessions.is_empty() {
            continue;
        }
        let live: Result<Vec<Vec<u8>>, _> = sqlx::query_scalar(
            "SELECT s.token_hash FROM sessions s JOIN operators o ON o.id = s.operator_id
             WHERE s.token_hash = ANY($1) AND s.expires_at > now() AND o.active",
        )
        .bind(&sessions)
        .fetch_all(&pool)
        .await;
        match live {
            Ok(live) => feeds.end_where(|o| !live.contains(&o.session)),
            Err(err) => tracing::warn!(error = %err, "could not check the live feeds' sessions"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_bounded_per_operator_and_end_with_their_session() {
        let feeds = Feeds::default();
        let closing = CancellationToken::new();
        let (rina, budi) = (Uuid::now_v7(), Uuid::now_v7());
        let a = feeds.open(rina, b"s1", 2, &closing).unwrap();
        let b = feeds.open(rina, b"s2", 2, &closing).unwrap();
        assert!(
            feeds.open(rina, b"s3", 2, &closing).is_none(),
            "a third feed"
        );
        let c = feeds.open(budi, b"s4", 2, &closing).unwrap();
        feeds.end_session(b"s1");
        assert!(a.stop.is_cancelled());
        assert!(!b.stop.is_cancelled() && !c.stop.is_cancelled());
        drop(a);
        assert_eq!(feeds.len(), 2);
        assert!(feeds.open(rina, b"s5", 2, &closing).is_some(), "room again");
        closing.cancel();
        assert!(
            b.stop.is_cancelled() && c.stop.is_cancelled(),
            "shutdown ends all"
        );
    }
}
