//! Runs one flow: checks both clusters, prepares internal and remote topics, starts the
//! replication pipeline and keeps the set of replicated topics fresh until told to stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::{ClientConfig, Offset};
use tokio::sync::watch;

use crate::config::{FlowConfig, OffsetSyncsLocation, SourceConnectorConfig};
use crate::flow::election::spawn_election;
use crate::kafka::{ClientRole, CountingContext, check_connection, client_config};
use crate::source::SourceError;
use crate::source::pipeline::{self, OffsetSyncTarget, PipelineSettings};
use crate::source::progress::ProgressStore;
use crate::source::topics::{ReplicatedTopic, TopicAdmin, TopicSelector};

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
pub async fn run_flow(flow: FlowConfig, mut stop: watch::Receiver<bool>) -> Result<(), FlowError> {
    let Some(sc) = flow.source_connector.clone().filter(|s| s.enabled) else {
        tracing::info!(flow = %flow.name(), "no source replication in this flow");
        stopped(&mut stop).await;
        return Ok(());
    };
    let name = flow.name();
    let err = source_err(&flow);
    for (alias, conn) in [
        (&flow.source_alias, &flow.source),
        (&flow.target_alias, &flow.target),
    ] {
        let (alias, conn) = (alias.clone(), conn.clone());
        let brokers = tokio::task::spawn_blocking(move || {
            check_connection(&alias, &conn, Duration::from_secs(30))
        })
        .await
        .map_err(|e| {
            err(SourceError::Progress {
                topic: String::new(),
                detail: e.to_string(),
            })
        })?
        .map_err(|e| err(e.into()))?;
        tracing::info!(flow = %name, brokers, "cluster reachable");
    }

    let source_cfg =
        client_config(&flow.source, &name, ClientRole::SourceAdmin).map_err(|e| err(e.into()))?;
    let target_cfg =
        client_config(&flow.target, &name, ClientRole::TargetAdmin).map_err(|e| err(e.into()))?;
    let selector = Arc::new(TopicSelector::new(&flow, &sc).map_err(&err)?);
    let admin = Arc::new(TopicAdmin::new(&source_cfg, &target_cfg, &sc).map_err(&err)?);

    let offsets_partitions = admin
        .ensure_compacted_topic(
            true,
            &flow.worker.offset_storage_topic,
            flow.worker.offset_storage_partitions,
            flow.worker.offset_storage_replication_factor,
        )
        .await
        .map_err(&err)?;
    let progress = ProgressStore::new(
        &target_cfg,
        &flow.worker.offset_storage_topic,
        offsets_partitions,
        &sc.name,
        &flow.source_alias,
    )
    .map_err(&err)?;
    let offset_syncs = offset_sync_target(&flow, &sc, &selector, &admin, &source_cfg, &target_cfg)
        .await
        .map_err(&err)?;

    // Every process subscribes to the same topics; creating remote topics up front is left to
    // the elected process (and to whoever is assigned a partition, right before writing to it).
    let initial = admin.replicated_topics(&selector).await.map_err(&err)?;
    let (topics_tx, topics_rx) = watch::channel(initial);

    let settings = PipelineSettings {
        flush_interval: sc.offset_flush_interval,
        max_in_flight_bytes: sc.max_in_flight_bytes,
        start_without_progress: start_offset(&sc),
        drain_timeout: Duration::from_secs(60),
    };
    let consumer_cfg = consumer_config(&flow, &sc).map_err(&err)?;
    let producer_cfg = producer_config(&flow, &sc).map_err(&err)?;
    let stop_flag = Arc::new(AtomicBool::new(false));
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
    {
        let (selector, admin, stop_flag) = (selector.clone(), admin.clone(), stop_flag.clone());
        let runtime = tokio::runtime::Handle::current();
        let offset_lag_max = sc.offset_lag_max;
        std::thread::Builder::new()
            .name(format!("replicate {name}"))
            .spawn(move || {
                let r = pipeline::run(
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
                );
                let _ = done_tx.send(r);
            })
            .map_err(|e| {
                err(SourceError::Progress {
                    topic: String::new(),
                    detail: format!("cannot start the replication thread: {e}"),
                })
            })?;
    }

    let election_stop = Arc::new(AtomicBool::new(false));
    let mut leader = spawn_election(
        &target_cfg,
        &format!("{}-strait-duties", flow.worker.group_id),
        &flow.worker.offset_storage_topic,
        election_stop.clone(),
    )
    .map_err(|source| {
        err(SourceError::Client {
            what: "election consumer",
            source,
        })
    })?;
    let refresh = sc
        .refresh_topics_enabled
        .then_some(sc.refresh_topics_interval);
    let mut next_refresh = refresh.map(|d| tokio::time::Instant::now() + d);
    let result = loop {
        tokio::select! {
            r = &mut done_rx => {
                break r.unwrap_or(Ok(())).map_err(&err);
            }
            _ = stopped(&mut stop) => {
                stop_flag.store(true, Ordering::Release);
                break (&mut done_rx).await.unwrap_or(Ok(())).map_err(&err);
            }
            Ok(()) = leader.changed() => {
                // A new leader catches up on the duties at once.
                if *leader.borrow_and_update() {
                    next_refresh = Some(tokio::time::Instant::now());
                }
            }
            _ = sleep_until_or_forever(next_refresh) => {
                let leads = *leader.borrow();
                match refresh_topics(&admin, &selector, leads).await {
                    Ok(topics) => {
                        topics_tx.send_if_modified(|cur| {
                            let changed = *cur != topics;
                            if changed { *cur = topics; }
                            changed
                        });
                    }
                    Err(e) => tracing::warn!(flow = %name, error = %e, "refreshing topics failed; will retry"),
                }
                next_refresh = refresh.map(|d| tokio::time::Instant::now() + d);
            }
        }
    };
    election_stop.store(true, Ordering::Release);
    if result.is_ok() {
        tracing::info!(flow = %name, "stopped cleanly");
    }
    result
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

/// Lists the replicated topics (every process needs them to subscribe); the leader also keeps
/// the remote topics in step.
async fn refresh_topics(
    admin: &TopicAdmin,
    selector: &TopicSelector,
    leads: bool,
) -> Result<Vec<ReplicatedTopic>, SourceError> {
    let topics = admin.replicated_topics(selector).await?;
    if leads {
        admin.ensure_remote_topics(&topics).await?;
    }
    Ok(topics)
}

fn start_offset(sc: &SourceConnectorConfig) -> Offset {
    match sc
        .consumer_overrides
        .get("auto.offset.reset")
        .map(String::as_str)
    {
        Some("latest" | "largest" | "end") => Offset::End,
        _ => Offset::Beginning,
    }
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
        .set("queued.max.messages.kbytes", queue_kb.to_string())
        // Partitions added on the source reach the group at the next metadata refresh: keep
        // it in step with topic refresh so they are followed within the same interval.
        .set(
            "topic.metadata.refresh.interval.ms",
            sc.refresh_topics_interval
                .as_millis()
                .clamp(1_000, 300_000)
                .to_string(),
        );
    for (k, v) in &sc.consumer_overrides {
        if k != "auto.offset.reset" {
            c.set(k, v);
        }
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
        .set("linger.ms", "5")
        // Records up to the topic's own size limit must pass; the broker enforces the limit.
        .set("message.max.bytes", (16 * 1024 * 1024).to_string());
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
    cfg.set("acks", "all").set("linger.ms", "0");
    let producer = cfg
        .create_with_context(CountingContext::default())
        .map_err(|source| SourceError::Client {
            what: "offset-syncs producer",
            source,
        })?;
    Ok(Some(OffsetSyncTarget { producer, topic }))
}
