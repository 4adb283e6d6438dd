//! Partitions held at a record the target refused: reading them pauses, the status says why,
//! and after a backoff they are read again from the refused record. Once the cause is fixed
//! (a topic's size limit raised, an ACL granted, a deleted remote topic recreated) the flow
//! goes on by itself; until then nothing after the refused record counts as replicated.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::source::tracker::TrackerEvent;

use super::rebalance::RebalanceContext;
use super::{Shared, lock};

/// Acts on what the delivery path noted: pauses newly blocked partitions, reports
/// unblocked ones and a target partition that went backwards.
pub(super) fn handle_events(shared: &Shared, consumer: &BaseConsumer<RebalanceContext>) {
    let events = lock(&shared.tracker).take_events();
    for event in events {
        let t = lock(&shared.tracker);
        match event {
            TrackerEvent::Blocked(id) => {
                let Some(s) = t.slot(id) else { continue };
                let Some(b) = s.blocked.clone() else { continue };
                let (topic, remote, partition) =
                    (s.topic.clone(), s.remote_topic.clone(), s.partition);
                super::report::blocked(&shared.status, id, &b);
                drop(t);
                tracing::warn!(
                    %topic, partition, offset = b.offset, remote_topic = %remote,
                    reason = %b.reason, attempts = b.attempts,
                    "the target refused a record: this partition stays at source offset {} \
                     (nothing after it counts as replicated) and is retried with backoff",
                    b.offset
                );
                if let Some(reader) = &shared.reader {
                    reader.stop(&topic, partition);
                    continue;
                }
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(&topic, partition);
                if let Err(e) = consumer.pause(&tpl) {
                    tracing::warn!(%topic, partition, error = %e, "pausing a blocked partition");
                }
            }
            TrackerEvent::Unblocked(id) => {
                let Some(s) = t.slot(id) else { continue };
                tracing::info!(
                    topic = %s.topic, partition = s.partition,
                    "the refused record is now on the target; the partition replicates again"
                );
                shared.status.partition_unblocked(id);
            }
            TrackerEvent::TargetRewound { slot, from, to } => {
                let Some(s) = t.slot(slot) else { continue };
                tracing::warn!(
                    topic = %s.topic, partition = s.partition, remote_topic = %s.remote_topic,
                    from, to,
                    "the remote partition's offsets went back from {from} to {to}: it was \
                     deleted and recreated, or truncated, on the target; records replicated \
                     before are no longer there"
                );
                shared.status.error(
                    crate::status::Component::Source,
                    &format_args!(
                        "remote partition {}-{} went back from offset {from} to {to} \
                         (deleted and recreated, or truncated, on the target)",
                        s.remote_topic, s.partition
                    ),
                );
            }
        }
    }
}

/// Starts the retries that are due: seeks each partition back to its refused record and
/// resumes reading it.
pub(super) fn start_due_retries(shared: &Shared, consumer: &BaseConsumer<RebalanceContext>) {
    let due = lock(&shared.tracker).due_retries(Instant::now());
    for id in due {
        let (topic, partition, offset, attempt) = {
            let mut t = lock(&shared.tracker);
            let Some(offset) = t.start_retry(id) else {
                continue;
            };
            let Some(s) = t.slot(id) else { continue };
            let attempt = s.blocked.as_ref().map_or(0, |b| b.attempts);
            if let Some(b) = &s.blocked {
                super::report::blocked(&shared.status, id, b);
            }
            (s.topic.clone(), s.partition, offset, attempt)
        };
        tracing::info!(%topic, partition, offset, attempt, "retrying a blocked partition");
        if let Some(reader) = &shared.reader {
            reader.read_from(&topic, partition, offset);
            continue;
        }
        if let Err(e) = consumer.seek(
            &topic,
            partition,
            Offset::Offset(offset),
            Duration::from_secs(10),
        ) {
            // Resuming without the seek would read on from past the refused record.
            tracing::warn!(%topic, partition, error = %e, "seeking a blocked partition; retrying later");
            lock(&shared.tracker).postpone_retry(
                id,
                offset,
                format!("seeking back to offset {offset} failed: {e}"),
            );
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&topic, partition);
        if let Err(e) = consumer.resume(&tpl) {
            tracing::warn!(%topic, partition, error = %e, "resuming a blocked partition");
        }
    }
}
