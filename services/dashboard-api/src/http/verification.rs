//! Verification from the dashboard's side.
//!
//! - `POST /dashboard/verification/{id}`: an operator asks for a code to be mailed; 202 once
//!   `verification.requested` is on the stream (the outcome reaches the UI live). Never returns
//!   the code.
//! - `POST /dashboard/verification/{id}/resend`: a new code for an order On Verification, after
//!   the cool-down; it replaces the old one.
//! - `POST /dashboard/verify`: n8n hands back the customer's code with the order reference from
//!   the mail (API key; rate limited per client address across replicas); the mailer checks it
//!   over NATS request/reply against that order's code and, on a match, publishes
//!   `order.verified`.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Json,
    extract::{ConnectInfo, Path, State, rejection::JsonRejection, rejection::PathRejection},
    http::{HeaderMap, StatusCode},
};
use chrono::Utc;
use gadai_events::{
    Event, EventKind, Recipient,
    check::{CheckReply, CheckRequest, OrderRef, Outcome, Reference, SUBJECT},
};
use gadai_http::{ApiError, FieldError};
use gadai_privacy::{KeyError, SubjectId, personal::seal_recipient};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    AppState,
    auth::Operator,
    openapi::{SendAccepted, Verified},
    orders,
};
use crate::{
    domain::{Command, Limits, OrderView, Refusal, decide},
    limits::Limit,
    read_model,
};

/// The seed's answer when a code cannot be sent (already sent or verified).
pub const ALREADY: &str = "Order sudah verified atau sedang dalam proses verifikasi";
/// The seed's answer for a code that does not verify anything.
pub const INVALID_CODE: &str = "Kode tidak valid";
/// The answer once a code took too many wrong attempts: only a new code helps.
pub const LOCKED_CODE: &str =
    "Kode tidak valid: terlalu banyak percobaan yang salah, minta petugas mengirim kode baru";

#[utoipa::path(
    post,
    path = "/dashboard/verification/{id}",
    operation_id = "sendVerification",
    summary = "Mail the customer a one-time code (publishes verification.requested)",
    description = "Answers 202 once the request is on the stream; the outcome (sent, or failed with the reason) reaches the UI live. Never returns the code. A second click while a send is on its way changes nothing.",
    params(("id" = String, Path, description = "The order id (UUID).")),
    responses(
        (status = 202, description = "The send is on its way", body = inline(super::openapi::SendAccepted)),
        (status = 400, description = "Already On Verification or Verified (the seed's message), or the send limit is reached", body = super::openapi::Error),
        (status = 404, description = "Unknown or no longer active order", body = super::openapi::Error),
        (status = 503, description = "The stream did not acknowledge in time, or the key store that seals the recipient did not answer; retry", body = super::openapi::Error),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<SendAccepted>), ApiError> {
    let id = orders::parse_id(id)?;
    let view = execute(&state, &operator.id, id, Command::SendVerification).await?;
    Ok(accepted(&view))
}

#[utoipa::path(
    post,
    path = "/dashboard/verification/{id}/resend",
    operation_id = "resendVerification",
    summary = "Mail a new code to an order On Verification; the new code replaces the old one",
    params(("id" = String, Path, description = "The order id (UUID).")),
    responses(
        (status = 202, description = "The send is on its way", body = inline(super::openapi::SendAccepted)),
        (status = 400, description = "Not On Verification, or the send limit is reached", body = super::openapi::Error),
        (status = 404, description = "Unknown or no longer active order", body = super::openapi::Error),
        (status = 429, description = "Within the cool-down after the last mail", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds until a resend is allowed"),
        )),
        (status = 503, description = "The stream did not acknowledge in time, or the key store that seals the recipient did not answer; retry", body = super::openapi::Error),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<SendAccepted>), ApiError> {
    let id = orders::parse_id(id)?;
    let view = execute(&state, &operator.id, id, Command::ResendVerification).await?;
    Ok(accepted(&view))
}

/// Runs a command on an order for `actor` (an operator, or the agent): load its view, decide,
/// publish what the decision says (each event answered by its PubAck), and return the view it
/// was decided on.
pub(super) async fn execute(
    state: &AppState,
    actor: &str,
    id: Uuid,
    command: Command,
) -> Result<OrderView, ApiError> {
    let view = read_model::find(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?
        .unwrap_or_else(|| OrderView::empty(id));
    let limits = Limits {
        resend_cooldown: chrono::Duration::from_std(state.settings.resend_cooldown)
            .unwrap_or_default(),
        max_sends: state.settings.max_sends,
    };
    let events = decide(&view, command, Utc::now(), &limits).map_err(refused)?;
    for mut kind in events {
        if let EventKind::VerificationRequested(request) = &mut kind {
            request.recipient = Some(recipient(state, &view).await?);
        }
        state.publish(&Event::new(id, actor, kind)).await?;
    }
    Ok(view)
}

/// The order's name and address sealed for the mailer under the key that sealed the order
/// (an order recorded before sealing gets its customer's key, made now if they have none):
/// the request carries all the mailer needs. A key erased or replaced since the view was read
/// (an erasure on its way) refuses as erased; the key store down, or a replica of it behind,
/// answers 503 and nothing is published.
async fn recipient(state: &AppState, view: &OrderView) -> Result<Recipient, ApiError> {
    let facts = view.facts.as_ref().ok_or_else(orders::not_found)?;
    let personal = facts
        .personal
        .as_ref()
        .ok_or_else(|| refused(Refusal::Erased))?;
    let subject = match facts.customer.subject.as_deref().map(SubjectId::parse) {
        Some(Ok(subject)) => subject,
        _ => state.settings.pii.subjects.subject_of(&personal.email),
    };
    let unavailable = |e: KeyError| ApiError::Unavailable(format!("customer key for a code: {e}"));
    let sealed_under = facts.customer.generation;
    let key = if sealed_under == 0 {
        state.keys.key_for(&subject).await.map_err(unavailable)?
    } else {
        let keys = state.keys.fetch([&subject]).await.map_err(unavailable)?;
        match keys.sealed_under(&subject, sealed_under) {
            Ok(Some(key)) => key.clone(),
            Ok(None) => return Err(refused(Refusal::Erased)),
            Err(stale) => return Err(ApiError::Unavailable(format!("{stale}; retry"))),
        }
    };
    Ok(seal_recipient(
        &key,
        &subject,
        &personal.nama_customer,
        &personal.email,
    ))
}

/// A refusal as the seed's clients know it.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotFound => orders::not_found(),
        Refusal::AlreadyVerifying => ApiError::BadRequest(ALREADY.into()),
        Refusal::NotOnVerification => ApiError::BadRequest(
            "Kode hanya dapat dikirim ulang untuk order yang sedang dalam proses verifikasi".into(),
        ),
        Refusal::CoolingDown { retry_after_secs } => ApiError::TooManyRequests { retry_after_secs },
        Refusal::SendLimit { max_sends } => ApiError::BadRequest(format!(
            "Batas {max_sends} kali pengiriman kode untuk order ini sudah tercapai"
        )),
        Refusal::Erased => ApiError::BadRequest(
            "Data pelanggan order ini sudah dihapus; kode verifikasi tidak dapat dikirim".into(),
        ),
    }
}

/// 202: the request is on the stream (or a mail was already on its way); the outcome reaches
/// the UI live.
fn accepted(view: &OrderView) -> (StatusCode, Json<SendAccepted>) {
    let email = view
        .facts
        .as_ref()
        .and_then(|f| f.personal.as_ref())
        .map_or("", |p| p.email.as_str());
    (
        StatusCode::ACCEPTED,
        Json(SendAccepted {
            message: format!("Email verifikasi sedang dikirim ke {email}"),
            order_id: view.id,
        }),
    )
}

#[derive(Deserialize)]
pub struct VerifyBody {
    kode_unik: Option<Value>,
    /// The order reference printed in the mail (8 hex digits).
    #[serde(default)]
    referensi: Option<Value>,
    #[serde(default)]
    order_id: Option<Value>,
}

/// `POST /dashboard/verify`: the customer's code for a named order. The mailer checks it, and on
/// a match it has published `order.verified` before it answers.
#[utoipa::path(
    post,
    path = "/dashboard/verify",
    operation_id = "verifyCode",
    summary = "Check a customer's code for a named order (for n8n; API key)",
    description = "The customer gives the assistant the order reference printed in the e-mail and the code. A check must name its order (referensi, or order_id); a code alone is refused with 422 unless the service runs with VERIFY_ALLOW_CODE_ONLY=true. Wrong codes count against the named order's code (5, then it no longer works) and against a failure budget shared by every replica; checks are limited per client address (VERIFY_RATE_LIMIT a minute, across replicas).",
    security(("apiKey" = [])),
    request_body(content = inline(super::openapi::VerifyRequest)),
    responses(
        (status = 200, description = "Verified", body = inline(super::openapi::Verified)),
        (status = 401, description = "Missing or wrong X-API-Key", body = super::openapi::Error),
        (status = 404, description = "Wrong, used, replaced or expired code (\"Kode tidak valid\"), or a code that took 5 wrong attempts (the detail says to ask for a new code)", body = super::openapi::Error),
        (status = 422, description = "kode_unik missing or not a string; no order named (referensi or order_id), unless code-only checks are enabled; referensi not 8 hex characters; order_id not a UUID; referensi and order_id of different orders", body = super::openapi::ValidationError),
        (status = 429, description = "Too many checks from this client address (per minute, across replicas), or the shared budget of failed checks for this hour is spent", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds to wait"),
        )),
        (status = 503, description = "The code checker did not answer in time; retry", body = super::openapi::Error),
    )
)]
#[tracing::instrument(skip_all, fields(outcome))]
pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> Result<Json<Verified>, ApiError> {
    let client = super::client_key(&state, peer, &headers);
    Limit {
        bucket: "verify",
        limit: state.settings.verify_rate_limit,
        window: Duration::from_secs(60),
    }
    .hit(&state.pool, &client)
    .await?;
    let Json(body) = body?;
    let request = parse_verify(body, state.settings.allow_code_only)?;
    let payload = serde_json::to_vec(&request).expect("requests serialize");
    let answer = tokio::time::timeout(
        state.settings.check_timeout,
        state
            .bus
            .client()
            .request(state.bus.subject(SUBJECT), payload.into()),
    )
    .await
    .map_err(|_| ApiError::Unavailable("the code checker did not answer in time".into()))?
    .map_err(|e| ApiError::Unavailable(format!("code checker: {e}")))?;
    let reply: CheckReply = serde_json::from_slice(&answer.payload)
        .map_err(|e| anyhow::anyhow!("malformed check reply: {e}"))?;
    let span = tracing::Span::current();
    match (reply.outcome, reply.order_id) {
        (Outcome::Matched, Some(order_id)) => {
            span.record("outcome", "matched");
            Ok(Json(Verified::new(order_id)))
        }
        (Outcome::Locked, _) => {
            span.record("outcome", "locked");
            Err(ApiError::NotFound(LOCKED_CODE.into()))
        }
        (Outcome::Unavailable, _) => {
            span.record("outcome", "unavailable");
            Err(ApiError::Unavailable(
                "the code checker could not reach its database or the stream".into(),
            ))
        }
        (Outcome::Throttled, _) => {
            span.record("outcome", "throttled");
            Err(ApiError::TooManyRequests {
                retry_after_secs: reply.retry_after_secs.unwrap_or(60).max(1),
            })
        }
        _ => {
            span.record("outcome", "invalid");
            Err(ApiError::NotFound(INVALID_CODE.into()))
        }
    }
}

/// The body as a check request: the code, and the order it names (reference or id; they must
/// agree when both are given). Without either, 422 unless code-only checks are allowed.
fn parse_verify(body: VerifyBody, allow_code_only: bool) -> Result<CheckRequest, ApiError> {
    let mut errors = Vec::new();
    let kode_unik = match body.kode_unik {
        Some(Value::String(s)) if s.len() > 64 => {
            push(
                &mut errors,
                "kode_unik",
                "at most 64 characters",
                "value_error.too_long",
            );
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        None | Some(Value::Null) => {
            push(
                &mut errors,
                "kode_unik",
                "field required",
                "value_error.missing",
            );
            None
        }
        Some(_) => {
            push(
                &mut errors,
                "kode_unik",
                "must be a non-empty string",
                "type_error.str",
            );
            None
        }
    };
    let reference = match body.referensi {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.len() <= 32 && Reference::parse(&s).is_some() => {
            Reference::parse(&s)
        }
        Some(_) => {
            push(
                &mut errors,
                "referensi",
                "must be the order reference from the e-mail: 8 characters 0-9 and A-F",
                "value_error.reference",
            );
            None
        }
    };
    let order_id = match body.order_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if Uuid::parse_str(s.trim()).is_ok() => {
            Uuid::parse_str(s.trim()).ok()
        }
        Some(_) => {
            push(
                &mut errors,
                "order_id",
                "must be an order id (UUID)",
                "type_error.uuid",
            );
            None
        }
    };
    let order = match (order_id, reference) {
        (Some(id), Some(r)) if !r.matches(id) => {
            push(
                &mut errors,
                "referensi",
                "does not belong to the order named by order_id",
                "value_error.reference_mismatch",
            );
            None
        }
        (Some(id), _) => Some(OrderRef::Id(id)),
        (None, Some(r)) => Some(OrderRef::Reference(r)),
        (None, None) => None,
    };
    let names_order = order.is_some();
    let named_badly = errors.iter().any(|e| e.field_path() != "kode_unik");
    if !names_order && !named_badly && !allow_code_only {
        push(
            &mut errors,
            "referensi",
            "field required: the order reference printed in the e-mail (or order_id) must \
             accompany the code",
            "value_error.missing",
        );
    }
    match kode_unik {
        Some(kode_unik) if errors.is_empty() => Ok(CheckRequest { kode_unik, order }),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn push(errors: &mut Vec<FieldError>, field: &str, msg: &str, kind: &str) {
    errors.push(FieldError::at(&[field.into()], msg, kind));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value, allow_code_only: bool) -> Result<CheckRequest, Vec<String>> {
        let body: VerifyBody = serde_json::from_value(body).unwrap();
        parse_verify(body, allow_code_only).map_err(|e| match e {
            ApiError::Validation(errors) => errors.iter().map(FieldError::field_path).collect(),
            other => panic!("unexpected {other:?}"),
        })
    }

    #[test]
    fn a_check_names_its_order_by_reference_or_id() {
        let id = Uuid::parse_str("3f9a0c12-7b44-5d6e-8f00-0123456789ab").unwrap();
        let by_ref = parse(
            json!({"kode_unik": "ABC234", "referensi": "3f9a 0c12"}),
            false,
        )
        .unwrap();
        assert_eq!(by_ref.order, Some(OrderRef::Reference(Reference::of(id))));
        let by_id = parse(json!({"kode_unik": "ABC234", "order_id": id}), false).unwrap();
        assert_eq!(by_id.order, Some(OrderRef::Id(id)));
        let both = parse(
            json!({"kode_unik": "ABC234", "order_id": id, "referensi": "3F9A0C12"}),
            false,
        )
        .unwrap();
        assert_eq!(both.order, Some(OrderRef::Id(id)));
    }

    #[test]
    fn a_code_alone_is_refused_unless_opted_in() {
        assert_eq!(
            parse(json!({"kode_unik": "ABC234"}), false).unwrap_err(),
            ["referensi"]
        );
        let opted = parse(json!({"kode_unik": "ABC234", "referensi": ""}), true).unwrap();
        assert_eq!(opted.order, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let id = Uuid::parse_str("3f9a0c12-7b44-5d6e-8f00-0123456789ab").unwrap();
        assert_eq!(
            parse(json!({"referensi": "XYZ", "order_id": 7}), false).unwrap_err(),
            ["kode_unik", "referensi", "order_id"]
        );
        assert_eq!(
            parse(
                json!({"kode_unik": "A", "order_id": id, "referensi": "00000000"}),
                false
            )
            .unwrap_err(),
            ["referensi"]
        );
        assert_eq!(
            parse(
                json!({"kode_unik": "A".repeat(65), "referensi": "3F9A0C12"}),
                false
            )
            .unwrap_err(),
            ["kode_unik"]
        );
    }
}
