//! Which fields of a KafkaMirrorMaker2 Strimzi serves in each API version: unknown ones are
//! warned about, v1beta2's deprecated ones warned about there and refused in v1.

use serde_json::Value;

use super::{API_V1, API_V1BETA2, KIND, array};
use crate::config::error::{ConfigError, ConfigWarning};
use crate::config::manifests::Manifest;

/// Fields of `spec` Strait has no use for but Strimzi serves (pod, JVM and metrics settings);
/// they are accepted without a warning.
const SPEC_FIELDS_WITHOUT_EFFECT: &[&str] = &[
    "version",
    "replicas",
    "image",
    "resources",
    "livenessProbe",
    "readinessProbe",
    "jvmOptions",
    "jmxOptions",
    "logging",
    "clientRackInitImage",
    "rack",
    "metricsConfig",
    "tracing",
    "template",
    "externalConfiguration",
];
const MIRROR_FIELDS: &[&str] = &[
    "source",
    "sourceConnector",
    "checkpointConnector",
    "topicsPattern",
    "topicsExcludePattern",
    "groupsPattern",
    "groupsExcludePattern",
];
const CLUSTER_FIELDS: &[&str] = &[
    "alias",
    "bootstrapServers",
    "tls",
    "authentication",
    "config",
];
const TARGET_ONLY_FIELDS: &[&str] = &[
    "groupId",
    "configStorageTopic",
    "offsetStorageTopic",
    "statusStorageTopic",
];

/// v1beta2 fields removed in v1: (where, field, what to do instead).
const V1BETA2_ONLY: &[(&str, &str, &str)] = &[
    ("spec", "connectCluster", "use spec.target"),
    (
        "spec",
        "clusters",
        "use spec.target and spec.mirrors[].source",
    ),
    ("mirror", "sourceCluster", "use spec.mirrors[].source"),
    ("mirror", "targetCluster", "use spec.target"),
    (
        "mirror",
        "heartbeatConnector",
        "v1 runs no heartbeat connector",
    ),
    (
        "mirror",
        "topicsBlacklistPattern",
        "use spec.mirrors[].topicsExcludePattern",
    ),
    (
        "mirror",
        "groupsBlacklistPattern",
        "use spec.mirrors[].groupsExcludePattern",
    ),
];

/// Warns about fields Strimzi does not serve; refuses v1beta2-only fields in v1 and warns
/// they are deprecated in v1beta2.
pub(super) fn check_fields(
    m: &Manifest,
    v1: bool,
    spec: &Value,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let mut old = |field: String, name: &str, instead: &str| -> Result<(), ConfigError> {
        let at = m.at.clone().with_key(field);
        if v1 {
            Err(ConfigError::invalid(
                at,
                format!(
                    "is not part of {API_V1} (it was removed with v1beta2): {instead}; or keep apiVersion {API_V1BETA2}"
                ),
            ))
        } else {
            warnings.push(ConfigWarning::new(
                at,
                format!("{name} is deprecated and removed in {API_V1}: {instead}"),
            ));
            Ok(())
        }
    };
    let old_in = |place: &str, name: &str| {
        V1BETA2_ONLY
            .iter()
            .find(|(p, n, _)| *p == place && *n == name)
            .map(|(_, _, instead)| *instead)
    };
    let mut unknown = Vec::new();
    for name in keys(spec) {
        if let Some(instead) = old_in("spec", name) {
            old(format!("spec.{name}"), name, instead)?;
        } else if !["target", "mirrors"].contains(&name)
            && !SPEC_FIELDS_WITHOUT_EFFECT.contains(&name)
        {
            unknown.push(format!("spec.{name}"));
        }
    }
    if let Some(t) = spec.get("target") {
        unknown_cluster_fields(t, "spec.target", true, &mut unknown);
    }
    for (i, c) in array(spec, "clusters").iter().enumerate() {
        unknown_cluster_fields(c, &format!("spec.clusters[{i}]"), false, &mut unknown);
    }
    for (i, mirror) in array(spec, "mirrors").iter().enumerate() {
        for name in keys(mirror) {
            let field = format!("spec.mirrors[{i}].{name}");
            if let Some(instead) = old_in("mirror", name) {
                old(field, name, instead)?;
            } else if !MIRROR_FIELDS.contains(&name) {
                unknown.push(field);
            }
        }
        if let Some(s) = mirror.get("source") {
            unknown_cluster_fields(s, &format!("spec.mirrors[{i}].source"), false, &mut unknown);
        }
    }
    for field in unknown {
        warnings.push(ConfigWarning::new(
            m.at.clone().with_key(field),
            format!("ignored: not a field of {KIND} {}", m.api_version),
        ));
    }
    Ok(())
}

fn unknown_cluster_fields(c: &Value, field: &str, target: bool, unknown: &mut Vec<String>) {
    for name in keys(c) {
        let known =
            CLUSTER_FIELDS.contains(&name) || (target && TARGET_ONLY_FIELDS.contains(&name));
        if !known {
            unknown.push(format!("{field}.{name}"));
        }
    }
}

fn keys(v: &Value) -> impl Iterator<Item = &str> {
    v.as_object()
        .into_iter()
        .flat_map(|o| o.keys().map(String::as_str))
}
