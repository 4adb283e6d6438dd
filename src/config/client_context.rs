//! What a connection's store paths may refer to besides local files: the truststores and
//! keystores a Strimzi Connect pod would have built from Secrets, standing in for files
//! Strait's own pod does not have.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{KeystoreSource, Truststore};

/// What connections may refer to besides local files.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    /// Truststore files Strait's pod does not have, by the path a configuration names, and
    /// what stands in for them (e.g. the PKCS#12 store Strimzi builds in a Connect pod from
    /// `spec.tls.trustedCertificates`, as the PEM of those certificates).
    pub virtual_truststores: BTreeMap<PathBuf, Truststore>,
    /// Keystore files likewise (e.g. the PKCS#12 keystore Strimzi builds from
    /// `spec.authentication` of type `tls`, as the PEM certificate and key of its Secret).
    pub virtual_keystores: BTreeMap<PathBuf, KeystoreSource>,
}
