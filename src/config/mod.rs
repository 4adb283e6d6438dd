//! Configuration: the one resolved model every other part consumes ([`model`]), and the pieces
//! that keep secrets out of logs ([`secret`]).
//!
//! Readers for Strimzi manifests, `mm2.properties` and config providers come with the
//! configuration issue; they all produce the same [`model`] types.

pub mod model;
pub mod secret;
pub mod truststore;

pub use model::{
    CheckpointConnectorConfig, ClusterConnection, FlowConfig, HeartbeatConnectorConfig,
    OffsetSyncsLocation, PolicyConfig, PolicyKind, Sasl, SaslMechanism, SecurityProtocol,
    SourceConnectorConfig, StraitConfig, Tls, Truststore, UseDefaultsFrom, WorkerConfig,
};
pub use secret::Secret;
