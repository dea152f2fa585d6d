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
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Records each batch as it starts and how many are applied at once; every batch waits in
/// `apply` for a permit.
struct Recording {
    batches: Arc<Mutex<Vec<Vec<u64>>>>,
    /// Batches in `apply` now, and the most there have been at once.
    applying: Arc<Mutex<(usize, usize)>>,
    permits: Arc<Semaphore>,
}

impl Projection for Recording {
    const NAME: &'static str = "recording";
    type Prepared = ();
    type Recorded = ();
    type Applied = ();

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    async fn apply(
        &self,
        _: Tx<'_>,
        batch: &[Delivered],
        (): (),
        (): (),
    ) -> Result<(), ApplyError> {
        self.batches
            .lock()
            .unwrap()
            .push(batch.iter().map(|d| d.seq).collect());
        {
            let mut applying = self.applying.lock().unwrap();
            applying.0 += 1;
            applying.1 = applying.1.max(applying.0);
        }
        self.permits.acquire().await.unwrap().forget();
        self.applying.lock().unwrap().0 -= 1;
        Ok(())
    }
}

impl Recording {
    fn new() -> Self {
        Recording {
            batches: Arc::default(),
            applying: Arc::default(),
            permits: Arc::new(Semaphore::new(0)),
        }
    }
}

fn deleted() -> Event {
    Event::new(
        Uuid::now_v7(),
        "op-1",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    )
}

/// A test's stream and a `recording` schema with the runtime's bookkeeping tables.
async fn setup() -> (TestEnv, Bus, sqlx::PgPool) {
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
    gadai_store::migrate(&pool, "recording", &sqlx::migrate::Migrator::DEFAULT)
        .await
        .unwrap();
    (env, bus, pool)
}

#[tokio::test]
async fn what_arrives_while_a_batch_is_applied_is_the_whole_next_batch() {
    let (env, bus, pool) = setup().await;
    let recording = Recording::new();
    let (batches, permits) = (recording.batches.clone(), recording.permits.clone());
    let spec = ConsumerSpec::new("recording", &[]);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consume::run(
        bus.clone(),
        spec.clone(),
        Stored::new(pool.clone(), "recording".into(), recording),
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
    permits.add_permits(2);

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

#[tokio::test]
async fn full_batches_of_a_backlog_are_applied_two_at_once_and_a_partial_one_waits_for_both() {
    let (env, bus, pool) = setup().await;
    // The backlog, before the consumer starts: two full batches of 5 and two events.
    for _ in 0..12 {
        bus.publish(&deleted()).await.unwrap();
    }
    let recording = Recording::new();
    let (batches, applying, permits) = (
        recording.batches.clone(),
        recording.applying.clone(),
        recording.permits.clone(),
    );
    let mut spec = ConsumerSpec::new("recording", &[]);
    spec.batch = 5;
    spec.parallel = 2;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consume::run(
        bus.clone(),
        spec,
        Stored::new(pool.clone(), "recording".into(), recording),
        shutdown.clone(),
    ));
    let started = |n: usize| {
        let batches = batches.clone();
        async move { (batches.lock().unwrap().len() >= n).then_some(()) }
    };

    eventually(Duration::from_secs(20), || started(2)).await;
    // Both in hand at once, in either order: each is its own task.
    let mut both = batches.lock().unwrap().clone();
    both.sort();
    assert_eq!(
        both,
        vec![(1..=5).collect::<Vec<u64>>(), (6..=10).collect()],
        "the two full batches are applied at once"
    );
    // Room for nothing more: the two events wait (given a moment to start if they would).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(batches.lock().unwrap().len(), 2);
    // One full batch done: the partial batch still waits for the other.
    permits.add_permits(1);
    eventually(Duration::from_secs(20), || async {
        (applying.lock().unwrap().0 == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(batches.lock().unwrap().len(), 2, "a partial batch waits");
    permits.add_permits(1);
    eventually(Duration::from_secs(20), || started(3)).await;
    assert_eq!(batches.lock().unwrap()[2], vec![11, 12]);
    permits.add_permits(1);
    eventually(Duration::from_secs(20), || async {
        let applied = gadai_store::checkpoint(&pool, "recording").await.ok()?;
        (applied == 12).then_some(())
    })
    .await;
    assert_eq!(applying.lock().unwrap().1, 2, "never more than two at once");
    shutdown.cancel();
    running.await.unwrap();
    env.cleanup().await;
}
