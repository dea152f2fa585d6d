//! The bridge's reads, for many requests at once: each request's earlier attempts in the
//! idempotency index, and its customers' keys.
//!
//! Every request needs both before it publishes, and most customers are new: each request alone
//! would cost Postgres a query of the index, and the key store a statement and a commit.
//! Requests in flight together hand their candidate keys and customers to one task instead,
//! which asks for all of them in one round ([`find_indexed`] of every candidate key, and
//! [`KeyStore::keys_for_on`] of every customer, at once, each on a connection the task keeps)
//! while the next requests gather for the following round. Under load a round serves every
//! request that arrived during the previous one; alone, a request waits for nobody.

use gadai_privacy::{DataKey, KeyStore, SubjectId};
use gadai_store::Kept;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::{domain::idempotency::IndexedOrder, read_model::find_indexed};

/// Customers a round asks for at most (the rest wait for the next round).
const ROUND_SUBJECTS: usize = 500;
/// Requests waiting for a round before new ones are refused (503, retried by n8n).
const QUEUE: usize = 4096;

/// What a round found for one request; each part fails on its own (the error's text).
pub struct Found {
    /// What the index holds under the request's candidate keys.
    pub indexed: Result<Vec<IndexedOrder>, String>,
    /// The key of each of the request's customers, in order.
    pub keys: Result<Vec<DataKey>, String>,
}

/// One request's part of a round.
struct Ask {
    candidates: Vec<String>,
    subjects: Vec<SubjectId>,
    reply: oneshot::Sender<Found>,
}

/// Hands requests what they read, many requests per round. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Rounds {
    asks: mpsc::Sender<Ask>,
}

impl Rounds {
    /// Starts the task that runs the rounds; it ends when every handle is dropped.
    pub fn start(pool: PgPool, store: KeyStore) -> Self {
        let (asks, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, store, waiting));
        Rounds { asks }
    }

    /// What the index holds under `candidates`, and the key of each of `subjects` (made for
    /// customers who have none).
    pub async fn find(
        &self,
        candidates: Vec<String>,
        subjects: Vec<SubjectId>,
    ) -> anyhow::Result<Found> {
        let (reply, answer) = oneshot::channel();
        self.asks
            .try_send(Ask {
                candidates,
                subjects,
                reply,
            })
            .map_err(|_| anyhow::anyhow!("too many requests are waiting for Postgres"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the bridge's rounds stopped"))
    }
}

async fn run(pool: PgPool, store: KeyStore, mut waiting: mpsc::Receiver<Ask>) {
    // Two connections kept from one round to the next: sqlx checks every connection given
    // back to its pool with a round trip, two more for a round's two statements.
    let (index, keys) = (Kept::of(&pool, 1), Kept::of(&pool, 1));
    while let Some(first) = waiting.recv().await {
        let mut count = first.subjects.len();
        let mut round = vec![first];
        while count < ROUND_SUBJECTS {
            match waiting.try_recv() {
                Ok(ask) => {
                    count += ask.subjects.len();
                    round.push(ask);
                }
                Err(_) => break,
            }
        }
        answer(&store, (&index, &keys), round).await;
    }
}

/// One round: every candidate key of every request in one query, every customer in one
/// [`KeyStore::keys_for_on`], both at once, on the connections the rounds keep; each request
/// answered with its own.
async fn answer(store: &KeyStore, (index, keys): (&Kept, &Kept), round: Vec<Ask>) {
    let candidates: Vec<String> = round
        .iter()
        .flat_map(|a| a.candidates.iter().cloned())
        .collect();
    let subjects: Vec<SubjectId> = round
        .iter()
        .flat_map(|a| a.subjects.iter().cloned())
        .collect();
    metrics::histogram!("key_round_subjects").record(subjects.len() as f64);
    let indexed = index.run(async |conn| find_indexed(conn, &candidates).await);
    let keys = keys.run(async |conn| store.keys_for_on(conn, &subjects).await);
    let (indexed, keys) = tokio::join!(indexed, keys);
    let indexed = indexed.map_err(|err| {
        let why = format!("{:#}", anyhow::Error::from(err));
        tracing::warn!(error = %why, requests = round.len(), "a round of the idempotency index failed");
        why
    });
    let keys = keys.map_err(|err| {
        let why = format!("{:#}", anyhow::Error::from(err));
        tracing::warn!(error = %why, subjects = subjects.len(), "a round of the key store failed");
        why
    });
    let mut keys = keys.map(Vec::into_iter);
    for ask in round {
        let found = Found {
            indexed: indexed.as_ref().map_err(Clone::clone).map(|rows| {
                rows.iter()
                    .filter(|o| ask.candidates.contains(&o.key))
                    .cloned()
                    .collect()
            }),
            keys: match &mut keys {
                Ok(all) => Ok(all.by_ref().take(ask.subjects.len()).collect()),
                Err(why) => Err(why.clone()),
            },
        };
        let _ = ask.reply.send(found);
    }
}
