//! What an operator's command does to an order: a pure decision over the order's current view
//! (the fold of its events, [`OrderView::apply`]), the time and the limits. It returns the
//! events to publish, or why the command is refused; the HTTP handlers only parse, load, call
//! [`decide`], publish and answer.

use chrono::{DateTime, Duration, Utc};
use gadai_events::{EventKind, OrderDeleted, VerificationRequested};

use super::{OrderView, Status};

/// An operator's command on one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Mail the customer a code (`POST /dashboard/verification/{id}`).
    SendVerification,
    /// Mail a new code that replaces the old one (`.../resend`).
    ResendVerification,
    /// Take the order off the active list (`DELETE /dashboard/order/{id}`).
    Delete,
}

/// The business limits a decision obeys.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long after a mail a new code may be sent (`RESEND_COOLDOWN`).
    pub resend_cooldown: Duration,
    /// The most codes mailed for one order (`MAX_VERIFICATION_SENDS`).
    pub max_sends: i32,
}

/// Why a command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The order is unknown, expired or deleted.
    NotFound,
    /// A first send for an order already On Verification or Verified.
    AlreadyVerifying,
    /// A resend for an order that is not On Verification.
    NotOnVerification,
    /// A resend before the cool-down has passed.
    CoolingDown { retry_after_secs: u64 },
    /// `max_sends` codes were mailed already.
    SendLimit { max_sends: i32 },
    /// The customer's personal data was erased: there is no address to mail a code to.
    Erased,
}

/// Decides `command` on the order `view` at `now`. An empty list means the command is accepted
/// and changes nothing (a send while a mail is already on its way: a double click).
pub fn decide(
    view: &OrderView,
    command: Command,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<Vec<EventKind>, Refusal> {
    if !view.is_active() {
        return Err(Refusal::NotFound);
    }
    if view.is_erased() && command != Command::Delete {
        return Err(Refusal::Erased);
    }
    match command {
        Command::SendVerification => {
            if matches!(view.status, Status::OnVerification | Status::Verified) {
                return Err(Refusal::AlreadyVerifying);
            }
            request_code(view, limits)
        }
        Command::ResendVerification => {
            if view.status != Status::OnVerification {
                return Err(Refusal::NotOnVerification);
            }
            if let Some(sent) = view.last_sent_at {
                let ready_at = sent + limits.resend_cooldown;
                if now < ready_at && !view.sending {
                    return Err(Refusal::CoolingDown {
                        retry_after_secs: (ready_at - now).num_seconds().max(1) as u64,
                    });
                }
            }
            request_code(view, limits)
        }
        Command::Delete => Ok(vec![EventKind::OrderDeleted(OrderDeleted { reason: None })]),
    }
}

/// A code request numbered by the sends so far, so a double click (or two operators at once)
/// carries the same `Nats-Msg-Id` and mails once; nothing while a mail is on its way.
fn request_code(view: &OrderView, limits: &Limits) -> Result<Vec<EventKind>, Refusal> {
    if view.sending {
        return Ok(vec![]);
    }
    if view.send_count >= limits.max_sends {
        return Err(Refusal::SendLimit {
            max_sends: limits.max_sends,
        });
    }
    Ok(vec![EventKind::VerificationRequested(
        VerificationRequested::numbered(view.send_count as u32),
    )])
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use gadai_events::*;
    use uuid::Uuid;

    use super::*;
    use crate::domain::test_events::created;

    const LIMITS: Limits = Limits {
        resend_cooldown: Duration::seconds(60),
        max_sends: 3,
    };

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn requested(n: u32) -> EventKind {
        EventKind::VerificationRequested(VerificationRequested::numbered(n))
    }

    fn sent(n: u32) -> EventKind {
        EventKind::VerificationSent(VerificationSent {
            verification_id: Uuid::from_u128(n as u128 + 1),
            expires_at: at(86_400),
        })
    }

    /// Given these events (each at the time given), the order's view.
    fn given(events: &[(i64, EventKind)]) -> OrderView {
        let id = Uuid::from_u128(7);
        let mut view = OrderView::empty(id);
        for (seq, (secs, kind)) in events.iter().enumerate() {
            let mut event = Event::new(id, "op", kind.clone());
            event.occurred_at = at(*secs);
            view.apply(seq as i64 + 1, &event);
        }
        view
    }

    fn when(view: &OrderView, command: Command, secs: i64) -> Result<Vec<EventKind>, Refusal> {
        decide(view, command, at(secs), &LIMITS)
    }

    #[test]
    fn given_a_new_order_when_sent_then_the_first_code_is_requested() {
        let view = given(&[(0, created())]);
        assert_eq!(
            when(&view, Command::SendVerification, 1),
            Ok(vec![requested(0)])
        );
    }

    #[test]
    fn given_a_mail_on_its_way_when_sent_again_then_nothing_happens() {
        let view = given(&[(0, created()), (1, requested(0))]);
        assert_eq!(when(&view, Command::SendVerification, 2), Ok(vec![]));
    }

    #[test]
    fn given_a_code_sent_when_sent_again_then_refused() {
        let view = given(&[(0, created()), (1, requested(0)), (2, sent(0))]);
        assert_eq!(
            when(&view, Command::SendVerification, 3),
            Err(Refusal::AlreadyVerifying)
        );
    }

    #[test]
    fn given_a_failed_send_when_sent_again_then_the_next_number_is_requested() {
        let failed = EventKind::VerificationFailed(VerificationFailed {
            verification_id: Uuid::from_u128(1),
            reason: "SMTP down".into(),
        });
        let view = given(&[(0, created()), (1, requested(0)), (2, failed)]);
        assert_eq!(
            when(&view, Command::SendVerification, 3),
            Ok(vec![requested(1)])
        );
    }

    #[test]
    fn given_a_fresh_code_when_resent_then_refused_until_the_cool_down_ends() {
        let view = given(&[(0, created()), (1, requested(0)), (10, sent(0))]);
        assert_eq!(
            when(&view, Command::ResendVerification, 40),
            Err(Refusal::CoolingDown {
                retry_after_secs: 30
            })
        );
        assert_eq!(
            when(&view, Command::ResendVerification, 70),
            Ok(vec![requested(1)])
        );
    }

    #[test]
    fn given_three_codes_sent_when_resent_then_the_limit_refuses() {
        let view = given(&[
            (0, created()),
            (1, requested(0)),
            (2, sent(0)),
            (100, requested(1)),
            (101, sent(1)),
            (200, requested(2)),
            (201, sent(2)),
        ]);
        assert_eq!(
            when(&view, Command::ResendVerification, 1_000),
            Err(Refusal::SendLimit { max_sends: 3 })
        );
    }

    #[test]
    fn given_no_code_yet_when_resent_then_refused() {
        let view = given(&[(0, created())]);
        assert_eq!(
            when(&view, Command::ResendVerification, 1),
            Err(Refusal::NotOnVerification)
        );
    }

    #[test]
    fn given_an_active_order_when_deleted_then_order_deleted() {
        let view = given(&[(0, created()), (1, requested(0)), (2, sent(0))]);
        assert_eq!(
            when(&view, Command::Delete, 3),
            Ok(vec![EventKind::OrderDeleted(OrderDeleted { reason: None })])
        );
    }

    #[test]
    fn given_a_deleted_expired_or_unknown_order_then_every_command_is_not_found() {
        let deleted = given(&[
            (0, created()),
            (1, EventKind::OrderDeleted(OrderDeleted { reason: None })),
        ]);
        let expired = given(&[
            (0, created()),
            (1, requested(0)),
            (2, sent(0)),
            (
                3,
                EventKind::OrderExpired(OrderExpired {
                    verification_id: Uuid::from_u128(1),
                }),
            ),
        ]);
        let unknown = OrderView::empty(Uuid::from_u128(9));
        for view in [&deleted, &expired, &unknown] {
            for command in [
                Command::SendVerification,
                Command::ResendVerification,
                Command::Delete,
            ] {
                assert_eq!(when(view, command, 10), Err(Refusal::NotFound));
            }
        }
    }

    #[test]
    fn given_an_erased_customer_when_sent_then_refused_but_it_can_be_deleted() {
        let mut view = given(&[(0, created()), (1, requested(0)), (2, sent(0))]);
        view.erase(&crate::domain::Erasure {
            generation: 0,
            seq: 9,
        });
        assert_eq!(
            when(&view, Command::SendVerification, 3),
            Err(Refusal::Erased)
        );
        assert_eq!(
            when(&view, Command::ResendVerification, 999),
            Err(Refusal::Erased)
        );
        assert!(when(&view, Command::Delete, 3).is_ok());
    }
}
