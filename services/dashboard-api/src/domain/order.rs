//! An order's state as operators see it, and how each event changes it.
//!
//! [`OrderView::apply`] is the only place that knows the lifecycle of DESIGN.md section 4.
//! Events are applied in stream order; an event that makes no sense in the current state (a
//! late `verification.sent` after `order.deleted`, an expiry of a code that was replaced) changes
//! nothing, so the fold of any set of events is the same whatever order they arrived in.

use chrono::{DateTime, Utc};
use gadai_events::{Event, EventKind, OrderCreated};
pub use gadai_privacy::personal::OrderPersonal;
use uuid::Uuid;

/// Where an order is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    OnProcess,
    OnVerification,
    Verified,
    Expired,
    Deleted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::OnProcess,
        Status::OnVerification,
        Status::Verified,
        Status::Expired,
        Status::Deleted,
    ];

    /// The seed's strings for the three active statuses (kept exactly), and two for history.
    pub fn label(self) -> &'static str {
        match self {
            Status::OnProcess => "On Process",
            Status::OnVerification => "On Verification",
            Status::Verified => "Verified",
            Status::Expired => "Expired",
            Status::Deleted => "Deleted",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The value stored in the `state` column.
    pub fn code(self) -> &'static str {
        match self {
            Status::OnProcess => "on_process",
            Status::OnVerification => "on_verification",
            Status::Verified => "verified",
            Status::Expired => "expired",
            Status::Deleted => "deleted",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Shown in the active list (the seed's `GET /dashboard/orders`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::OnProcess | Status::OnVerification | Status::Verified
        )
    }

    /// Waiting for a code to be sent or used.
    fn awaits_verification(self) -> bool {
        matches!(self, Status::OnProcess | Status::OnVerification)
    }
}

/// What the bridge recorded about the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The customer's name, e-mail, item and conversation; `None` once erased (UU PDP
    /// 27/2022), shown as "data dihapus". The other facts stay: statistics keep counting.
    pub personal: Option<OrderPersonal>,
    /// Whose order it is, for erasure.
    pub customer: Customer,
    pub jenis_barang: String,
    pub jumlah_barang: i64,
    pub estimasi_nilai_barang: i64,
    pub wilayah: String,
    pub created_at: DateTime<Utc>,
}

/// The customer an order (or a hand-off) belongs to, as an erasure finds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    /// The customer's subject id (keyed hash of the e-mail): the event's, or for plaintext
    /// recorded before sealing the one the projection computes from the e-mail.
    pub subject: Option<String>,
    /// The generation of the customer's key that sealed the personal fields; 0 for plaintext
    /// recorded before sealing.
    pub generation: u32,
    /// The stream sequence of the event that recorded the fields (`order.created`).
    pub recorded_seq: i64,
}

impl Customer {
    /// The customer of `order.created` `d` at stream sequence `seq`, as far as the event says.
    pub fn of_order(d: &OrderCreated, seq: i64) -> Self {
        Customer {
            subject: d.subject.clone(),
            generation: d
                .subject
                .as_ref()
                .and_then(|_| gadai_privacy::sealed_generation(&d.email))
                .unwrap_or(0),
            recorded_seq: seq,
        }
    }
}

/// A customer's erasures, as far as they have been applied: the newest key generation erased
/// and the stream sequence of the newest erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    pub generation: u32,
    pub seq: i64,
}

impl Erasure {
    /// Whether this erasure reaches personal fields of its customer recorded at stream sequence
    /// `seq` under key generation `generation` (0: plaintext from before sealing).
    ///
    /// Sealed fields are gone with every generation up to the erased one, wherever the event
    /// sits on the stream (its key is deleted); a customer who came back after the erasure has a
    /// newer key and stays readable. Plaintext has no key: an erasure reaches what was recorded
    /// before it on the stream, as a customer's later orders under a new key are not erased.
    /// The answer does not depend on the order the events are applied in, so replicas and a
    /// rebuild agree.
    pub fn covers(&self, generation: u32, seq: i64) -> bool {
        if generation == 0 {
            seq < self.seq
        } else {
            generation <= self.generation
        }
    }

    /// Both erasures at once: the later of each.
    pub fn and(self, other: Erasure) -> Erasure {
        Erasure {
            generation: self.generation.max(other.generation),
            seq: self.seq.max(other.seq),
        }
    }
}

/// The read model's row for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub id: Uuid,
    /// `None` until `order.created` has been applied (events may arrive out of order).
    pub facts: Option<OrderFacts>,
    pub status: Status,
    /// A send was requested and its outcome has not arrived ("Mengirim...").
    pub sending: bool,
    /// How many sends were requested so far (the next request's dedupe number).
    pub send_count: i32,
    /// Why the last send failed.
    pub last_error: Option<String>,
    pub verification_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the current code was mailed.
    pub last_sent_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream sequence of the newest event applied.
    pub last_seq: i64,
}

impl OrderView {
    pub fn empty(id: Uuid) -> Self {
        OrderView {
            id,
            facts: None,
            status: Status::OnProcess,
            sending: false,
            send_count: 0,
            last_error: None,
            verification_id: None,
            expires_at: None,
            last_sent_at: None,
            updated_at: None,
            last_seq: 0,
        }
    }

    /// In the active list: created and not expired or deleted.
    pub fn is_active(&self) -> bool {
        self.facts.is_some() && self.status.is_active()
    }

    /// Applies one event with stream sequence `seq`.
    pub fn apply(&mut self, seq: i64, event: &Event) {
        let status = self.status;
        match &event.kind {
            EventKind::OrderCreated(d) if self.facts.is_none() => {
                self.facts = Some(OrderFacts {
                    // Plaintext from before sealing reads as written; sealed fields need the
                    // customer's key, and the projection opens them ([`OrderView::reveal`]).
                    personal: d.subject.is_none().then(|| OrderPersonal {
                        nama_customer: d.nama_customer.clone(),
                        email: d.email.clone(),
                        nama_barang: d.nama_barang.clone(),
                        id_percakapan: d.id_percakapan.clone(),
                    }),
                    customer: Customer::of_order(d, seq),
                    jenis_barang: d.jenis_barang.clone(),
                    jumlah_barang: d.jumlah_barang,
                    estimasi_nilai_barang: d.estimasi_nilai_barang,
                    wilayah: d.wilayah.clone(),
                    created_at: event.occurred_at,
                });
            }
            EventKind::VerificationRequested(d) => {
                self.send_count = self.send_count.max(d.request_no as i32 + 1);
                if status.awaits_verification() {
                    self.sending = true;
                    self.last_error = None;
                }
            }
            EventKind::VerificationSent(d) if status.awaits_verification() => {
                self.status = Status::OnVerification;
                self.sending = false;
                self.last_error = None;
                self.verification_id = Some(d.verification_id);
                self.expires_at = Some(d.expires_at);
                self.last_sent_at = Some(event.occurred_at);
            }
            EventKind::VerificationFailed(d) if status.awaits_verification() => {
                self.status = Status::OnProcess;
                self.sending = false;
                self.last_error = Some(d.reason.clone());
                self.verification_id = None;
                self.expires_at = None;
                self.last_sent_at = None;
            }
            EventKind::OrderVerified(_) if status.awaits_verification() => {
                self.status = Status::Verified;
                self.sending = false;
            }
            EventKind::OrderExpired(d)
                if status.awaits_verification()
                    && self.verification_id == Some(d.verification_id) =>
            {
                self.status = Status::Expired;
                self.sending = false;
            }
            EventKind::OrderDeleted(_) if status != Status::Deleted => {
                self.status = Status::Deleted;
                self.sending = false;
            }
            _ => {}
        }
        self.last_seq = self.last_seq.max(seq);
        self.updated_at = Some(
            self.updated_at
                .map_or(event.occurred_at, |t| t.max(event.occurred_at)),
        );
    }

    /// Sets the customer and personal fields the projection found for the `order.created` it
    /// recorded (opened with the customer's key, or `None` when erased).
    pub fn reveal(&mut self, customer: Customer, personal: Option<OrderPersonal>) {
        if let Some(f) = &mut self.facts {
            f.customer = customer;
            f.personal = personal;
        }
    }

    /// Blanks the personal fields when `erasure` of their customer reaches them; whether it
    /// changed anything.
    pub fn erase(&mut self, erasure: &Erasure) -> bool {
        match &mut self.facts {
            Some(f)
                if f.personal.is_some()
                    && erasure.covers(f.customer.generation, f.customer.recorded_seq) =>
            {
                f.personal = None;
                true
            }
            _ => false,
        }
    }

    /// Whether the customer's personal fields were erased.
    pub fn is_erased(&self) -> bool {
        self.facts.as_ref().is_some_and(|f| f.personal.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_events::created;
    use gadai_events::*;

    fn fold(id: Uuid, events: &[(i64, EventKind)]) -> OrderView {
        let mut view = OrderView::empty(id);
        for (seq, kind) in events {
            view.apply(*seq, &Event::new(id, "op", kind.clone()));
        }
        view
    }

    #[test]
    fn given_created_when_sent_then_on_verification() {
        let v = Uuid::now_v7();
        let view = fold(
            Uuid::now_v7(),
            &[
                (1, created()),
                (
                    2,
                    EventKind::VerificationRequested(VerificationRequested::numbered(0)),
                ),
            ],
        );
        assert!(view.sending);
        assert_eq!(view.status, Status::OnProcess);
        let mut view = view;
        view.apply(
            3,
            &Event::new(
                view.id,
                "system",
                EventKind::VerificationSent(VerificationSent {
                    verification_id: v,
                    expires_at: Utc::now(),
                }),
            ),
        );
        assert_eq!(view.status, Status::OnVerification);
        assert!(!view.sending);
        assert_eq!(view.send_count, 1);
        assert_eq!(view.last_seq, 3);
    }

    #[test]
    fn a_failed_send_returns_to_on_process_with_the_reason() {
        let v = Uuid::now_v7();
        let view = fold(
            Uuid::now_v7(),
            &[
                (1, created()),
                (
                    2,
                    EventKind::VerificationRequested(VerificationRequested::numbered(0)),
                ),
                (
                    3,
                    EventKind::VerificationFailed(VerificationFailed {
                        verification_id: v,
                        reason: "550 no such user".into(),
                    }),
                ),
            ],
        );
        assert_eq!(view.status, Status::OnProcess);
        assert!(!view.sending);
        assert_eq!(view.last_error.as_deref(), Some("550 no such user"));
    }

    #[test]
    fn terminal_states_ignore_late_events_and_leave_the_active_list() {
        let v = Uuid::now_v7();
        let view = fold(
            Uuid::now_v7(),
            &[
                (1, created()),
                (5, EventKind::OrderDeleted(OrderDeleted { reason: None })),
                (
                    6,
                    EventKind::VerificationSent(VerificationSent {
                        verification_id: v,
                        expires_at: Utc::now(),
                    }),
                ),
            ],
        );
        assert_eq!(view.status, Status::Deleted);
        assert!(!view.is_active());
        assert_eq!(view.last_seq, 6);
    }

    #[test]
    fn only_the_current_code_can_expire_an_order() {
        let (old, new) = (Uuid::now_v7(), Uuid::now_v7());
        let sent = |id| {
            EventKind::VerificationSent(VerificationSent {
                verification_id: id,
                expires_at: Utc::now(),
            })
        };
        let view = fold(
            Uuid::now_v7(),
            &[
                (1, created()),
                (2, sent(old)),
                (3, sent(new)),
                (
                    4,
                    EventKind::OrderExpired(OrderExpired {
                        verification_id: old,
                    }),
                ),
            ],
        );
        assert_eq!(view.status, Status::OnVerification);
        let mut view = view;
        view.apply(
            5,
            &Event::new(
                view.id,
                "system",
                EventKind::OrderExpired(OrderExpired {
                    verification_id: new,
                }),
            ),
        );
        assert_eq!(view.status, Status::Expired);
        assert!(!view.is_active());
    }

    #[test]
    fn a_state_change_before_creation_is_kept_until_the_order_arrives() {
        let id = Uuid::now_v7();
        let view = fold(
            id,
            &[(4, EventKind::OrderDeleted(OrderDeleted { reason: None }))],
        );
        assert!(view.facts.is_none());
        assert!(!view.is_active());
        let mut view = view;
        view.apply(2, &Event::new(id, "n8n", created()));
        assert!(view.facts.is_some());
        assert_eq!(view.status, Status::Deleted);
        assert_eq!(view.last_seq, 4);
    }

    #[test]
    fn labels_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_label(s.label()), Some(s));
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_label("on process"), None);
    }

    #[test]
    fn an_erasure_reaches_its_generations_and_the_plaintext_recorded_before_it() {
        let erasure = Erasure {
            generation: 2,
            seq: 100,
        };
        assert!(erasure.covers(1, 500), "sealed under an erased key");
        assert!(erasure.covers(2, 5));
        assert!(!erasure.covers(3, 50), "a key made after the erasure");
        assert!(erasure.covers(0, 99), "plaintext recorded before");
        assert!(!erasure.covers(0, 101), "plaintext recorded after");
        assert_eq!(
            erasure.and(Erasure {
                generation: 1,
                seq: 200
            }),
            Erasure {
                generation: 2,
                seq: 200
            }
        );
    }

    #[test]
    fn plaintext_reads_as_written_sealed_fields_wait_for_their_key() {
        let id = Uuid::now_v7();
        let mut legacy = fold(id, &[(3, created())]);
        let f = legacy.facts.clone().unwrap();
        assert_eq!(f.personal.unwrap().email, "b@example.com");
        assert_eq!((f.customer.generation, f.customer.recorded_seq), (0, 3));
        assert!(!legacy.erase(&Erasure {
            generation: 9,
            seq: 3
        }));
        assert!(legacy.erase(&Erasure {
            generation: 0,
            seq: 4
        }));
        assert!(legacy.is_erased());
        assert_eq!(legacy.facts.as_ref().unwrap().jenis_barang, "laptop");

        let subjects = gadai_privacy::SubjectKey::new(&[7; 32]).unwrap();
        let subject = subjects.subject_of("b@example.com");
        let EventKind::OrderCreated(mut order) = created() else {
            unreachable!()
        };
        gadai_privacy::personal::seal_order(
            &gadai_privacy::DataKey::generate(4),
            &subject,
            &mut order,
        );
        let mut sealed = fold(id, &[(8, EventKind::OrderCreated(order))]);
        let f = sealed.facts.clone().unwrap();
        assert_eq!(f.personal, None, "not opened by the fold");
        assert_eq!(f.customer.generation, 4);
        assert_eq!(f.customer.subject.as_deref(), Some(subject.as_str()));
        sealed.reveal(f.customer, legacy_personal());
        assert!(!sealed.is_erased());
    }

    fn legacy_personal() -> Option<OrderPersonal> {
        let view = fold(Uuid::now_v7(), &[(1, created())]);
        view.facts.unwrap().personal
    }
}
