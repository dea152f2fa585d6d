//! Customers' personal data (UU PDP 27/2022, issue 15), for admins:
//!
//! - `POST /dashboard/admin/erasures`: erases a customer, named by e-mail or by one of their
//!   orders. Publishes `customer.erased` for the customer's current key generation: order-intake
//!   deletes the key (every sealed copy of their fields, in the stream and its backups, becomes
//!   unreadable) and every projection blanks what it holds. Answers 202 after the PubAck.
//! - `GET /dashboard/admin/erasures`: the erasure log, newest first: who, when, why, how many
//!   rows; never the erased data.
//! - `POST /dashboard/admin/customers/data` `{"email"}`: the access request: everything the dashboard
//!   holds about one customer, as a JSON download.
//!
//! The key is per customer, so erasing by an order erases that order's customer: all their
//! orders and hand-offs. The customer is named in logs and events by subject id only.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use gadai_events::{CustomerErased, ErasureBasis, Event, EventKind};
use gadai_http::{ApiError, FieldError};
use gadai_privacy::{KeyState, SubjectId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{AppState, auth::Operator, customer::email_field};
use crate::{
    domain::OrderView,
    read_model::{
        self, COLUMNS, HistoryEntry, Order, OrderRow,
        handoff::{self, Handoff},
    },
};

/// The largest erasure request read (an e-mail or an order id and a short reason).
pub const BODY_LIMIT: usize = 4 * 1024;
/// The reason's length, in characters.
const ALASAN_CHARS: std::ops::RangeInclusive<usize> = 3..=200;
/// The log's default and largest page.
const LOG_DEFAULT: i64 = 50;
const LOG_MAX: i64 = 200;

/// The answer when nothing is held of the customer named.
pub const NOTHING_HELD: &str = "Tidak ada data pelanggan ini";

/// `POST /dashboard/admin/erasures`' body: exactly one of `email` and `order_id`, and `alasan`.
#[derive(Deserialize, ToSchema)]
pub struct ErasureRequest {
    /// The customer's e-mail address (case does not matter).
    #[schema(value_type = Option<String>, example = "budi@example.com")]
    #[serde(default)]
    email: Option<Value>,
    /// One of the customer's orders: erases that order's customer, with all their orders and hand-offs.
    #[schema(value_type = Option<Uuid>)]
    #[serde(default)]
    order_id: Option<Value>,
    /// Why: the request's reference (3-200 characters). Never personal data: an '@' is refused.
    #[schema(value_type = String, required = true, min_length = 3, max_length = 200, example = "Permintaan DPO-2025-014")]
    #[serde(default)]
    alasan: Option<Value>,
}

/// Whom an erasure names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Email(String),
    Order(Uuid),
}

/// The erasure, accepted: the customer's subject id, the key generation erased (up to and
/// including; 0 when the customer never had a key: only plaintext from before sealing is
/// blanked) and how many orders and hand-offs of theirs the read model holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureAccepted {
    /// The customer's subject id (64 hex digits): a keyed hash of the e-mail, not the e-mail.
    pub subject: String,
    pub generation: u32,
    pub pesanan: i64,
    pub handoff: i64,
}

/// One erasure of the log: who, when, why, whose (subject id) and how many rows it blanked.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ErasureLogEntry {
    /// The customer.erased event's id.
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The admin's username, or `system` for the retention sweep.
    pub actor: String,
    /// `permintaan` (the customer asked) or `retensi` (the retention period ended).
    #[schema(schema_with = dasar_schema)]
    pub dasar: String,
    pub alasan: String,
    pub subject: String,
    pub generation: i32,
    /// Orders whose personal data it erased.
    pub pesanan: i32,
    /// Hand-offs whose personal data it erased.
    pub handoff: i32,
}

/// `dasar`: the bases of `customer.erased`.
fn dasar_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(
            [ErasureBasis::Permintaan, ErasureBasis::Retensi].map(ErasureBasis::as_str),
        ))
        .description(Some(
            "permintaan (the customer asked) or retensi (the retention period ended).",
        ))
        .build()
}

const LOG_COLUMNS: &str = "event_id AS id, occurred_at, actor, dasar, alasan, subject, generation, \
     orders AS pesanan, handoffs AS handoff";

#[utoipa::path(
    post,
    path = "/dashboard/admin/erasures",
    operation_id = "eraseCustomer",
    summary = "Erase a customer's personal data (admin; publishes customer.erased)",
    description = "UU PDP 27/2022, the customer's right to erasure. Names the customer by e-mail, or by one of their orders: the key is per customer, so erasing by an order erases that order's customer, all their orders and hand-offs. Publishes customer.erased (actor: the admin; the envelope's order_id: the order when erasing by one) for the customer's current key generation and answers 202 after the PubAck: order-intake deletes the customer's key, so every sealed copy of their name, e-mail, item and conversation in the stream becomes unreadable, and the dashboard blanks them (data_dihapus) within milliseconds, live. Counts and statistics stay. What already left the system (downloaded exports, sent mails) is not reached.",
    request_body = ErasureRequest,
    responses(
        (status = 202, description = "The erasure is on the stream", body = ErasureAccepted),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin, or missing X-CSRF-Token", body = super::openapi::Error),
        (status = 404, description = "An unknown order, or nothing held of this customer (Tidak ada data pelanggan ini)", body = super::openapi::Error),
        (status = 413, description = "Body over 4 KiB", body = super::openapi::Error),
        (status = 422, description = "Not exactly one of email and order_id, email not an e-mail address, order_id not a UUID, alasan not 3-200 characters or containing an '@'", body = super::openapi::ValidationError),
        (status = 503, description = "The key store or the stream did not answer in time; retry", body = super::openapi::Error),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    operator: Operator,
    body: Result<Json<ErasureRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ErasureAccepted>), ApiError> {
    operator.require_admin()?;
    let Json(body) = body?;
    let (target, alasan) = parse_erasure(body)?;
    let (subject, order_id) = match &target {
        Target::Email(email) => (state.settings.pii.subjects.subject_of(email), Uuid::nil()),
        Target::Order(id) => (subject_of_order(&state.pool, *id).await?, *id),
    };
    let generation = current_generation(&state, &subject).await?;
    let (pesanan, handoff) = held(&state.pool, subject.as_str()).await?;
    if generation.is_none() && pesanan == 0 && handoff == 0 {
        return Err(ApiError::NotFound(NOTHING_HELD.into()));
    }
    let generation = generation.unwrap_or(0);
    let event = Event::new(
        order_id,
        operator.id.clone(),
        EventKind::CustomerErased(CustomerErased {
            subject: subject.as_str().to_owned(),
            generation,
            dasar: ErasureBasis::Permintaan,
            alasan,
        }),
    );
    state.publish(&event).await?;
    tracing::info!(by = %operator.id, %subject, generation, event_id = %event.id, "customer erasure published");
    Ok((
        StatusCode::ACCEPTED,
        Json(ErasureAccepted {
            subject: subject.as_str().to_owned(),
            generation,
            pesanan,
            handoff,
        }),
    ))
}

/// The target and the reason, each failing field named.
fn parse_erasure(body: ErasureRequest) -> Result<(Target, String), ApiError> {
    let mut errors = Vec::new();
    let given = |v: &Option<Value>| !matches!(v, None | Some(Value::Null));
    let target = match (given(&body.email), given(&body.order_id)) {
        (true, true) | (false, false) => {
            let msg = "give exactly one of email and order_id";
            for name in ["email", "order_id"] {
                errors.push(field(name, msg, "value_error.one_of"));
            }
            None
        }
        (true, false) => email_field(&mut errors, "email", body.email).map(Target::Email),
        (false, true) => match body.order_id {
            Some(Value::String(s)) if Uuid::parse_str(s.trim()).is_ok() => {
                Uuid::parse_str(s.trim()).ok().map(Target::Order)
            }
            _ => {
                errors.push(field(
                    "order_id",
                    "must be an order id (UUID)",
                    "type_error.uuid",
                ));
                None
            }
        },
    };
    let alasan = match body.alasan {
        Some(Value::String(s)) if !ALASAN_CHARS.contains(&s.trim().chars().count()) => {
            errors.push(field(
                "alasan",
                "must be 3-200 characters: the request's reference",
                "value_error.length",
            ));
            None
        }
        Some(Value::String(s)) if s.contains('@') => {
            errors.push(field(
                "alasan",
                "must not contain an e-mail address: the reason is kept and shown, the \
                 customer's data is not",
                "value_error.personal_data",
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        None | Some(Value::Null) => {
            errors.push(field("alasan", "field required", "value_error.missing"));
            None
        }
        Some(_) => {
            errors.push(field("alasan", "must be a string", "type_error.str"));
            None
        }
    };
    match (target, alasan) {
        (Some(target), Some(alasan)) if errors.is_empty() => Ok((target, alasan)),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn field(name: &str, msg: &str, kind: &str) -> FieldError {
    FieldError::at(&[name.into()], msg, kind)
}

/// The customer of an order the read model holds; 404 for an unknown order.
async fn subject_of_order(pool: &PgPool, id: Uuid) -> Result<SubjectId, ApiError> {
    let subject: Option<Option<String>> =
        sqlx::query_scalar("SELECT subject FROM orders WHERE id = $1 AND created")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(anyhow::Error::from)?;
    subject
        .flatten()
        .and_then(|s| SubjectId::parse(&s).ok())
        .ok_or_else(super::orders::not_found)
}

/// The customer's current key generation (the one an erasure now must reach), or `None` when
/// the key store never had a key for them.
async fn current_generation(
    state: &AppState,
    subject: &SubjectId,
) -> Result<Option<u32>, ApiError> {
    let keys = state
        .keys
        .fetch([subject])
        .await
        .map_err(|e| ApiError::Unavailable(format!("customer keys: {e}")))?;
    Ok(match keys.get(subject) {
        KeyState::Live(key) => Some(key.generation()),
        KeyState::Erased { generation } => Some(*generation),
        KeyState::Unknown => None,
    })
}

/// How many orders and opened hand-offs of the customer the read model holds.
async fn held(pool: &PgPool, subject: &str) -> Result<(i64, i64), ApiError> {
    let counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders WHERE subject = $1 AND created),
                (SELECT count(*) FROM handoffs WHERE subject = $1 AND opened_at IS NOT NULL)",
    )
    .bind(subject)
    .fetch_one(pool)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(counts)
}

/// `GET /dashboard/admin/erasures`' query.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200, default = 50)]
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/dashboard/admin/erasures",
    operation_id = "listErasures",
    summary = "The erasure log, newest first (admin)",
    description = "Every customer.erased the dashboard applied: who (the admin, or system for the retention sweep), when, on what basis, why, whose (subject id) and how many orders and hand-offs it blanked. Never the erased data.",
    params(LogParams),
    responses(
        (status = 200, description = "Newest first", body = Vec<ErasureLogEntry>),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin", body = super::openapi::Error),
        (status = 422, description = "limit not 1-200", body = super::openapi::ValidationError),
    )
)]
pub async fn erasures(
    State(state): State<AppState>,
    operator: Operator,
    params: Result<Query<LogParams>, QueryRejection>,
) -> Result<Json<Vec<ErasureLogEntry>>, ApiError> {
    operator.require_admin()?;
    let Query(params) = params?;
    let limit = match params.limit.as_deref().map(str::parse::<i64>) {
        None => LOG_DEFAULT,
        Some(Ok(n)) if (1..=LOG_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::in_part(
                "query",
                "limit",
                "must be a whole number from 1 to 200",
                "value_error",
            )]));
        }
    };
    let log = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM erasures ORDER BY seq DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&state.pool)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Json(log))
}

/// `POST /dashboard/admin/customers/data`' body. The address travels in the body, not in the
/// URL: URLs end up in access logs (the ingress's, a proxy's), and a log cannot be erased.
#[derive(Deserialize, ToSchema)]
pub struct CustomerRequest {
    /// The customer's e-mail address (case does not matter).
    #[schema(value_type = String, example = "budi@example.com")]
    #[serde(default)]
    email: Option<Value>,
}

/// Everything the dashboard holds about one customer (the access request's file).
#[derive(Serialize, ToSchema)]
pub struct CustomerData {
    /// The customer's subject id: a keyed hash of the e-mail.
    pub subject: String,
    /// When this file was made.
    pub dibuat_pada: DateTime<Utc>,
    /// Every order of the customer, oldest first, with its history.
    pub pesanan: Vec<CustomerOrder>,
    /// Every hand-off of the customer, oldest first.
    pub handoff: Vec<Handoff>,
    /// The erasures of the customer, oldest first.
    pub penghapusan: Vec<ErasureLogEntry>,
}

/// One order of the customer, every field as the API shows it, with its history.
#[derive(Serialize, ToSchema)]
pub struct CustomerOrder {
    #[serde(flatten)]
    pub order: Order,
    /// The order's events in stream order, each with the customer's fields it carried (opened;
    /// absent once erased).
    #[schema(inline)]
    pub riwayat: Vec<HistoryEntry>,
}

#[utoipa::path(
    post,
    path = "/dashboard/admin/customers/data",
    operation_id = "customerData",
    summary = "Everything held about one customer, as a JSON file (admin; UU PDP access request)",
    description = "The customer's orders (every field, the personal ones opened, and each order's history with the personal fields of its events), hand-offs and erasures. An erased customer's orders are there with data_dihapus true and null personal fields. A download: Content-Disposition names it data-pelanggan-<the first 8 digits of the subject id>.json. The export is logged with the admin and the subject id.",
    request_body = CustomerRequest,
    responses(
        (status = 200, description = "The file", body = CustomerData, headers(
            ("Content-Disposition" = String, description = "attachment; filename=\"data-pelanggan-<8 hex digits>.json\""),
        )),
        (status = 401, description = "No session", body = super::openapi::Error),
        (status = 403, description = "Not an admin, or missing X-CSRF-Token", body = super::openapi::Error),
        (status = 404, description = "Nothing held of this customer (Tidak ada data pelanggan ini)", body = super::openapi::Error),
        (status = 422, description = "email missing or not an e-mail address", body = super::openapi::ValidationError),
    )
)]
pub async fn customer_data(
    State(state): State<AppState>,
    operator: Operator,
    body: Result<Json<CustomerRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    operator.require_admin()?;
    let Json(body) = body?;
    let mut errors = Vec::new();
    let email = email_field(&mut errors, "email", body.email);
    let Some(email) = email else {
        return Err(ApiError::Validation(errors));
    };
    let subject = state.settings.pii.subjects.subject_of(&email);
    let data = gather(&state.pool, subject.as_str())
        .await
        .map_err(anyhow::Error::from)?;
    if data.pesanan.is_empty() && data.handoff.is_empty() && data.penghapusan.is_empty() {
        return Err(ApiError::NotFound(NOTHING_HELD.into()));
    }
    tracing::info!(by = %operator.id, %subject, orders = data.pesanan.len(), "customer data exported");
    let body = serde_json::to_vec_pretty(&data).map_err(anyhow::Error::from)?;
    let filename = format!("data-pelanggan-{}.json", &subject.as_str()[..8]);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// What the read model holds of `subject`.
async fn gather(pool: &PgPool, subject: &str) -> sqlx::Result<CustomerData> {
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE subject = $1 AND created ORDER BY created_at, id"
    ))
    .bind(subject)
    .fetch_all(pool)
    .await?;
    let orders: Vec<Order> = rows
        .into_iter()
        .map(|r| Order::from(&OrderView::from(r)))
        .collect();
    let handoffs = handoff::of_subject(pool, subject).await?;
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut history: HashMap<Uuid, Vec<HistoryEntry>> = HashMap::new();
    for (order_id, entry) in read_model::histories(pool, &ids).await? {
        history.entry(order_id).or_default().push(entry);
    }
    let pesanan = orders
        .into_iter()
        .map(|order| {
            let riwayat = history
                .remove(&order.id)
                .unwrap_or_default()
                .into_iter()
                .map(|entry| with_personal_fields(entry, &order, &handoffs))
                .collect();
            CustomerOrder { order, riwayat }
        })
        .collect();
    let penghapusan = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM erasures WHERE subject = $1 ORDER BY seq"
    ))
    .bind(subject)
    .fetch_all(pool)
    .await?;
    Ok(CustomerData {
        subject: subject.to_owned(),
        dibuat_pada: Utc::now(),
        pesanan,
        handoff: handoffs,
        penghapusan,
    })
}

/// A history entry with the customer's fields its event carried, from the row that holds them
/// opened (the history itself never holds them); nothing once erased.
fn with_personal_fields(
    mut entry: HistoryEntry,
    order: &Order,
    handoffs: &[Handoff],
) -> HistoryEntry {
    let fields: Vec<(&str, Option<&String>)> = match entry.kind.as_str() {
        "order.created" => vec![
            ("nama_customer", order.nama_customer.as_ref()),
            ("email", order.email.as_ref()),
            ("nama_barang", order.nama_barang.as_ref()),
            ("id_percakapan", order.id_percakapan.as_ref()),
        ],
        "customer.handoff_opened" => {
            let id = entry.data.get("handoff_id").and_then(Value::as_str);
            match handoffs
                .iter()
                .find(|h| Some(h.id.to_string().as_str()) == id)
            {
                Some(h) => vec![
                    ("id_percakapan", h.id_percakapan.as_ref()),
                    ("nama_customer", h.nama_customer.as_ref()),
                    ("email", h.email.as_ref()),
                    ("ringkasan", h.ringkasan.as_ref()),
                ],
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    if let Some(data) = entry.data.as_object_mut() {
        for (name, value) in fields {
            if let Some(value) = value {
                data.insert(name.to_owned(), Value::String(value.clone()));
            }
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> ErasureRequest {
        serde_json::from_value(v).unwrap()
    }

    fn paths(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(fields) => fields.iter().map(FieldError::field_path).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn an_erasure_names_one_customer_and_a_reason_without_personal_data() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse_erasure(body(
                json!({"email": " Siti@Example.com ", "alasan": " DPO-1 "})
            ))
            .unwrap(),
            (Target::Email("Siti@Example.com".into()), "DPO-1".into())
        );
        assert_eq!(
            parse_erasure(body(json!({"order_id": id.to_string(), "alasan": "DPO-2"}))).unwrap(),
            (Target::Order(id), "DPO-2".into())
        );
        assert_eq!(
            paths(parse_erasure(body(json!({"alasan": "DPO-3"}))).unwrap_err()),
            ["email", "order_id"]
        );
        assert_eq!(
            paths(
                parse_erasure(body(
                    json!({"email": "a@b.co", "order_id": id.to_string(), "alasan": "DPO-4"})
                ))
                .unwrap_err()
            ),
            ["email", "order_id"]
        );
        assert_eq!(
            paths(
                parse_erasure(body(json!({"email": "a@b.co", "alasan": "dari a@b.co"})))
                    .unwrap_err()
            ),
            ["alasan"]
        );
        assert_eq!(
            paths(parse_erasure(body(json!({"order_id": "nope", "alasan": "ab"}))).unwrap_err()),
            ["order_id", "alasan"]
        );
        assert_eq!(
            paths(
                parse_erasure(body(json!({"email": "a@b.co", "alasan": "x".repeat(201)})))
                    .unwrap_err()
            ),
            ["alasan"]
        );
    }
}
