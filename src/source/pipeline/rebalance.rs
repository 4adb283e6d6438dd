//! Rebalances: partitions are taken on at their recorded progress and handed over only once
//! everything sent for them is settled and their progress written.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::stats::StatsSink;
use crate::source::SourceError;
use crate::source::topics::ReplicatedTopic;
use crate::source::tracker::SlotId;
use crate::status::Component;

use super::transactions::{Fenced, Transactions, Which};
use super::{Shared, StartWithoutProgress, lock};

/// How long taking partitions on may wait for their progress.
const PROGRESS_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The consumer's context: rebalances hand partitions over cleanly.
pub(super) struct RebalanceContext {
    pub(super) shared: std::sync::Arc<Shared>,
    pub(super) stats: Option<StatsSink>,
}

impl ClientContext for RebalanceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "source consumer");
        self.shared
            .status
            .error(Component::Source, &format_args!("source consumer: {error}"));
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(s) = &self.stats {
            s.write(statistics);
        }
    }
}

impl ConsumerContext for RebalanceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.shared.status.rebalanced();
                if let Err(e) = self.shared.on_assign(consumer, tpl) {
                    self.shared.fail(e);
                    return;
                }
                let r = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = r {
                    self.shared.fail(SourceError::Consume(e));
                } else if self.shared.reader.is_some()
                    && let Err(e) = consumer.pause(tpl)
                {
                    // Its fetches would only be dropped: the reader reads these partitions.
                    tracing::warn!(error = %e, "pausing the consumer's fetches of assigned partitions");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if let Err(e) = self.shared.on_revoke(consumer, tpl) {
                    self.shared.fail(e);
                }
                let r = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "unassigning revoked partitions");
                }
            }
            other => {
                let code: RDKafkaErrorCode = other.into();
                tracing::error!(error = %code, "rebalance failed");
                if !cooperative {
                    let _ = consumer.unassign();
                    if let Some(reader) = &self.shared.reader {
                        reader.stop_all();
                    }
                }
            }
        }
    }
}

impl Shared {
    /// Waits until every record sent for the given partitions has its delivery report.
    /// librdkafka reports each record within its delivery timeout, so waiting that long (and
    /// a request timeout more) means waiting the queue out rather than guessing.
    fn drain(&self, ids: &[SlotId]) -> Result<(), SourceError> {
        let mut deadline = Instant::now() + self.settings.drain_timeout;
        loop {
            let left = self.unreported(Some(ids));
            if left == 0 {
                return Ok(());
            }
            // Stopping has a budget of its own: a hand-over during shutdown fits inside it.
            if let Some(stop) = self.stopping_deadline() {
                deadline = deadline.min(stop);
            }
            if Instant::now() > deadline {
                return Err(SourceError::Drain {
                    records: left,
                    waited: self.settings.drain_timeout,
                });
            }
            // Delivery reports are served on each producer's own thread.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Writes progress for `only` (or every partition) and commits the source group to match.
    pub(super) fn write_progress(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        only: Option<&[SlotId]>,
        mode: CommitMode,
        timeout: Duration,
    ) -> Result<(), SourceError> {
        let due = lock(&self.tracker).due_progress(only);
        if due.is_empty() {
            return Ok(());
        }
        self.progress.write(&due, timeout)?;
        tracing::debug!(
            written = ?due.iter().map(|d| (d.partition, d.offset)).collect::<Vec<_>>(),
            "progress written"
        );
        let mut tpl = TopicPartitionList::new();
        {
            let mut t = lock(&self.tracker);
            for d in &due {
                t.mark_written(d.slot, d.offset);
                let _ =
                    tpl.add_partition_offset(&d.topic, d.partition, Offset::Offset(d.offset + 1));
            }
        }
        // The group's committed offsets only mirror progress, so that standard lag tools read
        // replication lag; a failed commit loses nothing.
        if let Err(e) = consumer.commit(&tpl, mode) {
            tracing::warn!(error = %e, "committing the source group's offsets failed");
        }
        Ok(())
    }

    fn on_assign(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), SourceError> {
        let mut topics: HashMap<String, i32> = HashMap::new();
        for e in tpl.elements() {
            let n = topics.entry(e.topic().to_owned()).or_default();
            *n = (*n).max(e.partition() + 1);
        }
        // Remote topics must have every assigned partition before records arrive.
        let wanted: Vec<ReplicatedTopic> = topics
            .iter()
            .map(|(t, n)| ReplicatedTopic {
                source: t.as_str().into(),
                remote: self.selector.remote_name(t).into(),
                partitions: *n,
            })
            .collect();
        self.runtime
            .block_on(self.admin.ensure_remote_topics(&wanted))?;
        let assigned: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        // Exactly-once: earlier owners are fenced off first, so the progress read next is the
        // last any of them can ever commit.
        let mut fenced: HashMap<(String, i32), Fenced> = match &self.txns {
            Some(txns) => txns
                .fence(&assigned)?
                .into_iter()
                .map(|f| (f.key(), f))
                .collect(),
            None => HashMap::new(),
        };
        // A transaction another process left open in the offsets topic delays the read.
        let read_timeout = self.txns.as_ref().map_or(PROGRESS_READ_TIMEOUT, |t| {
            PROGRESS_READ_TIMEOUT.max(t.progress_read_timeout())
        });
        let progress = self.progress.read_for(&assigned, read_timeout)?;
        // The group's committed offsets only mirror progress; where they exist without progress
        // the target (or its offsets topic) was rebuilt or replaced, and the user must know.
        let committed: HashMap<(String, i32), i64> = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(30))
            .map(|c| {
                c.elements()
                    .iter()
                    .filter_map(|e| match e.offset() {
                        Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let elements: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        // `auto.offset.reset=none`: a partition without progress is an error, as in MM2.
        if self.settings.start_without_progress == StartWithoutProgress::Fail
            && let Some((topic, partition)) = elements.iter().find(|k| !progress.contains_key(*k))
        {
            return Err(SourceError::NoStartingOffset {
                topic: topic.clone(),
                partition: *partition,
            });
        }
        let mut t = lock(&self.tracker);
        let mut opened = Vec::new();
        for (topic, partition) in elements {
            let done = progress.get(&(topic.clone(), partition)).copied();
            let remote = self.selector.remote_name(&topic);
            let slot = t.open(topic.as_str().into(), remote.into(), partition, done);
            if let Some(f) = fenced.remove(&(topic.clone(), partition)) {
                opened.push((slot, f));
            }
            super::report::assigned(&self.status, &t, slot);
            let start = match done {
                Some(o) => Offset::Offset(o + 1),
                None => self.settings.start_without_progress.offset(),
            };
            if let (None, Some(c)) = (done, committed.get(&(topic.clone(), partition))) {
                tracing::warn!(
                    %topic, partition, group_committed = c, offsets_topic = %self.progress.topic(),
                    "no replication progress on the target, but this flow's group had replicated \
                     up to the committed offset: the target was rebuilt or its offsets topic \
                     replaced; replicating again from {start:?} (auto.offset.reset) so that \
                     nothing is skipped"
                );
            }
            tracing::info!(%topic, partition, ?start, "replicating partition");
            if let Some(reader) = &self.reader {
                reader.assign(&topic, partition, start);
            }
            tpl.set_partition_offset(&topic, partition, start)
                .map_err(SourceError::Consume)?;
        }
        drop(t);
        if let Some(txns) = &self.txns {
            for (slot, f) in opened {
                txns.begin(slot, f)?;
            }
        }
        Ok(())
    }

    fn on_revoke(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        tpl: &TopicPartitionList,
    ) -> Result<(), SourceError> {
        let ids: Vec<SlotId> = {
            let t = lock(&self.tracker);
            tpl.elements()
                .iter()
                .filter_map(|e| t.slot_of(e.topic(), e.partition()))
                .collect()
        };
        let lost = consumer.assignment_lost();
        if let Some(txns) = &self.txns {
            return self.hand_over_transactions(txns, consumer, &ids, lost);
        }
        let drained = if lost {
            // The session expired: another member may already own these partitions and read
            // them from their last progress, so waiting for our records gains nothing (they
            // land as duplicates at worst) and would keep this consumer from rejoining. Its
            // progress wins: none is written from here.
            tracing::warn!("partitions lost without a clean hand-over; progress not written");
            Ok(())
        } else {
            self.drain(&ids)
        };
        if drained.is_err() {
            // Records of these partitions may still land after the new owner started from
            // the progress written before: never write progress for them from here.
            tracing::error!(
                "revoked partitions not drained in time; their progress is not written"
            );
        } else if !lost {
            let timeout = match self.stopping_deadline() {
                Some(by) => by
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(1)),
                None => Duration::from_secs(30),
            };
            // A target that cannot take progress now (no quorum, unreachable) is no reason to
            // fail the flow, as in the loop's flushes: the next owner starts from the progress
            // written before and writes the records since then again. Should this write still
            // land later, it only covers records already acknowledged, so nothing is skipped.
            if let Err(e) = self.write_progress(consumer, Some(&ids), CommitMode::Sync, timeout) {
                tracing::warn!(
                    error = %e,
                    partitions = ids.len(),
                    "progress of the handed-over partitions not written; their next owner \
                     starts from the progress written before and writes the records since then \
                     again"
                );
            }
        }
        self.close_slots(consumer, &ids);
        // While stopping, a hand-over cut short is part of stopping, not a failure.
        if self.stopping_deadline().is_some() {
            return Ok(());
        }
        drained
    }

    /// Exactly-once hand-over: the revoked partitions' transactions commit (waiting for their
    /// records) or, lost or failing, abort; either way the next owner fences this process off
    /// before reading progress, so nothing here can land after it starts.
    fn hand_over_transactions(
        &self,
        txns: &Transactions,
        consumer: &BaseConsumer<RebalanceContext>,
        ids: &[SlotId],
        lost: bool,
    ) -> Result<(), SourceError> {
        let timeout = match self.stopping_deadline() {
            Some(by) => by
                .saturating_duration_since(Instant::now())
                .max(Duration::from_secs(1)),
            None => self.settings.drain_timeout,
        };
        if lost {
            tracing::warn!("partitions lost without a clean hand-over; their transactions abort");
        }
        if let Err(e) = txns.settle(self, consumer, Which::Slots(ids), lost, timeout) {
            tracing::error!(error = %e, "ending the transactions of revoked partitions");
        }
        txns.release(ids);
        self.close_slots(consumer, ids);
        Ok(())
    }

    /// Stops tracking handed-over partitions.
    fn close_slots(&self, consumer: &BaseConsumer<RebalanceContext>, ids: &[SlotId]) {
        let mut t = lock(&self.tracker);
        let mut paused = TopicPartitionList::new();
        for &id in ids {
            self.status.partition_released(id);
            if let Some(s) = t.close(id) {
                if let Some(reader) = &self.reader {
                    reader.stop(&s.topic, s.partition);
                } else if s.blocked.is_some() {
                    paused.add_partition(&s.topic, s.partition);
                }
                tracing::info!(topic = %s.topic, partition = s.partition, "partition handed over");
            }
        }
        drop(t);
        // librdkafka keeps an application pause across assignments: a blocked partition that
        // comes back to this process later must not come back paused.
        if paused.count() > 0
            && let Err(e) = consumer.resume(&paused)
        {
            tracing::warn!(error = %e, "resuming blocked partitions on hand-over");
        }
    }
}
