//! Crypto-shredding of customers' personal fields (issue 15: UU PDP 27/2022, the customer's
//! right to erasure).
//!
//! # The problem
//!
//! The stream is the source of truth and keeps every event forever: a rebuild replays it from
//! the first event. Events carry personal data in plaintext (`order.created`: `nama_customer`,
//! `email`, `id_percakapan`; `customer.handoff_opened`: the same three and `ringkasan`, a
//! summary of the conversation). Deleting those events is not possible without losing the
//! history, and a stream's backups would keep them anyway.
//!
//! # The design
//!
//! Each personal field is **sealed** before it goes into an event ([`seal`]): encrypted with
//! AES-256-GCM under a key of that customer, into a short self-describing text
//! `pii:v1:<generation>:<base64url of nonce | ciphertext | tag>` that fits the JSON string field
//! the plaintext had. The facts that are not personal (category, item, quantity, value, region,
//! status, times) stay readable, so counters, statistics and the order's history work without
//! any key. Erasing a customer means deleting their key from the [`KeyStore`]: every copy of
//! every event that carries their fields (the stream, its backups, a replica, a rebuild next
//! year) becomes unreadable at once, without touching the stream.
//!
//! **One key per customer, not per order.** Erasure is asked for by a person ("delete my data",
//! by e-mail address), and the access export ("what do you hold about me") gathers one
//! person's data: both must reach every order the customer ever placed. A key per order would
//! make erasure a search through the stream for all of that person's orders, which the
//! stream cannot answer once the e-mail is sealed. The customer is identified by a
//! [`SubjectId`]: the hex HMAC-SHA256, under `PII_SUBJECT_KEY`, of the e-mail trimmed and
//! lower-cased ([`SubjectKey::subject_of`]). The store finds a customer's key by e-mail without
//! holding any e-mail, and a subject id in an event or a log line names nobody to whoever lacks
//! the subject key (a plain hash of an e-mail could be reversed by hashing a list of addresses).
//!
//! **The field name and the customer are bound to each sealed value**: both are the
//! ciphertext's associated data, so a sealed name cannot be copied into the e-mail field, nor one
//! customer's e-mail into another customer's order; [`open`] refuses both.
//!
//! # The key hierarchy
//!
//! ```text
//!   PII_MASTER_KEYS (configuration; "k2:<base64>,k1:<base64>", first = current)
//!      │  wraps (AES-256-GCM, associated data: subject, generation, master id)
//!      ▼
//!   customer_keys row: subject, generation, master_id, wrapped   (the owning service's schema)
//!      │  unwrapped in memory only, as a DataKey (zeroized on drop)
//!      ▼
//!   sealed fields in events: pii:v1:<generation>:...   (associated data: subject, field, generation)
//! ```
//!
//! The data keys in the store are themselves encrypted ("wrapped") under a master key from
//! configuration, so a dump of the database alone opens nothing. Each wrapped key names the
//! master key that wrapped it (`master_id`). [`MasterKeys`] never prints key material (its
//! `Debug` shows ids only), and nothing in this crate logs a key, a wrapped key or a field.
//!
//! **Rotation** of the master key: put a new key first in `PII_MASTER_KEYS` (it wraps every key
//! created from then on; the older ones still unwrap the keys they wrapped), run
//! [`KeyStore::rewrap_all`] (re-wraps every live key under the current master, in batches,
//! resumable, returns how many), check with [`KeyStore::masters_in_use`] that no key is left
//! under the old id, then drop the old key from the configuration. Data keys and sealed events
//! do not change. `PII_SUBJECT_KEY` cannot be rotated the same way: the subject ids in the store
//! and in events are made with it, and recomputing them needs the e-mails, which are sealed. It
//! is as permanent as the stream.
//!
//! **Generations.** A customer whose key was erased and who comes back later (a new order with
//! the same e-mail) gets a new key, generation n + 1, in the same row: new orders are readable
//! again, and everything sealed under the erased generation stays unreadable, because that key
//! is gone and the new one is a different random key. The generation travels in the sealed text,
//! so a reader tells "sealed under an erased key" ([`OpenError::ErasedGeneration`]) from "altered
//! or wrong key" ([`OpenError::Unreadable`]) and can show "data dihapus" instead of raising a
//! tamper alarm. The row is never deleted: while it exists the subject is never silently given
//! generation 1 again.
//!
//! # What losing a key means
//!
//! - **Losing a master key** (every copy of it) makes every data key it wrapped unreadable, and
//!   so every personal field of every event of those customers, forever: orders, hand-offs,
//!   exports to come. The master keys are the one thing that must be backed up **separately**
//!   from the stream and from the database (a backup of the key store and the master key in one
//!   place is a backup that an attacker takes whole), and restored with them.
//! - **Losing `PII_SUBJECT_KEY`** leaves every field readable (the data keys are found by the
//!   subject id in the event) but makes it impossible to find a customer by e-mail: no erasure,
//!   no access export on request. Back it up with the master keys.
//! - **Losing the `customer_keys` table** is the same as erasing every customer. A rebuild of
//!   the owning service must carry it over (`KEPT_TABLES`), and it belongs in the database's
//!   backups.
//!
//! # What erasure cannot undo
//!
//! Crypto-shredding makes the *stored* copies unreadable. It cannot reach what has already left:
//! exports (CSV, XLSX, PDF) operators downloaded, mails already sent (the verification mail, mails
//! operators wrote from a hand-off), what the customer said to the chat agent (n8n's own storage),
//! and logs. **Logs must never contain the fields**: a log line is not encrypted, is copied to
//! wherever logs go, and cannot be shredded; log the subject id or the order id instead. Read
//! models that hold decrypted fields (the dashboard's order rows) must be cleared on erasure by
//! their service (an erasure event, next step). And within the database, an erased key's old
//! bytes survive in dead row versions until `VACUUM`, in WAL archives and in database backups;
//! they open with the master key that wrapped them. Erasure is complete once those copies have
//! expired, or once the master key that wrapped the key has been rotated out and destroyed:
//! rotate the master key at least as often as the database's backup retention allows.
//!
//! # Using it
//!
//! The service that owns the store copies `migrations/0001_customer_keys.sql` into its own
//! migrations (see [`MIGRATION`] and [`check_migrator`] for why it is copied and how the copy is
//! kept honest) and lists [`TABLE`] in its `KEPT_TABLES`.
//!
//! ```no_run
//! # async fn example(pool: sqlx::PgPool) -> anyhow::Result<()> {
//! use gadai_privacy::{KeyStore, MasterKeys, SubjectKey, fields, open, seal};
//!
//! let masters = MasterKeys::from_env()?; // PII_MASTER_KEYS
//! let subjects = SubjectKey::from_env()?; // PII_SUBJECT_KEY
//! let store = KeyStore::new(pool, "intake", masters)?;
//!
//! let subject = subjects.subject_of(" Siti@Example.co.id ");
//! let key = store.key_for(&subject).await?; // created on the customer's first order
//! let sealed = seal(&key, &subject, fields::EMAIL, "siti@example.co.id");
//! assert_eq!(open(&key, &subject, fields::EMAIL, &sealed)?, "siti@example.co.id");
//!
//! store.erase(&subject, "erasure request DPO-2025-014").await?;
//! assert!(store.find(&subject).await?.is_none());
//! # Ok(())
//! # }
//! ```

mod config;
mod crypto;
mod keys;
pub mod personal;
pub mod rpc;
mod seal;
mod store;

pub use config::{DEV_MASTER_KEYS, DEV_SUBJECT_KEY, KeyAccess, Pii};
pub use keys::{
    DataKey, InvalidSubjectId, KeyConfigError, MasterKeys, SubjectId, SubjectKey, UnwrapError,
    WrappedKey, unwrap, wrap,
};
pub use rpc::{KeyClient, KeyError, KeyState, Keys, StaleKey};
pub use seal::{OpenError, PREFIX, fields, is_sealed, open, seal, sealed_generation};
pub use store::{
    Erasure, Held, KeyStore, MAX_REASON_CHARS, MIGRATION, StoreError, TABLE, check_migrator,
    erase_in,
};
