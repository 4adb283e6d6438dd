//! Runs one flow: checks both clusters, prepares internal and remote topics, starts the
//! replication pipeline and keeps the set of replicated topics fresh until told to stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use tokio::sync::watch;
use tracing::Instrument;

use crate::config::{
    FlowConfig, OffsetSyncsLocation, SourceConnectorConfig, SourceReader, TargetWriter,
};
use crate::flow::election::spawn_election;
use crate::kafka::fetch::FetchSettings;
use crate::kafka::polled_producer::PolledProducer;
use crate::kafka::writer::connection::MAX_RESPONSE;
use crate::kafka::writer::{Codec, SenderSettings, WriterError, WriterSettings};
use crate::kafka::{ClientRole, CountingContext, check_connection, client_config};
use crate::source::SourceError;
use crate::source::pipeline::{
    self, OffsetSyncTarget, PipelineSettings, StartWithoutProgress, TransactionSettings,
    WireReaderSettings, WireWriterSettings,
};
use crate::source::progress::ProgressStore;
use crate::source::topics::{ReplicatedTopic, TopicAdmin, TopicSelector};
use crate::status::{Component, ComponentState, FlowStatus};

/// Why a flow stopped.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Source replication failed.
    #[error("flow {flow}: {source}")]
    Source {
        /// `<source>-><target>`.
        flow: String,
        /// What failed.
        source: SourceError,
    },
}

fn source_err(flow: &FlowConfig) -> impl Fn(SourceError) -> FlowError + '_ {
    move |source| FlowError::Source {
        flow: flow.name(),
        source,
    }
}

/// Runs `flow` until `stop` turns true, then stops cleanly (everything sent acknowledged and
/// its progress written).
pub async fn run_flow(flow: FlowConfig, stop: watch::Receiver<bool>) -> Result<(), FlowError> {
    let status = Arc::new(FlowStatus::new(&flow));
    run_flow_with_status(flow, stop, status).await
}

/// [`run_flow`], reporting into `status` (see [`crate::status`]) and sampling lag meanwhile.
/// Everything the flow logs, on any of its tasks and threads, carries a `flow` span naming it.
pub async fn run_flow_with_status(
    flow: FlowConfig,
    stop: watch::Receiver<bool>,
    status: Arc<FlowStatus>,
) -> Result<(), FlowError> {
    let span = tracing::info_span!("flow", flow = %flow.name());
    async move {
        let _sampler = crate::status::sampler::start(status.clone(), &flow);
        if flow.source_connector.as_ref().is_some_and(|s| s.enabled) {
            status.set_state(Component::Source, ComponentState::Starting);
        }
        let result = run_flow_inner(flow, stop, status.clone()).await;
        status.finished(result.as_ref().err().map(|e| e as &dyn std::fmt::Display));
        result
    }
    .instrument(span)
    .await
}

async fn run_flow_inner(
    flow: FlowConfig,
    mut stop: watch::Receiver<bool>,
    status: Arc<FlowStatus>,
) -> Result<(), FlowError> {
    let Some(sc) = flow.source_connector.clone().filter(|s| s.enabled) else {
        tracing::info!("no source replication in this flow");
        let companions = crate::flow::companions::spawn(&flow, None, Some(status.clone()));
        stopped(&mut stop).await;
        stop_companions(Some(companions)).await;
        return Ok(());
    };
    let err = source_err(&flow);
    check_clusters(&flow).await.map_err(&err)?;
    // Missing ACLs named up front, in the background (docs/permissions.md).
    crate::permissions::spawn_start_check(&flow);
    let prepared = prepare(&flow, &sc).await.map_err(&err)?;
    let replication = start_replication(&flow, &sc, prepared, status.clone()).map_err(&err)?;
    status.set_state(Component::Source, ComponentState::Running);
    let result = supervise(&flow, &sc, replication, stop, status)
        .await
        .map_err(&err);
    if result.is_ok() {
        tracing::info!("stopped cleanly");
    }
    result
}

/// Both clusters answer with the configured credentials, or the flow fails at once with an
/// error naming the cluster and what is wrong (authentication, TLS, unreachable).
async fn check_clusters(flow: &FlowConfig) -> Result<(), SourceError> {
    for (alias, conn) in [
        (&flow.source_alias, &flow.source),
        (&flow.target_alias, &flow.target),
    ] {
        let (alias, conn) = (alias.clone(), conn.clone());
        let brokers = tokio::task::spawn_blocking(move || {
            check_connection(&alias, &conn, Duration::from_secs(30))
        })
        .await
        .map_err(|e| SourceError::Panicked(e.to_string()))??;
        tracing::info!(brokers, "cluster reachable");
    }
    Ok(())
}

/// What replication needs before its first record: admin clients, the topic selection, the
/// offsets topic and progress store, where offset syncs go, and the topics to subscribe to.
struct Prepared {
    target_cfg: ClientConfig,
    selector: Arc<TopicSelector>,
    admin: Arc<TopicAdmin>,
    progress: ProgressStore,
    offset_syncs: Option<OffsetSyncTarget>,
    initial_topics: Vec<ReplicatedTopic>,
}

async fn prepare(flow: &FlowConfig, sc: &SourceConnectorConfig) -> Result<Prepared, SourceError> {
    let name = flow.name();
    let source_cfg = client_config(&flow.source, &name, ClientRole::SourceAdmin)?;
    let target_cfg = client_config(&flow.target, &name, ClientRole::TargetAdmin)?;
    let selector = Arc::new(TopicSelector::new(flow, sc)?);
    let admin = Arc::new(TopicAdmin::new(&source_cfg, &target_cfg, sc)?);
    let offsets_partitions = admin
        .ensure_compacted_topic(
            true,
            &flow.worker.offset_storage_topic,
            flow.worker.offset_storage_partitions,
            flow.worker.offset_storage_replication_factor,
        )
        .await?;
    let progress = ProgressStore::new(
        &target_cfg,
        &flow.worker.offset_storage_topic,
        offsets_partitions,
        &sc.name,
        &flow.source_alias,
    )?
    // Exactly-once must not start from progress older than the newest committed: reads wait
    // for transactions open in the offsets topic (see the reader).
    .reading_to_high_watermark(sc.exactly_once.is_some());
    let offset_syncs =
        offset_sync_target(flow, sc, &selector, &admin, &source_cfg, &target_cfg).await?;
    // Every process subscribes to the same topics; creating remote topics up front is left to
    // the elected process (and to whoever is assigned a partition, right before writing to it).
    let initial_topics = admin.replicated_topics(&selector).await?;
    Ok(Prepared {
        target_cfg,
        selector,
        admin,
        progress,
        offset_syncs,
        initial_topics,
    })
}

/// The replication thread, and what the runner keeps to steer it and the flow's duties.
struct Replication {
    done_rx: tokio::sync::oneshot::Receiver<Result<(), SourceError>>,
    stop_flag: Arc<AtomicBool>,
    topics_tx: watch::Sender<Vec<ReplicatedTopic>>,
    target_cfg: ClientConfig,
    selector: Arc<TopicSelector>,
    admin: Arc<TopicAdmin>,
}

fn start_replication(
    flow: &FlowConfig,
    sc: &SourceConnectorConfig,
    prepared: Prepared,
    status: Arc<FlowStatus>,
) -> Result<Replication, SourceError> {
    let Prepared {
        target_cfg,
        selector,
        admin,
        progress,
        offset_syncs,
        initial_topics,
    } = prepared;
    let (topics_tx, topics_rx) = watch::channel(initial_topics);
    let consumer_cfg = consumer_config(flow, sc)?;
    let producer_cfg = producer_config(flow, sc)?;
    let writer = sc.writer_choice(&flow.target);
    tracing::info!(
        writer = writer.writer.as_str(),
        why = %writer.why,
        "target writer chosen"
    );
    let reader = sc.reader_choice(&flow.source, &flow.target);
    tracing::info!(
        reader = reader.reader.as_str(),
        why = %reader.why,
        "source reader chosen"
    );
    let settings = PipelineSettings {
        flush_interval: sc.offset_flush_interval,
        max_in_flight_bytes: sc.max_in_flight_bytes,
        start_without_progress: StartWithoutProgress::from_reset(
            consumer_cfg.get("auto.offset.reset"),
        ),
        drain_timeout: delivery_timeout(&producer_cfg) + DRAIN_MARGIN,
        shutdown_timeout: SHUTDOWN_TIMEOUT,
        retry_backoff_max: sc.retry_backoff_max,
        producer_lanes: producer_lanes(sc.tasks_max),
        transactions: sc.exactly_once.as_ref().map(|e| TransactionSettings {
            transactional_id_prefix: e.transactional_id_prefix.clone(),
            commit_interval: e.commit_interval,
            transaction_timeout: e.transaction_timeout,
        }),
        wire_writer: match writer.writer {
            TargetWriter::Wire => Some(wire_writer_settings(flow, &producer_cfg)?),
            TargetWriter::Librdkafka | TargetWriter::Auto => None,
        },
        wire_reader: match (reader.reader, writer.writer) {
            (SourceReader::Wire, TargetWriter::Wire) => {
                Some(wire_reader_settings(flow, &consumer_cfg)?)
            }
            _ => None,
        },
    };
    let stop_flag = Arc::new(AtomicBool::new(false));
    let done_rx = {
        let (selector, admin, stop_flag) = (selector.clone(), admin.clone(), stop_flag.clone());
        let runtime = tokio::runtime::Handle::current();
        let offset_lag_max = sc.offset_lag_max;
        spawn_replication(format!("replicate {}", flow.name()), move || {
            pipeline::run(
                &consumer_cfg,
                &producer_cfg,
                progress,
                offset_syncs,
                selector,
                admin,
                runtime,
                settings,
                offset_lag_max,
                topics_rx,
                stop_flag,
                status,
            )
        })?
    };
    Ok(Replication {
        done_rx,
        stop_flag,
        topics_tx,
        target_cfg,
        selector,
        admin,
    })
}

/// Runs beside the replication thread until it ends or `stop` turns true: the election, the
/// checkpointer and heartbeats, and the periodic duties (the elected process's only).
async fn supervise(
    flow: &FlowConfig,
    sc: &SourceConnectorConfig,
    replication: Replication,
    mut stop: watch::Receiver<bool>,
    status: Arc<FlowStatus>,
) -> Result<(), SourceError> {
    let Replication {
        mut done_rx,
        stop_flag,
        topics_tx,
        target_cfg,
        selector,
        admin,
    } = replication;
    let election_stop = Arc::new(AtomicBool::new(false));
    let mut leader = spawn_election(
        &target_cfg,
        &format!("{}-strait-duties", flow.worker.group_id),
        &flow.worker.offset_storage_topic,
        election_stop.clone(),
    )
    .map_err(|source| SourceError::Client {
        what: "election consumer",
        source,
    })?;
    // Checkpoints and heartbeats run beside replication, led by the same election.
    let mut companions = Some(crate::flow::companions::spawn(
        flow,
        Some(leader.clone()),
        Some(status),
    ));
    let mut duties = Duties::new(sc);
    let result = loop {
        tokio::select! {
            r = &mut done_rx => {
                break replication_outcome(r);
            }
            _ = stopped(&mut stop) => {
                stop_flag.store(true, Ordering::Release);
                // Both stop at once, so the pod's grace period covers the longer, not the sum.
                let (r, ()) = tokio::join!(&mut done_rx, stop_companions(companions.take()));
                break replication_outcome(r);
            }
            Ok(()) = leader.changed() => {
                // A new leader catches up on the duties at once.
                if *leader.borrow_and_update() {
                    duties.all_due_now();
                }
            }
            _ = sleep_until_or_forever(duties.next()) => {
                let leads = *leader.borrow();
                let due = duties.take_due(tokio::time::Instant::now());
                // A duty can wait long on an unreachable cluster; a stop must not wait for it
                // (the next turn sees the stop at once).
                tokio::select! {
                    r = run_duties(&admin, &selector, &topics_tx, leads, due) => {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "a periodic duty failed; will retry");
                        }
                    }
                    _ = stopped(&mut stop) => {}
                }
            }
        }
    };
    stop_companions(companions.take()).await;
    election_stop.store(true, Ordering::Release);
    result
}

/// The longest a flow takes to stop: below the 90 s termination grace period of the
/// deployment in deploy/, with room for the checkpointer and the consumer leaving its group.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(45);

/// Beyond the producer's delivery timeout, how long a hand-over waits for the last reports
/// (an in-flight request times out after `request.timeout.ms`, 30 s by default).
const DRAIN_MARGIN: Duration = Duration::from_secs(35);

/// Strait's own target writer, configured from the same producer settings librdkafka gets:
/// `compression.type`, `linger.ms`, `delivery.timeout.ms`, `request.timeout.ms`,
/// `retry.backoff.ms`, `batch.size` and `client.id`. Other librdkafka settings do not apply.
fn wire_writer_settings(
    flow: &FlowConfig,
    producer: &ClientConfig,
) -> Result<WireWriterSettings, SourceError> {
    let millis = |keys: &[&str], default: Duration| -> Result<Duration, WriterError> {
        for key in keys {
            if let Some(v) = producer.get(key) {
                return v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| WriterError::Settings {
                        key: (*key).to_owned(),
                        detail: format!("'{v}' is not a number of milliseconds"),
                    });
            }
        }
        Ok(default)
    };
    let codec_name = producer.get("compression.type").unwrap_or("none");
    let codec = Codec::from_name(codec_name).ok_or_else(|| WriterError::Settings {
        key: "compression.type".to_owned(),
        detail: format!("'{codec_name}' is not valid (expected none, gzip, snappy, lz4 or zstd)"),
    })?;
    let defaults = SenderSettings::default();
    let batch_max_bytes = match producer.get("batch.size") {
        None => defaults.batch_max_bytes,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| WriterError::Settings {
                key: "batch.size".to_owned(),
                detail: format!("'{v}' is not a positive number of bytes"),
            })?,
    };
    Ok(WireWriterSettings {
        target: flow.target.clone(),
        sender: SenderSettings {
            writer: WriterSettings {
                client_id: producer.get("client.id").unwrap_or("strait").to_owned(),
                codec,
                request_timeout: millis(&["request.timeout.ms"], Duration::from_secs(30))?,
            },
            linger: millis(&["linger.ms", "queue.buffering.max.ms"], LINGER)?,
            // librdkafka's 0 means no limit.
            delivery_timeout: Some(delivery_timeout(producer))
                .filter(|t| !t.is_zero())
                .unwrap_or(Duration::from_secs(365 * 24 * 3600)),
            retry_backoff: millis(&["retry.backoff.ms"], defaults.retry_backoff)?,
            batch_max_bytes,
            ..defaults
        },
    })
}

/// Strait's own source reader, configured from the replication consumer's settings
/// (librdkafka names): `fetch.wait.max.ms`, `fetch.min.bytes`, `fetch.max.bytes`,
/// `max.partition.fetch.bytes`, `isolation.level`, `client.id` and `socket.timeout.ms`.
fn wire_reader_settings(
    flow: &FlowConfig,
    consumer: &ClientConfig,
) -> Result<WireReaderSettings, SourceError> {
    let number = |keys: &[&str], default: i64| -> Result<i64, SourceError> {
        for key in keys {
            if let Some(v) = consumer.get(key) {
                return v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        SourceError::Reader(WriterError::Settings {
                            key: (*key).to_owned(),
                            detail: format!("'{v}' is not a number of 0 or more"),
                        })
                    });
            }
        }
        Ok(default)
    };
    let bytes = |keys: &[&str], default: i32| -> Result<i32, SourceError> {
        let n = number(keys, i64::from(default))?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX).max(1))
    };
    let defaults = FetchSettings::default();
    let millis = |keys: &[&str], default: Duration| -> Result<Duration, SourceError> {
        let ms = number(keys, i64::try_from(default.as_millis()).unwrap_or(i64::MAX))?;
        Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    };
    let fetch = FetchSettings {
        max_wait: millis(&["fetch.wait.max.ms"], FETCH_WAIT_MAX)?,
        min_bytes: bytes(&["fetch.min.bytes"], defaults.min_bytes)?,
        max_bytes: bytes(&["fetch.max.bytes"], defaults.max_bytes)?,
        partition_max_bytes: bytes(
            &["max.partition.fetch.bytes", "fetch.message.max.bytes"],
            defaults.partition_max_bytes,
        )?,
        read_committed: consumer
            .get("isolation.level")
            .is_none_or(|l| l.trim() != "read_uncommitted"),
    };
    let request_timeout =
        millis(&["socket.timeout.ms"], Duration::from_secs(30))?.max(Duration::from_secs(1));
    // What librdkafka accepts must not fail the flow where `auto` chose the fetcher: an
    // answer larger than a connection reads, or a wait the request timeout would cut short,
    // is brought within bounds instead.
    let mut fetch = fetch;
    let most = i32::try_from(MAX_RESPONSE).unwrap_or(i32::MAX);
    fetch.max_bytes = fetch.max_bytes.min(most);
    fetch.partition_max_bytes = fetch.partition_max_bytes.min(most);
    fetch.max_wait = fetch.max_wait.min(request_timeout / 2);
    Ok(WireReaderSettings {
        source: flow.source.clone(),
        client_id: consumer.get("client.id").unwrap_or("strait").to_owned(),
        request_timeout,
        fetch,
    })
}

/// The replication producer's delivery timeout, as configured.
fn delivery_timeout(producer: &ClientConfig) -> Duration {
    producer
        .get("message.timeout.ms")
        .or_else(|| producer.get("delivery.timeout.ms"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DELIVERY_TIMEOUT, Duration::from_millis)
}

/// Runs the replication pipeline on a thread of its own. The receiver yields its result; a
/// panic becomes an error, so a crashed thread can never look like a clean stop.
fn spawn_replication(
    name: String,
    run: impl FnOnce() -> Result<(), SourceError> + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<Result<(), SourceError>>, SourceError> {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let _flow = span.enter();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or_else(|panic| Err(SourceError::Panicked(panic_message(&*panic))));
            let _ = done_tx.send(r);
        })
        .map_err(SourceError::Thread)?;
    Ok(done_rx)
}

/// What the replication thread's receiver says about how it ended.
fn replication_outcome(
    received: Result<Result<(), SourceError>, tokio::sync::oneshot::error::RecvError>,
) -> Result<(), SourceError> {
    received.unwrap_or_else(|_| {
        Err(SourceError::Panicked(
            "the replication thread ended without reporting how".to_owned(),
        ))
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// How long the checkpointer and heartbeat emitter may take to stop.
const COMPANIONS_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Stops the checkpointer and heartbeat emitter, within [`COMPANIONS_STOP_TIMEOUT`].
async fn stop_companions(companions: Option<crate::flow::companions::Companions>) {
    let Some(c) = companions else { return };
    if tokio::time::timeout(COMPANIONS_STOP_TIMEOUT, c.stop())
        .await
        .is_err()
    {
        tracing::warn!(
            "checkpointer and heartbeats did not stop within {COMPANIONS_STOP_TIMEOUT:?}"
        );
    }
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn sleep_until_or_forever(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Which periodic duties are due in one round.
#[derive(Debug, Clone, Copy, Default)]
struct Due {
    refresh: bool,
    configs: bool,
    acls: bool,
}

/// The schedule of a flow's periodic duties: topic refresh (every process, as each needs the
/// topic list to subscribe), config and ACL sync (the elected process only).
struct Duties {
    every: [Option<Duration>; 3],
    next: [Option<tokio::time::Instant>; 3],
}

impl Duties {
    fn new(sc: &SourceConnectorConfig) -> Self {
        let every = [
            sc.refresh_topics_enabled
                .then_some(sc.refresh_topics_interval),
            sc.sync_topic_configs_enabled
                .then_some(sc.sync_topic_configs_interval),
            sc.sync_topic_acls_enabled
                .then_some(sc.sync_topic_acls_interval),
        ];
        let now = tokio::time::Instant::now();
        Self {
            every,
            next: every.map(|e| e.map(|d| now + d)),
        }
    }

    fn all_due_now(&mut self) {
        let now = tokio::time::Instant::now();
        for (next, every) in self.next.iter_mut().zip(self.every) {
            if every.is_some() {
                *next = Some(now);
            }
        }
    }

    fn next(&self) -> Option<tokio::time::Instant> {
        self.next.iter().flatten().min().copied()
    }

    fn take_due(&mut self, now: tokio::time::Instant) -> Due {
        let mut due = [false; 3];
        for ((next, every), due) in self.next.iter_mut().zip(self.every).zip(&mut due) {
            if next.is_some_and(|n| n <= now) {
                *due = true;
                *next = every.map(|d| now + d);
            }
        }
        Due {
            refresh: due[0],
            configs: due[1],
            acls: due[2],
        }
    }
}

/// Runs the due duties: every process lists the replicated topics (it subscribes to them); the
/// leader also keeps the remote topics, their configs and their ACLs in step.
async fn run_duties(
    admin: &TopicAdmin,
    selector: &TopicSelector,
    topics_tx: &watch::Sender<Vec<ReplicatedTopic>>,
    leads: bool,
    due: Due,
) -> Result<(), SourceError> {
    if !(due.refresh || leads) {
        return Ok(());
    }
    let topics = admin.replicated_topics(selector).await?;
    if leads {
        admin.ensure_remote_topics(&topics).await?;
        if due.configs {
            admin.sync_topic_configs(&topics).await?;
        }
        if due.acls {
            admin.sync_topic_acls(&topics).await?;
        }
    }
    topics_tx.send_if_modified(|cur| {
        let changed = *cur != topics;
        if changed {
            *cur = topics;
        }
        changed
    });
    Ok(())
}

/// The replication producer's delivery timeout unless configured (Java's default).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Bytes a source fetch waits for (up to [`FETCH_WAIT_MAX`]) before the broker answers.
const FETCH_MIN_BYTES: u32 = 256 * 1024;

/// The longest a source fetch waits for [`FETCH_MIN_BYTES`]: added to latency at moderate
/// rates. Below that many bytes, each fetch answer carries every partition's records as TLS
/// records of their own, which librdkafka reads two system calls each (26 000 a second at
/// 5000 records/s on 64 partitions with 5 ms, 12 000 with 20 ms). On 16 partitions 20 ms used
/// 0.05-0.07 cores against 0.11 with 5 ms, for a p50 of 20 ms against 12 and the p99 no worse
/// (bench, issue 15; docs/performance.md). `consumer.fetch.max.wait.ms` changes it.
const FETCH_WAIT_MAX: Duration = Duration::from_millis(20);

/// How long the target producer waits to fill a partition's batch. librdkafka sends one
/// produce request per partition per period, so this sets the steady-state CPU against the
/// latency: at 5000 records/s on 16 partitions, 5 ms used 0.19 cores with a 12 ms p50, 20 ms
/// 0.13 cores with 18 ms (bench, issue 15; docs/performance.md). Kafka's own producer
/// default; `producer.override.linger.ms` changes it.
const LINGER: Duration = Duration::from_millis(5);

/// The most target producers one process runs for a flow.
const MAX_PRODUCER_LANES: usize = 2;

/// How many target producers run side by side: `tasks.max`, MM2's parallelism knob, up to
/// [`MAX_PRODUCER_LANES`]. librdkafka sends one partition per produce request and keeps at
/// most 5 requests in flight per connection (idempotence), so a second producer (a second
/// connection) lets many partitions on one broker wait less behind each other. More cost
/// more than they give: each producer's broker thread wakes for every linger period of every
/// partition it carries. Measured on 2 cores, 16 partitions at 5000 1 KiB records/s (bench,
/// issue 15): 0.38 cores with 8 producers, 0.22 with 2, p99 the same within the machine's
/// noise (94-95 ms); catch-up throughput the same.
fn producer_lanes(tasks_max: u32) -> usize {
    usize::try_from(tasks_max)
        .unwrap_or(MAX_PRODUCER_LANES)
        .clamp(1, MAX_PRODUCER_LANES)
}

fn consumer_config(
    flow: &FlowConfig,
    sc: &SourceConnectorConfig,
) -> Result<ClientConfig, SourceError> {
    let mut c = client_config(&flow.source, &flow.name(), ClientRole::ReplicationConsumer)?;
    // librdkafka's prefetch queue is memory too: keep it within the in-flight budget.
    let queue_kb = (sc.max_in_flight_bytes / 1024 / 2).clamp(1024, 1024 * 1024);
    c.set("group.id", &flow.worker.group_id)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "false")
        // MM2's default. It also decides where a position that fell out of the log goes
        // (records deleted unread, a recreated topic): librdkafka's own default, `latest`,
        // would silently skip everything still retained. Jumps are reported (replicate.rs).
        .set("auto.offset.reset", "earliest")
        // A crashed process's partitions move to the others after this long (Kafka Connect
        // uses the same for its workers); `source.consumer.session.timeout.ms` overrides it.
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "3000")
        .set("queued.max.messages.kbytes", queue_kb.to_string())
        // When that queue is full, librdkafka holds each partition's next fetch back for this
        // long (default 1 s). Under backpressure the queue fills and drains all the time, and a
        // second-long pause per partition left the pipeline idle most of a catch-up (measured:
        // 3-4 fetches/s and an empty queue); re-checking every 10 ms costs next to nothing.
        .set("fetch.queue.backoff.ms", "10")
        // Partitions added on the source reach the group at the next metadata refresh: keep
        // it in step with topic refresh so they are followed within the same interval.
        .set(
            "topic.metadata.refresh.interval.ms",
            sc.refresh_topics_interval
                .as_millis()
                .clamp(1_000, 300_000)
                .to_string(),
        );
    // A fetch answered as soon as one record is there makes one request, one TLS record and
    // one wake-up of every thread downstream per few records at moderate rates: the
    // consumer's broker thread was half of all CPU at 5000 records/s (flamegraph, issue 15).
    // Waiting for 256 KiB lets each fetch carry every partition's records at once (see
    // `FETCH_WAIT_MAX` for how long, and why); when catching up the bytes are there at once
    // and nothing waits. Defaults only: a cluster-wide setting of the user's stays, and
    // `consumer.*` overrides both.
    for (key, value) in [
        ("fetch.min.bytes", FETCH_MIN_BYTES.to_string()),
        ("fetch.wait.max.ms", FETCH_WAIT_MAX.as_millis().to_string()),
    ] {
        if c.get(key).is_none() {
            c.set(key, value);
        }
    }
    for (k, v) in &sc.consumer_overrides {
        c.set(k, v);
    }
    Ok(c)
}

fn producer_config(
    flow: &FlowConfig,
    sc: &SourceConnectorConfig,
) -> Result<ClientConfig, SourceError> {
    let mut c = client_config(&flow.target, &flow.name(), ClientRole::ReplicationProducer)?;
    c.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", &sc.compression_type)
        .set("linger.ms", LINGER.as_millis().to_string())
        // Kafka's Java producer default (MM2's): a record not written in this time fails and
        // blocks its partition until a retry. librdkafka's own default (300 s) would outlast
        // the consumer's max.poll.interval.ms while a hand-over waits for the last reports.
        .set(
            "message.timeout.ms",
            DELIVERY_TIMEOUT.as_millis().to_string(),
        )
        // Records up to the topic's own size limit must pass; the broker enforces the limit.
        .set("message.max.bytes", (16 * 1024 * 1024).to_string());
    // The configuration refuses overrides that would break ordering (acks, idempotence).
    for (k, v) in &sc.producer_overrides {
        c.set(k, v);
    }
    Ok(c)
}

/// The offset-syncs producer and topic per `offset-syncs.topic.location`, creating the topic.
async fn offset_sync_target(
    flow: &FlowConfig,
    sc: &SourceConnectorConfig,
    selector: &TopicSelector,
    admin: &TopicAdmin,
    source_cfg: &ClientConfig,
    target_cfg: &ClientConfig,
) -> Result<Option<OffsetSyncTarget>, SourceError> {
    if !sc.emit_offset_syncs_enabled {
        return Ok(None);
    }
    let (on_target, alias, base) = match sc.offset_syncs_topic_location {
        OffsetSyncsLocation::Source => (false, &flow.target_alias, source_cfg),
        OffsetSyncsLocation::Target => (true, &flow.source_alias, target_cfg),
    };
    let topic = selector.policy().offset_syncs_topic(alias);
    admin
        .ensure_compacted_topic(
            on_target,
            &topic,
            1,
            sc.offset_syncs_topic_replication_factor,
        )
        .await?;
    let mut cfg = base.clone();
    // Idempotent: a retried sync overtaken by a newer one would look like an upstream rewind
    // to every OffsetSyncStore reading the topic, and wipe its translation history.
    cfg.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "0");
    let producer = PolledProducer::create(&cfg, CountingContext::default()).map_err(|source| {
        SourceError::Client {
            what: "offset-syncs producer",
            source,
        }
    })?;
    Ok(Some(OffsetSyncTarget::new(producer, topic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producers_follow_tasks_max_up_to_the_cap() {
        assert_eq!(producer_lanes(0), 1);
        assert_eq!(producer_lanes(1), 1);
        assert_eq!(producer_lanes(2), 2);
        assert_eq!(producer_lanes(3), MAX_PRODUCER_LANES);
        assert_eq!(producer_lanes(16), MAX_PRODUCER_LANES);
        assert_eq!(producer_lanes(u32::MAX), MAX_PRODUCER_LANES);
    }

    #[tokio::test]
    async fn a_panicking_replication_thread_fails_the_flow() {
        let rx = spawn_replication("test".to_owned(), || panic!("boom at offset 7")).unwrap();
        let outcome = replication_outcome(rx.await);
        let Err(SourceError::Panicked(message)) = outcome else {
            panic!("a panic must not look like a clean stop: {outcome:?}");
        };
        assert!(message.contains("boom at offset 7"), "{message}");
        // A thread gone without sending (its sender dropped) is no clean stop either.
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<(), SourceError>>();
        drop(tx);
        assert!(matches!(
            replication_outcome(rx.await),
            Err(SourceError::Panicked(_))
        ));
        let rx = spawn_replication("test".to_owned(), || Ok(())).unwrap();
        assert!(replication_outcome(rx.await).is_ok());
    }

    #[test]
    fn the_drain_bound_follows_the_delivery_timeout() {
        let mut c = ClientConfig::new();
        assert_eq!(delivery_timeout(&c), DELIVERY_TIMEOUT);
        c.set("delivery.timeout.ms", "5000");
        assert_eq!(delivery_timeout(&c), Duration::from_secs(5));
        c.set("message.timeout.ms", "7000");
        assert_eq!(delivery_timeout(&c), Duration::from_secs(7));
    }
}
