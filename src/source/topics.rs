//! Which source topics are replicated, and keeping their remote topics in step: created with
//! the source's partition count and replicated configs, grown when the source grows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::config::{FlowConfig, SourceConnectorConfig};
use crate::policy::{ConfigPropertyFilter, ReplicationPolicy, TopicFilter, should_replicate_topic};
use crate::source::SourceError;

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

    /// The source topic's configs to carry over: set explicitly (not defaults), not read-only,
    /// not sensitive, not static broker settings, and not excluded by
    /// `config.properties.exclude`.
    async fn replicated_configs(&self, topic: &str) -> Result<Vec<(String, String)>, SourceError> {
        let results = self
            .source
            .describe_configs([&ResourceSpecifier::Topic(topic)], &self.options())
            .await
            .map_err(|e| topic_err("describe", topic, "source", e))?;
        let mut out = Vec::new();
        for r in results {
            let resource = r.map_err(|e| topic_err("describe", topic, "source", e))?;
            for entry in resource.entries {
                let copy = matches!(
                    entry.source,
                    ConfigSource::DynamicTopic
                        | ConfigSource::DynamicBroker
                        | ConfigSource::DynamicDefaultBroker
                ) && !entry.is_read_only
                    && !entry.is_sensitive
                    && self
                        .config_filter
                        .should_replicate_config_property(&entry.name);
                if let (true, Some(value)) = (copy, entry.value) {
                    out.push((entry.name, value));
                }
            }
        }
        Ok(out)
    }

    /// Creates missing remote topics (with the source's partitions and configs) and grows remote
    /// topics that have fewer partitions than their source. Never deletes or shrinks.
    pub async fn ensure_remote_topics(
        &self,
        topics: &[ReplicatedTopic],
    ) -> Result<(), SourceError> {
        let existing = Self::topics(&self.target, "target").await?;
        for t in topics {
            match existing.get(&*t.remote) {
                None => self.create_remote(t).await?,
                Some(&n) if n < t.partitions => {
                    tracing::info!(topic = %t.remote, from = n, to = t.partitions, "growing remote topic");
                    let res = self
                        .target
                        .create_partitions(
                            [&NewPartitions::new(&t.remote, t.partitions as usize)],
                            &self.options(),
                        )
                        .await
                        .map_err(|e| topic_err("grow", &t.remote, "target", e))?;
                    for r in res {
                        r.map_err(|(_, e)| topic_err("grow", &t.remote, "target", e))?;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
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
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
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
