//! Reading `<source>.checkpoints.internal` (target, partition 0) into a [`CheckpointStore`]:
//! at checkpointer start (MM2's `CheckpointStore.start`) and for failover tooling (what
//! `RemoteClusterUtils.translateOffsets` reads).

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;

use crate::wire::Checkpoint;

use super::checkpoint_store::CheckpointStore;
use super::log_reader::{PartitionZeroReader, ReadError};

/// Reads every checkpoint in `topic` (keeping the newest per group and partition, with its
/// record timestamp), or only those of `group`. Undecodable records are skipped, as Java does.
/// A missing topic gives an empty store.
pub fn read_checkpoints(
    config: &ClientConfig,
    topic: &str,
    group: Option<&str>,
    timeout: Duration,
) -> Result<CheckpointStore, ReadError> {
    let mut store = CheckpointStore::new();
    let mut reader = match PartitionZeroReader::open(config, topic) {
        Ok(r) => r,
        Err(ReadError::Missing(_)) => return Ok(store),
        Err(e) => return Err(e),
    };
    reader.read_to_end(timeout, |m| {
        let (Some(k), Some(v)) = (m.key(), m.payload()) else {
            return;
        };
        match Checkpoint::decode(k, v) {
            Ok(c) if group.is_none_or(|g| g == c.group) => {
                store.update_at(c, m.timestamp().to_millis());
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(topic, offset = m.offset(), error = %e, "skipping an invalid checkpoint"),
        }
    })?;
    Ok(store)
}
