//! `POST /api/insert-orders`: one order or a list, validated, published, answered after the
//! PubAck. Retries are safe (see `domain::idempotency`).

use std::time::Instant;

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use gadai_bus::Stored;
use gadai_events::{BRIDGE_ACTOR, Event, EventKind, IdempotencyRef, OrderCreated};
use gadai_http::{ApiError, FieldError};
use gadai_privacy::{SubjectId, personal::seal_order};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AppState, openapi};
use crate::domain::{
    NewOrder,
    idempotency::{self, ClientKey, Decision, Earlier, Request},
    parse_orders,
};

/// An order's id and status, as the answers list them.
#[derive(Serialize, ToSchema)]
pub struct OrderStatus {
    pub id: Uuid,
    #[schema(inline)]
    pub status: Status,
}

impl OrderStatus {
    /// A new order: On Process.
    pub fn new(id: Uuid) -> Self {
        OrderStatus {
            id,
            status: Status::OnProcess,
        }
    }
}

// The status every new order starts in (the seed's string).
#[derive(Serialize, ToSchema)]
pub enum Status {
    #[serde(rename = "On Process")]
    OnProcess,
}

// `201`'s body.
#[derive(Serialize, ToSchema)]
pub struct Created {
    #[schema(example = "Order berhasil disimpan")]
    pub message: &'static str,
    pub order_ids: Vec<Uuid>,
    #[schema(inline)]
    pub orders: Vec<OrderStatus>,
}

#[utoipa::path(
    post,
    path = "/api/insert-orders",
    operation_id = "insertOrders",
    summary = "Create one order or a batch (all or nothing)",
    params(openapi::IdempotencyKey),
    request_body(content = inline(openapi::InsertOrdersRequest)),
    responses(
        (status = 201, description = "Stored on the stream; the ids of the orders, in request order.", body = Created, headers(
            ("Idempotent-Replayed" = String, description = "true when this answers a retry of an earlier request"),
        )),
        (status = 401, description = "Missing or wrong X-API-Key", body = openapi::Error),
        (status = 413, description = "Body larger than MAX_BODY_BYTES", body = openapi::Error),
        (status = 422, description = "Validation failed: every failing field is named; nothing was published", body = openapi::ValidationError),
        (status = 503, description = "The stream did not acknowledge in time, or the key store that seals the personal fields did not answer; retry with the same Idempotency-Key", body = openapi::Error),
    )
)]
pub async fn insert_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let accepted = accept(&state, &headers, body).await?;
    Ok(created(&accepted.ids, accepted.replayed))
}

/// What an accepted request created (or had created before, on a retry).
pub struct Accepted {
    pub ids: Vec<Uuid>,
    pub replayed: bool,
}

/// Validates a body of orders and publishes them, safely for retries: the bridge's one path,
/// shared by `/api/insert-orders` and the old workflow's `/order`. Parse, load the earlier
/// attempt, decide ([`idempotency::decide`]), seal the personal fields, publish, compare a
/// duplicate with its stored event, answer.
///
/// The fingerprint and the decision see the body as the client sent it; only what goes on the
/// stream is sealed.
#[tracing::instrument(skip_all, fields(orders, replayed))]
pub async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: Value,
) -> Result<Accepted, ApiError> {
    let started = Instant::now();
    let client_key = client_key(headers)?;
    let orders = parse_orders(&body, &state.settings.rules).map_err(|errors| {
        metrics::counter!("orders_rejected_total").increment(1);
        ApiError::Validation(errors)
    })?;
    tracing::Span::current().record("orders", orders.len());
    let started = stage_done("validate", started);

    let request = Request {
        client: client_key,
        fingerprint: idempotency::fingerprint(&body),
        now: Utc::now(),
        window: state.settings.fallback_window,
    };
    let started = stage_done("fingerprint", started);
    // The earlier attempt (idempotency index) and the customers' keys, in a round with the
    // other requests in flight ([`crate::keys`]). A replay or a conflict does not need the
    // keys; fetching them anyway costs nothing but a key a new customer would have got at their
    // next order. A key store that fails answers 503 before anything is published: a retry
    // with the same key publishes the same orders.
    let subjects: Vec<SubjectId> = orders
        .iter()
        .map(|o| state.subjects.subject_of(o.email()))
        .collect();
    let candidates = request.candidate_keys();
    let found = state
        .rounds
        .find(candidates.clone(), subjects.clone())
        .await
        .map_err(|e| ApiError::Unavailable(format!("{e:#}")))?;
    let indexed = found
        .indexed
        .map_err(|e| ApiError::Unavailable(format!("idempotency index: {e}")))?;
    let earlier = Earlier::first_of(&candidates, &indexed);
    let started = stage_done("index", started);

    let key = match idempotency::decide(&request, earlier.as_ref()) {
        Decision::Conflict => return Err(key_used_for_another_body()),
        Decision::Replay { ids } => {
            tracing::Span::current().record("replayed", true);
            return Ok(Accepted {
                ids,
                replayed: true,
            });
        }
        Decision::New { key } | Decision::Resume { key } => key,
    };

    let mut orders = event_data(orders, &key, &request.fingerprint);
    let keys = found
        .keys
        .map_err(|e| ApiError::Unavailable(format!("key store: {e}")))?;
    for ((order, subject), key) in orders.iter_mut().zip(&subjects).zip(&keys) {
        seal_order(key, subject, order);
    }
    let started = stage_done("seal", started);
    let (ids, acks) = publish(state, orders, &key).await?;
    stage_done("publish", started);
    if stored_from_another_body(state, &acks, &request.fingerprint).await {
        return Err(key_used_for_another_body());
    }
    metrics::counter!("orders_accepted_total").increment(ids.len() as u64);
    Ok(Accepted {
        ids,
        replayed: acks.iter().all(|a| a.duplicate),
    })
}

fn key_used_for_another_body() -> ApiError {
    ApiError::Unprocessable(
        "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda".into(),
    )
}

/// Whether an order JetStream called a duplicate was stored by a request with another body
/// under the same key: one that came at the same time (on any replica), before the index held
/// either. Only duplicates are read back, so a new order costs nothing here. A stored event
/// that cannot be read is logged and taken for this request's own.
async fn stored_from_another_body(state: &AppState, acks: &[Stored], fingerprint: &str) -> bool {
    for ack in acks.iter().filter(|a| a.duplicate) {
        match state.bus.stored(ack.sequence).await {
            Ok(Event {
                kind:
                    EventKind::OrderCreated(OrderCreated {
                        idempotency: Some(stored),
                        ..
                    }),
                ..
            }) if stored.fingerprint != fingerprint => return true,
            Ok(_) => {}
            Err(error) => tracing::warn!(
                error = %format!("{error:#}"),
                seq = ack.sequence,
                "a duplicate's stored event could not be read; taken for this request's own"
            ),
        }
    }
    false
}

/// Records how long a stage of an accepted request took (`bridge_stage_seconds{stage}`: the
/// per-stage breakdown `make bench` prints) and returns the start of the next stage.
fn stage_done(stage: &'static str, since: Instant) -> Instant {
    let now = Instant::now();
    metrics::histogram!("bridge_stage_seconds", "stage" => stage)
        .record(now.duration_since(since).as_secs_f64());
    now
}

fn client_key(headers: &HeaderMap) -> Result<Option<ClientKey>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = raw
        .to_str()
        .map_err(|_| invalid_key("must be visible ASCII characters"))?;
    ClientKey::parse(text)
        .map(Some)
        .map_err(|why| invalid_key(&why))
}

fn invalid_key(why: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::in_part(
        "header",
        "Idempotency-Key",
        why,
        "value_error.idempotency_key",
    )])
}

/// The orders' event data, each with its place in the request keyed `key`.
fn event_data(orders: Vec<NewOrder>, key: &str, fingerprint: &str) -> Vec<OrderCreated> {
    let count = orders.len();
    orders
        .into_iter()
        .enumerate()
        .map(|(index, order)| {
            order.into_event_data(Some(IdempotencyRef {
                key: key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                index: index as u32,
                count: count as u32,
            }))
        })
        .collect()
}

/// Publishes every order (concurrently) and waits for all PubAcks. Ids come from the key, so a
/// retry after a partial failure completes the same batch.
async fn publish(
    state: &AppState,
    orders: Vec<OrderCreated>,
    key: &str,
) -> Result<(Vec<Uuid>, Vec<Stored>), ApiError> {
    let events: Vec<Event> = orders
        .into_iter()
        .enumerate()
        .map(|(index, order)| {
            Event::new(
                idempotency::order_id(key, index),
                BRIDGE_ACTOR,
                EventKind::OrderCreated(order),
            )
        })
        .collect();
    let acks = futures::future::try_join_all(events.iter().map(|e| state.bus.publish(e)))
        .await
        .map_err(|e| ApiError::Unavailable(format!("{e:#}")))?;
    let ids = events.iter().map(|e| e.order_id).collect();
    Ok((ids, acks))
}

fn created(ids: &[Uuid], replayed: bool) -> Response {
    let body = Created {
        message: "Order berhasil disimpan",
        order_ids: ids.to_vec(),
        orders: ids.iter().copied().map(OrderStatus::new).collect(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            http::HeaderValue::from_static("true"),
        );
    }
    response
}
