//! A verification's lifecycle: its states (the `verifications.state` column), the steps that
//! move it, what a redelivered send request does with a row, and what a check makes of the
//! codes it found. Pure: the SQL binds these states' strings and mirrors these functions.
//!
//! ```text
//! pending --mail accepted--> sent --check matched--> matched
//!    |                        |                        |
//!    +--send failed--> failed |                        |
//!    +-------------+----------+------------------------+
//!                  |  a newer code is sent: replaced
//!                  |  the order is verified, expired or deleted: closed
//! ```
//!
//! Whether an outcome was announced (`verification.sent` or `verification.failed` on the
//! stream) is not a state: `announced_at` marks it, whatever the state is by then.

use std::fmt;

use chrono::{DateTime, Utc};

/// The state of one verification (one code mailed for one request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Its code's hash is written; the mail is about to leave (or a redelivery mails a fresh
    /// code).
    Pending,
    /// The SMTP server accepted the mail; checks may match its code until `expires_at`.
    Sent,
    /// A check matched; `order.verified` is on the stream.
    Matched,
    /// The send failed for good.
    Failed,
    /// A newer code was sent for the same order.
    Replaced,
    /// The order was verified, expired or deleted.
    Closed,
}

/// A state string this release does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState(pub String);

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown verification state {:?}", self.0)
    }
}

impl std::error::Error for UnknownState {}

impl State {
    pub const ALL: [State; 6] = [
        State::Pending,
        State::Sent,
        State::Matched,
        State::Failed,
        State::Replaced,
        State::Closed,
    ];

    /// A code that still counts: its hash is unique among these (the `verifications_live_code`
    /// index), and a newer code or the order closing retires it.
    pub const LIVE: [State; 3] = [State::Pending, State::Sent, State::Matched];

    /// A code a check may match (before its `expires_at`): mailed, and not retired.
    pub const CHECKABLE: [State; 2] = [State::Sent, State::Matched];

    /// The string stored in `verifications.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Matched => "matched",
            State::Failed => "failed",
            State::Replaced => "replaced",
            State::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<State, UnknownState> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownState(text.to_owned()))
    }

    /// The state after `step`: the step's target if it applies in this state, else unchanged.
    pub fn after(self, step: Step) -> State {
        if step.applies_in().contains(&self) {
            step.target()
        } else {
            self
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The strings of `states`, to bind as a `text[]` (`state = ANY($n)`).
pub fn strs(states: &[State]) -> Vec<&'static str> {
    states.iter().map(|s| s.as_str()).collect()
}

/// What happens to a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A fresh code is drawn for it (a new request, or a redelivery of a `pending` one).
    Claimed,
    /// The SMTP server accepted its mail.
    MailAccepted,
    /// Its send failed for good.
    SendFailed,
    /// A check matched its code.
    CheckMatched,
    /// A newer code was claimed for its order.
    Superseded,
    /// Its order was verified, expired or deleted.
    OrderClosed,
}

impl Step {
    /// The states this step moves a verification out of; in any other it changes nothing
    /// (a mail accepted after the order closed leaves the row `closed`).
    pub fn applies_in(self) -> &'static [State] {
        match self {
            Step::Claimed => &State::ALL,
            Step::MailAccepted | Step::SendFailed => &[State::Pending],
            Step::CheckMatched => &State::CHECKABLE,
            Step::Superseded | Step::OrderClosed => &State::LIVE,
        }
    }

    /// The state this step moves a verification into.
    pub fn target(self) -> State {
        match self {
            Step::Claimed => State::Pending,
            Step::MailAccepted => State::Sent,
            Step::SendFailed => State::Failed,
            Step::CheckMatched => State::Matched,
            Step::Superseded => State::Replaced,
            Step::OrderClosed => State::Closed,
        }
    }
}

/// A verification's row as the sender reads it when a send request is (re)delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    /// `None`: a state this release does not know (written by a newer one).
    pub state: Option<State>,
    pub expires_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub announced_at: Option<DateTime<Utc>>,
}

/// What a send request does, given what is recorded of its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendAction {
    /// Not sent yet (no row, or `pending`: the mail was not accepted, or the mailer died
    /// first): mail a fresh code.
    MailFreshCode,
    /// Mailed, not announced yet: publish `verification.sent` (again).
    AnnounceSent { expires_at: DateTime<Utc> },
    /// Failed for good, not announced yet: publish `verification.failed` (again).
    AnnounceFailed { reason: String },
    /// Announced already, or nothing to announce (replaced or closed before it was mailed).
    Nothing,
}

/// What a (re)delivered send request does with the row of its verification, if there is one.
/// A recorded outcome wins over the state: a mail accepted after the order closed is still
/// announced.
pub fn on_send_request(record: Option<&SendRecord>) -> SendAction {
    let Some(r) = record else {
        return SendAction::MailFreshCode;
    };
    if r.announced_at.is_some() {
        return SendAction::Nothing;
    }
    if let (Some(expires_at), Some(_)) = (r.expires_at, r.sent_at) {
        return SendAction::AnnounceSent { expires_at };
    }
    if let Some(reason) = &r.failure_reason {
        return SendAction::AnnounceFailed {
            reason: reason.clone(),
        };
    }
    match r.state {
        Some(State::Pending) => SendAction::MailFreshCode,
        _ => SendAction::Nothing,
    }
}

/// Whether a code with `attempts` failed checks may still match: fewer than the limit.
pub fn accepts_attempts(attempts: i32, max_failed_attempts: i32) -> bool {
    attempts < max_failed_attempts
}

/// What a check that matched no code answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    /// The code it named (or found) is dead for good: too many failed attempts.
    Locked,
}

/// What a check that matched none of the `live` codes it found (checkable, not expired)
/// answers. A check that named its order counted one failed attempt against each code that
/// still accepted attempts; `attempts_after` are their counts after that. A code-only check
/// only finds a code by its own hash, so finding one means that code is locked.
pub fn on_miss(
    named_order: bool,
    live: usize,
    attempts_after: &[i32],
    max_failed_attempts: i32,
) -> Miss {
    let locked = if named_order {
        live > 0 && attempts_after.iter().all(|a| *a >= max_failed_attempts)
    } else {
        live > 0
    };
    if locked { Miss::Locked } else { Miss::NotFound }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn record(state: &str) -> SendRecord {
        SendRecord {
            state: State::parse(state).ok(),
            expires_at: None,
            sent_at: None,
            failure_reason: None,
            announced_at: None,
        }
    }

    #[test]
    fn states_round_trip_through_their_strings() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Ok(state));
        }
        assert_eq!(
            State::parse("announced"),
            Err(UnknownState("announced".into()))
        );
        assert_eq!(strs(&State::LIVE), ["pending", "sent", "matched"]);
        assert_eq!(strs(&State::CHECKABLE), ["sent", "matched"]);
    }

    #[test]
    fn the_live_states_are_the_ones_the_unique_code_index_covers() {
        let migration = include_str!("../../migrations/0002_verifications.sql");
        let quoted: Vec<String> = State::LIVE.iter().map(|s| format!("'{s}'")).collect();
        let predicate = format!("WHERE state IN ({})", quoted.join(", "));
        assert_eq!(migration.matches(&predicate).count(), 2, "{predicate}");
    }

    // Steps: given a state, when a step happens, then the state after it.

    #[test]
    fn given_pending_when_the_mail_is_accepted_then_sent() {
        assert_eq!(State::Pending.after(Step::MailAccepted), State::Sent);
    }

    #[test]
    fn given_pending_when_the_send_fails_for_good_then_failed() {
        assert_eq!(State::Pending.after(Step::SendFailed), State::Failed);
    }

    #[test]
    fn given_a_retired_code_when_its_mail_is_accepted_or_fails_then_it_stays_retired() {
        for state in [State::Replaced, State::Closed] {
            assert_eq!(state.after(Step::MailAccepted), state);
            assert_eq!(state.after(Step::SendFailed), state);
        }
    }

    #[test]
    fn given_a_mailed_code_when_a_check_matches_then_matched() {
        assert_eq!(State::Sent.after(Step::CheckMatched), State::Matched);
        assert_eq!(State::Matched.after(Step::CheckMatched), State::Matched);
        assert_eq!(State::Pending.after(Step::CheckMatched), State::Pending);
    }

    #[test]
    fn given_a_live_code_when_a_newer_one_is_claimed_or_the_order_closes_then_it_is_retired() {
        for state in State::LIVE {
            assert_eq!(state.after(Step::Superseded), State::Replaced);
            assert_eq!(state.after(Step::OrderClosed), State::Closed);
        }
        for state in [State::Failed, State::Replaced, State::Closed] {
            assert_eq!(state.after(Step::Superseded), state);
            assert_eq!(state.after(Step::OrderClosed), state);
        }
    }

    #[test]
    fn given_any_state_when_a_fresh_code_is_claimed_then_pending() {
        for state in State::ALL {
            assert_eq!(state.after(Step::Claimed), State::Pending);
        }
    }

    // Send requests: given the row, when the request is (re)delivered, then what it does.

    #[test]
    fn given_no_row_when_a_send_request_comes_then_a_fresh_code_is_mailed() {
        assert_eq!(on_send_request(None), SendAction::MailFreshCode);
    }

    #[test]
    fn given_a_pending_row_when_the_request_is_redelivered_then_a_fresh_code_is_mailed() {
        assert_eq!(
            on_send_request(Some(&record("pending"))),
            SendAction::MailFreshCode
        );
    }

    #[test]
    fn given_a_recorded_unannounced_send_when_redelivered_then_sent_is_announced_again() {
        let expires_at = at("2026-11-24T15:00:00Z");
        let sent = SendRecord {
            expires_at: Some(expires_at),
            sent_at: Some(at("2026-11-24T14:50:00Z")),
            ..record("sent")
        };
        assert_eq!(
            on_send_request(Some(&sent)),
            SendAction::AnnounceSent { expires_at }
        );
        // Accepted after the order closed: the mail is out, so it is announced all the same.
        let closed = SendRecord {
            state: Some(State::Closed),
            ..sent
        };
        assert_eq!(
            on_send_request(Some(&closed)),
            SendAction::AnnounceSent { expires_at }
        );
    }

    #[test]
    fn given_a_recorded_unannounced_failure_when_redelivered_then_failed_is_announced_again() {
        let failed = SendRecord {
            failure_reason: Some("550 no such user".into()),
            ..record("failed")
        };
        assert_eq!(
            on_send_request(Some(&failed)),
            SendAction::AnnounceFailed {
                reason: "550 no such user".into()
            }
        );
    }

    #[test]
    fn given_an_announced_outcome_when_redelivered_then_nothing() {
        let announced = SendRecord {
            expires_at: Some(at("2026-11-24T15:00:00Z")),
            sent_at: Some(at("2026-11-24T14:50:00Z")),
            announced_at: Some(at("2026-11-24T14:50:01Z")),
            ..record("sent")
        };
        assert_eq!(on_send_request(Some(&announced)), SendAction::Nothing);
    }

    #[test]
    fn given_a_code_retired_before_it_was_mailed_when_redelivered_then_nothing() {
        for state in ["replaced", "closed", "a-state-from-a-newer-release"] {
            assert_eq!(on_send_request(Some(&record(state))), SendAction::Nothing);
        }
    }

    // Checks: given the codes found and their attempts, when no code matched, then the answer.

    #[test]
    fn given_attempts_below_the_limit_then_the_code_still_accepts_checks() {
        assert!(accepts_attempts(4, 5));
        assert!(!accepts_attempts(5, 5));
    }

    #[test]
    fn given_no_live_code_when_a_check_misses_then_not_found() {
        assert_eq!(on_miss(true, 0, &[], 5), Miss::NotFound);
        assert_eq!(on_miss(false, 0, &[], 5), Miss::NotFound);
    }

    #[test]
    fn given_a_named_code_with_attempts_left_when_a_wrong_code_comes_then_not_found() {
        assert_eq!(on_miss(true, 1, &[4], 5), Miss::NotFound);
    }

    #[test]
    fn given_a_named_code_on_its_last_attempt_when_a_wrong_code_comes_then_locked() {
        assert_eq!(on_miss(true, 1, &[5], 5), Miss::Locked);
    }

    #[test]
    fn given_named_codes_already_locked_when_any_code_comes_then_locked() {
        // None accepted the attempt, so none was counted.
        assert_eq!(on_miss(true, 2, &[], 5), Miss::Locked);
    }

    #[test]
    fn given_several_named_codes_when_one_has_attempts_left_then_not_found() {
        assert_eq!(on_miss(true, 2, &[5, 3], 5), Miss::NotFound);
    }

    #[test]
    fn given_a_code_only_check_that_found_a_code_it_could_not_match_then_locked() {
        assert_eq!(on_miss(false, 1, &[], 5), Miss::Locked);
    }
}
