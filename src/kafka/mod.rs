//! Talking to Kafka: librdkafka (through `rdkafka`) for consumers, producers and admin clients
//! built from the configuration model, and the protocol spoken directly where librdkafka does
//! not do what replication needs: the target writer ([`writer`]), and reading the source as
//! stored batches ([`fetch`], [`record_batch`]) for compressed batch passthrough.

pub mod clients;
pub mod connect_check;
pub mod delivery;
pub mod fetch;
pub mod ffi;
pub mod internal_topic;
pub mod polled_producer;
pub mod record_batch;
pub mod stats;
pub mod writer;

pub use clients::{ClientRole, client_config};
pub use connect_check::{ConnectError, check_connection};
pub use delivery::CountingContext;
