//! Builds librdkafka client configurations from a [`ClusterConnection`].

use rdkafka::ClientConfig;

use crate::config::ClusterConnection;
use crate::config::truststore::{TruststoreError, load_identity, load_pem};

/// What a client is for; it becomes part of `client.id`, as MM2 names its clients by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    /// Reads records to replicate from the source cluster.
    ReplicationConsumer,
    /// Writes replicated records to the target cluster.
    ReplicationProducer,
    /// Administers topics on the source cluster.
    SourceAdmin,
    /// Administers topics on the target cluster.
    TargetAdmin,
}

impl ClientRole {
    /// MM2's role name, used in `client.id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplicationConsumer => "replication-consumer",
            Self::ReplicationProducer => "replication-producer",
            Self::SourceAdmin => "replication-source-admin",
            Self::TargetAdmin => "replication-target-admin",
        }
    }
}

/// The librdkafka configuration for a client of `role` on the cluster `conn` describes.
/// `client_id_prefix` names the flow (MM2 uses `<source>-><target>`).
///
/// Fails only when the truststore or the client keystore cannot be read.
pub fn client_config(
    conn: &ClusterConnection,
    client_id_prefix: &str,
    role: ClientRole,
) -> Result<ClientConfig, TruststoreError> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &conn.bootstrap_servers);
    cfg.set("client.id", format!("{client_id_prefix}|{}", role.as_str()));
    cfg.set("security.protocol", conn.security_protocol.as_str());
    if conn.security_protocol.uses_tls() {
        // Every store format is handed to librdkafka as PEM text, so JKS and PKCS#12
        // truststores need no files of their own.
        if let Some(store) = &conn.tls.truststore {
            cfg.set("ssl.ca.pem", load_pem(store)?);
        }
        // Likewise the client certificate: the key arrives decrypted, so librdkafka needs no
        // key password.
        if let Some(keystore) = &conn.tls.keystore {
            let identity = load_identity(keystore)?;
            cfg.set("ssl.certificate.pem", identity.certificate_pem);
            cfg.set("ssl.key.pem", identity.key_pem.expose());
        }
        cfg.set(
            "ssl.endpoint.identification.algorithm",
            if conn.tls.verify_hostname {
                "https"
            } else {
                "none"
            },
        );
    }
    if let Some(sasl) = conn
        .sasl
        .as_ref()
        .filter(|_| conn.security_protocol.uses_sasl())
    {
        cfg.set("sasl.mechanism", sasl.mechanism.as_str());
        cfg.set("sasl.username", &sasl.username);
        cfg.set("sasl.password", sasl.password.expose());
    }
    for (k, v) in &conn.client_overrides {
        cfg.set(k, v);
    }
    // Troubleshooting aid: librdkafka's debug contexts (e.g. `cgrp,msg`) for every client.
    if let Ok(debug) = std::env::var("STRAIT_KAFKA_DEBUG") {
        cfg.set("debug", debug);
    }
    Ok(cfg)
}
