//! `rpc.keys.get`: how services other than the key store's owner get customers' keys.
//!
//! order-intake owns the store (its schema holds `customer_keys`); dashboard-api (its projection
//! decrypts the read model's names and e-mails, and it seals hand-offs) and the mailer (it opens
//! the recipient's address when it sends) ask over NATS request/reply, answered by one
//! order-intake replica (queue group). The answer carries each key **still wrapped** under its
//! master key: it opens only where `PII_MASTER_KEYS` is configured, so a NATS capture of the
//! replies holds nothing readable. Only those three services hold the master keys; the sweeper
//! needs no key (retention works on subject ids and generations, which are in the clear).
//!
//! A request names up to [`MAX_SUBJECTS`] customers (a projection asks once per batch of
//! events), and answers in the order asked. `create` asks for a key to be made for a customer
//! who has none: one subject only (a hand-off from someone who never ordered).
//!
//! Readers keep no cache across batches: a key fetched for a batch is dropped with it, so an
//! erasure reaches every reader by the next batch, and a reader that applies an event after the
//! erasure's event finds the key gone.

use std::{collections::HashMap, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{DataKey, Held, KeyStore, MasterKeys, SubjectId, UnwrapError, WrappedKey, unwrap};

/// The request subject (under the prefix).
pub const SUBJECT: &str = "rpc.keys.get";
/// The queue group of the answering replicas.
pub const QUEUE_GROUP: &str = "order-intake";
/// The most customers one request may name.
pub const MAX_SUBJECTS: usize = 1000;
/// Requests one replica answers at once (each holds one pooled connection for one query).
const CONCURRENT_REQUESTS: usize = 4;

/// What a reader asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRequest {
    /// Subject ids, at most [`MAX_SUBJECTS`].
    pub subjects: Vec<String>,
    /// Make a key for the one subject named when it has none.
    #[serde(default)]
    pub create: bool,
}

/// One customer's key as it travels: wrapped, erased, or never made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WireKey {
    Live {
        generation: u32,
        master_id: String,
        /// Standard base64 of the wrapped key.
        wrapped: String,
    },
    Erased {
        generation: u32,
    },
    Unknown,
}

/// The answer: one [`WireKey`] per subject asked, in order, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KeyReply {
    #[serde(default)]
    pub keys: Vec<WireKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Held> for WireKey {
    fn from(held: Held) -> Self {
        match held {
            Held::Live(w) => WireKey::Live {
                generation: w.generation,
                master_id: w.master_id,
                wrapped: STANDARD.encode(&w.bytes),
            },
            Held::Erased { generation } => WireKey::Erased { generation },
            Held::Unknown => WireKey::Unknown,
        }
    }
}

/// Answers `rpc.keys.get` (the owner's side) until shutdown.
pub async fn serve(
    client: async_nats::Client,
    subject: String,
    store: KeyStore,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let requests = client
        .queue_subscribe(subject, QUEUE_GROUP.to_owned())
        .await?;
    requests
        .take_until(shutdown.cancelled())
        .for_each_concurrent(CONCURRENT_REQUESTS, |message| {
            let (client, store) = (client.clone(), store.clone());
            async move {
                let reply = match serde_json::from_slice::<KeyRequest>(&message.payload) {
                    Ok(request) => answer(&store, request).await,
                    Err(e) => KeyReply::failed(format!("not a key request: {e}")),
                };
                if let Some(inbox) = message.reply {
                    let payload = serde_json::to_vec(&reply).expect("replies serialize");
                    if let Err(err) = client.publish(inbox, payload.into()).await {
                        tracing::warn!(error = %err, "could not answer a key request");
                    }
                }
            }
        })
        .await;
    Ok(())
}

impl KeyReply {
    fn failed(why: String) -> Self {
        KeyReply {
            keys: Vec::new(),
            error: Some(why),
        }
    }
}

/// One request's answer: never fails, what cannot be answered says why.
pub async fn answer(store: &KeyStore, request: KeyRequest) -> KeyReply {
    if request.subjects.len() > MAX_SUBJECTS {
        return KeyReply::failed(format!("at most {MAX_SUBJECTS} subjects per request"));
    }
    let subjects: Result<Vec<SubjectId>, _> = request
        .subjects
        .iter()
        .map(|s| SubjectId::parse(s))
        .collect();
    let Ok(subjects) = subjects else {
        return KeyReply::failed("a subject is not a subject id".into());
    };
    let held = match (request.create, subjects.as_slice()) {
        (true, [one]) => store.held_or_new(one).await.map(|w| vec![Held::Live(w)]),
        (true, _) => return KeyReply::failed("create names exactly one subject".into()),
        (false, _) => store.held(&subjects).await,
    };
    match held {
        Ok(held) => KeyReply {
            keys: held.into_iter().map(WireKey::from).collect(),
            error: None,
        },
        Err(e) => {
            tracing::warn!(error = %e, "key request failed");
            KeyReply::failed("the key store is unavailable".into())
        }
    }
}

/// A customer's key as a reader has it.
#[derive(Debug)]
pub enum KeyState {
    Live(DataKey),
    /// Erased; this was the last generation.
    Erased {
        generation: u32,
    },
    /// No key was ever made (nothing of theirs is sealed, or the store lost it).
    Unknown,
}

/// Keys fetched for one batch of work.
#[derive(Debug, Default)]
pub struct Keys {
    by_subject: HashMap<SubjectId, KeyState>,
}

impl Keys {
    /// The state of `subject`'s key; [`KeyState::Unknown`] for a subject not fetched.
    pub fn get(&self, subject: &SubjectId) -> &KeyState {
        self.by_subject.get(subject).unwrap_or(&KeyState::Unknown)
    }

    /// The live key of `subject`, if any.
    pub fn live(&self, subject: &SubjectId) -> Option<&DataKey> {
        match self.get(subject) {
            KeyState::Live(key) => Some(key),
            _ => None,
        }
    }

    /// The key that opens what was sealed for `subject` under key generation `sealed`:
    /// `Ok(None)` when that is erased (the key gone, or replaced by a later generation after an
    /// erasure, or never held), [`StaleKey`] when the answer predates the seal.
    pub fn sealed_under(
        &self,
        subject: &SubjectId,
        sealed: u32,
    ) -> Result<Option<&DataKey>, StaleKey> {
        match self.get(subject) {
            KeyState::Live(key) if key.generation() == sealed => Ok(Some(key)),
            KeyState::Live(key) if key.generation() > sealed => Ok(None),
            KeyState::Erased { generation } if *generation >= sealed => Ok(None),
            KeyState::Live(_) | KeyState::Erased { .. } => Err(StaleKey),
            KeyState::Unknown => Ok(None),
        }
    }

    /// Keys made here, for tests and the owner (which reads its store directly).
    pub fn insert(&mut self, subject: SubjectId, state: KeyState) {
        self.by_subject.insert(subject, state);
    }
}

/// The key store answered with a key older than the one that sealed the data (a replica of it
/// behind): fetch the subject's key again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key fetched is older than the one that sealed the data: fetch it again")]
pub struct StaleKey;

/// Why keys could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no answer from the key store (rpc.keys.get) in {0:?}")]
    Timeout(Duration),
    #[error("rpc.keys.get: {0}")]
    Request(String),
    #[error("the key store refused: {0}")]
    Refused(String),
    #[error("the key store's answer does not match the request")]
    Garbled,
    #[error("a key from the store does not unwrap")]
    Unwrap(#[from] UnwrapError),
}

/// The reader's side of `rpc.keys.get`. Cheap to clone.
#[derive(Clone)]
pub struct KeyClient {
    client: async_nats::Client,
    subject: String,
    masters: Arc<MasterKeys>,
    timeout: Duration,
}

impl std::fmt::Debug for KeyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyClient")
            .field("subject", &self.subject)
            .field("masters", &self.masters)
            .finish_non_exhaustive()
    }
}

impl KeyClient {
    /// `subject` is [`SUBJECT`] under the environment's prefix.
    pub fn new(
        client: async_nats::Client,
        subject: String,
        masters: MasterKeys,
        timeout: Duration,
    ) -> Self {
        KeyClient {
            client,
            subject,
            masters: Arc::new(masters),
            timeout,
        }
    }

    /// The keys of `subjects` (duplicates asked once), in requests of at most
    /// [`MAX_SUBJECTS`].
    pub async fn fetch<'a>(
        &self,
        subjects: impl IntoIterator<Item = &'a SubjectId>,
    ) -> Result<Keys, KeyError> {
        let mut wanted: Vec<&SubjectId> = subjects.into_iter().collect();
        wanted.sort();
        wanted.dedup();
        let mut keys = Keys::default();
        for chunk in wanted.chunks(MAX_SUBJECTS) {
            let request = KeyRequest {
                subjects: chunk.iter().map(|s| s.as_str().to_owned()).collect(),
                create: false,
            };
            let reply = self.ask(&request).await?;
            for (subject, wire) in chunk.iter().zip(reply.keys) {
                let state = self.open(subject, wire)?;
                keys.by_subject.insert((*subject).clone(), state);
            }
        }
        Ok(keys)
    }

    /// `subject`'s current key, made when they have none (for sealing something new).
    pub async fn key_for(&self, subject: &SubjectId) -> Result<DataKey, KeyError> {
        let request = KeyRequest {
            subjects: vec![subject.as_str().to_owned()],
            create: true,
        };
        let mut reply = self.ask(&request).await?;
        match self.open(subject, reply.keys.remove(0))? {
            KeyState::Live(key) => Ok(key),
            _ => Err(KeyError::Garbled),
        }
    }

    async fn ask(&self, request: &KeyRequest) -> Result<KeyReply, KeyError> {
        let payload = serde_json::to_vec(request).expect("requests serialize");
        let message = tokio::time::timeout(
            self.timeout,
            self.client.request(self.subject.clone(), payload.into()),
        )
        .await
        .map_err(|_| KeyError::Timeout(self.timeout))?
        .map_err(|e| KeyError::Request(e.to_string()))?;
        let reply: KeyReply =
            serde_json::from_slice(&message.payload).map_err(|_| KeyError::Garbled)?;
        if let Some(why) = reply.error {
            return Err(KeyError::Refused(why));
        }
        if reply.keys.len() != request.subjects.len() {
            return Err(KeyError::Garbled);
        }
        Ok(reply)
    }

    fn open(&self, subject: &SubjectId, wire: WireKey) -> Result<KeyState, KeyError> {
        Ok(match wire {
            WireKey::Live {
                generation,
                master_id,
                wrapped,
            } => {
                let bytes = STANDARD.decode(wrapped).map_err(|_| KeyError::Garbled)?;
                let wrapped = WrappedKey {
                    master_id,
                    generation,
                    bytes,
                };
                KeyState::Live(unwrap(&self.masters, subject, &wrapped)?)
            }
            WireKey::Erased { generation } => KeyState::Erased { generation },
            WireKey::Unknown => KeyState::Unknown,
        })
    }
}
