//! Verification from the dashboard's side.
//!
//! - `POST /dashboard/verification/{id}`: an operator asks for a code to be mailed; 202 once
//!   `verification.requested` is on the stream (the outcome reaches the UI live). Never returns
//!   the code.
//! - `POST /dashboard/verification/{id}/resend`: a new code for an order On Verification, after
//!   the cool-down; it replaces the old one.
//! - `POST /dashboard/verify`: n8n hands back the customer's code (API key, rate limited per
//!   client); the mailer checks it over NATS request/reply; a match publishes `order.verified`.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, Path, State, rejection::JsonRejection, rejection::PathRejection},
    http::StatusCode,
};
use chrono::Utc;
use gadai_events::{
    BRIDGE_ACTOR, Event, EventKind, OrderVerified, VerificationRequested,
    check::{CheckReply, CheckRequest, Outcome, SUBJECT},
};
use gadai_kit::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AppState, auth::Operator, orders};
use crate::domain::{OrderView, Status};

/// The seed's answer when a code cannot be sent (already sent or verified).
pub const ALREADY: &str = "Order sudah verified atau sedang dalam proses verifikasi";
/// The seed's answer for a code that does not verify anything.
pub const INVALID_CODE: &str = "Kode tidak valid";

pub async fn send(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let view = active_order(&state, id).await?;
    if matches!(view.status, Status::OnVerification | Status::Verified) {
        return Err(ApiError::BadRequest(ALREADY.into()));
    }
    request(&state, &view, operator).await
}

pub async fn resend(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let view = active_order(&state, id).await?;
    if view.status != Status::OnVerification {
        return Err(ApiError::BadRequest(
            "Kode hanya dapat dikirim ulang untuk order yang sedang dalam proses verifikasi".into(),
        ));
    }
    let cooldown = chrono::Duration::from_std(state.settings.resend_cooldown).unwrap_or_default();
    if let Some(sent) = view.last_sent_at {
        let ready_at = sent + cooldown;
        let now = Utc::now();
        if now < ready_at && !view.sending {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: (ready_at - now).num_seconds().max(1) as u64,
            });
        }
    }
    request(&state, &view, operator).await
}

async fn active_order(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
) -> Result<OrderView, ApiError> {
    let not_found = || ApiError::NotFound("Order not found".into());
    let Path(id) = id.map_err(|_| not_found())?;
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    orders::find(state, id)
        .await?
        .filter(OrderView::is_active)
        .ok_or_else(not_found)
}

/// Publishes `verification.requested` numbered by the sends so far, so a double click (or two
/// operators at once) carries the same `Nats-Msg-Id` and mails once.
async fn request(
    state: &AppState,
    view: &OrderView,
    operator: Operator,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = view
        .facts
        .as_ref()
        .map(|f| f.email.clone())
        .unwrap_or_default();
    let accepted = json!({
        "message": format!("Email verifikasi sedang dikirim ke {email}"),
        "order_id": view.id,
    });
    if view.sending {
        // A send is already on its way: this click changes nothing.
        return Ok((StatusCode::ACCEPTED, Json(accepted)));
    }
    if view.send_count >= state.settings.max_sends {
        return Err(ApiError::BadRequest(format!(
            "Batas {} kali pengiriman kode untuk order ini sudah tercapai",
            state.settings.max_sends
        )));
    }
    let event = Event::new(
        view.id,
        operator.id,
        EventKind::VerificationRequested(VerificationRequested {
            request_no: view.send_count as u32,
        }),
    );
    state
        .bus
        .publish(&event)
        .await
        .map_err(|e| ApiError::Unavailable(format!("{e:#}")))?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

#[derive(Deserialize)]
pub struct VerifyBody {
    kode_unik: Option<Value>,
    #[serde(default)]
    order_id: Option<Value>,
}

#[tracing::instrument(skip_all, fields(outcome))]
pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    state
        .verify_limiter
        .check(&peer.ip().to_string())
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let Json(body) = body?;
    let request = parse_verify(body)?;
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
    let (Outcome::Matched, Some(order_id), Some(verification_id)) =
        (reply.outcome, reply.order_id, reply.verification_id)
    else {
        tracing::Span::current().record("outcome", "invalid");
        return Err(ApiError::NotFound(INVALID_CODE.into()));
    };
    tracing::Span::current().record("outcome", "matched");
    let event = Event::new(
        order_id,
        BRIDGE_ACTOR,
        EventKind::OrderVerified(OrderVerified { verification_id }),
    );
    state
        .bus
        .publish(&event)
        .await
        .map_err(|e| ApiError::Unavailable(format!("{e:#}")))?;
    Ok(Json(
        json!({ "message": "Order berhasil diverifikasi", "order_id": order_id }),
    ))
}

fn parse_verify(body: VerifyBody) -> Result<CheckRequest, ApiError> {
    let mut errors = Vec::new();
    let kode_unik = match body.kode_unik {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 64 => Some(s),
        Some(Value::String(s)) if s.len() > 64 => {
            errors.push(FieldError::at(
                &["kode_unik".into()],
                "at most 64 characters",
                "value_error.too_long",
            ));
            None
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::at(
                &["kode_unik".into()],
                "field required",
                "value_error.missing",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::at(
                &["kode_unik".into()],
                "must be a non-empty string",
                "type_error.str",
            ));
            None
        }
    };
    let order_id = match body.order_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match Uuid::parse_str(s.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::at(
                    &["order_id".into()],
                    "must be an order id (UUID)",
                    "type_error.uuid",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::at(
                &["order_id".into()],
                "must be an order id (UUID)",
                "type_error.uuid",
            ));
            None
        }
    };
    match (kode_unik, errors.is_empty()) {
        (Some(kode_unik), true) => Ok(CheckRequest {
            kode_unik,
            order_id,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}
