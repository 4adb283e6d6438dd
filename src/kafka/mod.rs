//! Glue to librdkafka (through `rdkafka`): building consumers, producers and admin clients
//! from the configuration model, and checking connections.

pub mod clients;
pub mod connect_check;
pub mod delivery;
pub mod ffi;
pub mod internal_topic;
pub mod polled_producer;
pub mod stats;
pub mod writer;

pub use clients::{ClientRole, client_config};
pub use connect_check::{ConnectError, check_connection};
pub use delivery::CountingContext;
