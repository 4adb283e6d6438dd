//! What to check: the partitions of every replicated source topic the flows and filters
//! select, with both sides' offset ranges, and an offset sync to start the search from.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::reader::{PartitionReader, REQUEST_TIMEOUT, reader_config};
use super::{VerifyError, VerifyOptions};
use crate::config::{FlowConfig, OffsetSyncsLocation, SourceConnectorConfig};
use crate::kafka::{ClientRole, check_connection, client_config};
use crate::policy::PatternList;
use crate::source::topics::TopicSelector;
use crate::wire::OffsetSync;

/// The clients of one flow.
#[derive(Debug)]
pub struct FlowClients {
    /// `<source>-><target>`.
    pub name: String,
    /// Reader settings for the source cluster.
    pub source: ClientConfig,
    /// Reader settings for the target cluster.
    pub target: ClientConfig,
}

/// One partition to check.
#[derive(Debug, Clone)]
pub struct Job {
    /// Index of the flow in [`Plan::flows`].
    pub flow: usize,
    /// Source topic.
    pub topic: String,
    /// Remote topic on the target.
    pub remote: String,
    /// Partition (the same on both sides).
    pub partition: i32,
    /// Source low and high watermarks.
    pub source: (i64, i64),
    /// Target low and high watermarks; `None` when the remote partition does not exist.
    pub target: Option<(i64, i64)>,
    /// First source offset to compare.
    pub from: i64,
    /// Whether the user chose `from` (`--from-offset`).
    pub from_given: bool,
    /// The latest offset sync (upstream, downstream) at or before `from`, if any.
    pub anchor: Option<(i64, i64)>,
}

impl Job {
    /// Source offsets in the compared range (an upper bound of its records).
    pub fn source_span(&self) -> u64 {
        u64::try_from(self.source.1 - self.from).unwrap_or(0)
    }
}

/// Everything to check.
#[derive(Debug)]
pub struct Plan {
    /// The flows the jobs belong to.
    pub flows: Vec<FlowClients>,
    /// The partitions.
    pub jobs: Vec<Job>,
}

fn selected<'a>(flow: &'a FlowConfig, opts: &VerifyOptions) -> Option<&'a SourceConnectorConfig> {
    let named = opts.flows.is_empty()
        || opts
            .flows
            .iter()
            .any(|f| *f == flow.name() || *f == flow.source_alias);
    let sc = flow.source_connector.as_ref().filter(|sc| sc.enabled);
    if named && sc.is_none() && !opts.flows.is_empty() {
        tracing::warn!(flow = %flow.name(), "the flow replicates no topics (no enabled source connector); skipped");
    }
    sc.filter(|_| named)
}

/// Lists the partitions to check and reads their watermarks and offset syncs.
pub fn plan(flows: &[FlowConfig], opts: &VerifyOptions) -> Result<Plan, VerifyError> {
    let topic_filter = if opts.topics.is_empty() {
        None
    } else {
        Some(PatternList::new("--topic", &opts.topics)?)
    };
    let mut plan = Plan {
        flows: Vec::new(),
        jobs: Vec::new(),
    };
    for flow in flows {
        let Some(sc) = selected(flow, opts) else {
            continue;
        };
        let name = flow.name();
        let t = Instant::now();
        // Fail fast and clearly on credentials and TLS, not after a metadata timeout.
        check_connection(&flow.source_alias, &flow.source, Duration::from_secs(30))?;
        check_connection(&flow.target_alias, &flow.target, Duration::from_secs(30))?;
        let source = reader_config(
            &client_config(&flow.source, &name, ClientRole::SourceAdmin)?,
            &name,
        );
        let target = reader_config(
            &client_config(&flow.target, &name, ClientRole::TargetAdmin)?,
            &name,
        );
        tracing::debug!(flow = %name, elapsed = ?t.elapsed(), "clusters reachable");
        let idle = opts.idle_timeout;
        let src = PartitionReader::new(&source, "source", true, idle)?;
        let tgt = PartitionReader::new(&target, "target", true, idle)?;
        let selector = TopicSelector::new(flow, sc)?;
        let target_topics: HashMap<String, i32> = tgt.topics()?.into_iter().collect();
        let mut topics = src.topics()?;
        topics.sort();
        let index = plan.flows.len();
        let mut jobs = Vec::new();
        for (topic, partitions) in topics {
            if !selector.selects(&topic)
                || topic_filter.as_ref().is_some_and(|f| !f.matches(&topic))
            {
                continue;
            }
            let remote = selector.remote_name(&topic);
            let remote_partitions = target_topics.get(&remote).copied().unwrap_or(0);
            for partition in 0..partitions {
                if !opts.partitions.is_empty() && !opts.partitions.contains(&partition) {
                    continue;
                }
                // The target's end first: everything on it then copies a source record
                // below the source's end, read next.
                let target_marks = if partition < remote_partitions {
                    Some(tgt.watermarks(&remote, partition)?)
                } else {
                    None
                };
                let source_marks = src.watermarks(&topic, partition)?;
                let from = opts
                    .from_offset
                    .map_or(source_marks.0, |o| o.max(source_marks.0));
                jobs.push(Job {
                    flow: index,
                    topic: topic.clone(),
                    remote: remote.clone(),
                    partition,
                    source: source_marks,
                    target: target_marks,
                    from,
                    from_given: opts.from_offset.is_some(),
                    anchor: None,
                });
            }
        }
        tracing::debug!(flow = %name, partitions = jobs.len(), elapsed = ?t.elapsed(), "partitions listed");
        if sc.emit_offset_syncs_enabled && !jobs.is_empty() {
            let (reader, alias) = match sc.offset_syncs_topic_location {
                OffsetSyncsLocation::Source => (&src, &flow.target_alias),
                OffsetSyncsLocation::Target => (&tgt, &flow.source_alias),
            };
            let syncs_topic = selector.policy().offset_syncs_topic(alias);
            let t = Instant::now();
            read_anchors(reader, &syncs_topic, &mut jobs, idle)?;
            tracing::debug!(topic = %syncs_topic, elapsed = ?t.elapsed(), "offset syncs read");
        }
        plan.jobs.extend(jobs);
        plan.flows.push(FlowClients {
            name,
            source,
            target,
        });
    }
    Ok(plan)
}

/// Reads the offset-syncs topic to its current end and gives each job the latest sync at or
/// before its start that points into the target's current log.
fn read_anchors(
    reader: &PartitionReader,
    syncs_topic: &str,
    jobs: &mut [Job],
    idle: Duration,
) -> Result<(), VerifyError> {
    let Some(partitions) = reader
        .topics()?
        .into_iter()
        .find(|(t, _)| t == syncs_topic)
        .map(|(_, n)| n)
    else {
        return Ok(());
    };
    let consumer = reader.consumer();
    let err = |e: KafkaError| VerifyError::Kafka {
        cluster: "offset syncs",
        what: syncs_topic.to_owned(),
        detail: e.to_string(),
    };
    let mut tpl = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(syncs_topic, p, REQUEST_TIMEOUT)
            .map_err(err)?;
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(syncs_topic, p, Offset::Offset(low))
                .map_err(err)?;
        }
    }
    if ends.is_empty() {
        return Ok(());
    }
    let mut wanted: HashMap<(&str, i32), usize> = HashMap::new();
    let names: HashSet<&str> = jobs.iter().map(|j| j.topic.as_str()).collect();
    for (i, j) in jobs.iter().enumerate() {
        wanted.insert((j.topic.as_str(), j.partition), i);
    }
    let mut best: HashMap<usize, (i64, i64)> = HashMap::new();
    consumer.assign(&tpl).map_err(err)?;
    let mut last = Instant::now();
    while !ends.is_empty() {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            if last.elapsed() > idle {
                return Err(VerifyError::Kafka {
                    cluster: "offset syncs",
                    what: syncs_topic.to_owned(),
                    detail: format!("not read to the end within {idle:?}"),
                });
            }
            continue;
        };
        last = Instant::now();
        let msg = match msg {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(p)) => {
                ends.remove(&p);
                continue;
            }
            Err(e) => return Err(err(e)),
        };
        if ends
            .get(&msg.partition())
            .is_some_and(|end| msg.offset() + 1 >= *end)
        {
            ends.remove(&msg.partition());
        }
        let (Some(k), Some(v)) = (msg.key(), msg.payload()) else {
            continue;
        };
        let Ok(sync) = OffsetSync::decode(k, v) else {
            continue;
        };
        if !names.contains(sync.topic.as_str()) {
            continue;
        }
        let Some(&i) = wanted.get(&(sync.topic.as_str(), sync.partition)) else {
            continue;
        };
        let job = &jobs[i];
        let in_target = job.target.is_some_and(|(low, high)| {
            sync.downstream_offset >= low && sync.downstream_offset < high
        });
        if sync.upstream_offset <= job.from && sync.upstream_offset >= job.source.0 && in_target {
            let e = best
                .entry(i)
                .or_insert((sync.upstream_offset, sync.downstream_offset));
            if sync.upstream_offset >= e.0 {
                *e = (sync.upstream_offset, sync.downstream_offset);
            }
        }
    }
    let _ = consumer.unassign();
    for (i, anchor) in best {
        jobs[i].anchor = Some(anchor);
    }
    Ok(())
}
