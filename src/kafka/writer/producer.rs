//! An idempotent producer that writes every partition bound for a broker in one request.
//!
//! What it does now: bootstrap, metadata, `InitProducerId`, one batch per partition with its
//! sequence, one `Produce` request per leader (all leaders' requests in flight together), and
//! per-partition outcomes. What it leaves to its caller: retries. A failed partition's
//! sequence does not advance, so sending the same records again is safe: the broker keeps the
//! last five batches of each producer and partition, and answers a batch it already has with
//! its offset instead of writing it twice.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use openssl::ssl::SslConnector;

use crate::config::ClusterConnection;

use super::batch::{self, Codec, Producer, Records};
use super::connection::{Connection, Request};
use super::error::WriterError;
use super::tls;

/// How the writer behaves; the defaults are the Java producer's.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// `client.id` sent with every request.
    pub client_id: String,
    /// `compression.type` of the batches written (default `none`).
    pub codec: Codec,
    /// `request.timeout.ms`: how long a broker may take to answer (default 30 s); also the
    /// produce request's own timeout for `acks=all`.
    pub request_timeout: Duration,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            client_id: "strait".to_owned(),
            codec: Codec::None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Records for one partition, in the order they must be written.
#[derive(Debug, Clone, Copy)]
pub struct PartitionWrite<'a> {
    /// The target topic.
    pub topic: &'a str,
    /// The target partition.
    pub partition: i32,
    /// The records, encoded; at least one.
    pub records: &'a Records,
}

/// A partition's place: topic and partition.
type Key = (String, i32);

/// An idempotent producer to the target cluster (`acks=all`).
pub struct WireProducer {
    cluster: ClusterConnection,
    tls: Option<SslConnector>,
    settings: WriterSettings,
    bootstrap: Connection,
    /// Node id to `host:port`, from the latest metadata.
    brokers: HashMap<i32, String>,
    connections: HashMap<i32, Connection>,
    leaders: HashMap<Key, i32>,
    /// Why a topic has no leaders known: its metadata error.
    topic_errors: HashMap<String, (String, bool)>,
    /// Partition count of each topic in the latest metadata.
    partition_counts: HashMap<String, usize>,
    /// When a broker that asked to be throttled may be sent to again.
    not_before: HashMap<i32, Instant>,
    producer_id: i64,
    epoch: i16,
    sequences: HashMap<Key, i32>,
    /// The broker lost track of this producer's sequences, or a batch was given up on with
    /// its outcome unknown: the next write starts with a new producer id, every sequence
    /// at 0, as the Java producer does when it resets its idempotent state.
    stale_id: bool,
}

impl std::fmt::Debug for WireProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireProducer")
            .field("bootstrap", &self.cluster.bootstrap_servers)
            .field("producer_id", &self.producer_id)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl WireProducer {
    /// Connects to the target cluster `cluster` describes and obtains a producer id.
    pub fn connect(
        cluster: &ClusterConnection,
        settings: WriterSettings,
    ) -> Result<Self, WriterError> {
        let tls = if cluster.security_protocol.uses_tls() {
            Some(tls::connector(&cluster.tls)?)
        } else {
            None
        };
        let bootstrap = bootstrap(cluster, &[], tls.as_ref(), &settings)?;
        let mut producer = Self {
            cluster: cluster.clone(),
            tls,
            settings,
            bootstrap,
            brokers: HashMap::new(),
            connections: HashMap::new(),
            leaders: HashMap::new(),
            topic_errors: HashMap::new(),
            partition_counts: HashMap::new(),
            not_before: HashMap::new(),
            producer_id: -1,
            epoch: -1,
            sequences: HashMap::new(),
            stale_id: false,
        };
        producer.init_producer_id()?;
        Ok(producer)
    }

    /// The producer id and epoch the records are written with.
    pub fn producer_id(&self) -> (i64, i16) {
        (self.producer_id, self.epoch)
    }

    /// Gives up the sequences written so far, after a batch whose outcome is unknown was
    /// abandoned (its delivery timed out): the next write takes a new producer id, so later
    /// batches are not refused as out of order behind it.
    pub fn abandon_sequences(&mut self) {
        self.stale_id = true;
    }

    /// Writes each partition's records as one batch, every partition of a leader in one
    /// request. Returns, in the order of `writes`, each batch's base offset (its first
    /// record's offset on the target) or why it was not written.
    pub fn write(&mut self, writes: &[PartitionWrite<'_>]) -> Vec<Result<i64, WriterError>> {
        let mut results: Vec<Option<Result<i64, WriterError>>> =
            writes.iter().map(|_| None).collect();
        if self.stale_id {
            if let Err(e) = self.init_producer_id() {
                let reason = format!("a new producer id is needed: {e}");
                return writes
                    .iter()
                    .map(|w| Err(partition_error(w, reason.clone(), e.is_retriable())))
                    .collect();
            }
            tracing::info!(
                producer_id = self.producer_id,
                epoch = self.epoch,
                "target writer: new producer id, sequences start again"
            );
            self.sequences.clear();
            self.stale_id = false;
        }
        let unknown: Vec<&str> = writes
            .iter()
            .filter(|w| {
                !self
                    .leaders
                    .contains_key(&(w.topic.to_owned(), w.partition))
            })
            .map(|w| w.topic)
            .collect();
        if !unknown.is_empty()
            && let Err(e) = self.refresh_metadata(&unknown)
        {
            for (i, w) in writes.iter().enumerate() {
                if !self
                    .leaders
                    .contains_key(&(w.topic.to_owned(), w.partition))
                {
                    results[i] = Some(Err(partition_error(w, e.to_string(), true)));
                }
            }
        }

        // Which writes go to which leader; a partition given twice is refused (its two
        // batches would need two sequences in one request).
        let mut by_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        let mut seen: HashMap<(&str, i32), usize> = HashMap::new();
        for (i, w) in writes.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            if seen.insert((w.topic, w.partition), i).is_some() {
                let reason = "given twice in one write".to_owned();
                results[i] = Some(Err(partition_error(w, reason, false)));
                continue;
            }
            match self.leaders.get(&(w.topic.to_owned(), w.partition)) {
                Some(leader) => by_leader.entry(*leader).or_default().push(i),
                None => results[i] = Some(Err(self.no_leader(w))),
            }
        }

        // Every leader's request goes out before any response is read.
        let mut sent = Vec::new();
        for (leader, indices) in by_leader {
            match self.send_to(leader, writes, &indices, &mut results) {
                Ok(Some(pending)) => sent.push(pending),
                Ok(None) => {}
                Err(e) => {
                    // Batches refused while encoding already have their outcome.
                    let open: Vec<usize> = indices
                        .iter()
                        .copied()
                        .filter(|i| results[*i].is_none())
                        .collect();
                    self.fail_broker(leader, e, writes, &open, &mut results);
                }
            }
        }
        for pending in sent {
            self.receive_from(pending, writes, &mut results);
        }
        results
            .into_iter()
            .zip(writes)
            .map(|(r, w)| {
                r.unwrap_or_else(|| {
                    Err(partition_error(
                        w,
                        "no outcome (a bug in Strait)".to_owned(),
                        true,
                    ))
                })
            })
            .collect()
    }

    /// Encodes and sends one leader's request; `None` when none of its batches could be
    /// encoded (their errors are in `results`).
    fn send_to(
        &mut self,
        leader: i32,
        writes: &[PartitionWrite<'_>],
        indices: &[usize],
        results: &mut [Option<Result<i64, WriterError>>],
    ) -> Result<Option<Pending>, WriterError> {
        let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
        let mut batches = Vec::new();
        for &i in indices {
            let w = &writes[i];
            let key = (w.topic.to_owned(), w.partition);
            let producer = Producer {
                id: self.producer_id,
                epoch: self.epoch,
                base_sequence: self.sequences.get(&key).copied().unwrap_or(0),
            };
            match w
                .records
                .seal(self.settings.codec, producer, w.topic, w.partition)
            {
                Ok(bytes) => {
                    topics.entry(w.topic).or_default().push(
                        PartitionProduceData::default()
                            .with_index(w.partition)
                            .with_records(Some(bytes)),
                    );
                    batches.push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        if batches.is_empty() {
            return Ok(None);
        }
        let timeout_ms =
            i32::try_from(self.settings.request_timeout.as_millis()).unwrap_or(i32::MAX);
        let request = ProduceRequest::default()
            .with_transactional_id(None)
            .with_acks(-1)
            .with_timeout_ms(timeout_ms)
            .with_topic_data(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        TopicProduceData::default()
                            .with_name(topic_name(topic))
                            .with_partition_data(partitions)
                    })
                    .collect(),
            );
        if let Some(wait) = self
            .not_before
            .get(&leader)
            .and_then(|t| t.checked_duration_since(Instant::now()))
        {
            std::thread::sleep(wait);
        }
        let conn = self.connection(leader)?;
        let version = conn.version::<ProduceRequest>()?;
        let correlation = conn.send(&request, version)?;
        Ok(Some(Pending {
            leader,
            version,
            correlation,
            batches,
        }))
    }

    fn receive_from(
        &mut self,
        pending: Pending,
        writes: &[PartitionWrite<'_>],
        results: &mut [Option<Result<i64, WriterError>>],
    ) {
        let Some(conn) = self.connections.get_mut(&pending.leader) else {
            let e = WriterError::Connection {
                broker: self.broker_name(pending.leader),
                detail: "the connection was closed before its response came".to_owned(),
            };
            self.fail_broker(pending.leader, e, writes, &pending.batches, results);
            return;
        };
        let response = match conn.receive::<ProduceRequest>(pending.version, pending.correlation) {
            Ok(r) => r,
            Err(e) => {
                // The broker may have written every batch of the request: whatever went wrong
                // reading its answer, the outcome is unknown, so the batches are written again
                // unchanged (and recognised if they were written).
                let e = WriterError::Connection {
                    broker: self.broker_name(pending.leader),
                    detail: format!("no usable answer to a produce request: {e}"),
                };
                self.fail_broker(pending.leader, e, writes, &pending.batches, results);
                return;
            }
        };
        if response.throttle_time_ms > 0 {
            let until = Instant::now()
                + Duration::from_millis(u64::try_from(response.throttle_time_ms).unwrap_or(0));
            self.not_before.insert(pending.leader, until);
        }
        let mut outcomes: HashMap<(&str, i32), (i16, i64, Option<String>)> = HashMap::new();
        for t in &response.responses {
            for p in &t.partition_responses {
                outcomes.insert(
                    (t.name.0.as_str(), p.index),
                    (
                        p.error_code,
                        p.base_offset,
                        p.error_message.as_ref().map(|m| m.to_string()),
                    ),
                );
            }
        }
        for &i in &pending.batches {
            let w = &writes[i];
            let key = (w.topic.to_owned(), w.partition);
            let outcome = match outcomes.get(&(w.topic, w.partition)) {
                None => Err(partition_error(
                    w,
                    format!(
                        "broker {} did not answer for this partition",
                        self.broker_name(pending.leader)
                    ),
                    true,
                )),
                Some((0, base_offset, _)) => {
                    let next = batch::next_sequence(
                        self.sequences.get(&key).copied().unwrap_or(0),
                        w.records.len(),
                    );
                    self.sequences.insert(key, next);
                    Ok(*base_offset)
                }
                Some((code, _, message)) => {
                    let error = ResponseError::try_from_code(*code);
                    let lost_sequence = matches!(
                        error,
                        Some(
                            ResponseError::OutOfOrderSequenceNumber
                                | ResponseError::UnknownProducerId
                                | ResponseError::InvalidProducerEpoch
                        )
                    );
                    if lost_sequence {
                        self.stale_id = true;
                    }
                    if matches!(
                        error,
                        Some(
                            ResponseError::NotLeaderOrFollower
                                | ResponseError::UnknownTopicOrPartition
                                | ResponseError::LeaderNotAvailable
                                | ResponseError::FencedLeaderEpoch
                        )
                    ) {
                        self.leaders.remove(&key);
                    }
                    let mut reason = error.map_or_else(
                        || format!("error code {code}"),
                        |e| format!("{} (error code {code})", e),
                    );
                    if let Some(m) = message {
                        reason = format!("{reason}: {m}");
                    }
                    let retriable = lost_sequence || error.is_some_and(|e| e.is_retriable());
                    Err(WriterError::Partition {
                        topic: w.topic.to_owned(),
                        partition: w.partition,
                        reason,
                        retriable,
                        code: Some(*code),
                    })
                }
            };
            results[i] = Some(outcome);
        }
    }

    /// Every write of `indices` failed with `e` at `leader`; its connection is dropped and its
    /// leaderships forgotten, so the next write asks the metadata again.
    fn fail_broker(
        &mut self,
        leader: i32,
        e: WriterError,
        writes: &[PartitionWrite<'_>],
        indices: &[usize],
        results: &mut [Option<Result<i64, WriterError>>],
    ) {
        self.connections.remove(&leader);
        self.leaders.retain(|_, l| *l != leader);
        let retriable = e.is_retriable();
        let reason = e.to_string();
        for &i in indices {
            results[i] = Some(Err(partition_error(&writes[i], reason.clone(), retriable)));
        }
    }

    fn connection(&mut self, node: i32) -> Result<&mut Connection, WriterError> {
        if !self.connections.contains_key(&node) {
            let Some(addr) = self.brokers.get(&node) else {
                return Err(WriterError::Connection {
                    broker: format!("node {node}"),
                    detail: "not in the cluster's metadata".to_owned(),
                });
            };
            let conn = Connection::open(
                addr,
                &self.cluster,
                self.tls.as_ref(),
                &self.settings.client_id,
                self.settings.request_timeout,
            )?;
            self.connections.insert(node, conn);
        }
        self.connections
            .get_mut(&node)
            .ok_or_else(|| WriterError::Connection {
                broker: format!("node {node}"),
                detail: "connection lost".to_owned(),
            })
    }

    fn broker_name(&self, node: i32) -> String {
        self.brokers
            .get(&node)
            .cloned()
            .unwrap_or_else(|| format!("node {node}"))
    }

    fn refresh_metadata(&mut self, topics: &[&str]) -> Result<(), WriterError> {
        let mut names: Vec<&str> = topics.to_vec();
        names.sort_unstable();
        names.dedup();
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(
                names
                    .iter()
                    .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                    .collect(),
            ));
        let response = self.bootstrap_call(&request)?;
        self.apply_metadata(&response);
        Ok(())
    }

    fn apply_metadata(&mut self, m: &MetadataResponse) {
        for b in &m.brokers {
            let host = b.host.as_str();
            let addr = if host.contains(':') {
                format!("[{host}]:{}", b.port)
            } else {
                format!("{host}:{}", b.port)
            };
            self.brokers.insert(b.node_id.0, addr);
        }
        for t in &m.topics {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            self.leaders.retain(|(topic, _), _| *topic != name);
            if let Some(error) = ResponseError::try_from_code(t.error_code) {
                let reason = match error {
                    ResponseError::UnknownTopicOrPartition => {
                        "the topic does not exist on the target".to_owned()
                    }
                    ResponseError::TopicAuthorizationFailed => {
                        "not authorized to describe or write the topic on the target".to_owned()
                    }
                    other => format!("{other} (error code {})", t.error_code),
                };
                self.topic_errors.insert(
                    name,
                    (
                        reason,
                        error.is_retriable() && error != ResponseError::UnknownTopicOrPartition,
                    ),
                );
                continue;
            }
            self.topic_errors.remove(&name);
            self.partition_counts
                .insert(name.clone(), t.partitions.len());
            for p in &t.partitions {
                if p.leader_id.0 >= 0 {
                    self.leaders
                        .insert((name.clone(), p.partition_index), p.leader_id.0);
                }
            }
        }
    }

    fn no_leader(&self, w: &PartitionWrite<'_>) -> WriterError {
        if let Some((reason, retriable)) = self.topic_errors.get(w.topic) {
            return partition_error(w, reason.clone(), *retriable);
        }
        match self.partition_counts.get(w.topic) {
            Some(&count) if usize::try_from(w.partition).map_or(true, |p| p >= count) => {
                // Retried within the delivery timeout: a remote topic just grown shows its new
                // partitions in the metadata a moment later.
                partition_error(
                    w,
                    format!("the topic has {count} partitions on the target"),
                    true,
                )
            }
            _ => partition_error(w, "the partition has no leader now".to_owned(), true),
        }
    }

    /// `request` to the bootstrap connection; when that broker is gone, to a new one from
    /// the list, once.
    fn bootstrap_call<R: Request>(&mut self, request: &R) -> Result<R::Response, WriterError> {
        match self.bootstrap.call(request) {
            Ok(r) => Ok(r),
            Err(WriterError::Connection { .. }) => {
                // Any broker known from the metadata will do when the bootstrap list's are gone.
                let known: Vec<String> = self.brokers.values().cloned().collect();
                self.bootstrap =
                    bootstrap(&self.cluster, &known, self.tls.as_ref(), &self.settings)?;
                self.bootstrap.call(request)
            }
            Err(e) => Err(e),
        }
    }

    fn init_producer_id(&mut self) -> Result<(), WriterError> {
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id((-1).into())
            .with_producer_epoch(-1);
        let give_up = Instant::now() + self.settings.request_timeout;
        loop {
            let r = self.bootstrap_call(&request)?;
            let Some(error) = ResponseError::try_from_code(r.error_code) else {
                self.producer_id = r.producer_id.0;
                self.epoch = r.producer_epoch;
                return Ok(());
            };
            if !error.is_retriable() || Instant::now() > give_up {
                let hint = if error == ResponseError::ClusterAuthorizationFailed {
                    " (the principal needs IdempotentWrite on the cluster)"
                } else {
                    ""
                };
                return Err(WriterError::Protocol {
                    broker: self.bootstrap.broker().to_owned(),
                    api: "InitProducerId",
                    detail: format!("{error} (error code {}){hint}", r.error_code),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A request sent and not yet answered.
struct Pending {
    leader: i32,
    version: i16,
    correlation: i32,
    /// Indices into the writes, of the batches it holds.
    batches: Vec<usize>,
}

/// A connection to the first address that answers: the bootstrap list's, then `known`
/// brokers'.
fn bootstrap(
    cluster: &ClusterConnection,
    known: &[String],
    tls: Option<&SslConnector>,
    settings: &WriterSettings,
) -> Result<Connection, WriterError> {
    let mut last = None;
    let listed = cluster
        .bootstrap_servers
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty());
    for addr in listed.chain(known.iter().map(String::as_str)) {
        match Connection::open(
            addr,
            cluster,
            tls,
            &settings.client_id,
            settings.request_timeout,
        ) {
            Ok(c) => return Ok(c),
            // Wrong credentials or TLS settings fail alike on every broker: say so at once.
            Err(e @ (WriterError::Sasl { .. } | WriterError::Tls { .. })) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(WriterError::Bootstrap {
        servers: cluster.bootstrap_servers.clone(),
        last: Box::new(last.unwrap_or_else(|| WriterError::Connection {
            broker: "(none)".to_owned(),
            detail: "bootstrap.servers names no address".to_owned(),
        })),
    })
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

fn partition_error(w: &PartitionWrite<'_>, reason: String, retriable: bool) -> WriterError {
    WriterError::Partition {
        topic: w.topic.to_owned(),
        partition: w.partition,
        reason,
        retriable,
        code: None,
    }
}
