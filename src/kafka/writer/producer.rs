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

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    InitProducerIdResponse, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use openssl::ssl::SslConnector;

use crate::config::ClusterConnection;

use super::batch::{self, Codec, Producer, Records};
use super::connection::{Connection, Request};
use super::error::WriterError;
use super::passthrough::PassedBatch;
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
    /// The records: at least one.
    pub records: Payload<'a>,
}

/// What a partition write carries.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Records encoded by the writer, sealed into a batch as they are sent.
    Encoded(&'a Records),
    /// A fetched batch sent as it came, its producer fields rewritten.
    Passed(&'a PassedBatch),
}

impl Payload<'_> {
    /// The records it holds.
    pub fn len(&self) -> usize {
        match self {
            Self::Encoded(r) => r.len(),
            Self::Passed(b) => b.len(),
        }
    }

    /// Whether it holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch to send for `topic`-`partition`, written by `producer`.
    fn seal(
        &self,
        codec: Codec,
        producer: Producer,
        topic: &str,
        partition: i32,
    ) -> Result<Bytes, WriterError> {
        match self {
            Self::Encoded(r) => r.seal(codec, producer, topic, partition),
            Self::Passed(b) if b.codec() == codec => Ok(b.seal(producer)),
            Self::Passed(b) => Err(WriterError::Partition {
                topic: topic.to_owned(),
                partition,
                reason: format!(
                    "a batch checked for {} passed to a writer compressing with {} (a bug in \
                     Strait)",
                    b.codec().name(),
                    codec.name()
                ),
                retriable: false,
                code: None,
            }),
        }
    }
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
    topic_errors: HashMap<String, TopicError>,
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
    /// Topics planned with [`Leaders::Ask`] and found without leaders.
    wanted: Vec<String>,
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
        let Dialer {
            cluster,
            tls,
            settings,
        } = Dialer::new(cluster, settings)?;
        let bootstrap = bootstrap(&cluster, &[], &mut Vec::new(), tls.as_ref(), &settings)?;
        let mut producer = Self {
            cluster,
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
            wanted: Vec::new(),
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
    ///
    /// Waits for every leader's answer; [`Sender`](super::Sender) instead runs each leader's
    /// request on a link of its own, through [`WireProducer::prepare`] and
    /// [`WireProducer::complete`].
    pub fn write(&mut self, writes: &[PartitionWrite<'_>]) -> Vec<Result<i64, WriterError>> {
        let mut results: Vec<Option<Result<i64, WriterError>>> =
            writes.iter().map(|_| None).collect();
        let (outgoing, _) = self.prepare(writes, &mut results, Leaders::Refresh);
        // Every leader's request goes out before any response is read.
        let mut sent = Vec::new();
        for o in outgoing {
            match self.send_request(&o) {
                Ok(correlation) => sent.push((o, correlation)),
                Err(e) => self.settle(&o, Err(e), writes, &mut results),
            }
        }
        for (o, correlation) in sent {
            let answer = self.receive_answer(o.leader, correlation);
            self.settle(&o, answer, writes, &mut results);
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

    /// Plans `writes` as one produce request per leader, each batch sealed with its
    /// partition's next sequence. A batch refused before sending gets its outcome in
    /// `results`. What happens to a batch whose partition has no leader known depends on
    /// `leaders`; with [`Leaders::Ask`] its index is returned beside the requests, and its
    /// topic is among [`WireProducer::wanted_topics`].
    pub fn prepare(
        &mut self,
        writes: &[PartitionWrite<'_>],
        results: &mut [Option<Result<i64, WriterError>>],
        leaders: Leaders,
    ) -> (Vec<Outgoing>, Vec<usize>) {
        let mut awaiting = Vec::new();
        if self.stale_id {
            match self.init_producer_id() {
                Ok(()) => self.apply_producer_id(self.producer_id, self.epoch),
                Err(e) => {
                    let reason = format!("a new producer id is needed: {e}");
                    for (i, w) in writes.iter().enumerate() {
                        results[i] =
                            Some(Err(partition_error(w, reason.clone(), e.is_retriable())));
                    }
                    return (Vec::new(), awaiting);
                }
            }
        }
        let leader_of = |p: &Self, w: &PartitionWrite<'_>| {
            p.leaders.get(&(w.topic.to_owned(), w.partition)).copied()
        };
        if leaders == Leaders::Refresh {
            let unknown: Vec<&str> = writes
                .iter()
                .filter(|w| leader_of(self, w).is_none())
                .map(|w| w.topic)
                .collect();
            if !unknown.is_empty()
                && let Err(e) = self.refresh_metadata(&unknown)
            {
                for (i, w) in writes.iter().enumerate() {
                    if leader_of(self, w).is_none() {
                        results[i] = Some(Err(partition_error(w, e.to_string(), true)));
                    }
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
            match leader_of(self, w) {
                Some(leader) => by_leader.entry(leader).or_default().push(i),
                None if leaders == Leaders::Ask => {
                    if !self.wanted.iter().any(|t| t == w.topic) {
                        self.wanted.push(w.topic.to_owned());
                    }
                    awaiting.push(i);
                }
                None => results[i] = Some(Err(self.no_leader(w))),
            }
        }
        let outgoing = by_leader
            .into_iter()
            .filter_map(|(leader, indices)| self.build(leader, writes, &indices, results))
            .collect();
        (outgoing, awaiting)
    }

    /// Seals one leader's batches into its request; `None` when none of them could be
    /// sealed (their errors are in `results`).
    fn build(
        &self,
        leader: i32,
        writes: &[PartitionWrite<'_>],
        indices: &[usize],
        results: &mut [Option<Result<i64, WriterError>>],
    ) -> Option<Outgoing> {
        let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
        let mut batches = Vec::new();
        for &i in indices {
            let w = &writes[i];
            let producer = Producer {
                id: self.producer_id,
                epoch: self.epoch,
                base_sequence: self.sequence(w.topic, w.partition),
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
            return None;
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
        Some(Outgoing {
            leader,
            identity: (self.producer_id, self.epoch),
            batches,
            request,
        })
    }

    /// Sends `o` on this producer's own connection to its leader.
    fn send_request(&mut self, o: &Outgoing) -> Result<(i16, i32), WriterError> {
        if let Some(wait) = self
            .not_before
            .get(&o.leader)
            .and_then(|t| t.checked_duration_since(Instant::now()))
        {
            std::thread::sleep(wait);
        }
        let conn = self.connection(o.leader)?;
        let version = conn.version::<ProduceRequest>()?;
        let correlation = conn.send(&o.request, version)?;
        Ok((version, correlation))
    }

    fn receive_answer(
        &mut self,
        leader: i32,
        (version, correlation): (i16, i32),
    ) -> Result<ProduceResponse, WriterError> {
        let broker = self.broker_name(leader);
        let Some(conn) = self.connections.get_mut(&leader) else {
            return Err(WriterError::Connection {
                broker,
                detail: "the connection was closed before its response came".to_owned(),
            });
        };
        let answer = conn.receive::<ProduceRequest>(version, correlation);
        if let Ok(r) = &answer
            && r.throttle_time_ms > 0
        {
            let until = Instant::now()
                + Duration::from_millis(u64::try_from(r.throttle_time_ms).unwrap_or(0));
            self.not_before.insert(leader, until);
        }
        answer.map_err(|e| unknown_outcome(&broker, &e))
    }

    /// [`WireProducer::complete`] for the sync path, outcomes put in `results`.
    fn settle(
        &mut self,
        o: &Outgoing,
        answer: Result<ProduceResponse, WriterError>,
        writes: &[PartitionWrite<'_>],
        results: &mut [Option<Result<i64, WriterError>>],
    ) {
        let mine: Vec<PartitionWrite<'_>> = o.batches.iter().map(|&i| writes[i]).collect();
        let outcomes = self.complete(o.leader, o.identity, answer, &mine);
        for (&i, outcome) in o.batches.iter().zip(outcomes) {
            results[i] = Some(outcome);
        }
    }

    /// Reads `leader`'s answer to a request of `writes` (its batches, in order), sent with
    /// producer id and epoch `identity`: each batch's base offset, or why it was not written.
    /// A sequence advances only on success, and only while the producer id it was sealed
    /// with is still the one in use.
    pub fn complete(
        &mut self,
        leader: i32,
        identity: (i64, i16),
        answer: Result<ProduceResponse, WriterError>,
        writes: &[PartitionWrite<'_>],
    ) -> Vec<Result<i64, WriterError>> {
        let response = match answer {
            Ok(r) => r,
            Err(e) => return self.fail_broker(leader, &e, writes),
        };
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
        let current = identity == (self.producer_id, self.epoch);
        let mut results = Vec::with_capacity(writes.len());
        for w in writes {
            let key = (w.topic.to_owned(), w.partition);
            let outcome = match outcomes.get(&(w.topic, w.partition)) {
                None => Err(partition_error(
                    w,
                    format!(
                        "broker {} did not answer for this partition",
                        self.broker_name(leader)
                    ),
                    true,
                )),
                Some((0, base_offset, _)) => {
                    if current {
                        let next = batch::next_sequence(
                            self.sequence(w.topic, w.partition),
                            w.records.len(),
                        );
                        self.sequences.insert(key, next);
                    }
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
                    if lost_sequence && current {
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
            results.push(outcome);
        }
        results
    }

    /// Every write of a request to `leader` failed with `e`; its connection is dropped and
    /// its leaderships forgotten, so the next write asks the metadata again.
    fn fail_broker(
        &mut self,
        leader: i32,
        e: &WriterError,
        writes: &[PartitionWrite<'_>],
    ) -> Vec<Result<i64, WriterError>> {
        self.connections.remove(&leader);
        self.leaders.retain(|_, l| *l != leader);
        let retriable = e.is_retriable();
        let reason = e.to_string();
        writes
            .iter()
            .map(|w| Err(partition_error(w, reason.clone(), retriable)))
            .collect()
    }

    fn sequence(&self, topic: &str, partition: i32) -> i32 {
        self.sequences
            .get(&(topic.to_owned(), partition))
            .copied()
            .unwrap_or(0)
    }

    /// Topics a [`Leaders::Ask`] plan found without leaders, since the last call: what a
    /// metadata request should ask for.
    pub fn wanted_topics(&mut self) -> Vec<String> {
        std::mem::take(&mut self.wanted)
    }

    /// The metadata request for `topics`.
    pub fn metadata_request(topics: &[String]) -> MetadataRequest {
        let mut names: Vec<&str> = topics.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(
                names
                    .iter()
                    .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                    .collect(),
            ))
    }

    /// Takes in a metadata answer: brokers, leaders, topic errors.
    pub fn apply_metadata(&mut self, m: &MetadataResponse) {
        self.apply(m);
    }

    /// `host:port` of broker `node`, from the latest metadata.
    pub fn broker_address(&self, node: i32) -> Option<&str> {
        self.brokers.get(&node).map(String::as_str)
    }

    /// Every broker's `host:port` known from the metadata.
    pub fn known_brokers(&self) -> Vec<String> {
        self.brokers.values().cloned().collect()
    }

    /// What opening a connection to a broker of this cluster needs.
    pub fn dialer(&self) -> Dialer {
        Dialer {
            cluster: self.cluster.clone(),
            tls: self.tls.clone(),
            settings: self.settings.clone(),
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
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let response = self.bootstrap_call(&Self::metadata_request(&topics))?;
        self.apply(&response);
        Ok(())
    }

    fn apply(&mut self, m: &MetadataResponse) {
        for b in &m.brokers {
            self.brokers
                .insert(b.node_id.0, broker_address(b.host.as_str(), b.port));
        }
        for t in &m.topics {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            self.leaders.retain(|(topic, _), _| *topic != name);
            if let Some(error) = ResponseError::try_from_code(t.error_code) {
                let unknown = error == ResponseError::UnknownTopicOrPartition;
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
                    TopicError {
                        reason,
                        retriable: error.is_retriable() && !unknown,
                        // Named for the sender, which waits a while for a topic just created.
                        code: unknown.then_some(UNKNOWN_TOPIC_OR_PARTITION),
                    },
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
        if let Some(e) = self.topic_errors.get(w.topic) {
            return WriterError::Partition {
                topic: w.topic.to_owned(),
                partition: w.partition,
                reason: e.reason.clone(),
                retriable: e.retriable,
                code: e.code,
            };
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
                let mut failed = vec![self.bootstrap.broker().to_owned()];
                self.bootstrap = bootstrap(
                    &self.cluster,
                    &known,
                    &mut failed,
                    self.tls.as_ref(),
                    &self.settings,
                )?;
                self.bootstrap.call(request)
            }
            Err(e) => Err(e),
        }
    }

    fn init_producer_id(&mut self) -> Result<(), WriterError> {
        let give_up = Instant::now() + self.settings.request_timeout;
        loop {
            let r = self.bootstrap_call(&producer_id_request())?;
            match producer_id_of(self.bootstrap.broker(), &r) {
                Ok((id, epoch)) => {
                    self.producer_id = id;
                    self.epoch = epoch;
                    return Ok(());
                }
                Err((e, retriable)) if !retriable || Instant::now() > give_up => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Whether batches must wait for a new producer id before they are planned: sequences
    /// were given up on, and the broker would take the next ones as out of order.
    pub fn needs_new_id(&self) -> bool {
        self.stale_id
    }

    /// Takes the new producer id asked for because of [`WireProducer::needs_new_id`]; every
    /// partition's sequence starts again at 0.
    pub fn apply_producer_id(&mut self, id: i64, epoch: i16) {
        self.producer_id = id;
        self.epoch = epoch;
        tracing::info!(
            producer_id = id,
            epoch,
            "target writer: new producer id, sequences start again"
        );
        self.sequences.clear();
        self.stale_id = false;
    }
}

/// An idempotent, non-transactional producer's `InitProducerId` request.
pub(super) fn producer_id_request() -> InitProducerIdRequest {
    InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1)
}

/// The producer id and epoch `broker` gave, or why not and whether asking again may work.
pub(super) fn producer_id_of(
    broker: &str,
    r: &InitProducerIdResponse,
) -> Result<(i64, i16), (WriterError, bool)> {
    let Some(error) = ResponseError::try_from_code(r.error_code) else {
        return Ok((r.producer_id.0, r.producer_epoch));
    };
    let hint = if error == ResponseError::ClusterAuthorizationFailed {
        " (the principal needs IdempotentWrite on the cluster)"
    } else {
        ""
    };
    let e = WriterError::Protocol {
        broker: broker.to_owned(),
        api: "InitProducerId",
        detail: format!("{error} (error code {}){hint}", r.error_code),
    };
    Err((e, error.is_retriable()))
}

/// How [`WireProducer::prepare`] treats a partition whose leader is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaders {
    /// Ask the metadata now, waiting for the answer.
    Refresh,
    /// The metadata was just read: the partition has no leader, for the reason it gives.
    Fresh,
    /// Leave the batch out and note its topic for a metadata request of the caller's.
    Ask,
}

/// One leader's produce request, planned and not yet sent.
#[derive(Debug)]
pub struct Outgoing {
    /// The broker to send it to.
    pub leader: i32,
    /// The producer id and epoch its batches were sealed with.
    pub identity: (i64, i16),
    /// Indices into the writes planned, of the batches it holds, in order.
    pub batches: Vec<usize>,
    /// The request.
    pub request: ProduceRequest,
}

/// What opening a connection to a broker of the target needs.
#[derive(Clone)]
pub struct Dialer {
    cluster: ClusterConnection,
    tls: Option<SslConnector>,
    settings: WriterSettings,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("bootstrap", &self.cluster.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl Dialer {
    /// Dials the brokers of `cluster` (any cluster: the source's for fetches too).
    pub fn new(cluster: &ClusterConnection, settings: WriterSettings) -> Result<Self, WriterError> {
        let tls = if cluster.security_protocol.uses_tls() {
            Some(tls::connector(&cluster.tls)?)
        } else {
            None
        };
        Ok(Self {
            cluster: cluster.clone(),
            tls,
            settings,
        })
    }

    /// A connection to `broker` (`host:port`).
    pub fn open(&self, broker: &str) -> Result<Connection, WriterError> {
        Connection::open(
            broker,
            &self.cluster,
            self.tls.as_ref(),
            &self.settings.client_id,
            self.settings.request_timeout,
        )
    }

    /// A connection to any broker: the bootstrap list's, then `known` ones, those in
    /// `failed` tried last (a frozen broker would cost a whole timeout on every try). Brokers
    /// that fail now join `failed`; the one that answers leaves it.
    pub fn open_any(
        &self,
        known: &[String],
        failed: &mut Vec<String>,
    ) -> Result<Connection, WriterError> {
        bootstrap(
            &self.cluster,
            known,
            failed,
            self.tls.as_ref(),
            &self.settings,
        )
    }

    /// `request.timeout.ms`.
    pub fn request_timeout(&self) -> Duration {
        self.settings.request_timeout
    }
}

/// A produce request's answer could not be read: the broker may have written every batch of
/// the request, so the outcome is unknown, and the batches are written again unchanged (and
/// recognised if they were written).
pub(super) fn unknown_outcome(broker: &str, e: &WriterError) -> WriterError {
    WriterError::Connection {
        broker: broker.to_owned(),
        detail: format!("no usable answer to a produce request: {e}"),
    }
}

/// A connection to the first address that answers: the bootstrap list's, then `known`
/// brokers'.
fn bootstrap(
    cluster: &ClusterConnection,
    known: &[String],
    failed: &mut Vec<String>,
    tls: Option<&SslConnector>,
    settings: &WriterSettings,
) -> Result<Connection, WriterError> {
    let mut last = None;
    let mut candidates: Vec<&str> = Vec::new();
    let listed = cluster
        .bootstrap_servers
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty());
    for addr in listed.chain(known.iter().map(String::as_str)) {
        if !candidates.contains(&addr) {
            candidates.push(addr);
        }
    }
    // Stable: the brokers that failed go last, the longest ago failed first among them.
    candidates.sort_by_key(|a| failed.iter().position(|f| f == a).map_or(0, |i| i + 1));
    for addr in candidates {
        match Connection::open(
            addr,
            cluster,
            tls,
            &settings.client_id,
            settings.request_timeout,
        ) {
            Ok(c) => {
                failed.retain(|f| f != addr);
                return Ok(c);
            }
            // Wrong credentials or TLS settings fail alike on every broker: say so at once.
            Err(e @ (WriterError::Sasl { .. } | WriterError::Tls { .. })) => return Err(e),
            Err(e) => {
                failed.retain(|f| f != addr);
                failed.push(addr.to_owned());
                last = Some(e);
            }
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

/// A topic's error in the metadata, given to each of its partitions' writes.
#[derive(Debug, Clone)]
struct TopicError {
    reason: String,
    retriable: bool,
    /// The error code, where the sender acts on it.
    code: Option<i16>,
}

/// `UNKNOWN_TOPIC_OR_PARTITION`.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// `host:port` of a broker the metadata names, an IPv6 host in brackets.
pub fn broker_address(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
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
