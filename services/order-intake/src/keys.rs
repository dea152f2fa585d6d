//! The bridge's customers' keys, fetched for many requests at once.
//!
//! Every order needs its customer's key before it is published, and most customers are new:
//! each request alone would cost the key store a query and an insert with its commit. Requests
//! in flight together hand their customers to one task instead, which asks the store for all of
//! them in one go ([`KeyStore::keys_for`]: one query, one insert for the new ones) while the
//! next requests gather for the following round. Under load a round serves every request that
//! arrived during the previous one; alone, a request waits for nobody.

use gadai_privacy::{DataKey, KeyStore, SubjectId};
use tokio::sync::{mpsc, oneshot};

/// Customers a round asks for at most (the rest wait for the next round).
const ROUND_SUBJECTS: usize = 500;
/// Requests waiting for a round before new ones are refused (503, retried by n8n).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Vec<DataKey>, String>>;

/// Hands customers' keys to requests, many requests per key-store round. Cheap to clone.
#[derive(Clone, Debug)]
pub struct KeyRounds {
    asks: mpsc::Sender<(Vec<SubjectId>, Reply)>,
}

impl KeyRounds {
    /// Starts the task that runs the rounds; it ends when every handle is dropped.
    pub fn start(store: KeyStore) -> Self {
        let (asks, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, waiting));
        KeyRounds { asks }
    }

    /// The key of each of `subjects`, in order (made for customers who have none).
    pub async fn keys_for(&self, subjects: Vec<SubjectId>) -> anyhow::Result<Vec<DataKey>> {
        let (reply, answer) = oneshot::channel();
        self.asks
            .try_send((subjects, reply))
            .map_err(|_| anyhow::anyhow!("too many requests are waiting for the key store"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the key store's rounds stopped"))?
            .map_err(anyhow::Error::msg)
    }
}

async fn run(store: KeyStore, mut waiting: mpsc::Receiver<(Vec<SubjectId>, Reply)>) {
    while let Some(first) = waiting.recv().await {
        let mut round = vec![first];
        let mut count = round[0].0.len();
        while count < ROUND_SUBJECTS {
            match waiting.try_recv() {
                Ok(ask) => {
                    count += ask.0.len();
                    round.push(ask);
                }
                Err(_) => break,
            }
        }
        answer(&store, round).await;
    }
}

/// One round: every customer of every request in one [`KeyStore::keys_for`], each request
/// answered with its own.
async fn answer(store: &KeyStore, round: Vec<(Vec<SubjectId>, Reply)>) {
    let all: Vec<SubjectId> = round.iter().flat_map(|(s, _)| s.iter().cloned()).collect();
    metrics::histogram!("key_round_subjects").record(all.len() as f64);
    match store.keys_for(&all).await {
        Ok(keys) => {
            let mut keys = keys.into_iter();
            for (subjects, reply) in round {
                let mine: Vec<DataKey> = keys.by_ref().take(subjects.len()).collect();
                let _ = reply.send(Ok(mine));
            }
        }
        Err(err) => {
            let why = format!("{:#}", anyhow::Error::from(err));
            tracing::warn!(error = %why, subjects = all.len(), "a round of the key store failed");
            for (_, reply) in round {
                let _ = reply.send(Err(why.clone()));
            }
        }
    }
}
