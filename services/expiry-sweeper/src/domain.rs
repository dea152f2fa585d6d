//! The sweeper's two decisions: which open verifications expire now, and which customers'
//! personal data has been kept long enough (retention).
//!
//! Pure: given what the sweeper's read model returned and the time, they return the events to
//! publish (`order.expired`, `customer.erased`). The projection closes a verification when its
//! expiry (or the order's verification or deletion) comes back through the stream, and forgets
//! a customer when their erasure does.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gadai_events::{CustomerErased, ErasureBasis, Event, EventKind, OrderExpired, SYSTEM_ACTOR};
use uuid::Uuid;

/// A verification whose code is still open: the order's current code and when it stops working.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenVerification {
    pub order_id: Uuid,
    pub verification_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The expiries due at `now`: one `order.expired` (actor `system`) for every verification whose
/// code expired at or before `now`, naming that code, so a newer code of the same order is not
/// closed by an older expiry.
pub fn decide(open: &[OpenVerification], now: DateTime<Utc>) -> Vec<Event> {
    open.iter()
        .filter(|v| v.expires_at <= now)
        .map(|v| {
            Event::new(
                v.order_id,
                SYSTEM_ACTOR,
                EventKind::OrderExpired(OrderExpired {
                    verification_id: v.verification_id,
                }),
            )
        })
        .collect()
}

/// A customer whose orders and hand-offs have all been closed for the retention period, as the
/// read model found them: their subject id and the newest key generation their items were
/// sealed under.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionDue {
    pub subject: String,
    pub generation: i32,
}

/// The erasures retention makes of `due`: one `customer.erased` each (actor `system`, basis
/// `retensi`, generation = the newest their items were sealed under, no order), saying which
/// rule erased them. The dedupe key `customer.erased:<subject>:<generation>` makes two
/// replicas' erasures of one customer one event.
pub fn retention_erasures(due: &[RetentionDue], period: Duration) -> Vec<Event> {
    let alasan = format!(
        "retensi: {} setelah pesanan/handoff terakhir ditutup",
        describe(period)
    );
    due.iter()
        .map(|d| {
            Event::new(
                Uuid::nil(),
                SYSTEM_ACTOR,
                EventKind::CustomerErased(CustomerErased {
                    subject: d.subject.clone(),
                    generation: d.generation.max(0) as u32,
                    dasar: ErasureBasis::Retensi,
                    alasan: alasan.clone(),
                }),
            )
        })
        .collect()
}

/// A period in the largest whole unit that states it exactly, in Indonesian ("365 hari").
pub fn describe(period: Duration) -> String {
    let secs = period.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} hari", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} jam", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} menit", s / 60),
        s => format!("{s} detik"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn given_customers_past_retention_then_each_is_erased_by_the_system_at_their_generation() {
        let due = [
            RetentionDue {
                subject: "a".repeat(64),
                generation: 1,
            },
            RetentionDue {
                subject: "b".repeat(64),
                generation: 3,
            },
        ];
        let events = retention_erasures(&due, Duration::from_secs(365 * 86_400));
        assert_eq!(events.len(), 2);
        for (event, want) in events.iter().zip(&due) {
            assert_eq!(event.actor, SYSTEM_ACTOR);
            assert_eq!(event.order_id, Uuid::nil());
            let EventKind::CustomerErased(e) = &event.kind else {
                panic!("expected customer.erased, got {:?}", event.kind);
            };
            assert_eq!(e.subject, want.subject);
            assert_eq!(e.generation, want.generation as u32);
            assert_eq!(e.dasar, ErasureBasis::Retensi);
            assert_eq!(
                e.alasan,
                "retensi: 365 hari setelah pesanan/handoff terakhir ditutup"
            );
            assert_eq!(
                event.dedupe_key(),
                format!("customer.erased:{}:{}", want.subject, want.generation)
            );
        }
        assert!(retention_erasures(&[], Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn periods_are_described_in_their_largest_exact_unit() {
        assert_eq!(describe(Duration::from_secs(365 * 86_400)), "365 hari");
        assert_eq!(describe(Duration::from_secs(36 * 3600)), "36 jam");
        assert_eq!(describe(Duration::from_secs(90 * 60)), "90 menit");
        assert_eq!(describe(Duration::from_secs(59)), "59 detik");
    }

    fn open(expires_at: DateTime<Utc>) -> OpenVerification {
        OpenVerification {
            order_id: Uuid::now_v7(),
            verification_id: Uuid::now_v7(),
            expires_at,
        }
    }

    #[test]
    fn given_a_code_past_its_expiry_when_swept_then_its_order_expires_by_the_system() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let due = open(now - chrono::Duration::seconds(1));

        let events = decide(std::slice::from_ref(&due), now);

        assert_eq!(events.len(), 1);
        assert_eq!(events[0].order_id, due.order_id);
        assert_eq!(events[0].actor, SYSTEM_ACTOR);
        match &events[0].kind {
            EventKind::OrderExpired(e) => assert_eq!(e.verification_id, due.verification_id),
            other => panic!("expected order.expired, got {other:?}"),
        }
    }

    #[test]
    fn given_a_code_expiring_exactly_now_when_swept_then_it_expires() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert_eq!(decide(&[open(now)], now).len(), 1);
    }

    #[test]
    fn given_codes_still_valid_when_swept_then_nothing_expires() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let later = open(now + chrono::Duration::hours(23));
        let soon = open(now + chrono::Duration::milliseconds(1));
        assert!(decide(&[later, soon], now).is_empty());
    }

    #[test]
    fn given_a_mix_when_swept_then_only_the_due_ones_expire_in_the_given_order() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let first = open(now - chrono::Duration::hours(2));
        let valid = open(now + chrono::Duration::hours(1));
        let second = open(now - chrono::Duration::minutes(1));

        let events = decide(&[first.clone(), valid, second.clone()], now);

        let orders: Vec<Uuid> = events.iter().map(|e| e.order_id).collect();
        assert_eq!(orders, vec![first.order_id, second.order_id]);
    }
}
