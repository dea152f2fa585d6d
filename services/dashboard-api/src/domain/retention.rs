//! Retention's decision (UU PDP 27/2022): the erasures of customers whose personal data has
//! been kept long enough. Pure: the read model finds them ([`crate::read_model::retention`]),
//! [`crate::retention`] runs the rounds and publishes.

use std::time::Duration;

use gadai_events::{CustomerErased, ErasureBasis, Event, EventKind, SYSTEM_ACTOR};
use uuid::Uuid;

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
}
