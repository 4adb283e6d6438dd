//! What the connected principal may do (KIP-430): the authorized operations that
//! `rd_kafka_DescribeCluster`, `rd_kafka_DescribeTopics` and `rd_kafka_DescribeConsumerGroups`
//! return when asked. The broker computes them with its authorizer, implied operations
//! included (Read implies Describe, AlterConfigs implies DescribeConfigs), and nothing is
//! changed on the cluster to learn them: this is how `strait check` finds missing ACLs.

use std::ffi::c_char;
use std::time::Duration;

use rdkafka::bindings as rd;

use super::acls::{AclOperation, operations};
use super::error::{AdminError, Subject};
use super::raw::{self, Call, KafkaHandle, Owned};

const CLUSTER: Call = Call {
    op: "DescribeCluster",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
    event: rd::RD_KAFKA_EVENT_DESCRIBECLUSTER_RESULT,
};

const TOPICS: Call = Call {
    op: "DescribeTopics",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
    event: rd::RD_KAFKA_EVENT_DESCRIBETOPICS_RESULT,
};

/// The operations of one topic or group the principal is authorized for, or why they are not
/// known (the topic does not exist, the principal may not even describe it, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedOperations {
    /// The topic or group.
    pub name: String,
    /// The authorized operations; empty when `error` is set.
    pub operations: Vec<AclOperation>,
    /// Why the broker did not describe it.
    pub error: Option<AdminError>,
}

/// The principal's authorized operations on the cluster resource (Describe, Alter, Create,
/// IdempotentWrite, ...).
pub fn cluster_operations(
    client: &impl KafkaHandle,
    timeout: Duration,
) -> Result<Vec<AclOperation>, AdminError> {
    let subject = Subject::Cluster;
    let event = raw::run_with(
        client,
        CLUSTER,
        &subject,
        timeout,
        true,
        |rk, options, queue| {
            // SAFETY: `run_with` passes a live client, options and queue.
            unsafe { rd::rd_kafka_DescribeCluster(rk, options, queue) }
        },
    )?;
    // SAFETY: `run_with` checked the event's type; the array belongs to the event, which
    // outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_DescribeCluster_result(event.as_ptr());
        if result.is_null() {
            return Err(CLUSTER.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let ops = rd::rd_kafka_DescribeCluster_result_authorized_operations(result, &mut n);
        Ok(operations(ops, n))
    }
}

/// The principal's authorized operations on each of `topics`, in the order given. A topic
/// that does not exist has the error `UNKNOWN_TOPIC_OR_PART` when the principal may describe
/// it, `TOPIC_AUTHORIZATION_FAILED` when not (Kafka does not tell the two apart otherwise).
pub fn topic_operations(
    client: &impl KafkaHandle,
    topics: &[&str],
    timeout: Duration,
) -> Result<Vec<AuthorizedOperations>, AdminError> {
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let subject = match topics {
        [one] => Subject::Topic((*one).to_owned()),
        _ => Subject::Cluster,
    };
    let names = topics
        .iter()
        .map(|t| TOPICS.cstring(&Subject::Topic((*t).to_owned()), t))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: `ptrs` holds `ptrs.len()` NUL-terminated strings (`names`, alive until the end
    // of the function), which librdkafka copies; the collection is owned by the guard.
    let collection = unsafe {
        Owned::new(
            rd::rd_kafka_TopicCollection_of_topic_names(ptrs.as_mut_ptr(), ptrs.len()),
            rd::rd_kafka_TopicCollection_destroy,
        )
    }
    .ok_or_else(|| TOPICS.invalid(subject.clone(), "no topic collection".into()))?;
    let event = raw::run_with(
        client,
        TOPICS,
        &subject,
        timeout,
        true,
        |rk, options, queue| {
            // SAFETY: `run_with` passes a live client, options and queue; the collection is
            // live (owned by its guard) and copied by librdkafka.
            unsafe { rd::rd_kafka_DescribeTopics(rk, collection.as_ptr(), options, queue) }
        },
    )?;
    // SAFETY: `run_with` checked the event's type; the descriptions, their names, errors and
    // operation arrays belong to the event, which outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_DescribeTopics_result(event.as_ptr());
        if result.is_null() {
            return Err(TOPICS.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let descs = rd::rd_kafka_DescribeTopics_result_topics(result, &mut n);
        raw::slice(descs.cast_const(), n)
            .iter()
            .filter(|d| !d.is_null())
            .map(|&d| {
                let name = raw::string(rd::rd_kafka_TopicDescription_name(d))
                    .ok_or_else(|| TOPICS.bad_answer(subject.clone(), "topic name"))?;
                let error = raw::error_of(rd::rd_kafka_TopicDescription_error(d))
                    .map(|(code, message)| TOPICS.err(Subject::Topic(name.clone()), code, message));
                let mut m = 0;
                let ops = rd::rd_kafka_TopicDescription_authorized_operations(d, &mut m);
                Ok(AuthorizedOperations {
                    operations: operations(ops, m),
                    error,
                    name,
                })
            })
            .collect()
    }
}

/// The principal's authorized operations on each of `groups`, in the order given. A group the
/// principal may not describe has the error `GROUP_AUTHORIZATION_FAILED`.
pub fn group_operations(
    client: &impl KafkaHandle,
    groups: &[&str],
    timeout: Duration,
) -> Result<Vec<AuthorizedOperations>, AdminError> {
    Ok(super::groups::describe(client, groups, timeout, true)?
        .into_iter()
        .map(|(d, operations)| AuthorizedOperations {
            name: d.group_id,
            operations,
            error: d.error,
        })
        .collect())
}
