//! `GET /dashboard/events`: Server-Sent Events of applied changes, for live dashboards.
//!
//! Whichever replica applies a batch announces it on core NATS; every replica relays the
//! announcements to its own clients through a broadcast channel, so the feed is complete with
//! any number of replicas. The SSE id is the stream sequence: a client that reconnects with
//! `Last-Event-ID` first gets the current state of every order and hand-off changed since.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
};
use futures::{Stream, StreamExt, stream};
use gadai_http::ApiError;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use tokio_util::sync::CancellationToken;

use super::{AppState, auth::Operator, feeds};
use crate::{
    domain::OrderView,
    projection::{Announcement, CHANGES_SUBJECT, Change, LIVE_CHANGES_AT_MOST},
    read_model::{self, handoff, order_json},
};

/// The most orders (and the most hand-offs) sent to a reconnecting client before telling it
/// to reload instead.
const MAX_REPLAY: i64 = LIVE_CHANGES_AT_MOST as i64;
/// The most events read to find them.
const MAX_REPLAY_EVENTS: i64 = 2_000;

/// The header a reconnecting client sends (read by [`events`] from the headers).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct LastEventId {
    #[serde(rename = "Last-Event-ID")]
    #[param(required = false)]
    pub last_event_id: String,
}

/// Relays announced changes to this replica's feeds.
pub type Hub = broadcast::Sender<Arc<Announcement>>;

/// Subscribes to the announcements and forwards them into `hub` until shutdown.
pub async fn relay(
    bus: gadai_bus::Bus,
    hub: Hub,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut subscription = bus.client().subscribe(bus.subject(CHANGES_SUBJECT)).await?;
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            m = subscription.next() => m,
        };
        let Some(message) = message else {
            return Ok(());
        };
        match serde_json::from_slice::<Announcement>(&message.payload) {
            Ok(announcement) => {
                let _ = hub.send(Arc::new(announcement));
            }
            Err(err) => tracing::warn!(error = %err, "malformed change announcement ignored"),
        }
    }
}

/// `GET /dashboard/events`: the live feed of the logged-in operator. It ends when the session
/// ends (see [`super::feeds`]); an operator holding too many feeds on this replica gets 429.
#[utoipa::path(
    get,
    path = "/dashboard/events",
    operation_id = "events",
    summary = "Server-Sent Events: every change to the read model",
    description = "Events `change` (id = stream sequence, data = {seq, type, order_id, order}), `ready` once connected, `resync` when the client should reload its lists. Reconnect with Last-Event-ID to receive what was missed.",
    params(LastEventId),
    responses(
        (status = 200, description = "An endless text/event-stream", body = String, content_type = "text/event-stream"),
        (status = 429, description = "This operator already holds LIVE_FEEDS_PER_OPERATOR open feeds on this replica; the web app falls back to polling", body = super::openapi::Error, headers(
            ("Retry-After" = i64, description = "Seconds to wait"),
        )),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let feed = state
        .feeds
        .open(
            operator.operator_id,
            operator.session(),
            state.settings.feeds_per_operator,
            &state.closing,
        )
        .ok_or(ApiError::TooManyRequests {
            retry_after_secs: feeds::CHECK_EVERY.as_secs(),
        })?;
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = BroadcastStream::new(state.hub.subscribe());
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let backlog = match last_id {
        Some(id) => replay_since(&state, id).await,
        None => vec![SseEvent::default().event("ready").data("{}")],
    };
    let live = live.flat_map(|item| {
        let events: Vec<SseEvent> = match item.as_deref() {
            Ok(Announcement::Changes(changes)) => changes.iter().map(change_event).collect(),
            // No id: a client that reconnects later asks from the last change it was sent.
            Ok(Announcement::Resync { resync }) => vec![
                SseEvent::default()
                    .event("resync")
                    .data(format!("{{\"seq\":{resync}}}")),
            ],
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                vec![SseEvent::default().event("resync").data("{}")]
            }
        };
        stream::iter(events)
    });
    let stop = feed.stop.clone().cancelled_owned();
    let all = stream::iter(backlog)
        .chain(live)
        .take_until(stop)
        // The feed stays registered for as long as the stream lives.
        .map(move |event| {
            let _open = &feed;
            Ok(event)
        });
    Ok(Sse::new(all).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `change` for an order, `handoff` for a hand-off (the web app reloads its queue).
fn change_event(change: &Change) -> SseEvent {
    let name = if change.handoff.is_some() {
        "handoff"
    } else {
        "change"
    };
    SseEvent::default()
        .event(name)
        .id(change.seq.to_string())
        .data(serde_json::to_string(change).unwrap_or_default())
}

/// The current state of every order and hand-off changed after `since`, oldest change first;
/// or a `resync` when more changed than is worth sending one by one. Reads at most
/// [`MAX_REPLAY_EVENTS`] + 1 events and [`MAX_REPLAY`] orders and hand-offs, whatever `since`
/// says.
async fn replay_since(state: &AppState, since: i64) -> Vec<SseEvent> {
    match changes_since(state, since).await {
        Ok(Some(changes)) if changes.is_empty() => {
            vec![SseEvent::default().event("ready").data("{}")]
        }
        Ok(Some(changes)) => changes.iter().map(change_event).collect(),
        _ => vec![SseEvent::default().event("resync").data("{}")],
    }
}

/// What [`replay_since`] sends, in stream order; `None` when it is too much.
async fn changes_since(state: &AppState, since: i64) -> sqlx::Result<Option<Vec<Change>>> {
    let Some(mut latest) = read_model::changed_since(&state.pool, since, MAX_REPLAY_EVENTS).await?
    else {
        return Ok(None);
    };
    for (id, seq) in read_model::erased_since(&state.pool, since, MAX_REPLAY + 1).await? {
        match latest.iter_mut().find(|l| l.0 == id) {
            Some(l) if l.1 >= seq => {}
            Some(l) => *l = (id, seq, "customer.erased".to_owned()),
            None => latest.push((id, seq, "customer.erased".to_owned())),
        }
    }
    if latest.len() as i64 > MAX_REPLAY {
        return Ok(None);
    }
    let ids: Vec<uuid::Uuid> = latest.iter().map(|l| l.0).collect();
    let orders = read_model::orders(&state.pool, &ids).await?;
    let mut changes: Vec<Change> = orders
        .into_iter()
        .filter_map(|row| {
            let (_, seq, kind) = latest.iter().find(|l| l.0 == row.id)?;
            let view = OrderView::from(row);
            Some(Change {
                seq: *seq as u64,
                kind: kind.clone(),
                order_id: view.id,
                order: order_json(&view),
                handoff: None,
            })
        })
        .collect();
    let handoffs = handoff::changed_since(&state.pool, since, MAX_REPLAY + 1).await?;
    if handoffs.len() as i64 > MAX_REPLAY {
        return Ok(None);
    }
    changes.extend(handoffs.into_iter().map(|(seq, h)| {
        Change {
            seq: seq as u64,
            kind: if h.closed_at.is_some() {
                "customer.handoff_closed"
            } else {
                "customer.handoff_opened"
            }
            .to_owned(),
            order_id: h.order_id.unwrap_or_default(),
            order: Value::Null,
            handoff: Some(serde_json::to_value(h).expect("a hand-off serializes")),
        }
    }));
    changes.sort_by_key(|c| c.seq);
    Ok(Some(changes))
}
