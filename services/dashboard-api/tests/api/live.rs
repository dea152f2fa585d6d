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

/// Reads SSE frames until one named `name` whose data `wanted` accepts arrives: its id and data.
pub(crate) async fn next_event<S>(
    feed: &mut Feed<S>,
    name: &str,
    wanted: impl Fn(&Value) -> bool,
) -> (String, Value)
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    let Feed { body, buffer } = feed;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                frame.lines().find_map(|l| {
                    l.strip_prefix(&format!("{name}:"))
                        .map(|v| v.trim().to_owned())
                })
            };
            if field("event").as_deref() == Some(name) {
                let data: Value = serde_json::from_str(&field("data").unwrap()).unwrap();
                if wanted(&data) {
                    return (field("id").unwrap(), data);
                }
            }
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
