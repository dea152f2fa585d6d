//! Answers `rpc.verification.check` (queue group: one replica answers each request).
//!
//! A check names its order (`order: Some(..)`, by id or by the reference printed in the mail):
//! the code is tested against that order's live code only (`sent` or `matched`, not expired),
//! and a wrong code counts one failed attempt against it; at `max_failed_attempts` the code is
//! dead for good (`Locked`), even for the right code. A reference is a range of order ids; if
//! several live orders share it, each is tested and each counts the attempt. A check without an
//! order (the code-only opt-in) is looked up by the code's HMAC among all live codes.
//!
//! Before anything is evaluated, the check passes the service's shared budgets (the
//! `check_budget` table, one row per window, serialized by an advisory lock): it reserves one
//! failure, given back if it matches; when the window's failures are spent every check is
//! `Throttled` until the window ends. Code-only checks also count against a budget of their own.
//!
//! On a match, `order.verified` is published (waiting for the PubAck) while the code's row is
//! locked, and only then is the row marked `matched`: a crash in between leaves the event on the
//! stream, and the mailer's projection closes the code when it applies it. A publish that fails
//! changes nothing and answers `Unavailable`.

use futures::StreamExt;
use gadai_bus::Bus;
use gadai_events::{
    BRIDGE_ACTOR, Event, EventKind, OrderVerified,
    check::{CheckReply, CheckRequest, Outcome, QUEUE_GROUP, SUBJECT},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    config::CheckSettings,
    domain::{
        Code, CodeHasher,
        budget::{Budget, Decision, Spent, Window},
        lifecycle::{self, Miss, Step},
    },
    failpoint,
    read_model::{self, Live, Lookup},
};

/// Requests one replica works on at once (each holds at most one pooled connection at a time;
/// the budget serializes them anyway, and the projection and the sender need connections too).
const CONCURRENT_CHECKS: usize = 4;

pub struct Checker {
    pub pool: PgPool,
    pub bus: Bus,
    pub hasher: CodeHasher,
    pub max_failed_attempts: i32,
    pub limits: CheckSettings,
}

/// The outcome of passing the budgets.
enum Admission {
    /// The check may run; one failure is reserved in `window`.
    Granted { window: Window, failures: u32 },
    /// A budget is spent; `failures` is the window's count.
    Throttled {
        retry_after_secs: u64,
        failures: u32,
    },
}

impl Checker {
    /// Serves requests until shutdown; the checks in hand are finished first.
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let requests = self
            .bus
            .client()
            .queue_subscribe(self.bus.subject(SUBJECT), QUEUE_GROUP.to_owned())
            .await?;
        requests
            .take_until(shutdown.cancelled())
            .for_each_concurrent(CONCURRENT_CHECKS, |message| self.answer(message))
            .await;
        Ok(())
    }

    async fn answer(&self, message: async_nats::Message) {
        let reply = match serde_json::from_slice::<CheckRequest>(&message.payload) {
            Ok(request) => self.check(request).await,
            Err(_) => CheckReply::not(Outcome::NotFound),
        };
        if let Some(inbox) = message.reply {
            let payload = serde_json::to_vec(&reply).expect("replies serialize");
            if let Err(err) = self.bus.client().publish(inbox, payload.into()).await {
                tracing::warn!(error = %err, "could not reply to a code check");
            }
        }
    }

    /// Checks a code (see the module's documentation). Never fails: what cannot be decided
    /// (database or stream unavailable) is answered `Unavailable`, and changes nothing.
    #[tracing::instrument(skip_all, fields(outcome))]
    pub async fn check(&self, request: CheckRequest) -> CheckReply {
        let code_only = request.order.is_none();
        let (window, reserved) = match self.admit(code_only).await {
            Ok(Admission::Granted { window, failures }) => (window, failures),
            Ok(Admission::Throttled {
                retry_after_secs,
                failures,
            }) => {
                self.remaining(failures);
                return self.answered(CheckReply {
                    retry_after_secs: Some(retry_after_secs),
                    ..CheckReply::not(Outcome::Throttled)
                });
            }
            Err(err) => {
                tracing::error!(error = ?err, "code check: the budget could not be read");
                return self.answered(CheckReply::not(Outcome::Unavailable));
            }
        };
        let reply = self.evaluate(&request).await.unwrap_or_else(|err| {
            tracing::error!(error = ?err, "code check failed");
            CheckReply::not(Outcome::Unavailable)
        });
        if matches!(reply.outcome, Outcome::NotFound | Outcome::Locked) {
            metrics::counter!("verification_check_failures_total").increment(1);
            self.remaining(reserved);
        } else {
            self.give_back(window).await;
        }
        self.answered(reply)
    }

    fn answered(&self, reply: CheckReply) -> CheckReply {
        let label = reply.outcome.label();
        tracing::Span::current().record("outcome", label);
        metrics::counter!("verification_checks_total", "outcome" => label).increment(1);
        reply
    }

    /// Sets the budget gauge from the window's shared count of failures.
    fn remaining(&self, failures: u32) {
        let left = self.limits.failure_budget.saturating_sub(failures);
        metrics::gauge!("verification_check_failure_budget_remaining").set(left as f64);
    }

    /// Passes the budgets of the current window (the database's clock), reserving one failure
    /// (and counting a code-only check). Serialized across replicas by an advisory lock, so the
    /// counts are exact; older windows are deleted on the way.
    async fn admit(&self, code_only: bool) -> anyhow::Result<Admission> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.check_budget'))")
            .execute(&mut *tx)
            .await?;
        let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
            .fetch_one(&mut *tx)
            .await?;
        let window = Window::containing(now, self.limits.window);
        sqlx::query("DELETE FROM check_budget WHERE window_start < $1")
            .bind(window.start)
            .execute(&mut *tx)
            .await?;
        let counted: Option<(i32, i32)> =
            sqlx::query_as("SELECT failures, code_only FROM check_budget WHERE window_start = $1")
                .bind(window.start)
                .fetch_optional(&mut *tx)
                .await?;
        let spent = counted.map_or(Spent::default(), |(f, c)| Spent {
            failures: f.max(0) as u32,
            code_only: c.max(0) as u32,
        });
        let budget = Budget {
            failures: self.limits.failure_budget,
            code_only: self.limits.code_only_budget,
        };
        let admission = match budget.decide(spent, code_only) {
            Decision::Throttle => Admission::Throttled {
                retry_after_secs: window.seconds_left(now),
                failures: spent.failures,
            },
            Decision::Reserve(after) => {
                sqlx::query(
                    "INSERT INTO check_budget (window_start, failures, code_only) VALUES ($1, $2, $3)
                     ON CONFLICT (window_start) DO UPDATE
                     SET failures = EXCLUDED.failures, code_only = EXCLUDED.code_only",
                )
                .bind(window.start)
                .bind(after.failures as i32)
                .bind(after.code_only as i32)
                .execute(&mut *tx)
                .await?;
                Admission::Granted {
                    window,
                    failures: after.failures,
                }
            }
        };
        tx.commit().await?;
        Ok(admission)
    }

    /// Gives back the failure reserved in `window` (the check did not fail). Once the window
    /// is over its row is gone, and there is nothing to give back.
    async fn give_back(&self, window: Window) {
        let left: Result<Option<i32>, _> = sqlx::query_scalar(
            "UPDATE check_budget SET failures = failures - 1
             WHERE window_start = $1 AND failures > 0 RETURNING failures",
        )
        .bind(window.start)
        .fetch_optional(&self.pool)
        .await;
        match left {
            Ok(Some(failures)) => self.remaining(failures.max(0) as u32),
            Ok(None) => self.remaining(0),
            // The reservation stays: the budget errs on the safe side.
            Err(err) => tracing::warn!(error = %err, "could not give back a reserved failure"),
        }
    }

    /// Tests the code against the live codes the request names.
    async fn evaluate(&self, request: &CheckRequest) -> anyhow::Result<CheckReply> {
        let code = Code::parse(&request.kode_unik);
        let mut tx = self.pool.begin().await?;
        let lookup = match (&request.order, &code) {
            (Some(order), _) => Some(Lookup::Order(order)),
            (None, Some(code)) => Some(Lookup::CodeHash(self.hasher.hash(code))),
            (None, None) => None,
        };
        let live = match lookup {
            Some(lookup) => read_model::lock_live_codes(&mut tx, lookup).await?,
            None => Vec::new(),
        };
        let open = |l: &&Live| lifecycle::accepts_attempts(l.attempts, self.max_failed_attempts);
        // Every open code is compared (in constant time each); a match wins.
        let mut matched = None;
        if let Some(code) = &code {
            for l in live.iter().filter(open) {
                if self.hasher.matches(code, &l.code_hash) {
                    matched = Some(l);
                }
            }
        }
        if let Some(hit) = matched {
            let event = Event::new(
                hit.order_id,
                BRIDGE_ACTOR,
                EventKind::OrderVerified(OrderVerified {
                    verification_id: hit.id,
                }),
            );
            // The row stays locked until the event is on the stream; a failed publish rolls
            // back (the transaction is dropped) and changes nothing.
            if let Err(err) = self.bus.publish(&event).await {
                tracing::error!(error = ?err, order_id = %hit.order_id, "order.verified could not be published");
                return Ok(CheckReply::not(Outcome::Unavailable));
            }
            failpoint::hit("mailer.after_verified_published");
            let recorded = async {
                sqlx::query("UPDATE verifications SET state = $2 WHERE id = $1")
                    .bind(hit.id)
                    .bind(Step::CheckMatched.target().as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await;
            if let Err(err) = recorded {
                // The event is stored: the order is verified, and the projection closes the
                // code when it applies order.verified.
                tracing::warn!(error = %err, order_id = %hit.order_id, "order.verified published; marking the code matched failed");
            }
            return Ok(CheckReply {
                outcome: Outcome::Matched,
                order_id: Some(hit.order_id),
                verification_id: Some(hit.id),
                retry_after_secs: None,
            });
        }
        // A wrong code costs an attempt of each named code that still works; a code-only
        // check counts nothing (the code found its row, but that code is locked).
        let named_order = request.order.is_some();
        let attempts: Vec<i32> = if named_order {
            let counted: Vec<Uuid> = live.iter().filter(open).map(|l| l.id).collect();
            sqlx::query_scalar(
                "UPDATE verifications SET attempts = attempts + 1
                 WHERE id = ANY($1) RETURNING attempts",
            )
            .bind(&counted)
            .fetch_all(&mut *tx)
            .await?
        } else {
            Vec::new()
        };
        let outcome = match lifecycle::on_miss(
            named_order,
            live.len(),
            &attempts,
            self.max_failed_attempts,
        ) {
            Miss::Locked => Outcome::Locked,
            Miss::NotFound => Outcome::NotFound,
        };
        tx.commit().await?;
        Ok(CheckReply::not(outcome))
    }
}
