//! A librdkafka producer whose events (delivery reports, errors, statistics) are served by a
//! thread of its own that sleeps until there is one: what `rdkafka`'s `ThreadedProducer` does,
//! without its cost at rest. Its thread calls `poll` every 100 ms, and each call ends by
//! spinning through its last millisecond (measured: 0.9 % of a core per producer, idle or not;
//! an idle flow with exactly-once and 32 partitions used 0.32 cores). Here librdkafka wakes
//! the thread when its queue receives an event, and each event is served without waiting.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::util::Timeout;
use tokio::sync::oneshot;

use super::ffi::{self, QueueWakeup};

/// How long the thread sleeps at most without a wake-up: a safety net only, every event
/// wakes it.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// A [`BaseProducer`] with a thread serving its events. Clones share the producer; the last
/// one dropped stops the thread, then the producer.
pub struct PolledProducer<C: ProducerContext + 'static> {
    // Declared first, so dropped first: the thread stops before the producer goes.
    poller: Arc<Poller>,
    producer: Arc<BaseProducer<C>>,
}

/// The serving thread, stopped when the last clone goes.
struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<C: ProducerContext + 'static> PolledProducer<C> {
    /// Creates the producer from `config` with `context`, and its serving thread.
    pub fn create(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let producer: Arc<BaseProducer<C>> = Arc::new(config.create_with_context(context)?);
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<QueueWakeup>();
        let thread = {
            let producer = producer.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("strait-reports".to_owned())
                .spawn(move || {
                    // The wake-up needs this thread's handle, so it is made after the spawn.
                    // The thread owns it: it goes (and librdkafka stops calling it) when the
                    // thread ends, before the producer can.
                    let Ok(wakeup) = ready_rx.recv() else {
                        return;
                    };
                    serve(&producer, &wakeup, &stop);
                })
                .map_err(|e| KafkaError::ClientCreation(format!("starting its thread: {e}")))?
        };
        let wakeup = QueueWakeup::enable(producer.client(), thread.thread().clone());
        // Only fails if the thread is gone, and then the wake-up is dropped here.
        let _ = ready_tx.send(wakeup);
        Ok(Self {
            poller: Arc::new(Poller {
                stop,
                thread: Some(thread),
            }),
            producer,
        })
    }

    /// Sends what lingers at once and waits until every record sent has its outcome served,
    /// or `timeout`. `rdkafka`'s own `flush` polls in steps of 100 ms that each last their
    /// whole 100 ms, events or not, so it took at least that long whenever a record was still
    /// out: a progress write held the replication loop for 100 ms, and every exactly-once
    /// commit (which flushes first) lasted 100 ms more.
    pub fn flush(&self, timeout: impl Into<Timeout>) -> KafkaResult<()> {
        let timeout = match timeout.into() {
            Timeout::After(d) => Some(d),
            Timeout::Never => None,
        };
        if ffi::flush(self.producer.client(), timeout) {
            Ok(())
        } else {
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
        }
    }

    /// Commits the open transaction: [`Self::flush`], then librdkafka's commit, whose own
    /// flush then finds nothing left.
    pub fn commit_transaction(&self, timeout: impl Into<Timeout>) -> KafkaResult<()> {
        let timeout = timeout.into();
        self.flush(timeout)?;
        Producer::commit_transaction(&*self.producer, timeout)
    }
}

impl<C: ProducerContext + 'static> Clone for PolledProducer<C> {
    fn clone(&self) -> Self {
        Self {
            poller: self.poller.clone(),
            producer: self.producer.clone(),
        }
    }
}

impl<C: ProducerContext + 'static> Deref for PolledProducer<C> {
    type Target = BaseProducer<C>;

    fn deref(&self) -> &BaseProducer<C> {
        &self.producer
    }
}

impl<C: ProducerContext + 'static> std::fmt::Debug for PolledProducer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolledProducer")
            .field("in_flight", &self.producer.in_flight_count())
            .finish_non_exhaustive()
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A panic of the thread is a bug in a delivery callback; it was reported when it
            // happened, and stopping goes on.
            let _ = thread.join();
        }
    }
}

/// Serves every event as it comes until `stop`: each `poll` with no timeout serves one event,
/// if any, and returns at once.
fn serve<C: ProducerContext>(producer: &BaseProducer<C>, wakeup: &QueueWakeup, stop: &AtomicBool) {
    loop {
        for _ in 0..wakeup.pending() {
            producer.poll(Duration::ZERO);
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
        if wakeup.pending() == 0 {
            std::thread::park_timeout(IDLE_CHECK);
        }
    }
}

/// Delivery outcomes handed back one by one, for producers that wait for each of their few
/// records (heartbeats, checkpoints).
#[derive(Debug, Default)]
pub struct AckContext;

/// The outcome of one record sent with [`PolledProducer::send_acked`].
pub type Ack = oneshot::Receiver<KafkaResult<()>>;

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Box<oneshot::Sender<KafkaResult<()>>>;

    fn delivery(&self, result: &DeliveryResult<'_>, reply: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.clone()),
        };
        // The waiter may have given up; its record's outcome is then no one's business.
        let _ = reply.send(outcome);
    }
}

impl PolledProducer<AckContext> {
    /// Sends one record; its outcome comes on the returned channel, within the producer's
    /// delivery timeout.
    pub fn send_acked(&self, record: AckedRecord<'_>) -> KafkaResult<Ack> {
        let (tx, rx) = oneshot::channel();
        let base = BaseRecord::with_opaque_to(record.topic, Box::new(tx))
            .partition(record.partition)
            .key(record.key)
            .payload(record.value)
            .timestamp(record.timestamp);
        self.producer.send(base).map_err(|(e, _)| e)?;
        Ok(rx)
    }
}

/// A record for [`PolledProducer::send_acked`].
#[derive(Debug, Clone, Copy)]
pub struct AckedRecord<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// The timestamp (ms since the epoch).
    pub timestamp: i64,
}
