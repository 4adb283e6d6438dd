//! Links: a thread per broker that sends that broker's requests and waits for its answers,
//! so that a broker slow to answer, or frozen, holds only the partitions it leads. One more
//! link, not bound to a broker, asks the cluster's metadata and new producer ids.
//!
//! A link takes one request at a time: a broker answers a connection's requests one at a
//! time anyway, and the [`Sender`](super::Sender) keeps at most one batch per partition out,
//! so a link's queue never holds more than its broker's partitions.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{MetadataResponse, ProduceRequest, ProduceResponse};

use super::connection::Connection;
use super::connection::Request;
use super::error::WriterError;
use super::producer::{Dialer, WireProducer, producer_id_of, producer_id_request, unknown_outcome};

/// Work for a link.
#[derive(Debug)]
pub enum Job {
    /// Send a produce request to the link's broker; answered as [`Answer::Produce`].
    Produce {
        /// Names the request in its answer.
        token: u64,
        /// The request.
        request: ProduceRequest,
    },
    /// Ask any broker for the metadata of `topics`; answered as [`Answer::Metadata`].
    Metadata {
        /// The topics.
        topics: Vec<String>,
        /// Brokers known from earlier metadata, tried after the bootstrap list.
        known: Vec<String>,
    },
    /// Ask any broker for a new producer id; answered as [`Answer::ProducerId`].
    ProducerId {
        /// Brokers known from earlier metadata, tried after the bootstrap list.
        known: Vec<String>,
    },
}

/// What a link answers.
#[derive(Debug)]
pub enum Answer {
    /// The broker's answer to the produce request `token`, or why there is none.
    Produce {
        /// The request's token.
        token: u64,
        /// The answer.
        answer: Result<ProduceResponse, WriterError>,
    },
    /// The metadata asked for, or why there is none.
    Metadata(Result<MetadataResponse, WriterError>),
    /// A new producer id and epoch, or why there is none.
    ProducerId(Result<(i64, i16), WriterError>),
}

/// Where links' answers go.
pub trait Hub: Send + Sync {
    /// Takes an answer.
    fn post(&self, answer: Answer);
    /// A link's thread panicked: what it held will never be answered.
    fn panicked(&self);
}

/// A link's thread, fed through a channel; ends when the link is dropped, after the request
/// it is working on.
#[derive(Debug)]
pub struct Link {
    /// The broker's `host:port`; `None` for the metadata link.
    address: Option<String>,
    jobs: mpsc::Sender<Job>,
}

impl Link {
    /// A link to the broker at `address`.
    /// A link to broker `node`, at `address`.
    pub fn broker(
        node: i32,
        address: &str,
        dialer: Dialer,
        hub: Arc<dyn Hub>,
    ) -> Result<Self, WriterError> {
        // Named by node id: a host name from the metadata may not be a valid thread name.
        Self::spawn(
            Some(address.to_owned()),
            format!("strait-writer-{node}"),
            dialer,
            hub,
        )
    }

    /// A link to any broker of the cluster, for metadata.
    pub fn any(dialer: Dialer, hub: Arc<dyn Hub>) -> Result<Self, WriterError> {
        Self::spawn(None, "strait-writer-meta".to_owned(), dialer, hub)
    }

    fn spawn(
        address: Option<String>,
        name: String,
        dialer: Dialer,
        hub: Arc<dyn Hub>,
    ) -> Result<Self, WriterError> {
        let (jobs, rx) = mpsc::channel();
        let peer = address.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _notice = PanicNotice(hub.clone());
                Worker {
                    peer,
                    dialer,
                    hub,
                    conn: None,
                    not_before: None,
                    failed: Vec::new(),
                }
                .run(&rx);
            })
            .map_err(|e| WriterError::Connection {
                broker: address.clone().unwrap_or_else(|| "(metadata)".to_owned()),
                detail: format!("cannot start a writer thread: {e}"),
            })?;
        Ok(Self { address, jobs })
    }

    /// The broker's `host:port`; `None` for the metadata link.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// Queues `job`; gives it back when the link's thread is gone.
    pub fn send(&self, job: Job) -> Result<(), Job> {
        self.jobs.send(job).map_err(|e| e.0)
    }
}

/// Tells the hub when a link's thread unwinds.
struct PanicNotice(Arc<dyn Hub>);

impl Drop for PanicNotice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.panicked();
        }
    }
}

/// A link's thread.
struct Worker {
    peer: Option<String>,
    dialer: Dialer,
    hub: Arc<dyn Hub>,
    conn: Option<Connection>,
    /// When the broker, having asked to be throttled, may be sent to again.
    not_before: Option<Instant>,
    /// Brokers the metadata link failed with, oldest first: tried last next time.
    failed: Vec<String>,
}

impl Worker {
    fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            let answer = match job {
                Job::Produce { token, request } => Answer::Produce {
                    token,
                    answer: self.produce(request),
                },
                Job::Metadata { topics, known } => Answer::Metadata(self.metadata(&topics, &known)),
                Job::ProducerId { known } => Answer::ProducerId(self.producer_id(&known)),
            };
            let broken = match &answer {
                Answer::Produce {
                    answer: Err(e @ WriterError::Connection { .. }),
                    ..
                } => Some(e.to_string()),
                _ => None,
            };
            self.hub.post(answer);
            if let Some(reason) = broken {
                self.fail_queued(jobs, &reason);
            }
        }
    }

    /// Answers the requests queued behind one whose connection failed, without sending
    /// them: they were planned with the same view of the cluster, and sent they would each
    /// wait out a timeout on a broker that may be frozen. Their batches are planned again
    /// with fresh metadata.
    fn fail_queued(&self, jobs: &mpsc::Receiver<Job>, reason: &str) {
        let broker = self.peer.clone().unwrap_or_default();
        while let Ok(job) = jobs.try_recv() {
            let error = WriterError::Connection {
                broker: broker.clone(),
                detail: format!("not sent: the request before it failed ({reason})"),
            };
            let answer = match job {
                Job::Produce { token, .. } => Answer::Produce {
                    token,
                    answer: Err(error),
                },
                Job::Metadata { .. } => Answer::Metadata(Err(error)),
                Job::ProducerId { .. } => Answer::ProducerId(Err(error)),
            };
            self.hub.post(answer);
        }
    }

    /// Sends `request` and waits for its answer. The request is dropped once written: its
    /// sealed batches are a copy of what the sender keeps for a retry, and would otherwise be
    /// held for the whole round trip (a third of the peak heap of a catch-up, measured).
    fn produce(&mut self, request: ProduceRequest) -> Result<ProduceResponse, WriterError> {
        if let Some(wait) = self
            .not_before
            .and_then(|t| t.checked_duration_since(Instant::now()))
        {
            std::thread::sleep(wait);
        }
        let address = self.peer.clone().unwrap_or_default();
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(self.dialer.open(&address)?),
        };
        let sent = conn
            .version::<ProduceRequest>()
            .and_then(|v| conn.send(&request, v).map(|c| (v, c)));
        drop(request);
        let answer = sent.and_then(|(version, correlation)| {
            conn.receive::<ProduceRequest>(version, correlation)
                .map_err(|e| unknown_outcome(&address, &e))
        });
        match &answer {
            Ok(r) if r.throttle_time_ms > 0 => {
                // Capped: a broker's number must not hold the partitions past a timeout.
                let ms = u64::try_from(r.throttle_time_ms).unwrap_or(0);
                let wait = Duration::from_millis(ms).min(self.dialer.request_timeout());
                self.not_before = Some(Instant::now() + wait);
            }
            Ok(_) => {}
            // The connection's state is unknown after a failure: the next request opens a
            // new one.
            Err(_) => self.conn = None,
        }
        answer
    }

    fn metadata(
        &mut self,
        topics: &[String],
        known: &[String],
    ) -> Result<MetadataResponse, WriterError> {
        self.call_any(&WireProducer::metadata_request(topics), known)
    }

    /// Asks for a new producer id until a broker gives one, one refuses for good, or a
    /// request timeout has passed.
    fn producer_id(&mut self, known: &[String]) -> Result<(i64, i16), WriterError> {
        let give_up = Instant::now() + self.dialer.request_timeout();
        loop {
            let error = match self.call_any(&producer_id_request(), known) {
                Ok(r) => {
                    let broker = self.conn.as_ref().map_or("", Connection::broker);
                    match producer_id_of(broker, &r) {
                        Ok(id) => return Ok(id),
                        Err((e, false)) => return Err(e),
                        Err((e, true)) => e,
                    }
                }
                Err(e) => e,
            };
            if Instant::now() > give_up {
                return Err(error);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `request` to the broker this link is connected to, or to any that answers; a broker
    /// that fails is tried last next time.
    fn call_any<R: Request>(
        &mut self,
        request: &R,
        known: &[String],
    ) -> Result<R::Response, WriterError> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let opened = self.dialer.open_any(known, &mut self.failed);
                self.conn.insert(opened?)
            }
        };
        let answer = conn.call(request);
        if answer.is_err() {
            let broker = conn.broker().to_owned();
            if !self.failed.contains(&broker) {
                self.failed.push(broker);
            }
            self.conn = None;
        }
        answer
    }
}
