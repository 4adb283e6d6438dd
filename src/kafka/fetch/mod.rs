//! Reading the source as the broker stored it: record batches, not records (issue 15).
//!
//! librdkafka's consumer hands over records, decompressed and parsed one by one. Compressed
//! batch passthrough (`writer/passthrough.rs`) needs the batches themselves, so it needs a
//! fetcher of Strait's own, speaking the protocol over the writer's connections (TLS, SASL):
//! - [`request`]: one fetch request, and its answer split into batches;
//! - [`read_committed`]: which batches a read_committed consumer sees;
//! - [`fetcher`]: partitions assigned at positions, their leaders followed, one request per
//!   leader per round;
//! - `readiness`: which leaders' answers have arrived, so that one that is slow or frozen
//!   holds only its own partitions.
//!
//! The pipeline reads through it with `strait.source.reader=wire` (`source/pipeline/reader/`);
//! `docs/performance.md` ("Compressed batch passthrough") measures what it saves.

pub mod fetcher;
pub mod read_committed;
mod readiness;
pub mod request;

pub use fetcher::{FetchError, Fetcher};
pub use request::{FetchReadError, FetchSettings, Fetched, Position, read, request};
