//! Electing the one process of a flow that runs its singleton duties (periodic topic creation
//! and growth, config and ACL sync), through Kafka's own group coordination: every process
//! joins a consumer group on the flow's offsets topic (which always exists on the target) and
//! the member assigned its partition 0 leads. Nothing is ever read from it; the assigned
//! partitions stay paused. When the leader dies, the group gives partition 0 to another
//! member after the session timeout, and it takes over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use tokio::sync::watch;

/// Tracks whether this process currently leads its flow.
struct ElectionContext {
    topic: String,
    leader: watch::Sender<bool>,
}

impl ClientContext for ElectionContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "election consumer");
    }
}

impl ConsumerContext for ElectionContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _: &Rebalance<'_>) {
        let Ok(assignment) = consumer.assignment() else {
            return;
        };
        // Only the group membership matters: never fetch.
        let _ = consumer.pause(&assignment);
        let leads = assignment
            .elements()
            .iter()
            .any(|e| e.topic() == self.topic && e.partition() == 0);
        self.leader.send_if_modified(|cur| {
            let changed = *cur != leads;
            if changed {
                *cur = leads;
                if leads {
                    tracing::info!("this process now runs the flow's singleton duties");
                } else {
                    tracing::info!("another process runs the flow's singleton duties");
                }
            }
            changed
        });
    }
}

/// Joins the election group `group` on `topic` (on the cluster `config` points at) and keeps
/// the returned receiver true while this process leads. Runs on its own thread until `stop`.
pub fn spawn_election(
    config: &ClientConfig,
    group: &str,
    topic: &str,
    stop: Arc<AtomicBool>,
) -> Result<watch::Receiver<bool>, KafkaError> {
    let (tx, rx) = watch::channel(false);
    let mut cfg = config.clone();
    cfg.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("partition.assignment.strategy", "cooperative-sticky")
        // A dead leader is replaced within this time.
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000");
    let consumer: BaseConsumer<ElectionContext> = cfg.create_with_context(ElectionContext {
        topic: topic.to_owned(),
        leader: tx,
    })?;
    consumer.subscribe(&[topic])?;
    // The flow's span, so the election's log lines name the flow.
    let span = tracing::Span::current();
    let spawned = std::thread::Builder::new()
        .name("strait-election".to_owned())
        .spawn(move || {
            let _flow = span.enter();
            while !stop.load(Ordering::Acquire) {
                // Serves the group protocol; paused partitions never deliver records.
                let _ = consumer.poll(Duration::from_millis(200));
            }
            consumer.unsubscribe();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the election thread; this process will not lead");
    }
    Ok(rx)
}
