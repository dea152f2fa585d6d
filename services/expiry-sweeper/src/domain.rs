//! The sweeper's decision: which open verifications expire now.
//!
//! Pure: given what the sweeper's read model returned and the time, it returns the events to
//! publish (`order.expired`). The projection closes a verification when its expiry (or the
//! order's verification or deletion) comes back through the stream.

use chrono::{DateTime, Utc};
use gadai_events::{Event, EventKind, OrderExpired, SYSTEM_ACTOR};
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

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
