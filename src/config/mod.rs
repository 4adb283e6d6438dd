//! Configuration: the one resolved model every other part consumes ([`model`]), the pieces
//! that keep secrets out of logs ([`secret`]), and the readers that turn the files users already
//! have (Strimzi manifests, `mm2.properties`, Strait's own YAML) into that model ([`load`]).

pub mod client_context;
pub mod client_keys;
pub(crate) mod client_keystore;
pub mod client_props;
pub mod connector;
pub mod connector_keys;
pub mod describe;
#[cfg(test)]
mod documented_defaults;
pub mod error;
pub(crate) mod exactly_once;
pub(crate) mod flows;
pub mod jaas;
pub(crate) mod key_reader;
pub mod load;
pub(crate) mod manifests;
pub(crate) mod mirror_maker2;
pub(crate) mod mm2_properties;
pub mod model;
pub(crate) mod native;
pub mod properties;
pub mod providers;
pub mod secret;
#[cfg(test)]
mod seed_tests;
pub mod settings;
pub mod source_reader;
pub(crate) mod strimzi;
pub mod suggest;
pub mod target_writer;
#[cfg(test)]
mod test_support;
pub mod truststore;
pub(crate) mod worker;
pub(crate) mod yaml;

pub use describe::describe;
pub use error::{ConfigError, ConfigWarning, Origin};
pub use load::{LoadOptions, Loaded, load, load_with};
pub use model::{
    CheckpointConnectorConfig, ClusterConnection, ExactlyOnceConfig, FlowConfig,
    HeartbeatConnectorConfig, Keystore, KeystoreSource, OffsetSyncsLocation, PolicyConfig,
    PolicyKind, Sasl, SaslMechanism, SecurityProtocol, SourceConnectorConfig, SourceReader,
    StraitConfig, TargetWriter, Tls, Truststore, UseDefaultsFrom, WorkerConfig,
};
pub use providers::kube_api::{KubernetesApiMode, KubernetesApiOptions};
pub use secret::Secret;
pub use source_reader::ReaderChoice;
pub use target_writer::WriterChoice;
