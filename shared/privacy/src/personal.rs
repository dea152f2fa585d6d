//! The personal fields of the events that carry them, sealed by their writer and opened by
//! their readers: one place that knows which fields of `order.created`,
//! `customer.handoff_opened` and `verification.requested` are personal.
//!
//! | event | sealed | in the clear |
//! |---|---|---|
//! | `order.created` | `nama_customer`, `email`, `nama_barang`, `id_percakapan` | category, quantity, value, region, idempotency reference, `subject` |
//! | `customer.handoff_opened` | `id_percakapan`, `nama_customer`, `email`, `ringkasan` | hand-off id, order reference, `subject` |
//! | `verification.requested` | its `recipient`'s `nama_customer`, `email` | request number, the recipient's `subject` |
//!
//! `nama_barang` is the item in the customer's words (free text: a serial number, "laptop
//! kantor Budi"); the category (`jenis_barang`) is the statistic.

use gadai_events::{HandoffOpened, OrderCreated, Recipient};

use crate::{DataKey, Keys, OpenError, StaleKey, SubjectId, fields, open, seal};

/// An order's personal fields, readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPersonal {
    pub nama_customer: String,
    pub email: String,
    pub nama_barang: String,
    pub id_percakapan: Option<String>,
}

/// A hand-off's personal fields, readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffPersonal {
    pub id_percakapan: String,
    pub nama_customer: String,
    pub email: String,
    pub ringkasan: String,
}

/// What a reader gets of an event's personal fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal<T> {
    /// Readable: opened, or plaintext recorded before sealing.
    Readable(T),
    /// Sealed under a key that is erased (or that the store never had): gone for good.
    Erased,
}

/// Why an event's personal fields could not be read, when it is not an erasure.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the event's subject is not a subject id")]
    BadSubject,
    #[error(
        "the key fetched is older than the one that sealed the event: fetch the subject's key again"
    )]
    StaleKey,
    #[error("field {field}: {source}")]
    Field {
        field: &'static str,
        #[source]
        source: OpenError,
    },
}

/// The subject of an event's `subject` field, if it has one.
pub fn subject_of(subject: Option<&str>) -> Result<Option<SubjectId>, ReadError> {
    subject
        .map(|s| SubjectId::parse(s).map_err(|_| ReadError::BadSubject))
        .transpose()
}

/// Seals `order`'s personal fields under `key` of `subject` and names the subject.
pub fn seal_order(key: &DataKey, subject: &SubjectId, order: &mut OrderCreated) {
    order.nama_customer = seal(key, subject, fields::NAME, &order.nama_customer);
    order.email = seal(key, subject, fields::EMAIL, &order.email);
    order.nama_barang = seal(key, subject, fields::ITEM, &order.nama_barang);
    order.id_percakapan = order
        .id_percakapan
        .as_deref()
        .map(|c| seal(key, subject, fields::CONVERSATION, c));
    order.subject = Some(subject.as_str().to_owned());
}

/// Seals `handoff`'s personal fields under `key` of `subject` and names the subject.
pub fn seal_handoff(key: &DataKey, subject: &SubjectId, handoff: &mut HandoffOpened) {
    handoff.id_percakapan = seal(key, subject, fields::CONVERSATION, &handoff.id_percakapan);
    handoff.nama_customer = seal(key, subject, fields::NAME, &handoff.nama_customer);
    handoff.email = seal(key, subject, fields::EMAIL, &handoff.email);
    handoff.ringkasan = seal(key, subject, fields::SUMMARY, &handoff.ringkasan);
    handoff.subject = Some(subject.as_str().to_owned());
}

/// The recipient of a code, `name` at `email`, sealed under `key` of `subject`.
pub fn seal_recipient(key: &DataKey, subject: &SubjectId, name: &str, email: &str) -> Recipient {
    Recipient {
        subject: subject.as_str().to_owned(),
        nama_customer: seal(key, subject, fields::NAME, name),
        email: seal(key, subject, fields::EMAIL, email),
    }
}

/// `order`'s personal fields with `keys` (which must hold its subject's key, when it has one).
pub fn open_order(keys: &Keys, order: &OrderCreated) -> Result<Personal<OrderPersonal>, ReadError> {
    let Some(subject) = subject_of(order.subject.as_deref())? else {
        return Ok(Personal::Readable(OrderPersonal {
            nama_customer: order.nama_customer.clone(),
            email: order.email.clone(),
            nama_barang: order.nama_barang.clone(),
            id_percakapan: order.id_percakapan.clone(),
        }));
    };
    let Some(opener) = Opener::new(keys, &subject, &order.email)? else {
        return Ok(Personal::Erased);
    };
    let readable = || -> Result<OrderPersonal, ReadError> {
        Ok(OrderPersonal {
            nama_customer: opener.open(fields::NAME, &order.nama_customer)?,
            email: opener.open(fields::EMAIL, &order.email)?,
            nama_barang: opener.open(fields::ITEM, &order.nama_barang)?,
            id_percakapan: order
                .id_percakapan
                .as_deref()
                .map(|c| opener.open(fields::CONVERSATION, c))
                .transpose()?,
        })
    };
    readable().map(Personal::Readable)
}

/// `handoff`'s personal fields with `keys`.
pub fn open_handoff(
    keys: &Keys,
    handoff: &HandoffOpened,
) -> Result<Personal<HandoffPersonal>, ReadError> {
    let Some(subject) = subject_of(handoff.subject.as_deref())? else {
        return Ok(Personal::Readable(HandoffPersonal {
            id_percakapan: handoff.id_percakapan.clone(),
            nama_customer: handoff.nama_customer.clone(),
            email: handoff.email.clone(),
            ringkasan: handoff.ringkasan.clone(),
        }));
    };
    let Some(opener) = Opener::new(keys, &subject, &handoff.email)? else {
        return Ok(Personal::Erased);
    };
    let readable = || -> Result<HandoffPersonal, ReadError> {
        Ok(HandoffPersonal {
            id_percakapan: opener.open(fields::CONVERSATION, &handoff.id_percakapan)?,
            nama_customer: opener.open(fields::NAME, &handoff.nama_customer)?,
            email: opener.open(fields::EMAIL, &handoff.email)?,
            ringkasan: opener.open(fields::SUMMARY, &handoff.ringkasan)?,
        })
    };
    readable().map(Personal::Readable)
}

/// Opens the fields of one event with its subject's key.
struct Opener<'a> {
    key: &'a DataKey,
    subject: &'a SubjectId,
}

impl<'a> Opener<'a> {
    /// `None` when the event's fields are erased: its subject's key is gone, or is a later
    /// generation than the one `probe` (one of its sealed fields) was sealed under.
    fn new(keys: &'a Keys, subject: &'a SubjectId, probe: &str) -> Result<Option<Self>, ReadError> {
        let sealed = crate::sealed_generation(probe).ok_or(ReadError::Field {
            field: fields::EMAIL,
            source: OpenError::Malformed,
        })?;
        match keys.sealed_under(subject, sealed) {
            Ok(key) => Ok(key.map(|key| Opener { key, subject })),
            Err(StaleKey) => Err(ReadError::StaleKey),
        }
    }

    fn open(&self, field: &'static str, sealed: &str) -> Result<String, ReadError> {
        open(self.key, self.subject, field, sealed)
            .map_err(|source| ReadError::Field { field, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyState, keys::tests::subject};

    fn order() -> OrderCreated {
        OrderCreated {
            nama_customer: "Siti Rahma".into(),
            email: "siti@example.co.id".into(),
            nama_barang: "Laptop kantor Siti".into(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 8_000_000,
            wilayah: "Depok".into(),
            id_percakapan: Some("chat-77".into()),
            idempotency: None,
            subject: None,
        }
    }

    #[test]
    fn a_sealed_order_opens_with_its_key_and_shows_nothing_without_it() {
        let s = subject("siti@example.co.id");
        let key = DataKey::generate(1);
        let mut sealed = order();
        seal_order(&key, &s, &mut sealed);
        let text = serde_json::to_string(&sealed).unwrap();
        for plain in ["Siti", "siti@", "Laptop", "chat-77"] {
            assert!(!text.contains(plain), "{plain} in {text}");
        }
        assert!(text.contains("\"jenis_barang\":\"laptop\""));
        assert!(text.contains("\"wilayah\":\"Depok\""));

        let mut keys = Keys::default();
        keys.insert(s.clone(), KeyState::Live(key));
        let Personal::Readable(p) = open_order(&keys, &sealed).unwrap() else {
            panic!("readable");
        };
        assert_eq!(p.nama_customer, "Siti Rahma");
        assert_eq!(p.email, "siti@example.co.id");
        assert_eq!(p.nama_barang, "Laptop kantor Siti");
        assert_eq!(p.id_percakapan.as_deref(), Some("chat-77"));

        let mut erased = Keys::default();
        erased.insert(s.clone(), KeyState::Erased { generation: 1 });
        assert_eq!(open_order(&erased, &sealed).unwrap(), Personal::Erased);
        // A customer who came back has generation 2: the old order stays erased.
        let mut returned = Keys::default();
        returned.insert(s.clone(), KeyState::Live(DataKey::generate(2)));
        assert_eq!(open_order(&returned, &sealed).unwrap(), Personal::Erased);
        assert_eq!(
            open_order(&Keys::default(), &sealed).unwrap(),
            Personal::Erased
        );
    }

    #[test]
    fn an_order_from_before_sealing_reads_as_written() {
        let Personal::Readable(p) = open_order(&Keys::default(), &order()).unwrap() else {
            panic!("readable");
        };
        assert_eq!(p.email, "siti@example.co.id");
    }

    #[test]
    fn a_key_older_than_the_seal_asks_for_a_fresh_fetch_and_tampering_is_an_error() {
        let s = subject("siti@example.co.id");
        let mut sealed = order();
        seal_order(&DataKey::generate(2), &s, &mut sealed);
        let mut old = Keys::default();
        old.insert(s.clone(), KeyState::Live(DataKey::generate(1)));
        assert!(matches!(
            open_order(&old, &sealed),
            Err(ReadError::StaleKey)
        ));

        let key = DataKey::generate(1);
        let mut a = order();
        seal_order(&key, &s, &mut a);
        // The name sealed in the e-mail's place does not open.
        a.email = a.nama_customer.clone();
        let mut keys = Keys::default();
        keys.insert(s, KeyState::Live(key));
        assert!(matches!(
            open_order(&keys, &a),
            Err(ReadError::Field { field: "email", .. })
        ));
    }

    #[test]
    fn a_sealed_handoff_round_trips() {
        let s = subject("budi@example.com");
        let key = DataKey::generate(1);
        let mut h = HandoffOpened {
            handoff_id: uuid::Uuid::nil(),
            id_percakapan: "chat-9".into(),
            nama_customer: "Budi".into(),
            email: "budi@example.com".into(),
            referensi: None,
            ringkasan: "Ingin bicara dengan petugas".into(),
            subject: None,
        };
        seal_handoff(&key, &s, &mut h);
        assert!(!serde_json::to_string(&h).unwrap().contains("petugas"));
        let mut keys = Keys::default();
        keys.insert(s, KeyState::Live(key));
        let Personal::Readable(p) = open_handoff(&keys, &h).unwrap() else {
            panic!("readable");
        };
        assert_eq!(p.ringkasan, "Ingin bicara dengan petugas");
        assert_eq!(p.email, "budi@example.com");
    }
}
