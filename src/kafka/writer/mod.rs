//! A target writer of Strait's own, speaking the Kafka protocol directly (issue 15).
//!
//! librdkafka sends one produce request per partition; this writer sends every partition
//! bound for a broker in one request, as the Java producer does. Measured on the bench's
//! test bed, that costs 4.5 to 5.3 times less producer CPU (`docs/performance.md`).
//!
//! The pipeline writes through it with `strait.target.writer=wire` (`source/pipeline/wire.rs`);
//! its design is in `docs/performance.md`, "A target writer of Strait's own":
//! - [`connection`]: TCP, TLS ([`tls`], every truststore and keystore format) and SASL
//!   ([`sasl`]: PLAIN, SCRAM-SHA-256/512), versions agreed with the broker;
//! - [`batch`]: record batches in format v2, headers kept exactly, every codec;
//! - [`producer`]: an idempotent producer writing one request per leader;
//! - [`sender`]: batching per partition with a linger, retries in order, delivery timeouts,
//!   on a thread of its own;
//! - [`link`]: a thread per broker for its requests, so a slow broker holds only its own
//!   partitions, and one for metadata.
//!
//! Not yet: more than one batch per partition in flight, transactions (exactly-once stays on
//! librdkafka).

pub mod batch;
pub mod connection;
mod error;
pub mod link;
pub mod passthrough;
pub mod producer;
mod sasl;
pub mod sender;
mod tls;

pub use batch::{Codec, OutRecord};
pub use error::WriterError;
pub use passthrough::{NotPassable, PassedBatch};
pub use producer::{Leaders, PartitionWrite, Payload, WireProducer, WriterSettings};
pub use sender::{Deliver, PassRefused, Sender, SenderSettings, SenderStopped};
