//! The agent's customer-service routes (API key), for what a customer asks besides placing an
//! order:
//!
//! - `POST /dashboard/customer/status`: "sudah sampai mana pesanan saya?". The customer names
//!   their order by the reference from the e-mail (or from the agent at creation) and the
//!   e-mail it was placed with; the answer is the status in words, nothing else of the order.
//! - `POST /dashboard/customer/resend`: "kodenya tidak masuk". The same pair asks for a new code
//!   for an order On Verification, under the operators' cool-down and send limit; recorded with
//!   actor `n8n`.
//! - `POST /dashboard/customer/handoff`: the customer asks for a person, or the question is
//!   outside the agent's knowledge. Publishes `customer.handoff_opened`; operators see it live.
//!
//! A pair that names no order gets the same 404 whether the reference is unknown or the e-mail
//! is wrong. Lookups are limited per client address like code checks (`VERIFY_RATE_LIMIT` a
//! minute), and misses spend a budget shared by the whole system (`CUSTOMER_LOOKUP_BUDGET` an
//! hour); hand-offs have a system-wide hourly limit (`HANDOFF_RATE_LIMIT`) and a conversation
//! has at most one open hand-off.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Json,
    extract::{ConnectInfo, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
};
use chrono::Utc;
use gadai_events::{BRIDGE_ACTOR, Event, EventKind, HandoffOpened, check::Reference};
use gadai_http::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AppState, verification};
use crate::{
    domain::{
        Command, OrderView,
        customer::{CustomerStatus, describe},
    },
    limits::Limit,
    read_model::{self, handoff},
};

/// The answer to a pair that names no order, whichever half was wrong.
pub const NO_SUCH_ORDER: &str = "Pengajuan tidak ditemukan: periksa kembali nomor referensi dari \
     email dan alamat email yang dipakai saat mengajukan";

/// Names a customer's order: the reference and the e-mail it was placed with.
#[derive(Deserialize, ToSchema)]
pub struct OrderLookup {
    /// The order reference from the e-mail or from the assistant at creation: 8 characters 0-9
    /// and A-F; case, spaces, # and - are forgiven.
    #[schema(value_type = String, example = "3F9A0C12")]
    referensi: Option<Value>,
    /// The e-mail address the order was placed with (case does not matter).
    #[schema(value_type = String, example = "budi@example.com")]
    email: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/dashboard/customer/status",
    operation_id = "customerOrderStatus",
    summary = "An order's status for its customer, by reference and e-mail (for n8n; API key)",
    description = "Answers only when the reference and the e-mail belong to the same order: the status in words the assistant can repeat (pesan, Bahasa Indonesia), and for a mailed code when it was sent and until when it is valid. Nothing else of the order. A wrong pair gets the same 404 as an unknown reference. Limited per client address (VERIFY_RATE_LIMIT a minute) and by a system-wide hourly budget of failed lookups (CUSTOMER_LOOKUP_BUDGET), across replicas.",
    security(("apiKey" = [])),
    request_body = OrderLookup,
    responses(
        (status = 200, description = "The order's status", body = CustomerStatus),
        (status = 401, description = "Missing or wrong X-API-Key", body = super::openapi::Error),
        (status = 404, description = "No order with this reference and e-mail", body = super::openapi::Error),
        (status = 422, description = "referensi not 8 hex characters, or email missing or not an e-mail address", body = super::openapi::ValidationError),
        (status = 429, description = "Too many lookups from this client address, or the hour's budget of failed lookups is spent", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds to wait"),
        )),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<OrderLookup>, JsonRejection>,
) -> Result<Json<CustomerStatus>, ApiError> {
    let view = lookup(&state, peer, &headers, body).await?;
    Ok(Json(describe(
        &view,
        Utc::now(),
        gadai_mail_template::format_wib,
    )))
}

/// `POST /dashboard/customer/resend`'s answer.
#[derive(Serialize, ToSchema)]
pub struct ResendAccepted {
    /// What the assistant tells the customer.
    #[schema(example = "Kode verifikasi baru sedang dikirim ke email Anda")]
    pub pesan: String,
    pub referensi: String,
}

#[utoipa::path(
    post,
    path = "/dashboard/customer/resend",
    operation_id = "customerResendCode",
    summary = "A new code for the customer's order On Verification (for n8n; API key)",
    description = "The same pair as the status names the order; the new code replaces the old one and is mailed to the order's e-mail (never returned). The operators' rules hold: only On Verification, RESEND_COOLDOWN after the last mail, at most MAX_VERIFICATION_SENDS mails. Recorded with actor n8n in the order's history and shown live in the dashboard. Limited like the status.",
    security(("apiKey" = [])),
    request_body = OrderLookup,
    responses(
        (status = 202, description = "The new code is on its way", body = ResendAccepted),
        (status = 400, description = "Not On Verification, or the send limit is reached (the detail says which, in Bahasa Indonesia)", body = super::openapi::Error),
        (status = 401, description = "Missing or wrong X-API-Key", body = super::openapi::Error),
        (status = 404, description = "No order with this reference and e-mail", body = super::openapi::Error),
        (status = 422, description = "As for the status", body = super::openapi::ValidationError),
        (status = 429, description = "Within the cool-down after the last mail, or limited as the status", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds to wait"),
        )),
        (status = 503, description = "The stream did not acknowledge in time, or the key store that seals the recipient did not answer; nothing was published; retry", body = super::openapi::Error),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<OrderLookup>, JsonRejection>,
) -> Result<(StatusCode, Json<ResendAccepted>), ApiError> {
    let view = lookup(&state, peer, &headers, body).await?;
    verification::execute(&state, BRIDGE_ACTOR, view.id, Command::ResendVerification).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResendAccepted {
            pesan: "Kode verifikasi baru sedang dikirim ke email Anda. Kode sebelumnya tidak \
                    berlaku lagi."
                .into(),
            referensi: Reference::of(view.id).to_string(),
        }),
    ))
}

/// Counts the request against the client's limit, parses the pair, and finds its order; a miss
/// spends the shared budget.
async fn lookup(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Json<OrderLookup>, JsonRejection>,
) -> Result<OrderView, ApiError> {
    let client = super::client_key(state, peer, headers);
    Limit {
        bucket: "customer",
        limit: state.settings.verify_rate_limit,
        window: Duration::from_secs(60),
    }
    .hit(&state.pool, &client)
    .await?;
    let Json(body) = body?;
    let (reference, email) = parse_lookup(body)?;
    let misses = Limit {
        bucket: "customer-miss",
        limit: state.settings.customer_lookup_budget,
        window: Duration::from_secs(3600),
    };
    misses.check(&state.pool, "all").await?;
    let found = read_model::find_by_reference(&state.pool, reference, &email)
        .await
        .map_err(anyhow::Error::from)?;
    match found {
        Some(view) => Ok(view),
        None => {
            match misses.hit(&state.pool, "all").await {
                Ok(()) | Err(ApiError::TooManyRequests { .. }) => {}
                Err(other) => return Err(other),
            }
            Err(ApiError::NotFound(NO_SUCH_ORDER.into()))
        }
    }
}

fn parse_lookup(body: OrderLookup) -> Result<(Reference, String), ApiError> {
    let mut errors = Vec::new();
    let reference = match body.referensi {
        Some(Value::String(s)) if s.len() <= 32 => Reference::parse(&s),
        _ => None,
    };
    if reference.is_none() {
        errors.push(field(
            "referensi",
            "must be the order reference from the e-mail: 8 characters 0-9 and A-F",
            "value_error.reference",
        ));
    }
    let email = email_field(&mut errors, "email", body.email);
    match (reference, email) {
        (Some(reference), Some(email)) if errors.is_empty() => Ok((reference, email)),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// An e-mail address: one `@` with text on both sides, no spaces, at most 254 characters.
pub(super) fn email_field(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: Option<Value>,
) -> Option<String> {
    let email = match value {
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => String::new(),
    };
    let plausible = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
    if plausible {
        Some(email)
    } else {
        errors.push(field(
            name,
            "must be an e-mail address",
            "value_error.email",
        ));
        None
    }
}

fn field(name: &str, msg: &str, kind: &str) -> FieldError {
    FieldError::at(&[name.into()], msg, kind)
}

/// `POST /dashboard/customer/handoff`'s body.
#[derive(Deserialize, ToSchema)]
pub struct HandoffRequest {
    /// The chat conversation (the sessionId n8n's chat gives), at most 200 characters.
    #[schema(value_type = String)]
    id_percakapan: Option<Value>,
    /// The customer's name, at most 100 characters.
    #[schema(value_type = String)]
    nama_customer: Option<Value>,
    /// Where the officer will write to.
    #[schema(value_type = String)]
    email: Option<Value>,
    /// The order reference, when the customer has one.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    referensi: Option<Value>,
    /// What the customer needs, 1-1,000 characters.
    #[schema(value_type = String)]
    ringkasan: Option<Value>,
}

/// `POST /dashboard/customer/handoff`'s answer.
#[derive(Serialize, ToSchema)]
pub struct HandoffAccepted {
    pub handoff_id: Uuid,
    /// What the assistant tells the customer.
    #[schema(
        example = "Permintaan Anda sudah kami teruskan. Petugas Pegadaian akan menghubungi Anda melalui email."
    )]
    pub pesan: String,
}

/// What the assistant tells the customer after a hand-off.
pub const HANDOFF_MESSAGE: &str = "Permintaan Anda sudah kami teruskan kepada petugas. Petugas \
     Pegadaian akan menghubungi Anda melalui email.";

#[utoipa::path(
    post,
    path = "/dashboard/customer/handoff",
    operation_id = "customerHandoff",
    summary = "Hand the conversation to a person (for n8n; API key)",
    description = "For a customer who asks for a person, or a question outside the assistant's knowledge. Publishes customer.handoff_opened, its conversation, name, e-mail and summary sealed under the customer's key (UU PDP 27/2022: erasable); operators see it live and mark it \"sudah dihubungi\" once they have written to the customer. A conversation has at most one open hand-off: while it is open, the same conversation gets it back (200). A retry of the same request names the same hand-off. A referensi, when given, must be 8 hex characters; when it and the e-mail name an order, the hand-off is linked to it. At most HANDOFF_RATE_LIMIT hand-offs an hour for the whole system, across replicas.",
    security(("apiKey" = [])),
    request_body = HandoffRequest,
    responses(
        (status = 201, description = "Opened", body = HandoffAccepted),
        (status = 200, description = "The conversation's hand-off was already open", body = HandoffAccepted),
        (status = 401, description = "Missing or wrong X-API-Key", body = super::openapi::Error),
        (status = 422, description = "A field missing, too long, or not what it should be", body = super::openapi::ValidationError),
        (status = 429, description = "The hour's hand-offs are spent", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds to wait"),
        )),
        (status = 503, description = "The key store (which seals the customer's data) or the stream did not answer in time; nothing was published; retry", body = super::openapi::Error),
    )
)]
pub async fn open_handoff(
    State(state): State<AppState>,
    body: Result<Json<HandoffRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<HandoffAccepted>), ApiError> {
    let Json(body) = body?;
    let mut opened = parse_handoff(body)?;
    let answer = |status, handoff_id| {
        (
            status,
            Json(HandoffAccepted {
                handoff_id,
                pesan: HANDOFF_MESSAGE.into(),
            }),
        )
    };
    if let Some(open) = handoff::open_for_conversation(&state.pool, &opened.id_percakapan)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Ok(answer(StatusCode::OK, open.id));
    }
    Limit {
        bucket: "handoff",
        limit: state.settings.handoff_rate_limit,
        window: Duration::from_secs(3600),
    }
    .hit(&state.pool, "all")
    .await?;
    let order = match opened.referensi.as_deref().and_then(Reference::parse) {
        Some(reference) => read_model::find_by_reference(&state.pool, reference, &opened.email)
            .await
            .map_err(anyhow::Error::from)?,
        None => None,
    };
    opened.handoff_id = handoff_id(&opened);
    let id = opened.handoff_id;
    let order_id = order.map_or(Uuid::nil(), |o| o.id);
    seal(&state, &mut opened).await?;
    state
        .publish(&Event::new(
            order_id,
            BRIDGE_ACTOR,
            EventKind::HandoffOpened(opened),
        ))
        .await?;
    Ok(answer(StatusCode::CREATED, id))
}

/// Seals the hand-off's personal fields under its customer's key, made now for a customer who
/// has none (someone who never ordered). Without the key store nothing is published (503): the
/// agent retries, and the retry names the same hand-off.
async fn seal(state: &AppState, opened: &mut HandoffOpened) -> Result<(), ApiError> {
    let subject = state.settings.pii.subjects.subject_of(&opened.email);
    let key = state
        .keys
        .key_for(&subject)
        .await
        .map_err(|e| ApiError::Unavailable(format!("customer key for a hand-off: {e}")))?;
    gadai_privacy::personal::seal_handoff(&key, &subject, opened);
    Ok(())
}

/// Namespace of hand-off ids (a random UUID, fixed forever).
const HANDOFF_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2d7e_93a4_4b05_8e21_5c0d_a9b3_7f48);

/// The same request names the same hand-off, so a retry publishes the same `Nats-Msg-Id`.
fn handoff_id(h: &HandoffOpened) -> Uuid {
    let name = serde_json::to_vec(&(
        &h.id_percakapan,
        &h.nama_customer,
        &h.email,
        &h.referensi,
        &h.ringkasan,
    ))
    .expect("strings serialize");
    Uuid::new_v5(&HANDOFF_NAMESPACE, &name)
}

fn parse_handoff(body: HandoffRequest) -> Result<HandoffOpened, ApiError> {
    let mut errors = Vec::new();
    let id_percakapan = text_field(&mut errors, "id_percakapan", body.id_percakapan, 200);
    let nama_customer = text_field(&mut errors, "nama_customer", body.nama_customer, 100);
    let email = email_field(&mut errors, "email", body.email);
    let ringkasan = text_field(&mut errors, "ringkasan", body.ringkasan, 1000);
    let referensi = match body.referensi {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.len() <= 32 && Reference::parse(&s).is_some() => {
            Reference::parse(&s).map(|r| r.to_string())
        }
        Some(_) => {
            errors.push(field(
                "referensi",
                "must be the order reference from the e-mail: 8 characters 0-9 and A-F",
                "value_error.reference",
            ));
            None
        }
    };
    match (id_percakapan, nama_customer, email, ringkasan) {
        (Some(id_percakapan), Some(nama_customer), Some(email), Some(ringkasan))
            if errors.is_empty() =>
        {
            Ok(HandoffOpened {
                handoff_id: Uuid::nil(),
                id_percakapan,
                nama_customer,
                email,
                referensi,
                ringkasan,
                subject: None,
            })
        }
        _ => Err(ApiError::Validation(errors)),
    }
}

/// A required string of 1 to `max` characters (trimmed).
fn text_field(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: Option<Value>,
    max: usize,
) -> Option<String> {
    match value {
        Some(Value::String(s)) if s.trim().chars().count() > max => {
            errors.push(field(
                name,
                &format!("at most {max} characters"),
                "value_error.too_long",
            ));
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        None | Some(Value::Null) => {
            errors.push(field(name, "field required", "value_error.missing"));
            None
        }
        Some(_) => {
            errors.push(field(name, "must be a non-empty string", "type_error.str"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(fields) => fields.iter().map(FieldError::field_path).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn lookup_body(v: Value) -> OrderLookup {
        serde_json::from_value(v).unwrap()
    }

    fn handoff_body(v: Value) -> HandoffRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_lookup_needs_a_reference_and_an_email() {
        let (r, e) = parse_lookup(lookup_body(
            json!({"referensi": "#3f9a-0c12", "email": " Budi@Example.com "}),
        ))
        .unwrap();
        assert_eq!(r.to_string(), "3F9A0C12");
        assert_eq!(e, "Budi@Example.com");
        assert_eq!(
            paths(parse_lookup(lookup_body(json!({}))).unwrap_err()),
            ["referensi", "email"]
        );
        assert_eq!(
            paths(
                parse_lookup(lookup_body(json!({"referensi": "XYZ", "email": "no at"})))
                    .unwrap_err()
            ),
            ["referensi", "email"]
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            paths(
                parse_lookup(lookup_body(json!({"referensi": "3F9A0C12", "email": long})))
                    .unwrap_err()
            ),
            ["email"]
        );
    }

    #[test]
    fn a_handoff_is_checked_field_by_field() {
        let ok = parse_handoff(handoff_body(json!({
            "id_percakapan": "chat-1", "nama_customer": "Siti", "email": "siti@example.com",
            "referensi": "3f9a0c12", "ringkasan": "Ingin bicara dengan petugas"
        })))
        .unwrap();
        assert_eq!(ok.referensi.as_deref(), Some("3F9A0C12"));
        let bad = parse_handoff(handoff_body(json!({
            "id_percakapan": 7, "nama_customer": "x".repeat(101), "email": "siti",
            "referensi": "nope", "ringkasan": " "
        })))
        .unwrap_err();
        assert_eq!(
            paths(bad),
            [
                "id_percakapan",
                "nama_customer",
                "email",
                "ringkasan",
                "referensi"
            ]
        );
    }

    #[test]
    fn the_same_request_names_the_same_handoff() {
        let body = || {
            parse_handoff(handoff_body(json!({
                "id_percakapan": "chat-1", "nama_customer": "Siti", "email": "siti@example.com",
                "ringkasan": "Ingin bicara dengan petugas"
            })))
            .unwrap()
        };
        assert_eq!(handoff_id(&body()), handoff_id(&body()));
        let mut other = body();
        other.ringkasan = "Pertanyaan lain".into();
        assert_ne!(handoff_id(&body()), handoff_id(&other));
    }
}
