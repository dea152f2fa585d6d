//! The consumer loop (`consume::run`) against the machine's NATS JetStream and Postgres.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use gadai_bus::{Bus, ConsumerSpec};
use gadai_events::{Event, EventKind, OrderDeleted};
use gadai_runtime::{ApplyError, Delivered, Projection, Stored, Tx, consume};
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Records the sequences of each batch; the first batch waits in `apply` until released.
#[derive(Default)]
struct Recording {
    batches: Arc<Mutex<Vec<Vec<u64>>>>,
    release: Arc<Notify>,
}

impl Projection for Recording {
    const NAME: &'static str = "recording";
    type Prepared = ();
    type Applied = ();

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    async fn apply(&self, _: Tx<'_>, batch: &[Delivered], (): ()) -> Result<(), ApplyError> {
        let first = {
            let mut batches = self.batches.lock().unwrap();
            batches.push(batch.iter().map(|d| d.seq).collect());
            batches.len() == 1
        };
        if first {
            self.release.notified().await;
        }
        Ok(())
    }
}

fn deleted() -> Event {
    Event::new(
        Uuid::now_v7(),
        "op-1",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    )
}

#[tokio::test]
async fn what_arrives_while_a_batch_is_applied_is_the_whole_next_batch() {
    let env = TestEnv::new().await.unwrap();
    let bus = Bus::connect(env.bus.clone(), "consume-test").await.unwrap();
    bus.ensure_stream().await.unwrap();
    let pool = gadai_store::connect(&DbSettings {
        url: env.database_url.clone(),
        schema: "recording".into(),
        max_connections: 4,
    })
    .await
    .unwrap();
    sqlx::raw_sql(
        "CREATE SCHEMA recording;
         CREATE TABLE recording.checkpoints (projection text PRIMARY KEY, seq bigint NOT NULL,
             updated_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    let recording = Recording::default();
    let (batches, release) = (recording.batches.clone(), recording.release.clone());
    let spec = ConsumerSpec::new("recording", &[]);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consume::run(
        bus.clone(),
        spec.clone(),
        Stored {
            pool: pool.clone(),
            schema: "recording".into(),
            projection: recording,
        },
        shutdown.clone(),
    ));

    bus.publish(&deleted()).await.unwrap();
    eventually(Duration::from_secs(20), || async {
        (batches.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    // Twenty more, one after the other, while the first batch is being applied.
    for _ in 0..20 {
        bus.publish(&deleted()).await.unwrap();
    }
    let consumer = bus.durable_consumer(&spec).await.unwrap();
    eventually(Duration::from_secs(20), || {
        let mut consumer = consumer.clone();
        async move {
            let info = consumer.info().await.ok()?;
            (info.num_ack_pending == 21 && info.num_pending == 0).then_some(())
        }
    })
    .await;
    // The server has delivered them; a moment for this process to read them off its socket.
    tokio::time::sleep(Duration::from_secs(1)).await;
    release.notify_one();

    eventually(Duration::from_secs(20), || async {
        (batches.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    let seen = batches.lock().unwrap().clone();
    assert_eq!(seen[0], vec![1]);
    assert_eq!(
        seen[1],
        (2..=21).collect::<Vec<u64>>(),
        "the second batch holds everything that arrived during the first"
    );
    eventually(Duration::from_secs(20), || async {
        let applied = gadai_store::checkpoint(&pool, "recording").await.ok()?;
        (applied == 21).then_some(())
    })
    .await;
    shutdown.cancel();
    running.await.unwrap();
    env.cleanup().await;
}
