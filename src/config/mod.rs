//! Configuration: the one resolved model every other part consumes ([`model`]), and the pieces
//! that keep secrets out of logs ([`secret`]).
//!
//! Readers for Strimzi manifests, `mm2.properties` and config providers come with the
//! configuration issue; they all produce the same [`model`] types.

pub mod model;
pub mod secret;

pub use model::{ClusterConnection, Sasl, SaslMechanism, SecurityProtocol, Tls, Truststore};
pub use secret::Secret;
