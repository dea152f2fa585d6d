//! Replaying the stream from its first event, for rebuilding a projection.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use futures::StreamExt;
use gadai_events::Event;

use gadai_bus::Bus;

use crate::consume::{ApplyError, Delivered, Sink};

/// Feeds every event with sequence `from..=until` to `projection`, in stream order and in
/// batches of up to `batch`, through the same `apply` the live consumer uses. Messages that do
/// not decode are parked, as live. Calls `progress(applied_up_to, until)` after each batch.
pub async fn replay<P: Sink>(
    bus: &Bus,
    projection: &P,
    from: u64,
    until: u64,
    batch: usize,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    if until < from {
        return Ok(0);
    }
    let stream = bus.ensure_stream().await?;
    // A named ordered consumer, so the service's NATS permissions can name it (see
    // `permissions`); one left by an earlier replay goes first (it would differ in its start).
    let name = gadai_bus::permissions::replay_consumer(bus.service());
    let _ = stream.delete_consumer(&name).await;
    let consumer = stream
        .create_consumer(OrderedConfig {
            name: Some(name.clone()),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from.max(1),
            },
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating the replay consumer {name}"))?;
    let messages = consumer.messages().await?;
    let applied = feed(bus, projection, messages, until, batch, &mut progress).await;
    let _ = stream.delete_consumer(&name).await;
    applied
}

async fn feed<P: Sink>(
    bus: &Bus,
    projection: &P,
    messages: async_nats::jetstream::consumer::pull::Ordered,
    until: u64,
    batch: usize,
    progress: &mut impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    let mut chunks = messages.ready_chunks(batch);
    let mut applied = 0u64;
    let mut last_report = Instant::now();
    'outer: while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), chunks.next())
        .await
        .context("the stream stopped delivering during replay")?
    {
        let mut decoded = Vec::with_capacity(chunk.len());
        let mut done = false;
        for item in chunk {
            let message = item.context("replay consumer failed")?;
            let seq = message.info().map_err(anyhow::Error::msg)?.stream_sequence;
            if seq > until {
                done = true;
                break;
            }
            let type_name = bus.type_of(&message.subject).unwrap_or_default();
            match Event::decode_from(type_name, &message.payload) {
                Ok(event) => decoded.push(Delivered {
                    seq,
                    event,
                    delivered: 1,
                    span: tracing::Span::none(),
                }),
                Err(err) => {
                    tracing::error!(seq, reason = %err, "poison message parked during replay");
                    projection
                        .park(seq, &message.subject, &err.to_string(), &message.payload)
                        .await?;
                }
            }
            done = seq >= until;
        }
        applied += decoded.len() as u64;
        let last_seq = decoded.last().map(|d| d.seq);
        match projection.apply(&decoded).await {
            Ok(()) => {}
            Err(ApplyError::Poison(reason)) => {
                // Same as live: apply one by one and park the ones at fault.
                for d in &decoded {
                    if let Err(ApplyError::Poison(r)) =
                        projection.apply(std::slice::from_ref(d)).await
                    {
                        tracing::error!(seq = d.seq, reason = %r, "event parked during replay");
                    }
                }
                tracing::warn!(%reason, "a batch held poison events; they were parked");
            }
            Err(ApplyError::Transient(err)) => return Err(err.context("replay apply failed")),
        }
        if let Some(seq) = last_seq
            && (done || last_report.elapsed() > Duration::from_secs(1))
        {
            progress(seq, until);
            last_report = Instant::now();
        }
        if done {
            break 'outer;
        }
    }
    Ok(applied)
}
