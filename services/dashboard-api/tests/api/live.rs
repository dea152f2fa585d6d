use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::helpers::*;

/// An SSE client: frames are split out of the byte stream, keeping partial ones for later.
pub(crate) struct Feed<S> {
    body: S,
    buffer: String,
}

pub(crate) fn feed<S>(body: S) -> Feed<S> {
    Feed {
        body,
        buffer: String::new(),
    }
}

/// Reads SSE frames until one of type `change` (for `order_id`, when given) arrives.
async fn next_change_for<S>(feed: &mut Feed<S>, order_id: Option<&str>) -> (String, Value)
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    next_event(feed, "change", |data| {
        order_id.is_none_or(|id| data["order_id"] == id)
    })
    .await
}

/// Reads SSE frames until one named `name` whose data `wanted` accepts arrives: its id (empty
/// when it has none) and data.
pub(crate) async fn next_event<S>(
    feed: &mut Feed<S>,
    name: &str,
    wanted: impl Fn(&Value) -> bool,
) -> (String, Value)
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    loop {
        let frame = next_frame(feed).await;
        if frame.event == name && wanted(&frame.data) {
            return (frame.id, frame.data);
        }
    }
}

/// An SSE frame: its event name, id and data (empty, empty and null when it has none).
struct Frame {
    event: String,
    id: String,
    data: Value,
}

/// The next SSE frame, within 10 s.
async fn next_frame<S>(feed: &mut Feed<S>) -> Frame
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    let Feed { body, buffer } = feed;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                frame.lines().find_map(|l| {
                    l.strip_prefix(&format!("{name}:"))
                        .map(|v| v.trim().to_owned())
                })
            };
            return Frame {
                event: field("event").unwrap_or_default(),
                id: field("id").unwrap_or_default(),
                data: field("data").map_or(Value::Null, |d| serde_json::from_str(&d).unwrap()),
            };
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("an SSE frame within 10 s")
            .expect("stream open")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_feed_delivers_a_change_to_a_connected_client() {
    let app = spawn_app().await;
    let response = app.get("/dashboard/events").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = feed(response.bytes_stream());
    // Let the subscription settle before the event is published.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = app.create_order("Budi Santoso", "Jakarta", 1).await;
    let (seq, change) = next_change_for(&mut body, Some(&id.to_string())).await;
    assert_eq!(change["type"], "order.created");
    assert_eq!(change["order"]["status"], "On Process");
    assert_eq!(change["order"]["nama_customer"], "Budi Santoso");
    assert_eq!(seq, change["seq"].to_string());
    app.stop().await;
}

#[tokio::test]
async fn a_client_resuming_with_last_event_id_gets_what_it_missed() {
    let app = spawn_app().await;
    let first = app.create_order("Ani Wijaya", "Bandung", 1).await;
    app.caught_up().await;
    let seen = app.bus.last_sequence().await.unwrap();
    let missed = app.create_order("Budi Santoso", "Jakarta", 1).await;
    app.caught_up().await;
    let response = app
        .client
        .get(format!("{}/dashboard/events", app.address))
        .header("Last-Event-ID", seen.to_string())
        .send()
        .await
        .unwrap();
    let mut body = feed(response.bytes_stream());
    let (_, change) = next_change_for(&mut body, Some(&missed.to_string())).await;
    assert_eq!(change["order"]["nama_customer"], "Budi Santoso");
    let _ = first;
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_both_feed_their_clients() {
    let app = spawn_app().await;
    // A second replica on the same database and stream shares the durable consumer.
    let env2 = gadai_test_support::TestEnv {
        database_url: app.env.database_url.clone(),
        bus: app.env.bus.clone(),
        tag: app.env.tag.clone(),
    };
    let replica = spawn_in(env2).await;
    let mut feeds = Vec::new();
    for a in [&app, &replica] {
        feeds.push(feed(a.get("/dashboard/events").await.bytes_stream()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            app.create_order(&format!("Nasabah {}", (b'A' + i) as char), "Bogor", 1)
                .await,
        );
    }
    // Replicas apply in parallel, so changes arrive in any order: collect them all.
    for feed in feeds.iter_mut() {
        let mut missing: std::collections::HashSet<String> =
            ids.iter().map(|i| i.to_string()).collect();
        while !missing.is_empty() {
            let (_, change) = next_change_for(feed, None).await;
            missing.remove(change["order_id"].as_str().unwrap());
        }
    }
    replica.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_batch_of_more_changes_than_a_feed_takes_one_by_one_is_announced_as_one_resync() {
    let app = spawn_app().await;
    let mut body = feed(app.get("/dashboard/events").await.bytes_stream());
    next_event(&mut body, "ready", |_| true).await;
    // The projection waits at its first insert while the orders arrive, so that it then
    // applies most of them in one batch.
    let mut hold = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE dashboard.orders IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *hold)
        .await
        .unwrap();
    let orders = dashboard_api::projection::LIVE_CHANGES_AT_MOST + 100;
    let first = app.bus.last_sequence().await.unwrap() + 1;
    for n in 0..orders {
        app.create_order(&format!("Nasabah {n}"), "Medan", 1).await;
    }
    let last = app.bus.last_sequence().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    hold.rollback().await.unwrap();
    app.caught_up().await;

    // Frames in the order they were sent: the changes of a first small batch, perhaps, then
    // one resync for the batch that held the rest, never those orders one by one.
    let mut changes = 0;
    let resync = loop {
        let frame = next_frame(&mut body).await;
        match frame.event.as_str() {
            "change" => changes += 1,
            "resync" => break frame,
            _ => {}
        }
    };
    assert!(
        changes < dashboard_api::projection::LIVE_CHANGES_AT_MOST,
        "{changes} changes sent one by one"
    );
    assert_eq!(
        resync.id, "",
        "a resync has no id: a reconnect asks from the last change sent"
    );
    let seq = resync.data["seq"]
        .as_u64()
        .expect("the resync names the batch's newest sequence");
    assert!(
        (first..=last).contains(&seq),
        "{seq} not in {first}..={last}"
    );
    let total = app.get("/dashboard/orders?limit=1").await;
    assert_eq!(total.headers()["x-total-count"], orders.to_string());
    app.stop().await;
}
