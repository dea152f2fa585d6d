//! The floor under the bridge: acknowledged JetStream publishes from one client with a fixed
//! number in flight, each with its own `Nats-Msg-Id` and a payload the size of an
//! `order.created` event, into the bench's stream, as the bridge publishes them.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::{HeaderMap, jetstream};

use crate::common::{BenchEnv, Knobs};

/// An encoded `order.created` event of the bench's orders is about this long.
const PAYLOAD_BYTES: usize = 700;

/// Publishes with `in_flight` publishers for `duration`; acknowledged publishes per second.
pub async fn acked_publishes(
    env: &BenchEnv,
    in_flight: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let client = async_nats::connect(&env.env.bus.url)
        .await
        .context("connecting to NATS")?;
    let js = jetstream::new(client);
    let subject = format!("{}order.bench-raw", env.env.bus.prefix);
    let payload = bytes::Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let started = Instant::now();
    let mut publishers = tokio::task::JoinSet::new();
    for publisher in 0..in_flight {
        let (js, subject, payload) = (js.clone(), subject.clone(), payload.clone());
        publishers.spawn(async move {
            let mut acked = 0u64;
            while started.elapsed() < duration {
                let mut headers = HeaderMap::new();
                let id = format!("raw-{publisher}-{acked}");
                headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                js.publish_with_headers(subject.clone(), headers, payload.clone())
                    .await?
                    .await?;
                acked += 1;
            }
            anyhow::Ok(acked)
        });
    }
    let mut acked = 0;
    while let Some(done) = publishers.join_next().await {
        acked += done??;
    }
    Ok(acked as f64 / started.elapsed().as_secs_f64())
}

/// The machine's speed for this kind of work now: acknowledged publishes per second, 16 in
/// flight for 2 s, into a stream of its own. Printed at the start of every run beside the one-core
/// figure ([`crate::cpu::one_core_speed`]): a run's figures compare with the previous run's only
/// when these two do.
pub async fn probe(knobs: &Knobs) -> anyhow::Result<f64> {
    let env = BenchEnv::new(knobs).await?;
    let measured = async {
        gadai_bus::Bus::connect(env.env.bus.clone(), "gadai-bench")
            .await?
            .ensure_stream()
            .await?;
        acked_publishes(&env, 16, Duration::from_secs(2)).await
    }
    .await;
    env.destroy().await;
    measured
}
