//! Partitions assigned at positions, read from their leaders: each round one fetch request per
//! leader, all sent before any answer is read.
//!
//! What the fetcher handles itself: finding leaders (metadata), following them when they
//! move (a partition whose leader answers that it no longer leads, or whose connection
//! breaks, is left out of the round and its leader asked again), and advancing positions past
//! what it returns. What it hands to its caller: every other partition error (an offset out
//! of range, a topic that does not exist, an authorization failure, records that are not a
//! record set), with the position left where it was, since what to do about them is the
//! replicator's decision.
//!
//! A leader that does not answer in time (frozen, partitioned away, overloaded) holds only its
//! own partitions: its request stays in flight while the others' answers are read and asked
//! again, as the Java consumer's fetcher keeps one request in flight per broker. Its answer is
//! read whenever it comes; it is given up at `request.timeout.ms`, or as soon as the metadata,
//! asked again once a request is overdue, names another leader for one of its partitions.
//!
//! Not yet: fetch sessions (every request is a full fetch), and the leader epochs of KIP-320
//! (requests carry none, so a log truncated below the position by an unclean leader election
//! goes unnoticed, where the Java consumer detects it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{FetchRequest, MetadataResponse};

use super::readiness;
use super::request::{self, FetchSettings, Fetched, Position};
use crate::config::ClusterConnection;
use crate::kafka::writer::WriterError;
use crate::kafka::writer::connection::{Connection, MAX_RESPONSE};
use crate::kafka::writer::producer::{Dialer, WireProducer, WriterSettings, broker_address};

/// How long to wait before asking for metadata again after it failed or left a partition
/// without a leader (the Java client's `retry.backoff.ms`).
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// How long past `fetch.max.wait.ms` a round waits for the answers to its own requests before
/// it goes on without the late ones (read in a later round when they come): a broker answers
/// within its fetch wait, plus what it takes to read the log and send.
const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// How often the leaders are asked again while a request is overdue: a frozen or lost broker's
/// partitions get new leaders once the controller notices (`broker.session.timeout.ms`, 9 s by
/// default), long before `request.timeout.ms`.
const OVERDUE_REFRESH: Duration = Duration::from_secs(1);

/// Partition error codes that mean the leader is elsewhere or not ready: ask for metadata and
/// try again (`NOT_LEADER_OR_FOLLOWER`, `LEADER_NOT_AVAILABLE`, `REPLICA_NOT_AVAILABLE`,
/// `KAFKA_STORAGE_ERROR`, `FENCED_LEADER_EPOCH`, `UNKNOWN_LEADER_EPOCH`,
/// `OFFSET_NOT_AVAILABLE`), as the Java consumer's fetcher does.
const LEADER_MOVED: [i16; 7] = [6, 5, 9, 56, 74, 75, 78];

/// `LEADER_NOT_AVAILABLE`: what a partition the metadata gives no leader for reports.
const NO_LEADER: i16 = 5;
/// `UNKNOWN_TOPIC_OR_PARTITION`: a partition past its topic's partition count.
const NO_SUCH_PARTITION: i16 = 3;

/// The fetcher could not work at all.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No broker of the cluster answered a metadata request.
    #[error("source metadata: {0}")]
    Metadata(WriterError),
}

/// Reads assigned partitions of one cluster from their leaders.
pub struct Fetcher {
    dialer: Dialer,
    settings: FetchSettings,
    /// Brokers that failed to connect lately, tried last for metadata.
    failed: Vec<String>,
    brokers: HashMap<i32, String>,
    leaders: HashMap<(String, i32), i32>,
    /// A topic's metadata error code, for partitions it leaves without a leader.
    topic_errors: HashMap<String, i16>,
    /// Each topic's partition count in the latest metadata.
    partition_counts: HashMap<String, usize>,
    connections: HashMap<i32, Connection>,
    /// Each leader's request not answered yet; a leader has one at most.
    in_flight: HashMap<i32, InFlight>,
    /// When an answer is given up on (`request.timeout.ms`).
    request_timeout: Duration,
    /// Where metadata is asked, kept between refreshes.
    metadata: Option<Connection>,
    /// When metadata was last asked.
    refreshed: Option<Instant>,
    positions: BTreeMap<(String, i32), i64>,
    /// Leaders must be asked again before the next round.
    stale: bool,
    /// Rounds so far: each leader's partitions are asked in an order turned by one each
    /// round, since a broker fills its answer's size limit in request order.
    rounds: usize,
}

/// A fetch request its leader has not answered yet.
struct InFlight {
    positions: Vec<Position>,
    version: i16,
    correlation: i32,
    sent: Instant,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("dialer", &self.dialer)
            .field("positions", &self.positions)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher for `cluster`; it connects at its first round. Refuses an answer size above
    /// what a connection reads, and a fetch wait that the request timeout would cut short.
    pub fn new(
        cluster: &ClusterConnection,
        client_id: &str,
        request_timeout: Duration,
        settings: FetchSettings,
    ) -> Result<Self, WriterError> {
        if usize::try_from(settings.max_bytes).map_or(true, |b| b > MAX_RESPONSE) {
            return Err(WriterError::Settings {
                key: "fetch.max.bytes".to_owned(),
                detail: format!("{} is not within 1..={MAX_RESPONSE}", settings.max_bytes),
            });
        }
        if settings.max_wait >= request_timeout {
            return Err(WriterError::Settings {
                key: "fetch.max.wait.ms".to_owned(),
                detail: format!(
                    "{} ms is not below request.timeout.ms ({} ms)",
                    settings.max_wait.as_millis(),
                    request_timeout.as_millis()
                ),
            });
        }
        let writer_settings = WriterSettings {
            client_id: client_id.to_owned(),
            request_timeout,
            ..WriterSettings::default()
        };
        Ok(Self {
            dialer: Dialer::new(cluster, writer_settings)?,
            settings,
            failed: Vec::new(),
            brokers: HashMap::new(),
            leaders: HashMap::new(),
            topic_errors: HashMap::new(),
            partition_counts: HashMap::new(),
            connections: HashMap::new(),
            in_flight: HashMap::new(),
            request_timeout,
            metadata: None,
            refreshed: None,
            positions: BTreeMap::new(),
            stale: true,
            rounds: 0,
        })
    }

    /// Reads `topic`-`partition` from `offset` on (again from there if it was assigned).
    pub fn assign(&mut self, topic: &str, partition: i32, offset: i64) {
        let key = (topic.to_owned(), partition);
        if !self.leaders.contains_key(&key) {
            self.stale = true;
        }
        self.positions.insert(key, offset);
    }

    /// Stops reading `topic`-`partition`.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.positions.remove(&(topic.to_owned(), partition));
    }

    /// Stops reading every partition.
    pub fn revoke_all(&mut self) {
        self.positions.clear();
    }

    /// Whether no partition is assigned: a round would read nothing.
    pub fn is_idle(&self) -> bool {
        self.positions.is_empty()
    }

    /// The next offset to be read of `topic`-`partition`, if assigned.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.positions.get(&(topic.to_owned(), partition)).copied()
    }

    /// One round: a fetch from every leader of an assigned partition. Returns what each
    /// partition that answered gave, positions advanced past it; partitions with an error
    /// other than a moved leader come back with its code and no batches, their positions
    /// unchanged. A partition left out (its leader moved or unreachable) is read again in a
    /// later round.
    pub fn fetch(&mut self) -> Result<Vec<Fetched>, FetchError> {
        self.fetch_within(usize::MAX)
    }

    /// [`Fetcher::fetch`], with the round's answers kept within about `round_bytes` in all:
    /// each leader is asked for its share of it, at most `fetch.max.bytes`. A leader still
    /// answers a first batch larger than its share whole (KIP-74), so every round reads on.
    pub fn fetch_within(&mut self, round_bytes: usize) -> Result<Vec<Fetched>, FetchError> {
        let mut out = Vec::new();
        if self.stale {
            self.refresh_metadata()?;
        }
        self.rounds = self.rounds.wrapping_add(1);
        // Partitions in a request still in flight are read when it is answered (or given up).
        let asked: HashSet<(String, i32)> = self
            .in_flight
            .values()
            .flat_map(|f| &f.positions)
            .map(|p| (p.topic.clone(), p.partition))
            .collect();
        let mut by_leader: BTreeMap<i32, Vec<Position>> = BTreeMap::new();
        for ((topic, partition), offset) in &self.positions {
            let key = (topic.clone(), *partition);
            if asked.contains(&key) {
                continue;
            }
            let position = Position {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            };
            match self.leaders.get(&key) {
                // One request per leader at a time, as Kafka answers a connection in order.
                Some(leader) if self.in_flight.contains_key(leader) => {}
                Some(leader) => by_leader.entry(*leader).or_default().push(position),
                None => {
                    let beyond = self
                        .partition_counts
                        .get(topic)
                        .is_some_and(|n| usize::try_from(*partition).is_ok_and(|p| p >= *n));
                    let code = match self.topic_errors.get(topic) {
                        Some(code) => *code,
                        None if beyond => NO_SUCH_PARTITION,
                        None => NO_LEADER,
                    };
                    out.push(no_records(&position, code));
                    self.stale = true;
                }
            }
        }
        // Every leader's request goes out before any answer is read: their waits overlap.
        let share = i32::try_from(round_bytes / by_leader.len().max(1))
            .unwrap_or(i32::MAX)
            .clamp(1, self.settings.max_bytes.max(1));
        let now = Instant::now();
        let mut sent_now = Vec::new();
        for (leader, mut positions) in by_leader {
            let turn = self.rounds % positions.len().max(1);
            positions.rotate_left(turn);
            match self.send(leader, &positions, share) {
                Ok((version, correlation)) => {
                    self.in_flight.insert(
                        leader,
                        InFlight {
                            positions,
                            version,
                            correlation,
                            sent: now,
                        },
                    );
                    sent_now.push(leader);
                }
                Err(e) => self.lose_connection(leader, &e),
            }
        }
        let before = out.len();
        self.read_answers(
            now + self.settings.max_wait + ANSWER_GRACE,
            &sent_now,
            &mut out,
        );
        tracing::trace!(
            sent = ?sent_now,
            in_flight = ?self.in_flight.iter().map(|(l, f)| (*l, f.positions.iter().map(|p| p.partition).collect::<Vec<_>>())).collect::<Vec<_>>(),
            answers = ?out[before..].iter().map(|f| (f.partition, f.error_code, f.batches.len())).collect::<Vec<_>>(),
            "source fetch round"
        );
        self.check_overdue();
        Ok(out)
    }

    /// Reads answers as they arrive: until every request of this round (`sent_now`) is
    /// answered, or `deadline`. A round that sent none waits for the first answer of an earlier
    /// one, or the deadline, so that a round with every leader late does not spin.
    fn read_answers(&mut self, deadline: Instant, sent_now: &[i32], out: &mut Vec<Fetched>) {
        loop {
            self.in_flight
                .retain(|leader, _| self.connections.contains_key(leader));
            let waiting: Vec<i32> = self.in_flight.keys().copied().collect();
            if waiting.is_empty() {
                return;
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            let ready = {
                let conns: Vec<&Connection> = waiting
                    .iter()
                    .filter_map(|l| self.connections.get(l))
                    .collect();
                readiness::ready(&conns, wait)
            };
            let ready = match ready {
                Ok(r) => r,
                Err(e) => {
                    // Not expected of poll(2) on open sockets; the answers are read next round.
                    tracing::debug!(error = %e, "waiting for source fetch answers failed");
                    return;
                }
            };
            let mut answered = false;
            for (leader, arrived) in waiting.into_iter().zip(ready) {
                if arrived && let Some(f) = self.in_flight.remove(&leader) {
                    answered = true;
                    self.read_answer(leader, f, out);
                }
            }
            let own_left = sent_now.iter().any(|l| self.in_flight.contains_key(l));
            if (!own_left && (answered || !sent_now.is_empty())) || Instant::now() >= deadline {
                return;
            }
        }
    }

    /// Reads one leader's answer, its bytes arriving, and advances positions past it.
    fn read_answer(&mut self, leader: i32, f: InFlight, out: &mut Vec<Fetched>) {
        let Some(conn) = self.connections.get_mut(&leader) else {
            return;
        };
        let answer = match conn.receive::<FetchRequest>(f.version, f.correlation) {
            Ok(a) if a.error_code == 0 => a,
            Ok(a) => {
                let e = WriterError::Protocol {
                    broker: conn.broker().to_owned(),
                    api: "Fetch",
                    detail: format!("error code {}", a.error_code),
                };
                self.lose_connection(leader, &e);
                return;
            }
            Err(e) => {
                self.lose_connection(leader, &e);
                return;
            }
        };
        for fetched in request::read(answer, &f.positions, &self.settings) {
            let key = (fetched.topic.clone(), fetched.partition);
            // Asked before the partition was revoked or moved to another offset: what it
            // read is not where the partition is read from now.
            if self.positions.get(&key) != Some(&fetched.from) {
                continue;
            }
            if LEADER_MOVED.contains(&fetched.error_code) {
                self.leaders.remove(&key);
                self.stale = true;
                continue;
            }
            if fetched.error_code == 0
                && let Some(p) = self.positions.get_mut(&key)
            {
                *p = fetched.next_offset;
            }
            out.push(fetched);
        }
    }

    /// Gives up on requests older than `request.timeout.ms`, and asks for leaders again (at
    /// most every [`OVERDUE_REFRESH`]) while one is late: its partitions may have moved.
    fn check_overdue(&mut self) {
        let late = self.settings.max_wait + ANSWER_GRACE;
        let mut expired = Vec::new();
        let mut overdue = Vec::new();
        for (leader, f) in &self.in_flight {
            let age = f.sent.elapsed();
            if age >= self.request_timeout {
                expired.push(*leader);
            } else if age >= late {
                overdue.push(*leader);
            }
        }
        for leader in expired {
            let broker = self
                .connections
                .get(&leader)
                .map_or_else(|| format!("node {leader}"), |c| c.broker().to_owned());
            let e = WriterError::Connection {
                broker,
                detail: format!(
                    "no answer to a fetch within request.timeout.ms ({} ms)",
                    self.request_timeout.as_millis()
                ),
            };
            self.lose_connection(leader, &e);
        }
        if !overdue.is_empty()
            && self
                .refreshed
                .is_none_or(|at| at.elapsed() >= OVERDUE_REFRESH)
        {
            tracing::debug!(leaders = ?overdue, "source fetches overdue; asking for leaders again");
            // Metadata is asked of another broker: a frozen one would hold the ask until
            // request.timeout.ms, and the whole loop with it.
            for leader in overdue {
                let Some(address) = self.brokers.get(&leader) else {
                    continue;
                };
                if self
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.broker() == address)
                {
                    self.metadata = None;
                }
                if !self.failed.contains(address) {
                    self.failed.push(address.clone());
                }
            }
            self.stale = true;
        }
    }

    fn send(
        &mut self,
        leader: i32,
        positions: &[Position],
        max_bytes: i32,
    ) -> Result<(i16, i32), WriterError> {
        if !self.connections.contains_key(&leader) {
            let Some(address) = self.brokers.get(&leader) else {
                return Err(WriterError::Connection {
                    broker: format!("node {leader}"),
                    detail: "not in the cluster's metadata".to_owned(),
                });
            };
            let conn = self.dialer.open(address)?;
            self.connections.insert(leader, conn);
        }
        let Some(conn) = self.connections.get_mut(&leader) else {
            return Err(WriterError::Connection {
                broker: format!("node {leader}"),
                detail: "no connection".to_owned(),
            });
        };
        let version = conn.version::<FetchRequest>()?;
        let settings = FetchSettings {
            max_bytes,
            ..self.settings
        };
        let correlation = conn.send(&request::request(positions, &settings), version)?;
        Ok((version, correlation))
    }

    /// A leader's connection failed: its partitions are read again once the metadata is
    /// asked again (the leader may have moved because the broker went away).
    fn lose_connection(&mut self, leader: i32, e: &WriterError) {
        tracing::debug!(leader, error = %e, "a source leader's fetch failed; asking for leaders again");
        self.connections.remove(&leader);
        self.in_flight.remove(&leader);
        self.leaders.retain(|_, l| *l != leader);
        self.stale = true;
    }

    /// Asks for the assigned topics' leaders, at most once per [`RETRY_BACKOFF`]: whatever
    /// made them stale may take a moment to settle. Waits out the rest of that time only when
    /// no partition has a leader to read from meanwhile.
    fn refresh_metadata(&mut self) -> Result<(), FetchError> {
        let mut topics: Vec<String> = self.positions.keys().map(|(t, _)| t.clone()).collect();
        topics.dedup();
        if topics.is_empty() {
            self.stale = false;
            return Ok(());
        }
        if let Some(wait) = self
            .refreshed
            .and_then(|at| RETRY_BACKOFF.checked_sub(at.elapsed()))
            .filter(|w| !w.is_zero())
        {
            let readable = self.positions.keys().any(|k| self.leaders.contains_key(k));
            if readable {
                return Ok(());
            }
            std::thread::sleep(wait);
        }
        self.refreshed = Some(Instant::now());
        let request = WireProducer::metadata_request(&topics);
        let kept = self.metadata.as_mut().map(|conn| conn.call(&request));
        let answer = match kept {
            Some(Ok(answer)) => answer,
            // A broken or missing connection: another broker, the known ones first.
            _ => {
                self.metadata = None;
                let known: Vec<String> = self.brokers.values().cloned().collect();
                let mut conn = self
                    .dialer
                    .open_any(&known, &mut self.failed)
                    .map_err(FetchError::Metadata)?;
                let answer = conn.call(&request).map_err(FetchError::Metadata)?;
                self.metadata = Some(conn);
                answer
            }
        };
        self.apply(&answer);
        tracing::trace!(brokers = ?self.brokers.keys().collect::<Vec<_>>(), leaders = ?self.leaders, "source leaders");
        self.stale = false;
        Ok(())
    }

    fn apply(&mut self, m: &MetadataResponse) {
        self.brokers = m
            .brokers
            .iter()
            .map(|b| (b.node_id.0, broker_address(b.host.as_str(), b.port)))
            .collect();
        self.connections
            .retain(|node, conn| self.brokers.get(node).is_some_and(|a| a == conn.broker()));
        self.in_flight
            .retain(|node, _| self.connections.contains_key(node));
        self.leaders.clear();
        self.topic_errors.clear();
        self.partition_counts.clear();
        for t in &m.topics {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                self.topic_errors.insert(name.clone(), t.error_code);
            } else {
                self.partition_counts
                    .insert(name.clone(), t.partitions.len());
            }
            for p in &t.partitions {
                if p.error_code == 0 && p.leader_id.0 >= 0 {
                    self.leaders
                        .insert((name.clone(), p.partition_index), p.leader_id.0);
                }
            }
        }
        // A request in flight to a broker that no longer leads one of its partitions is given
        // up (its connection closed, so its answer is never read): the partitions are asked of
        // their leaders now rather than wait out a broker that may never answer.
        let moved: Vec<i32> = self
            .in_flight
            .iter()
            .filter(|(leader, f)| {
                f.positions
                    .iter()
                    .any(|p| self.leaders.get(&(p.topic.clone(), p.partition)) != Some(*leader))
            })
            .map(|(leader, _)| *leader)
            .collect();
        for leader in moved {
            tracing::debug!(leader, "a fetch in flight to a former leader given up");
            self.in_flight.remove(&leader);
            self.connections.remove(&leader);
        }
    }
}

/// What a partition without a leader reports: `code`, no records, its position unchanged.
fn no_records(p: &Position, code: i16) -> Fetched {
    Fetched {
        topic: p.topic.clone(),
        partition: p.partition,
        error_code: code,
        high_watermark: -1,
        log_start_offset: -1,
        from: p.offset,
        batches: Vec::new(),
        next_offset: p.offset,
        unreadable: None,
    }
}
