//! Which source topics are replicated, and keeping their remote topics in step: created with
//! the source's partition count and replicated configs, grown when the source grows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigEntry, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::config::{FlowConfig, SourceConnectorConfig, UseDefaultsFrom};
use crate::kafka::ffi::{
    AclBindingFilter, ConfigOp, ErrorCode, PatternType, ResourceType, create_acls, describe_acls,
    incremental_alter_configs,
};
use crate::policy::{ConfigPropertyFilter, ReplicationPolicy, TopicFilter, should_replicate_topic};
use crate::source::SourceError;
use crate::source::acl_sync::remote_acls;
use crate::source::topic_configs::{ConfigChange, carried_entries, creation_configs, sync_changes};

type Admin = AdminClient<DefaultClientContext>;

/// Decides which source topics a flow replicates and what they are called on the target.
#[derive(Debug)]
pub struct TopicSelector {
    policy: ReplicationPolicy,
    filter: TopicFilter,
    target_alias: String,
    source_alias: String,
    heartbeats_replication_enabled: bool,
}

impl TopicSelector {
    /// The selector of `flow`'s source connector.
    pub fn new(flow: &FlowConfig, sc: &SourceConnectorConfig) -> Result<Self, SourceError> {
        Ok(Self {
            policy: ReplicationPolicy::new(&flow.policy, &flow.source_alias),
            filter: TopicFilter::new(&sc.topics, &sc.topics_exclude)?,
            target_alias: flow.target_alias.clone(),
            source_alias: flow.source_alias.clone(),
            heartbeats_replication_enabled: sc.heartbeats_replication_enabled,
        })
    }

    /// Whether `topic` on the source is replicated (MM2's `shouldReplicateTopic`: accepted by
    /// the filter or a heartbeats topic, not internal, not a cycle back to the target).
    pub fn selects(&self, topic: &str) -> bool {
        should_replicate_topic(
            &self.filter,
            &self.policy,
            &self.target_alias,
            self.heartbeats_replication_enabled,
            topic,
        )
    }

    /// The remote topic's name on the target.
    pub fn remote_name(&self, topic: &str) -> String {
        self.policy.format_remote_topic(&self.source_alias, topic)
    }

    /// The replication policy.
    pub fn policy(&self) -> &ReplicationPolicy {
        &self.policy
    }
}

/// A replicated topic: its source name, its remote name and the source's partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedTopic {
    /// Name on the source.
    pub source: Arc<str>,
    /// Name on the target.
    pub remote: Arc<str>,
    /// Partitions on the source.
    pub partitions: i32,
}

/// Admin work on both clusters for one flow.
pub struct TopicAdmin {
    source: Arc<Admin>,
    target: Arc<Admin>,
    config_filter: ConfigPropertyFilter,
    use_defaults_from: UseDefaultsFrom,
    replication_factor: i16,
    timeout: Duration,
}

impl std::fmt::Debug for TopicAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicAdmin")
            .field("replication_factor", &self.replication_factor)
            .finish_non_exhaustive()
    }
}

fn topic_err(
    operation: &'static str,
    topic: &str,
    cluster: &'static str,
    detail: impl ToString,
) -> SourceError {
    SourceError::Topic {
        operation,
        topic: topic.to_owned(),
        cluster,
        detail: detail.to_string(),
    }
}

impl TopicAdmin {
    /// Admin clients for both clusters.
    pub fn new(
        source: &ClientConfig,
        target: &ClientConfig,
        sc: &SourceConnectorConfig,
    ) -> Result<Self, SourceError> {
        let create = |cfg: &ClientConfig, what| {
            cfg.create::<Admin>()
                .map_err(|source| SourceError::Client { what, source })
        };
        Ok(Self {
            source: Arc::new(create(source, "source admin client")?),
            target: Arc::new(create(target, "target admin client")?),
            config_filter: ConfigPropertyFilter::new(&sc.config_properties_exclude)?,
            use_defaults_from: sc.use_defaults_from,
            replication_factor: sc.replication_factor,
            timeout: Duration::from_secs(60),
        })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout))
    }

    /// Topic name → partition count of every topic on a cluster.
    async fn topics(
        admin: &Arc<Admin>,
        cluster: &'static str,
    ) -> Result<BTreeMap<String, i32>, SourceError> {
        let admin = admin.clone();
        tokio::task::spawn_blocking(move || {
            let md = admin
                .inner()
                .fetch_metadata(None, Duration::from_secs(30))
                .map_err(|e| topic_err("list", "*", cluster, e))?;
            Ok(md
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
                .collect())
        })
        .await
        .map_err(|e| topic_err("list", "*", cluster, e))?
    }

    /// Every source topic `selector` replicates.
    pub async fn replicated_topics(
        &self,
        selector: &TopicSelector,
    ) -> Result<Vec<ReplicatedTopic>, SourceError> {
        Ok(Self::topics(&self.source, "source")
            .await?
            .into_iter()
            .filter(|(name, _)| selector.selects(name))
            .map(|(name, partitions)| ReplicatedTopic {
                remote: selector.remote_name(&name).into(),
                source: name.into(),
                partitions,
            })
            .collect())
    }

    /// Describes the configs of `topics` on one cluster, in one request.
    async fn describe(
        &self,
        on_target: bool,
        topics: &[&str],
    ) -> Result<HashMap<String, Vec<ConfigEntry>>, SourceError> {
        let (admin, cluster) = if on_target {
            (&self.target, "target")
        } else {
            (&self.source, "source")
        };
        let specs: Vec<ResourceSpecifier<'_>> =
            topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let results = admin
            .describe_configs(specs.iter(), &self.options())
            .await
            .map_err(|e| topic_err("describe", &topics.join(","), cluster, e))?;
        let mut out = HashMap::new();
        for (topic, r) in topics.iter().zip(results) {
            let resource = r.map_err(|e| topic_err("describe", topic, cluster, e))?;
            out.insert((*topic).to_owned(), resource.entries);
        }
        Ok(out)
    }

    /// The source topic's configs a new remote topic is created with.
    async fn replicated_configs(&self, topic: &str) -> Result<Vec<(String, String)>, SourceError> {
        let entries = self
            .describe(false, &[topic])
            .await?
            .remove(topic)
            .unwrap_or_default();
        let carried = carried_entries(entries, &self.config_filter);
        Ok(creation_configs(&carried, self.use_defaults_from))
    }

    /// Brings the configs of existing remote topics in step with their sources (MM2's periodic
    /// config sync), changing only what differs. Returns the number of topics changed.
    pub async fn sync_topic_configs(
        &self,
        topics: &[ReplicatedTopic],
    ) -> Result<usize, SourceError> {
        let existing = Self::topics(&self.target, "target").await?;
        let present: Vec<&ReplicatedTopic> = topics
            .iter()
            .filter(|t| existing.contains_key(&*t.remote))
            .collect();
        if present.is_empty() {
            return Ok(0);
        }
        let sources: Vec<&str> = present.iter().map(|t| &*t.source).collect();
        let remotes: Vec<&str> = present.iter().map(|t| &*t.remote).collect();
        let mut source_cfg = self.describe(false, &sources).await?;
        let target_cfg = self.describe(true, &remotes).await?;
        let mut changed = 0;
        for t in present {
            let carried = carried_entries(
                source_cfg.remove(&*t.source).unwrap_or_default(),
                &self.config_filter,
            );
            let current = target_cfg
                .get(&*t.remote)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let changes = sync_changes(&carried, current, self.use_defaults_from);
            if changes.is_empty() {
                continue;
            }
            tracing::info!(topic = %t.remote, changes = ?changes, "syncing topic configs");
            let (admin, remote) = (self.target.clone(), t.remote.clone());
            tokio::task::spawn_blocking(move || {
                let ops: Vec<ConfigOp<'_>> = changes
                    .iter()
                    .map(|c| match c {
                        ConfigChange::Set(k, v) => ConfigOp::Set(k, v),
                        ConfigChange::Delete(k) => ConfigOp::Delete(k),
                    })
                    .collect();
                incremental_alter_configs(&*admin, &remote, &ops, Duration::from_secs(30))
            })
            .await
            .map_err(|e| topic_err("alter configs of", &t.remote, "target", e))?
            .map_err(|e| topic_err("alter configs of", &t.remote, "target", e))?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Copies the ACLs of replicated topics to their remote topics (MM2's rules, see
    /// [`remote_acls`]). A source cluster without an authorizer has nothing to copy. Returns
    /// the number of ACLs sent to the target (creating an existing ACL changes nothing).
    pub async fn sync_topic_acls(&self, topics: &[ReplicatedTopic]) -> Result<usize, SourceError> {
        let source = self.source.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let filter = AclBindingFilter {
                resource_type: ResourceType::Topic,
                pattern_type: PatternType::Literal,
                ..AclBindingFilter::any()
            };
            describe_acls(&*source, &filter, Duration::from_secs(30))
        })
        .await
        .map_err(|e| topic_err("describe ACLs of", "*", "source", e))?;
        let acls = match listed {
            Ok(acls) => acls,
            Err(e) if e.code == ErrorCode::SECURITY_DISABLED => return Ok(0),
            Err(e) => return Err(topic_err("describe ACLs of", "*", "source", e)),
        };
        let remote_of: HashMap<&str, &str> =
            topics.iter().map(|t| (&*t.source, &*t.remote)).collect();
        let wanted = remote_acls(&acls, &remote_of);
        tracing::debug!(
            source_acls = acls.len(),
            to_create = wanted.len(),
            "ACL sync"
        );
        if wanted.is_empty() {
            return Ok(0);
        }
        let (target, n) = (self.target.clone(), wanted.len());
        let results = tokio::task::spawn_blocking(move || {
            create_acls(&*target, &wanted, Duration::from_secs(30))
        })
        .await
        .map_err(|e| topic_err("create ACLs for", "*", "target", e))?
        .map_err(|e| topic_err("create ACLs for", "*", "target", e))?;
        for r in results {
            if let Err(e) = r {
                tracing::warn!(error = %e, "an ACL could not be created on the target");
            }
        }
        Ok(n)
    }

    /// Creates missing remote topics (with the source's partitions and configs) and grows remote
    /// topics that have fewer partitions than their source. Never deletes or shrinks.
    pub async fn ensure_remote_topics(
        &self,
        topics: &[ReplicatedTopic],
    ) -> Result<(), SourceError> {
        let existing = Self::topics(&self.target, "target").await?;
        let short: Vec<&ReplicatedTopic> = topics
            .iter()
            .filter(|t| existing.get(&*t.remote).is_none_or(|&n| n < t.partitions))
            .collect();
        if short.is_empty() {
            return Ok(());
        }
        // A rebalance asks only for the partitions it was given; a remote topic made from that
        // would lack the partitions other processes were given at the same moment. Like MM2,
        // make it as large as the source topic.
        let on_source = Self::topics(&self.source, "source").await?;
        for t in short {
            let t = ReplicatedTopic {
                partitions: on_source
                    .get(&*t.source)
                    .map_or(t.partitions, |&n| n.max(t.partitions)),
                ..t.clone()
            };
            match existing.get(&*t.remote) {
                None => self.create_remote(&t).await?,
                Some(&n) => self.grow_remote(&t, n).await?,
            }
        }
        Ok(())
    }

    /// The partition count of a remote topic, waiting a few seconds for one just created
    /// elsewhere to show in the metadata.
    async fn remote_partitions(&self, remote: &str) -> Result<Option<i32>, SourceError> {
        for _ in 0..25 {
            if let Some(&n) = Self::topics(&self.target, "target").await?.get(remote) {
                return Ok(Some(n));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(None)
    }

    async fn grow_remote(&self, t: &ReplicatedTopic, from: i32) -> Result<(), SourceError> {
        tracing::info!(topic = %t.remote, from, to = t.partitions, "growing remote topic");
        let res = self
            .target
            .create_partitions(
                [&NewPartitions::new(&t.remote, t.partitions as usize)],
                &self.options(),
            )
            .await
            .map_err(|e| topic_err("grow", &t.remote, "target", e))?;
        for r in res {
            match r {
                Ok(_) => {}
                // The topic refresh and a rebalance (or another process) may grow the same topic
                // at once; the loser is refused. Enough partitions is all that matters.
                Err((_, RDKafkaErrorCode::InvalidPartitions))
                    if self.grown_by_another(t).await? => {}
                Err((_, e)) => return Err(topic_err("grow", &t.remote, "target", e)),
            }
        }
        Ok(())
    }

    /// Whether the remote topic reaches its wanted partitions within a few seconds: a grow
    /// that raced ours may have been accepted before the metadata shows it.
    async fn grown_by_another(&self, t: &ReplicatedTopic) -> Result<bool, SourceError> {
        for _ in 0..25 {
            let now = Self::topics(&self.target, "target").await?;
            if now.get(&*t.remote).is_some_and(|&n| n >= t.partitions) {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(false)
    }

    async fn create_remote(&self, t: &ReplicatedTopic) -> Result<(), SourceError> {
        let configs = self.replicated_configs(&t.source).await?;
        let mut new = NewTopic::new(
            &t.remote,
            t.partitions,
            TopicReplication::Fixed(i32::from(self.replication_factor)),
        );
        for (k, v) in &configs {
            new = new.set(k, v);
        }
        tracing::info!(topic = %t.remote, partitions = t.partitions, configs = configs.len(),
            "creating remote topic");
        let res = self
            .target
            .create_topics([&new], &self.options())
            .await
            .map_err(|e| topic_err("create", &t.remote, "target", e))?;
        for r in res {
            match r {
                Ok(_) => {}
                // Another process (or this one's topic refresh) created it at the same moment,
                // perhaps with fewer partitions than this one needs: records for a partition
                // the target lacks are refused, and the partition stalls until a retry.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    if let Some(n) = self.remote_partitions(&t.remote).await?
                        && n < t.partitions
                    {
                        self.grow_remote(t, n).await?;
                    }
                }
                Err((_, e)) => return Err(topic_err("create", &t.remote, "target", e)),
            }
        }
        Ok(())
    }

    /// Makes sure a compacted internal topic exists on the source (`on_target` false) or the
    /// target, as MM2 creates its internal topics: only `cleanup.policy=compact` is set, and an
    /// existing topic is left as it is. Returns its partition count.
    pub async fn ensure_compacted_topic(
        &self,
        on_target: bool,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<i32, SourceError> {
        let (admin, cluster) = if on_target {
            (&self.target, "target")
        } else {
            (&self.source, "source")
        };
        if let Some(n) = Self::topics(admin, cluster).await?.get(name) {
            return Ok(*n);
        }
        let new = NewTopic::new(
            name,
            partitions,
            TopicReplication::Fixed(i32::from(replication_factor)),
        )
        .set("cleanup.policy", "compact");
        tracing::info!(topic = name, cluster, partitions, "creating internal topic");
        let res = admin
            .create_topics([&new], &self.options())
            .await
            .map_err(|e| topic_err("create", name, cluster, e))?;
        for r in res {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, e)) => return Err(topic_err("create", name, cluster, e)),
            }
        }
        Ok(partitions)
    }
}
