//! Finding out which needed permissions a user lacks, without changing anything that matters
//! on the clusters. A user usually may not read ACLs (that needs Describe on the cluster), so
//! the probe asks the brokers what the user itself may do:
//!
//! - the cluster, existing topics and groups: the authorized operations Kafka returns with
//!   DescribeCluster, DescribeTopics and DescribeConsumerGroups (KIP-430), computed by the
//!   broker's authorizer with implied operations included;
//! - a topic that does not exist yet: CreateTopics with `validate_only` (nothing is created)
//!   tells whether Create is allowed; whether the user may describe it (and so hold any of
//!   Read, Write, Alter on it) shows in the metadata error (`TOPIC_AUTHORIZATION_FAILED` or
//!   `UNKNOWN_TOPIC_OR_PART`); its other operations are checked once it exists;
//! - a transactional id prefix: a transactional producer with the id `<prefix>-strait-check`
//!   initialises (InitProducerId needs Write on the id). This leaves an idle transactional id
//!   on the broker, which expires (`transactional.id.expiration.ms`, 7 days by default); it
//!   matches the prefix but no id a flow uses (those end in a partition number), so no running
//!   producer is fenced.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer};
use tracing::Instrument;

use super::{Discovered, Permission, Resource, Side, connection, needed, operation_name};
use crate::config::{ClusterConnection, FlowConfig};
use crate::kafka::ffi::{
    self, AclOperation, AdminError, AuthorizedOperations, ErrorCode, list_consumer_groups,
};
use crate::kafka::{ClientRole, ConnectError, check_connection, client_config};
use crate::policy::PolicyError;

/// Why the check could not run for a cluster (the permissions it did not get to are then
/// unknown, and the check fails).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The cluster could not be reached or refused the credentials.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A client could not be configured or created.
    #[error("cluster '{cluster}': cannot create a client: {detail}")]
    Client {
        /// The cluster.
        cluster: String,
        /// Why (never holds a secret).
        detail: String,
    },
    /// A request of the probe failed as a whole.
    #[error("cluster '{cluster}': {source}")]
    Admin {
        /// The cluster.
        cluster: String,
        /// The failed request (boxed: it is large, and errors are rare).
        source: Box<AdminError>,
    },
    /// The flow's topic or group filters are invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The probe's thread failed.
    #[error("the permission probe failed: {0}")]
    Task(String),
}

/// What the probe found out about one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The user has it.
    Granted,
    /// The user lacks it.
    Missing,
    /// Cannot be known yet (e.g. the topic does not exist); the reason.
    Unverified(String),
}

/// One permission and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The permission.
    pub permission: Permission,
    /// Whether the user has it.
    pub verdict: Verdict,
}

/// The check of one cluster: who was checked where, and each permission's verdict.
#[derive(Debug)]
pub struct ClusterReport {
    /// E.g. `source 'uswest'`.
    pub label: String,
    /// Its bootstrap servers.
    pub bootstrap: String,
    /// The principal checked, e.g. `User:replicator` (never a secret).
    pub principal: String,
    /// Each needed permission's verdict (empty when `error` is set).
    pub outcomes: Vec<Outcome>,
    /// Why the cluster could not be checked.
    pub error: Option<CheckError>,
}

/// The principal `conn` authenticates as, as Kafka names it.
fn principal(conn: &ClusterConnection) -> String {
    match (&conn.sasl, &conn.tls.keystore) {
        (Some(s), _) => format!("User:{}", s.username),
        (None, Some(_)) => "User:<the client certificate's subject>".to_owned(),
        (None, None) => "User:ANONYMOUS".to_owned(),
    }
}

/// Whether two connections reach the same cluster as the same user.
fn same_login(a: &ClusterConnection, b: &ClusterConnection) -> bool {
    a.bootstrap_servers == b.bootstrap_servers
        && a.security_protocol == b.security_protocol
        && a.sasl.as_ref().map(|s| &s.username) == b.sasl.as_ref().map(|s| &s.username)
        && a.tls.keystore.as_ref().map(|k| &k.config_key)
            == b.tls.keystore.as_ref().map(|k| &k.config_key)
}

/// Checks every permission `flow` needs, cluster by cluster. Reads metadata, topic configs
/// and group descriptions; creates nothing but the probe transactional id described in the
/// module documentation. Every request is bounded by `timeout`.
pub async fn check(flow: &FlowConfig, timeout: Duration) -> Vec<ClusterReport> {
    check_with(flow, timeout, true).await
}

/// [`check`]; without the probe transactional id when `probe_transactional_ids` is false
/// (its permissions are then unverified).
async fn check_with(
    flow: &FlowConfig,
    timeout: Duration,
    probe_transactional_ids: bool,
) -> Vec<ClusterReport> {
    let flow = flow.clone();
    match tokio::task::spawn_blocking(move || {
        check_blocking(&flow, timeout, probe_transactional_ids)
    })
    .await
    {
        Ok(reports) => reports,
        Err(e) => vec![ClusterReport {
            label: "flow".to_owned(),
            bootstrap: String::new(),
            principal: String::new(),
            outcomes: Vec::new(),
            error: Some(CheckError::Task(e.to_string())),
        }],
    }
}

fn check_blocking(
    flow: &FlowConfig,
    timeout: Duration,
    probe_transactional_ids: bool,
) -> Vec<ClusterReport> {
    let source_label = format!("source '{}'", flow.source_alias);
    let failed = |label: &str, conn: &ClusterConnection, error: CheckError| ClusterReport {
        label: label.to_owned(),
        bootstrap: conn.bootstrap_servers.clone(),
        principal: principal(conn),
        outcomes: Vec::new(),
        error: Some(error),
    };
    let mut discovered = match discover(&source_label, &flow.source, timeout) {
        Ok(d) => d,
        Err(e) => return vec![failed(&source_label, &flow.source, e)],
    };
    // A source group the user may not describe is invisible there; if the checkpointer synced
    // it before, the target still shows it, so its missing Describe is found all the same.
    if flow.checkpoint_connector.is_some() {
        let target_groups = admin(&flow.target_alias, &flow.target)
            .ok()
            .and_then(|a| list_consumer_groups(&a, timeout).ok())
            .unwrap_or_default();
        for g in target_groups {
            if !discovered.source_groups.contains(&g.group_id) {
                discovered.source_groups.push(g.group_id);
            }
        }
    }
    let perms = match needed(flow, &discovered) {
        Ok(p) => p,
        Err(e) => return vec![failed(&source_label, &flow.source, e.into())],
    };
    // The clusters to check: the heartbeats cluster is usually the target (or, as in
    // deployments that write heartbeats to the source, the source) with the same user.
    let mut clusters: Vec<(String, &ClusterConnection, Vec<Permission>)> = Vec::new();
    for side in [Side::Source, Side::Target, Side::Heartbeats] {
        let Some(conn) = connection(flow, side) else {
            continue;
        };
        let label = match side {
            Side::Source => source_label.clone(),
            Side::Target => format!("target '{}'", flow.target_alias),
            Side::Heartbeats => format!("heartbeats cluster ({})", conn.bootstrap_servers),
        };
        let mine: Vec<Permission> = perms.iter().filter(|p| p.side == side).cloned().collect();
        if let Some(c) = clusters.iter_mut().find(|c| same_login(c.1, conn)) {
            c.2.extend(mine);
        } else {
            clusters.push((label, conn, mine));
        }
    }
    clusters
        .into_iter()
        .map(|(label, conn, perms)| {
            match probe(&label, conn, &perms, timeout, probe_transactional_ids) {
                Ok(outcomes) => ClusterReport {
                    label,
                    bootstrap: conn.bootstrap_servers.clone(),
                    principal: principal(conn),
                    outcomes,
                    error: None,
                },
                Err(e) => failed(&label, conn, e),
            }
        })
        .collect()
}

fn admin(
    label: &str,
    conn: &ClusterConnection,
) -> Result<AdminClient<DefaultClientContext>, CheckError> {
    let client = |detail: String| CheckError::Client {
        cluster: label.to_owned(),
        detail,
    };
    client_config(conn, "strait-check", ClientRole::SourceAdmin)
        .map_err(|e| client(e.to_string()))?
        .create()
        .map_err(|e: KafkaError| client(e.to_string()))
}

/// The source topics and groups the user can see.
fn discover(
    label: &str,
    conn: &ClusterConnection,
    timeout: Duration,
) -> Result<Discovered, CheckError> {
    check_connection(alias_of(label), conn, timeout)?;
    let admin = admin(label, conn)?;
    let consumer: BaseConsumer = client_config(conn, "strait-check", ClientRole::SourceAdmin)
        .map_err(|e| CheckError::Client {
            cluster: label.to_owned(),
            detail: e.to_string(),
        })?
        .create()
        .map_err(|e: KafkaError| CheckError::Client {
            cluster: label.to_owned(),
            detail: e.to_string(),
        })?;
    let md = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| CheckError::Client {
            cluster: label.to_owned(),
            detail: format!("cannot read metadata: {e}"),
        })?;
    let source_topics = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| t.name().to_owned())
        .collect();
    // Kafka lists only the groups the user may describe (all with Describe on the cluster).
    let source_groups = list_consumer_groups(&admin, timeout)
        .map_err(|source| CheckError::Admin {
            cluster: label.to_owned(),
            source: Box::new(source),
        })?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    Ok(Discovered {
        source_topics,
        source_groups,
    })
}

/// The cluster's alias in a label such as `source 'uswest'` (connection errors name the
/// cluster themselves); the whole label when it holds none.
fn alias_of(label: &str) -> &str {
    label.split('\'').nth(1).unwrap_or(label)
}

/// Operations whose ALLOW implies Describe: a user who may not describe a resource has none.
fn implies_describe(op: AclOperation) -> bool {
    matches!(
        op,
        AclOperation::Describe
            | AclOperation::Read
            | AclOperation::Write
            | AclOperation::Alter
            | AclOperation::Delete
    )
}

fn probe(
    label: &str,
    conn: &ClusterConnection,
    perms: &[Permission],
    timeout: Duration,
    probe_transactional_ids: bool,
) -> Result<Vec<Outcome>, CheckError> {
    check_connection(alias_of(label), conn, timeout)?;
    let admin = admin(label, conn)?;
    let admin_err = |source| CheckError::Admin {
        cluster: label.to_owned(),
        source: Box::new(source),
    };
    let cluster_ops = ffi::cluster_operations(&admin, timeout).map_err(admin_err)?;

    let topics: BTreeSet<&str> = perms
        .iter()
        .filter_map(|p| match &p.resource {
            Resource::Topic(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let topics: Vec<&str> = topics.into_iter().collect();
    let described: BTreeMap<String, AuthorizedOperations> =
        ffi::topic_operations(&admin, &topics, timeout)
            .map_err(admin_err)?
            .into_iter()
            .map(|d| (d.name.clone(), d))
            .collect();

    let groups: BTreeSet<&str> = perms
        .iter()
        .filter_map(|p| match &p.resource {
            Resource::Group(g) => Some(g.as_str()),
            _ => None,
        })
        .collect();
    let groups: Vec<&str> = groups.into_iter().collect();
    let group_ops: BTreeMap<String, AuthorizedOperations> =
        ffi::group_operations(&admin, &groups, timeout)
            .map_err(admin_err)?
            .into_iter()
            .map(|d| (d.name.clone(), d))
            .collect();

    // Create on topics not (visibly) there: asked with validate_only.
    let mut create: BTreeMap<String, Verdict> = BTreeMap::new();
    for p in perms {
        if let (Resource::Topic(t), AclOperation::Create) = (&p.resource, p.operation) {
            let exists = described.get(t).is_some_and(|d| d.error.is_none());
            if !exists && !create.contains_key(t) {
                create.insert(t.clone(), validate_create(&admin, t, timeout));
            }
        }
    }

    let mut transactional: BTreeMap<String, Verdict> = BTreeMap::new();
    let outcomes = perms
        .iter()
        .map(|p| {
            let op = p.operation;
            let verdict = match &p.resource {
                Resource::Cluster => granted(cluster_ops.contains(&op)),
                Resource::Topic(t) => match described.get(t) {
                    Some(d) if d.error.is_none() => granted(
                        d.operations.contains(&op)
                            || (op == AclOperation::Create
                                && cluster_ops.contains(&AclOperation::Create)),
                    ),
                    Some(d) => {
                        let code = d.error.as_ref().map(|e| e.code);
                        if op == AclOperation::Create {
                            create.get(t).cloned().unwrap_or(Verdict::Unverified(
                                "CreateTopics (validate only) was not asked".to_owned(),
                            ))
                        } else if code == Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
                            && implies_describe(op)
                        {
                            Verdict::Missing
                        } else if code == Some(ErrorCode::UNKNOWN_TOPIC_OR_PART) {
                            Verdict::Unverified(
                                "the topic does not exist yet; checked once it does".to_owned(),
                            )
                        } else {
                            Verdict::Unverified(d.error.as_ref().map_or_else(
                                || "no answer".to_owned(),
                                |e| format!("the topic could not be described: {}", e.code),
                            ))
                        }
                    }
                    None => Verdict::Unverified("the broker did not describe the topic".to_owned()),
                },
                Resource::Group(g) => match group_ops.get(g) {
                    Some(d) => match &d.error {
                        None => granted(d.operations.contains(&op)),
                        Some(e)
                            if e.code == ErrorCode::GROUP_AUTHORIZATION_FAILED
                                && implies_describe(op) =>
                        {
                            Verdict::Missing
                        }
                        Some(e) => Verdict::Unverified(format!(
                            "the group could not be described: {}",
                            e.code
                        )),
                    },
                    None => Verdict::Unverified("the broker did not describe the group".to_owned()),
                },
                Resource::TransactionalIdPrefix(_) if !probe_transactional_ids => {
                    Verdict::Unverified(
                        "not probed at flow start; the flow's transactional producers report \
                         it"
                        .to_owned(),
                    )
                }
                Resource::TransactionalIdPrefix(prefix) => transactional
                    .entry(prefix.clone())
                    .or_insert_with(|| init_transactions(conn, prefix, timeout))
                    .clone(),
            };
            Outcome {
                permission: p.clone(),
                verdict,
            }
        })
        .collect();
    Ok(outcomes)
}

fn granted(yes: bool) -> Verdict {
    if yes {
        Verdict::Granted
    } else {
        Verdict::Missing
    }
}

/// Whether the user may create `topic`: CreateTopics with validate_only, which creates
/// nothing. Authorization is checked before anything else, so any answer but an
/// authorization error means Create is allowed.
fn validate_create(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    timeout: Duration,
) -> Verdict {
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(-1));
    let options = AdminOptions::new()
        .validate_only(true)
        .request_timeout(Some(timeout));
    let answer = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(admin.create_topics([&new], &options)),
        Err(e) => return Verdict::Unverified(format!("no runtime for the probe: {e}")),
    };
    match answer {
        Ok(results) => match results.into_iter().next() {
            Some(Ok(_)) | Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Verdict::Granted,
            Some(Err((
                _,
                RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed,
            ))) => Verdict::Missing,
            Some(Err((_, e))) => Verdict::Unverified(format!("CreateTopics (validate only): {e}")),
            None => Verdict::Unverified("CreateTopics (validate only) answered nothing".to_owned()),
        },
        Err(e) => Verdict::Unverified(format!("CreateTopics (validate only): {e}")),
    }
}

/// Whether the user may use transactional ids under `prefix`: initialises a transactional
/// producer with the id `<prefix>-strait-check` (see the module documentation).
fn init_transactions(conn: &ClusterConnection, prefix: &str, timeout: Duration) -> Verdict {
    let mut cfg = match client_config(conn, "strait-check", ClientRole::ReplicationProducer) {
        Ok(c) => c,
        Err(e) => return Verdict::Unverified(format!("no producer configuration: {e}")),
    };
    cfg.set("transactional.id", format!("{prefix}-strait-check"))
        .set("transaction.timeout.ms", "60000");
    let producer: BaseProducer = match cfg.create() {
        Ok(p) => p,
        Err(e) => return Verdict::Unverified(format!("cannot create the probe producer: {e}")),
    };
    match producer.init_transactions(timeout) {
        Ok(()) => Verdict::Granted,
        Err(e)
            if matches!(
                e.rdkafka_error_code(),
                Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed)
            ) =>
        {
            Verdict::Missing
        }
        Err(e) => Verdict::Unverified(format!("initialising a transactional producer: {e}")),
    }
}

impl Outcome {
    /// One line: `MISSING <cluster>: <resource> <operation> (needed by <features>)`, and the
    /// like for the other verdicts.
    pub fn line(&self, cluster: &str) -> String {
        let features: Vec<String> = self
            .permission
            .features
            .iter()
            .map(ToString::to_string)
            .collect();
        let what = format!(
            "{cluster}: {} {} (needed by {})",
            self.permission.resource,
            operation_name(self.permission.operation),
            features.join(", ")
        );
        match &self.verdict {
            Verdict::Granted => format!("ok       {what}"),
            Verdict::Missing => format!("MISSING  {what}"),
            Verdict::Unverified(why) => format!("unknown  {what}: {why}"),
        }
    }
}

/// At a flow's start: checks its permissions in the background (read-only: no probe
/// transactional id) and logs an error naming each missing one with the `kafka-acls.sh`
/// command that grants it, instead of the flow failing later on a request the broker refuses.
/// It never stops the flow: ACLs may be granted while it runs, and the flow's own errors stay
/// authoritative.
pub fn spawn_start_check(flow: &FlowConfig) {
    let flow = flow.clone();
    // In the flow's span, which names the flow on each line.
    let task = async move {
        let mut missing = 0;
        for report in check_with(&flow, Duration::from_secs(15), false).await {
            if let Some(e) = &report.error {
                tracing::debug!(cluster = %report.label, error = %e,
                    "permissions not checked");
                continue;
            }
            for o in report
                .outcomes
                .iter()
                .filter(|o| o.verdict == Verdict::Missing)
            {
                missing += 1;
                tracing::error!(cluster = %report.label,
                    permission = %format!("{} {}", o.permission.resource,
                        operation_name(o.permission.operation)),
                    grant = %o.permission.kafka_acls_command(&report.principal),
                    "a permission this flow needs is missing (see docs/permissions.md)");
            }
        }
        if missing == 0 {
            tracing::debug!("permission check: nothing missing");
        }
    };
    tokio::spawn(task.in_current_span());
}
