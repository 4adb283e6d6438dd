//! [`GroupOffsets`] on a real cluster, through the librdkafka admin calls of
//! [`crate::kafka::ffi`]. One admin client per cluster serves every group.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

use crate::kafka::ffi::{self, AdminError};

use super::group_offsets::{GroupOffset, GroupOffsets, GroupOpError, GroupState};

/// Group operations on one cluster.
pub struct KafkaGroupOffsets {
    admin: AdminClient<DefaultClientContext>,
    cluster: &'static str,
    timeout: Duration,
}

impl std::fmt::Debug for KafkaGroupOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaGroupOffsets")
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl KafkaGroupOffsets {
    /// An admin client from `config`; `cluster` (`source`/`target`) names the cluster in
    /// errors; every call is bounded by `timeout` (MM2's `admin.timeout.ms`, 60 s).
    pub fn new(
        config: &ClientConfig,
        cluster: &'static str,
        timeout: Duration,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            admin: config.create()?,
            cluster,
            timeout,
        })
    }

    fn err(&self, op: String, e: AdminError) -> GroupOpError {
        GroupOpError::Admin {
            op,
            cluster: self.cluster,
            detail: format!("{}: {}", e.code, e.message),
        }
    }
}

fn state_of(s: ffi::GroupState) -> GroupState {
    match s {
        ffi::GroupState::Empty => GroupState::Empty,
        ffi::GroupState::Dead => GroupState::Dead,
        ffi::GroupState::Stable => GroupState::Stable,
        ffi::GroupState::PreparingRebalance => GroupState::PreparingRebalance,
        ffi::GroupState::CompletingRebalance => GroupState::CompletingRebalance,
        ffi::GroupState::Unknown => GroupState::Unknown("Unknown".to_owned()),
    }
}

impl GroupOffsets for KafkaGroupOffsets {
    fn list_groups(&self) -> Result<Vec<String>, GroupOpError> {
        ffi::list_consumer_groups(&self.admin, self.timeout)
            .map(|groups| groups.into_iter().map(|g| g.group_id).collect())
            .map_err(|e| self.err("ListConsumerGroups".to_owned(), e))
    }

    fn describe(&self, groups: &[String]) -> Result<Vec<(String, GroupState)>, GroupOpError> {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        let described = ffi::describe_consumer_groups(&self.admin, &names, self.timeout)
            .map_err(|e| self.err(format!("DescribeConsumerGroups({} groups)", names.len()), e))?;
        let mut out = Vec::with_capacity(described.len());
        for d in described {
            let state = match &d.error {
                None if d.members > 0 && d.state.eq(&ffi::GroupState::Empty) => {
                    // Members but reported empty cannot happen; be safe and call it active.
                    GroupState::Unknown("Empty with members".to_owned())
                }
                None => state_of(d.state),
                Some(e) if e.is_group_not_found() => GroupState::Dead,
                Some(e) => {
                    return Err(
                        self.err(format!("DescribeConsumerGroups({})", d.group_id), e.clone())
                    );
                }
            };
            out.push((d.group_id, state));
        }
        Ok(out)
    }

    fn committed(&self, group: &str) -> Result<Vec<GroupOffset>, GroupOpError> {
        match ffi::list_consumer_group_offsets(&self.admin, group, self.timeout) {
            Ok(offsets) => Ok(offsets
                .into_iter()
                .filter(|o| o.offset >= 0)
                .map(|o| GroupOffset {
                    topic: o.topic,
                    partition: o.partition,
                    offset: o.offset,
                    metadata: o.metadata,
                })
                .collect()),
            Err(e) if e.is_group_not_found() => Ok(Vec::new()),
            Err(e) => Err(self.err(format!("ListConsumerGroupOffsets({group})"), e)),
        }
    }

    fn alter(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), GroupOpError> {
        let args: Vec<(&str, i32, i64, &str)> = offsets
            .iter()
            .map(|o| (o.topic.as_str(), o.partition, o.offset, o.metadata.as_str()))
            .collect();
        let op = || format!("AlterConsumerGroupOffsets({group})");
        let results = ffi::alter_consumer_group_offsets(&self.admin, group, &args, self.timeout)
            .map_err(|e| {
                if e.is_group_active() {
                    GroupOpError::GroupActive {
                        group: group.to_owned(),
                        cluster: self.cluster,
                        detail: e.to_string(),
                    }
                } else {
                    self.err(op(), e)
                }
            })?;
        if let Some(e) = results.into_iter().find_map(|r| r.error) {
            if e.is_group_active() {
                return Err(GroupOpError::GroupActive {
                    group: group.to_owned(),
                    cluster: self.cluster,
                    detail: e.to_string(),
                });
            }
            return Err(self.err(op(), e));
        }
        Ok(())
    }
}
