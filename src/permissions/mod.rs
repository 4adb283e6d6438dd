//! The Kafka permissions (ACLs) a flow needs on each cluster, derived from its configuration,
//! and `strait check`'s probe of which of them the configured users lack.
//!
//! [`needed`] lists every permission as one resource and one operation, tagged with the feature
//! that needs it; the lists are minimal under Kafka's implication rules (an ALLOW for Read,
//! Write, Alter or Delete implies Describe; AlterConfigs implies DescribeConfigs), so a
//! permission named here is never implied by another one named here. `docs/permissions.md`
//! gives the same list as `kafka-acls.sh` commands, and `tests/least_privilege.rs` proves a flow
//! runs with exactly these ACLs, and that [`probe`] names each one when it is taken away.

mod probe;

use std::fmt;

pub use probe::{CheckError, ClusterReport, Outcome, Verdict, check, spawn_start_check};

use crate::config::{ClusterConnection, FlowConfig, OffsetSyncsLocation};
use crate::kafka::ffi::{AclOperation, ResourceType};
use crate::policy::{
    GroupFilter, PolicyError, ReplicationPolicy, TopicFilter, should_replicate_topic,
};

/// What a permission is needed for (the features of docs/permissions.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// Reading source records and writing them to remote topics, creating and growing those.
    Replication,
    /// The processes' consumer group on the source (scale-out, hand-over).
    ScaleOutGroup,
    /// Replication progress in the Connect offsets topic on the target.
    Progress,
    /// Electing the process that runs once-per-flow duties (a group on the target).
    Duties,
    /// Writing offset syncs.
    OffsetSyncs,
    /// Syncing topic configs to remote topics.
    TopicConfigSync,
    /// Copying topic ACLs to remote topics.
    AclSync,
    /// Reading source groups, reading offset syncs, writing checkpoints.
    Checkpoints,
    /// Writing translated offsets to target groups (`sync.group.offsets.enabled`).
    GroupOffsetSync,
    /// Writing heartbeats.
    Heartbeats,
    /// Transactional producers (exactly-once).
    ExactlyOnce,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::Replication => "replication",
            Feature::ScaleOutGroup => "scale-out group",
            Feature::Progress => "replication progress",
            Feature::Duties => "duties election",
            Feature::OffsetSyncs => "offset syncs",
            Feature::TopicConfigSync => "topic config sync",
            Feature::AclSync => "ACL sync",
            Feature::Checkpoints => "checkpoints",
            Feature::GroupOffsetSync => "group offset sync",
            Feature::Heartbeats => "heartbeats",
            Feature::ExactlyOnce => "exactly-once",
        })
    }
}

/// A resource a permission is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// The cluster.
    Cluster,
    /// A topic, by its exact name.
    Topic(String),
    /// A consumer group, by its exact name.
    Group(String),
    /// Every transactional id starting with this prefix (a PREFIXED ACL).
    TransactionalIdPrefix(String),
}

impl Resource {
    /// The ACL resource type.
    pub fn resource_type(&self) -> ResourceType {
        match self {
            Resource::Cluster => ResourceType::Cluster,
            Resource::Topic(_) => ResourceType::Topic,
            Resource::Group(_) => ResourceType::Group,
            Resource::TransactionalIdPrefix(_) => ResourceType::TransactionalId,
        }
    }

    /// The `kafka-acls.sh` arguments that select the resource.
    fn acl_args(&self) -> String {
        match self {
            Resource::Cluster => "--cluster".to_owned(),
            Resource::Topic(t) => format!("--topic '{t}'"),
            Resource::Group(g) => format!("--group '{g}'"),
            Resource::TransactionalIdPrefix(p) => {
                format!("--transactional-id '{p}' --resource-pattern-type prefixed")
            }
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Cluster => f.write_str("Cluster"),
            Resource::Topic(t) => write!(f, "Topic '{t}'"),
            Resource::Group(g) => write!(f, "Group '{g}'"),
            Resource::TransactionalIdPrefix(p) => write!(f, "TransactionalId '{p}' (prefixed)"),
        }
    }
}

/// Kafka's name of an operation, as `kafka-acls.sh --operation` takes it.
pub fn operation_name(op: AclOperation) -> &'static str {
    match op {
        AclOperation::Read => "Read",
        AclOperation::Write => "Write",
        AclOperation::Create => "Create",
        AclOperation::Delete => "Delete",
        AclOperation::Alter => "Alter",
        AclOperation::Describe => "Describe",
        AclOperation::ClusterAction => "ClusterAction",
        AclOperation::DescribeConfigs => "DescribeConfigs",
        AclOperation::AlterConfigs => "AlterConfigs",
        AclOperation::IdempotentWrite => "IdempotentWrite",
        AclOperation::All => "All",
        AclOperation::Any => "Any",
        AclOperation::Unknown => "Unknown",
    }
}

/// Which cluster of a flow a permission is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The flow's source cluster.
    Source,
    /// The flow's target cluster.
    Target,
    /// Where the heartbeat connector writes (`target.cluster.*` of that connector; the flow's
    /// target unless configured otherwise).
    Heartbeats,
}

/// One permission: `operation` on `resource` of the cluster `side`, needed by `features`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// Which cluster.
    pub side: Side,
    /// On what.
    pub resource: Resource,
    /// The operation.
    pub operation: AclOperation,
    /// What needs it.
    pub features: Vec<Feature>,
}

impl Permission {
    fn new(side: Side, resource: Resource, operation: AclOperation, feature: Feature) -> Self {
        Permission {
            side,
            resource,
            operation,
            features: vec![feature],
        }
    }

    /// The `kafka-acls.sh` command that grants it to `principal`.
    pub fn kafka_acls_command(&self, principal: &str) -> String {
        format!(
            "kafka-acls.sh --bootstrap-server <{side:?}> --add --allow-principal '{principal}' \
             --operation {op} {res}",
            side = self.side,
            op = operation_name(self.operation),
            res = self.resource.acl_args(),
        )
        .replace("<Source>", "<source>")
        .replace("<Target>", "<target>")
        .replace("<Heartbeats>", "<heartbeats cluster>")
    }
}

/// What the clusters hold that decides the concrete resources: the source topics the user can
/// see (replicated ones are picked by the flow's filters) and the source groups it can see.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// Source topic names.
    pub source_topics: Vec<String>,
    /// Source consumer group ids.
    pub source_groups: Vec<String>,
}

/// The connection of `side` in `flow` (`None`: the flow has no such cluster).
pub fn connection(flow: &FlowConfig, side: Side) -> Option<&ClusterConnection> {
    match side {
        Side::Source => Some(&flow.source),
        Side::Target => Some(&flow.target),
        Side::Heartbeats => flow
            .heartbeat_connector
            .as_ref()
            .filter(|h| h.emit_heartbeats_enabled)
            .map(|h| h.heartbeats_cluster.as_ref().unwrap_or(&flow.target)),
    }
}

/// Literal names among MM2-style patterns (a comma list of Java regexes): those without regex
/// metacharacters, which must exist whether or not the user may see them yet.
fn literal_names(patterns: &[String]) -> impl Iterator<Item = &String> {
    patterns.iter().filter(|p| {
        !p.is_empty()
            && !p.chars().any(|c| {
                matches!(
                    c,
                    '*' | '+' | '?' | '[' | ']' | '(' | ')' | '{' | '}' | '|' | '^' | '$' | '\\'
                )
            })
            && !p.contains(".*")
    })
}

/// Every permission `flow` needs, given what the source holds. Sorted, without duplicates.
pub fn needed(flow: &FlowConfig, discovered: &Discovered) -> Result<Vec<Permission>, PolicyError> {
    use AclOperation::{Alter, AlterConfigs, Create, Describe, DescribeConfigs, Read, Write};
    let mut out = Vec::new();
    let mut add = |side, resource: Resource, ops: &[AclOperation], feature| {
        for &op in ops {
            out.push(Permission::new(side, resource.clone(), op, feature));
        }
    };
    let policy = ReplicationPolicy::new(&flow.policy, &flow.source_alias);
    let topic = |t: &str| Resource::Topic(t.to_owned());
    let group = |g: &str| Resource::Group(g.to_owned());
    let worker = &flow.worker;
    let mut elected = false;

    if let Some(sc) = flow.source_connector.as_ref().filter(|s| s.enabled) {
        elected = true;
        let filter = TopicFilter::new(&sc.topics, &sc.topics_exclude)?;
        let selects = |t: &str| {
            should_replicate_topic(
                &filter,
                &policy,
                &flow.target_alias,
                sc.heartbeats_replication_enabled,
                t,
            )
        };
        let mut topics: Vec<&String> = discovered
            .source_topics
            .iter()
            .filter(|t| selects(t))
            .collect();
        topics.extend(literal_names(&sc.topics).filter(|t| selects(t)));
        for t in topics {
            // The source's configs are read when a remote topic is created, sync or not.
            add(
                Side::Source,
                topic(t),
                &[Read, DescribeConfigs],
                Feature::Replication,
            );
            let remote = policy.format_remote_topic(&flow.source_alias, t);
            // Alter: partitions added on the source are added to the remote topic.
            add(
                Side::Target,
                topic(&remote),
                &[Create, Write, Alter],
                Feature::Replication,
            );
            if sc.sync_topic_configs_enabled {
                add(
                    Side::Target,
                    topic(&remote),
                    &[AlterConfigs],
                    Feature::TopicConfigSync,
                );
            }
        }
        add(
            Side::Source,
            group(&worker.group_id),
            &[Read],
            Feature::ScaleOutGroup,
        );
        add(
            Side::Target,
            topic(&worker.offset_storage_topic),
            &[Create, Read, Write],
            Feature::Progress,
        );
        if sc.emit_offset_syncs_enabled {
            let (side, alias) = match sc.offset_syncs_topic_location {
                OffsetSyncsLocation::Source => (Side::Source, &flow.target_alias),
                OffsetSyncsLocation::Target => (Side::Target, &flow.source_alias),
            };
            add(
                side,
                topic(&policy.offset_syncs_topic(alias)),
                &[Create, Write],
                Feature::OffsetSyncs,
            );
        }
        if sc.sync_topic_acls_enabled {
            add(
                Side::Source,
                Resource::Cluster,
                &[Describe],
                Feature::AclSync,
            );
            add(Side::Target, Resource::Cluster, &[Alter], Feature::AclSync);
        }
        if let Some(eo) = &sc.exactly_once {
            add(
                Side::Target,
                Resource::TransactionalIdPrefix(eo.transactional_id_prefix.clone()),
                &[Write],
                Feature::ExactlyOnce,
            );
        }
    }

    if let Some(cc) = flow
        .checkpoint_connector
        .as_ref()
        .filter(|c| c.enabled && c.emit_checkpoints_enabled)
    {
        elected = true;
        let (side, alias) = match cc.offset_syncs_topic_location {
            OffsetSyncsLocation::Source => (Side::Source, &flow.target_alias),
            OffsetSyncsLocation::Target => (Side::Target, &flow.source_alias),
        };
        add(
            side,
            topic(&policy.offset_syncs_topic(alias)),
            &[Read],
            Feature::Checkpoints,
        );
        add(
            Side::Target,
            topic(&policy.checkpoints_topic(&flow.source_alias)),
            &[Create, Read, Write],
            Feature::Checkpoints,
        );
        let groups = GroupFilter::new(&cc.groups, &cc.groups_exclude)?;
        let mut selected: Vec<&String> = discovered
            .source_groups
            .iter()
            .filter(|g| groups.accepts(g))
            .collect();
        selected.extend(literal_names(&cc.groups).filter(|g| groups.accepts(g)));
        for g in selected {
            add(Side::Source, group(g), &[Describe], Feature::Checkpoints);
            if cc.sync_group_offsets_enabled {
                add(Side::Target, group(g), &[Read], Feature::GroupOffsetSync);
            }
        }
        if cc.sync_group_offsets_enabled {
            // Committing offsets needs Read on each topic committed to (Kafka's OffsetCommit).
            let topics = TopicFilter::new(&cc.topics, &cc.topics_exclude)?;
            for t in discovered
                .source_topics
                .iter()
                .filter(|t| should_replicate_topic(&topics, &policy, &flow.target_alias, false, t))
            {
                add(
                    Side::Target,
                    topic(&policy.format_remote_topic(&flow.source_alias, t)),
                    &[Read],
                    Feature::GroupOffsetSync,
                );
            }
        }
    }

    if elected {
        // The election group subscribes to the offsets topic on the target.
        add(
            Side::Target,
            topic(&worker.offset_storage_topic),
            &[Read],
            Feature::Duties,
        );
        add(
            Side::Target,
            group(&format!("{}-strait-duties", worker.group_id)),
            &[Read],
            Feature::Duties,
        );
    }

    if flow
        .heartbeat_connector
        .as_ref()
        .is_some_and(|h| h.emit_heartbeats_enabled)
    {
        add(
            Side::Heartbeats,
            topic(policy.heartbeats_topic()),
            &[Create, Write],
            Feature::Heartbeats,
        );
    }

    // One entry per (side, resource, operation), naming every feature that needs it.
    out.sort();
    let mut merged: Vec<Permission> = Vec::with_capacity(out.len());
    for p in out {
        match merged.last_mut() {
            Some(m)
                if m.side == p.side && m.resource == p.resource && m.operation == p.operation =>
            {
                for f in p.features {
                    if !m.features.contains(&f) {
                        m.features.push(f);
                    }
                }
            }
            _ => merged.push(p),
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        CheckpointConnectorConfig, ExactlyOnceConfig, HeartbeatConnectorConfig, PolicyConfig,
        SourceConnectorConfig, WorkerConfig,
    };
    use std::time::Duration;

    fn flow() -> FlowConfig {
        FlowConfig {
            source_alias: "uswest".to_owned(),
            target_alias: "useast".to_owned(),
            source: ClusterConnection::default(),
            target: ClusterConnection::default(),
            policy: PolicyConfig::default(),
            worker: WorkerConfig {
                offset_storage_topic: "offsets".to_owned(),
                offset_storage_partitions: 25,
                offset_storage_replication_factor: -1,
                group_id: "g".to_owned(),
            },
            source_connector: Some(SourceConnectorConfig {
                topics: vec!["orders".to_owned(), "test.*".to_owned()],
                ..SourceConnectorConfig::default()
            }),
            checkpoint_connector: Some(CheckpointConnectorConfig {
                groups: vec!["app.*".to_owned()],
                sync_group_offsets_enabled: true,
                ..CheckpointConnectorConfig::default()
            }),
            heartbeat_connector: Some(HeartbeatConnectorConfig::default()),
        }
    }

    fn has(perms: &[Permission], side: Side, resource: Resource, op: AclOperation) -> bool {
        perms
            .iter()
            .any(|p| p.side == side && p.resource == resource && p.operation == op)
    }

    fn topic(t: &str) -> Resource {
        Resource::Topic(t.to_owned())
    }

    #[test]
    fn the_seed_like_flow_needs_the_documented_permissions_and_no_describe() {
        let discovered = Discovered {
            source_topics: vec![
                "test.a".to_owned(),
                "other".to_owned(),
                "heartbeats".to_owned(),
            ],
            source_groups: vec!["app.x".to_owned(), "other-group".to_owned()],
        };
        let perms = needed(&flow(), &discovered).unwrap();
        use AclOperation::*;
        use Side::{Heartbeats, Source, Target};
        for (side, res, op) in [
            (Source, topic("test.a"), Read),
            (Source, topic("test.a"), DescribeConfigs),
            // a literal name in `topics` is checked even when the user cannot see it
            (Source, topic("orders"), Read),
            (Source, topic("heartbeats"), Read),
            (Source, Resource::Group("g".to_owned()), Read),
            (Source, topic("mm2-offset-syncs.useast.internal"), Create),
            (Source, topic("mm2-offset-syncs.useast.internal"), Write),
            (Source, topic("mm2-offset-syncs.useast.internal"), Read),
            (Source, Resource::Cluster, Describe),
            (Source, Resource::Group("app.x".to_owned()), Describe),
            (Target, topic("uswest.test.a"), Create),
            (Target, topic("uswest.test.a"), Write),
            (Target, topic("uswest.test.a"), Alter),
            (Target, topic("uswest.test.a"), AlterConfigs),
            (Target, topic("uswest.test.a"), Read),
            (Target, topic("uswest.heartbeats"), Write),
            (Target, topic("uswest.checkpoints.internal"), Create),
            (Target, topic("uswest.checkpoints.internal"), Read),
            (Target, topic("offsets"), Read),
            (Target, Resource::Group("g-strait-duties".to_owned()), Read),
            (Target, Resource::Group("app.x".to_owned()), Read),
            (Target, Resource::Cluster, Alter),
            (Heartbeats, topic("heartbeats"), Create),
            (Heartbeats, topic("heartbeats"), Write),
        ] {
            assert!(has(&perms, side, res.clone(), op), "{side:?} {res} {op:?}");
        }
        assert!(!has(&perms, Source, topic("other"), Read));
        assert!(
            !perms
                .iter()
                .any(|p| p.resource == Resource::Group("other-group".to_owned()))
        );
        // Implied operations are never listed: Describe only where nothing implies it.
        assert!(perms.iter().all(|p| p.operation != Describe
            || matches!(p.resource, Resource::Cluster | Resource::Group(_))));
        assert!(perms.iter().all(|p| p.operation != IdempotentWrite));
        // One entry per permission, every feature named once.
        let offsets_read = perms
            .iter()
            .find(|p| p.resource == topic("offsets") && p.operation == Read)
            .unwrap();
        assert_eq!(
            offsets_read.features,
            vec![Feature::Progress, Feature::Duties]
        );
        assert!(!has(
            &perms,
            Target,
            Resource::TransactionalIdPrefix("g-x".to_owned()),
            Write
        ));
    }

    #[test]
    fn features_that_are_off_need_nothing() {
        let mut f = flow();
        if let Some(sc) = f.source_connector.as_mut() {
            sc.sync_topic_acls_enabled = false;
            sc.sync_topic_configs_enabled = false;
            sc.offset_syncs_topic_location = OffsetSyncsLocation::Target;
            sc.exactly_once = Some(ExactlyOnceConfig {
                transactional_id_prefix: "g-src".to_owned(),
                commit_interval: Duration::from_secs(1),
                transaction_timeout: Duration::from_secs(60),
                required: false,
            });
        }
        if let Some(cc) = f.checkpoint_connector.as_mut() {
            cc.sync_group_offsets_enabled = false;
            cc.offset_syncs_topic_location = OffsetSyncsLocation::Target;
        }
        f.heartbeat_connector = None;
        let discovered = Discovered {
            source_topics: vec!["test.a".to_owned()],
            source_groups: vec!["app.x".to_owned()],
        };
        let perms = needed(&f, &discovered).unwrap();
        use AclOperation::*;
        assert!(!perms.iter().any(|p| p.resource == Resource::Cluster));
        assert!(!perms.iter().any(|p| p.operation == AlterConfigs));
        assert!(!has(
            &perms,
            Side::Target,
            Resource::Group("app.x".to_owned()),
            Read
        ));
        assert!(!perms.iter().any(|p| p.side == Side::Heartbeats));
        let syncs = topic("mm2-offset-syncs.uswest.internal");
        assert!(has(&perms, Side::Target, syncs.clone(), Create));
        assert!(has(&perms, Side::Target, syncs, Read));
        assert!(has(
            &perms,
            Side::Target,
            Resource::TransactionalIdPrefix("g-src".to_owned()),
            Write
        ));
        let p = perms
            .iter()
            .find(|p| matches!(p.resource, Resource::TransactionalIdPrefix(_)))
            .unwrap();
        assert_eq!(
            p.kafka_acls_command("User:strait"),
            "kafka-acls.sh --bootstrap-server <target> --add --allow-principal 'User:strait' \
             --operation Write --transactional-id 'g-src' --resource-pattern-type prefixed"
        );
    }
}
