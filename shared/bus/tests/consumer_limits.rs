//! A durable consumer made by an older release gets this release's limits at start.

use std::time::Duration;

use gadai_bus::{Bus, ConsumerSpec};
use gadai_test_support::TestEnv;

#[tokio::test]
async fn an_existing_consumer_takes_the_new_ack_wait() {
    let env = TestEnv::new().await.unwrap();
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    let mut old = ConsumerSpec::new("mailer-send", &["verification.requested"]);
    old.ack_wait = Duration::from_secs(60);
    old.max_deliver = 50;
    let mut consumer = bus.durable_consumer(&old).await.unwrap();
    assert_eq!(
        consumer.info().await.unwrap().config.ack_wait,
        Duration::from_secs(60)
    );

    let mut new = old.clone();
    new.ack_wait = Duration::from_secs(10);
    new.max_deliver = 100;
    let mut consumer = bus.durable_consumer(&new).await.unwrap();
    let config = consumer.info().await.unwrap().config.clone();
    assert_eq!(config.ack_wait, Duration::from_secs(10));
    assert_eq!(config.max_deliver, 100);
    // Unchanged limits leave it alone.
    let mut again = bus.durable_consumer(&new).await.unwrap();
    assert_eq!(
        again.info().await.unwrap().config.ack_wait,
        Duration::from_secs(10)
    );
    env.cleanup().await;
}
