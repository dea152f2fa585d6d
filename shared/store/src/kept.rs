//! Connections kept out of the pool from one use to the next.
//!
//! sqlx checks every connection given back to its pool with a round trip to Postgres (a
//! `Sync`), so a hot path that takes a connection for each statement or batch pays one more
//! round trip each time. [`Kept`] holds a few connections between uses instead: a connection
//! that rested [`crate::PING_AFTER_IDLE`] goes back to the pool (which checks it there, as it
//! does every connection given back) before another is taken, and one whose work failed goes
//! back at once, so a broken connection is never reused.
//!
//! A service keeps connections in several places (order-intake: its rounds' two, its
//! projection's, its key store's), and a connection kept is one the others cannot have. So a
//! connection is kept only while half the pool is still free for everyone else (idle, or not
//! opened yet); otherwise it goes back as it would without [`Kept`].

use std::{sync::Mutex, time::Instant};

use sqlx::{PgConnection, PgPool, Postgres, pool::PoolConnection};

/// The smallest pool connections are kept from: two at least are left for everything else. In a
/// smaller one each use gives its connection back when done, as any pool user does; kept, they
/// would make the others wait out the pool's acquire timeout.
pub const KEEP_FROM: u32 = 4;

/// Up to a few connections of one pool, kept between uses. Shared by reference; each use takes
/// a connection of its own.
pub struct Kept {
    pool: PgPool,
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    most: usize,
}

impl Kept {
    /// Keeps up to `most` connections of `pool`, none when the pool has fewer than
    /// [`KEEP_FROM`].
    pub fn of(pool: &PgPool, most: usize) -> Self {
        let room = pool.options().get_max_connections() >= KEEP_FROM;
        Kept {
            pool: pool.clone(),
            idle: Mutex::new(Vec::new()),
            most: if room { most } else { 0 },
        }
    }

    /// A kept connection that rested less than [`crate::PING_AFTER_IDLE`], or one from the pool.
    pub async fn take(&self) -> sqlx::Result<PoolConnection<Postgres>> {
        let fresh = {
            let mut idle = self.idle.lock().expect("the kept connections' lock");
            let mut fresh = None;
            while let Some((conn, since)) = idle.pop() {
                if since.elapsed() < crate::PING_AFTER_IDLE {
                    fresh = Some(conn);
                    break;
                }
                // Rested: back to the pool, which checks it.
                drop(conn);
            }
            fresh
        };
        match fresh {
            Some(conn) => Ok(conn),
            None => self.pool.acquire().await,
        }
    }

    /// Keeps `conn` for the next use, or gives it back to the pool when enough are kept here or
    /// when less than half the pool is free for the others.
    pub fn keep(&self, conn: PoolConnection<Postgres>) {
        let max = self.pool.options().get_max_connections() as usize;
        let free = max.saturating_sub(self.pool.size() as usize) + self.pool.num_idle();
        let mut idle = self.idle.lock().expect("the kept connections' lock");
        if idle.len() < self.most && free >= max / 2 {
            idle.push((conn, Instant::now()));
        }
        // Otherwise `conn` goes back to the pool as it drops, after the lock.
    }

    /// Runs `work` on a connection taken from here ([`Kept::take`]) and keeps the connection
    /// when the work succeeded; one whose work failed goes back to the pool, which closes it if
    /// it is broken.
    pub async fn run<T, E: From<sqlx::Error>>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.take().await?;
        let done = work(&mut conn).await;
        if done.is_ok() {
            self.keep(conn);
        }
        done
    }
}
