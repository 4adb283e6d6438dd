//! Glue to librdkafka (through `rdkafka`): building consumers, producers and admin clients
//! from the configuration model.

pub mod clients;

pub use clients::{ClientRole, client_config};
