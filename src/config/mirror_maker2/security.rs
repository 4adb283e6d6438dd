//! A cluster's `tls` and `authentication` as the client properties the operator derives
//! from them, with certificates, keys and passwords read from their Secrets.

use super::Cluster;
use crate::config::error::ConfigError;
use crate::config::manifests::Manifest;
use crate::config::providers::KubernetesObjects;
use crate::config::settings::Setting;
use crate::config::{strimzi, yaml};

/// The security settings of a cluster (unprefixed client keys), as the operator derives
/// them from `tls` and `authentication`, with the certificates, keys and passwords read from
/// their Secrets.
pub(super) fn security(
    m: &Manifest,
    c: &Cluster<'_>,
    objects: &dyn KubernetesObjects,
) -> Result<Vec<(&'static str, Setting)>, ConfigError> {
    let tls = c.spec.get("tls").filter(|v| !v.is_null());
    let auth = c.spec.get("authentication").filter(|v| !v.is_null());
    let tls_field = format!("{}.tls", c.field);
    let auth_field = format!("{}.authentication", c.field);
    let error = |field: &str, reason: String| {
        ConfigError::invalid(m.at.clone().with_key(field.to_owned()), reason)
    };
    let setting = |value: String, written_as: &str, sensitive: bool| Setting {
        value,
        sensitive,
        written_as: written_as.to_owned(),
    };
    let mut out = Vec::new();
    if let Some(pem) = strimzi::trusted_certificates(m, tls, &tls_field, objects)
        .map_err(|e| error(&tls_field, e))?
    {
        out.push((
            "ssl.truststore.type",
            setting("PEM".to_owned(), &tls_field, false),
        ));
        out.push((
            "ssl.truststore.certificates",
            setting(pem, &tls_field, false),
        ));
    }
    let mut sasl = false;
    if let Some(a) = auth {
        let type_field = format!("{auth_field}.type");
        let kind = yaml::str_at(a, "/type").unwrap_or_default();
        match kind.as_str() {
            "tls" => {
                if tls.is_none() {
                    return Err(error(
                        &type_field,
                        format!("'tls' needs {tls_field}: the client certificate is sent over TLS"),
                    ));
                }
                let id = strimzi::client_certificate(m, Some(a), &auth_field, objects)
                    .map_err(|e| error(&auth_field, e))?
                    .ok_or_else(|| error(&auth_field, "has no certificateAndKey".to_owned()))?;
                out.push((
                    "ssl.keystore.type",
                    setting("PEM".to_owned(), &auth_field, false),
                ));
                out.push((
                    "ssl.keystore.certificate.chain",
                    setting(id.certificate, &auth_field, false),
                ));
                out.push((
                    "ssl.keystore.key",
                    setting(id.key.expose().to_owned(), &auth_field, true),
                ));
            }
            "plain" | "scram-sha-256" | "scram-sha-512" => {
                let (mechanism, jaas) = strimzi::sasl_login(m, a, &auth_field, objects)
                    .map_err(|e| error(&auth_field, e))?;
                out.push((
                    "sasl.mechanism",
                    setting(mechanism.to_owned(), &auth_field, false),
                ));
                out.push((
                    "sasl.jaas.config",
                    setting(jaas.expose().to_owned(), &auth_field, true),
                ));
                sasl = true;
            }
            "oauth" | "custom" => {
                return Err(error(
                    &type_field,
                    format!(
                        "{kind} is not supported yet (cluster '{}'); Strait supports tls, scram-sha-256, scram-sha-512 and plain",
                        c.alias
                    ),
                ));
            }
            other => {
                return Err(error(
                    &type_field,
                    format!(
                        "'{other}' is not a Strimzi client authentication type (expected tls, scram-sha-256, scram-sha-512, plain, oauth or custom)"
                    ),
                ));
            }
        }
    }
    let protocol = match (tls.is_some(), sasl) {
        (false, false) => "PLAINTEXT",
        (true, false) => "SSL",
        (false, true) => "SASL_PLAINTEXT",
        (true, true) => "SASL_SSL",
    };
    let written_as = if sasl { &auth_field } else { &tls_field };
    out.push((
        "security.protocol",
        setting(protocol.to_owned(), written_as, false),
    ));
    Ok(out)
}
