//! Listing and describing consumer groups (`rd_kafka_ListConsumerGroups`,
//! `rd_kafka_DescribeConsumerGroups`).

use std::ffi::c_char;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::bindings::rd_kafka_consumer_group_state_t as RdState;

use super::acls::{AclOperation, operations};
use super::error::{AdminError, Subject};
use super::raw::{self, Call, KafkaHandle};

/// The state of a consumer group, as the broker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// A state librdkafka does not know (e.g. the KIP-848 `Assigning`/`Reconciling`).
    Unknown,
    /// Members are (re)joining.
    PreparingRebalance,
    /// Members joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Members are consuming.
    Stable,
    /// The group is gone (or never existed).
    Dead,
    /// No members, but committed offsets (or a just-created group).
    Empty,
}

impl GroupState {
    fn from_native(s: RdState) -> Self {
        match s {
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE => {
                GroupState::PreparingRebalance
            }
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE => {
                GroupState::CompletingRebalance
            }
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_STABLE => GroupState::Stable,
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_DEAD => GroupState::Dead,
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY => GroupState::Empty,
            RdState::RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN
            | RdState::RD_KAFKA_CONSUMER_GROUP_STATE__CNT => GroupState::Unknown,
        }
    }
}

/// One group of [`list_consumer_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: GroupState,
    /// Whether it is a "simple" group: offsets committed without group membership (no
    /// protocol type), as admin clients and assign()-only consumers leave.
    pub is_simple: bool,
}

/// One group of [`describe_consumer_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: GroupState,
    /// How many members it has now.
    pub members: usize,
    /// Whether it is a "simple" group (see [`GroupListing::is_simple`]).
    pub is_simple: bool,
    /// Why this group could not be described (e.g. `GROUP_ID_NOT_FOUND`, not authorized).
    pub error: Option<AdminError>,
}

const LIST: Call = Call {
    op: "ListConsumerGroups",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
    event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
};

const DESCRIBE: Call = Call {
    op: "DescribeConsumerGroups",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
    event: rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
};

/// Every consumer group of the cluster, in all states.
///
/// Fails when any broker could not be asked, like Java's `listConsumerGroups().all()` that MM2
/// uses: a partial list would make groups look deleted.
pub fn list_consumer_groups(
    client: &impl KafkaHandle,
    timeout: Duration,
) -> Result<Vec<GroupListing>, AdminError> {
    let subject = Subject::Cluster;
    let event = raw::run(client, LIST, &subject, timeout, |rk, options, queue| {
        // SAFETY: `run` passes a live client, options and queue.
        unsafe { rd::rd_kafka_ListConsumerGroups(rk, options, queue) }
    })?;
    // SAFETY: `run` checked the event is a ListConsumerGroups result; the arrays and the
    // listings they point to belong to the event, which outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroups_result(event.as_ptr());
        if result.is_null() {
            return Err(LIST.bad_answer(subject, "ListConsumerGroups result"));
        }
        let mut n = 0;
        let errors = rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut n);
        if let Some((code, message)) = raw::slice(errors.cast_const(), n)
            .iter()
            .find_map(|&e| raw::error_of(e))
        {
            return Err(LIST.err(subject, code, message));
        }
        let mut n = 0;
        let valid = rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut n);
        raw::slice(valid.cast_const(), n)
            .iter()
            .filter(|g| !g.is_null())
            .map(|&g| {
                let group_id = raw::string(rd::rd_kafka_ConsumerGroupListing_group_id(g))
                    .ok_or_else(|| LIST.bad_answer(Subject::Cluster, "group id"))?;
                Ok(GroupListing {
                    group_id,
                    state: GroupState::from_native(rd::rd_kafka_ConsumerGroupListing_state(g)),
                    is_simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g) != 0,
                })
            })
            .collect()
    }
}

/// Describes the given groups, one description each, in the order given (a group given twice
/// fails the call). A group that could not be described has its `error` set, a timeout
/// included, since librdkafka asks each group's coordinator separately; a group that does not
/// exist has state [`GroupState::Dead`] or the error `GROUP_ID_NOT_FOUND`, depending on the
/// broker.
pub fn describe_consumer_groups(
    client: &impl KafkaHandle,
    groups: &[&str],
    timeout: Duration,
) -> Result<Vec<GroupDescription>, AdminError> {
    Ok(describe(client, groups, timeout, false)?
        .into_iter()
        .map(|(d, _)| d)
        .collect())
}

/// [`describe_consumer_groups`], with the principal's authorized operations on each group
/// when `authorized_operations` (KIP-430; empty otherwise).
pub(super) fn describe(
    client: &impl KafkaHandle,
    groups: &[&str],
    timeout: Duration,
    authorized_operations: bool,
) -> Result<Vec<(GroupDescription, Vec<AclOperation>)>, AdminError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let subject = match groups {
        [one] => Subject::Group((*one).to_owned()),
        _ => Subject::Cluster,
    };
    let names = groups
        .iter()
        .map(|g| DESCRIBE.cstring(&Subject::Group((*g).to_owned()), g))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let event = raw::run_with(
        client,
        DESCRIBE,
        &subject,
        timeout,
        authorized_operations,
        |rk, options, queue| {
            // SAFETY: `run_with` passes a live client, options and queue; `ptrs` holds
            // `ptrs.len()` NUL-terminated strings (`names`, alive until the end of the
            // function), which librdkafka copies.
            unsafe {
                rd::rd_kafka_DescribeConsumerGroups(
                    rk,
                    ptrs.as_mut_ptr(),
                    ptrs.len(),
                    options,
                    queue,
                )
            }
        },
    )?;
    // SAFETY: `run_with` checked the event is a DescribeConsumerGroups result; the
    // descriptions and their strings, errors and operation arrays belong to the event, which
    // outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_DescribeConsumerGroups_result(event.as_ptr());
        if result.is_null() {
            return Err(DESCRIBE.bad_answer(subject, "DescribeConsumerGroups result"));
        }
        let mut n = 0;
        let descs = rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut n);
        raw::slice(descs.cast_const(), n)
            .iter()
            .filter(|d| !d.is_null())
            .map(|&d| {
                let group_id = raw::string(rd::rd_kafka_ConsumerGroupDescription_group_id(d))
                    .ok_or_else(|| DESCRIBE.bad_answer(subject.clone(), "group id"))?;
                let error = raw::error_of(rd::rd_kafka_ConsumerGroupDescription_error(d)).map(
                    |(code, message)| DESCRIBE.err(Subject::Group(group_id.clone()), code, message),
                );
                let mut m = 0;
                let ops = rd::rd_kafka_ConsumerGroupDescription_authorized_operations(d, &mut m);
                let description = GroupDescription {
                    state: GroupState::from_native(rd::rd_kafka_ConsumerGroupDescription_state(d)),
                    members: rd::rd_kafka_ConsumerGroupDescription_member_count(d),
                    is_simple: rd::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d)
                        != 0,
                    error,
                    group_id,
                };
                Ok((description, operations(ops, m)))
            })
            .collect()
    }
}
