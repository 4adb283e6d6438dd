//! Creating MM2's single-partition compacted internal topics (checkpoints, heartbeats) the way
//! MM2 does (`MirrorUtils.createSinglePartitionCompactedTopic`): one partition, only
//! `cleanup.policy=compact` set, an existing topic left as it is.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

/// An internal topic could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot create internal topic '{topic}': {detail}")]
pub struct TopicCreateError {
    /// The topic.
    pub topic: String,
    /// Why.
    pub detail: String,
}

/// Makes sure the compacted single-partition topic `name` exists on the cluster `config`
/// points at, creating it with `replication_factor` (-1: the broker's default) when missing.
/// As in MM2, a refusal for lack of permission is not an error: the topic is assumed to have
/// been created by someone allowed to.
pub async fn ensure_compacted_topic(
    config: &ClientConfig,
    name: &str,
    replication_factor: i16,
) -> Result<(), TopicCreateError> {
    let err = |detail: String| TopicCreateError {
        topic: name.to_owned(),
        detail,
    };
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| err(e.to_string()))?;
    let new = NewTopic::new(
        name,
        1,
        TopicReplication::Fixed(i32::from(replication_factor)),
    )
    .set("cleanup.policy", "compact");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
    let results = admin
        .create_topics([&new], &options)
        .await
        .map_err(|e| err(e.to_string()))?;
    for r in results {
        match r {
            Ok(_) => tracing::info!(topic = name, "created internal topic"),
            Err((
                _,
                RDKafkaErrorCode::TopicAlreadyExists
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed,
            )) => {}
            Err((_, e)) => return Err(err(e.to_string())),
        }
    }
    Ok(())
}
