//! Reading and altering a consumer group's committed offsets
//! (`rd_kafka_ListConsumerGroupOffsets`, `rd_kafka_AlterConsumerGroupOffsets`).

use std::time::Duration;

use rdkafka::bindings as rd;

use super::error::{AdminError, ErrorCode, Subject};
use super::raw::{self, Call, KafkaHandle, Owned};

/// One committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset (the next record the group will read). Negative means the group
    /// has no offset for the partition.
    pub offset: i64,
    /// The metadata committed with the offset; `""` when there is none (as Java's
    /// `OffsetAndMetadata` reports it, and MM2 copies it into checkpoints).
    pub metadata: String,
}

/// The outcome for one partition of [`alter_consumer_group_offsets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAlterResult {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset that was (to be) committed.
    pub offset: i64,
    /// Why the broker refused this partition. [`AdminError::is_group_active`] tells that the
    /// group has members, so its offsets cannot be changed from outside.
    pub error: Option<AdminError>,
}

const LIST: Call = Call {
    op: "ListConsumerGroupOffsets",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
    event: rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
};

const ALTER: Call = Call {
    op: "AlterConsumerGroupOffsets",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
    event: rd::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
};

/// Every offset `group` has committed, on all topics and partitions. A group without
/// offsets (or that does not exist) gives an empty list, or a `GROUP_ID_NOT_FOUND` error
/// depending on the broker. A partition the broker reports an error for fails the call.
pub fn list_consumer_group_offsets(
    client: &impl KafkaHandle,
    group: &str,
    timeout: Duration,
) -> Result<Vec<CommittedOffset>, AdminError> {
    let subject = Subject::Group(group.to_owned());
    let group_c = LIST.cstring(&subject, group)?;
    // A null partition list asks for all partitions the group has offsets for.
    // SAFETY: `group_c` is NUL-terminated; librdkafka copies it; the request is owned by the
    // guard.
    let request = unsafe {
        Owned::new(
            rd::rd_kafka_ListConsumerGroupOffsets_new(group_c.as_ptr(), std::ptr::null()),
            rd::rd_kafka_ListConsumerGroupOffsets_destroy,
        )
    }
    .ok_or_else(|| LIST.invalid(subject.clone(), "request not created".into()))?;
    let event = raw::run(client, LIST, &subject, timeout, |rk, options, queue| {
        let mut requests = [request.as_ptr()];
        // SAFETY: `run` passes a live client, options and queue; the one request is live
        // (owned by `request`) and copied by librdkafka.
        unsafe {
            rd::rd_kafka_ListConsumerGroupOffsets(rk, requests.as_mut_ptr(), 1, options, queue)
        }
    })?;
    let partitions = group_partitions(LIST, &event, group, |event| {
        // SAFETY: `run` checked the event's type; the result is the event itself.
        unsafe {
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event);
            let mut n = 0;
            let groups = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut n);
            (result.is_null(), groups, n)
        }
    })?;
    partitions
        .into_iter()
        .map(|p| {
            let topic = p
                .topic
                .ok_or_else(|| LIST.bad_answer(subject.clone(), "topic name"))?;
            if p.err != ErrorCode::NO_ERROR {
                return Err(LIST.err(
                    Subject::GroupPartition {
                        group: group.to_owned(),
                        topic,
                        partition: p.partition,
                    },
                    p.err,
                    String::new(),
                ));
            }
            Ok(CommittedOffset {
                topic,
                partition: p.partition,
                offset: p.offset,
                metadata: p.metadata,
            })
        })
        .collect()
}

/// Commits `offsets` — `(topic, partition, offset, metadata)` — for `group`, as an admin
/// client: the broker accepts this only while the group has no members.
///
/// Returns one result per partition; a refused partition has its `error` set (for an active
/// group, one for which [`AdminError::is_group_active`] holds). Fails as a whole when the
/// request could not be made (timeout, coordinator unavailable, invalid arguments such as a
/// negative offset or a partition given twice).
pub fn alter_consumer_group_offsets(
    client: &impl KafkaHandle,
    group: &str,
    offsets: &[(&str, i32, i64, &str)],
    timeout: Duration,
) -> Result<Vec<OffsetAlterResult>, AdminError> {
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    let subject = Subject::Group(group.to_owned());
    let group_c = ALTER.cstring(&subject, group)?;
    let rk = client.native_handle();
    let size = i32::try_from(offsets.len())
        .map_err(|_| ALTER.invalid(subject.clone(), "too many partitions".into()))?;
    // SAFETY: a new list, owned by the guard.
    let list = unsafe {
        Owned::new(
            rd::rd_kafka_topic_partition_list_new(size),
            rd::rd_kafka_topic_partition_list_destroy,
        )
    }
    .ok_or_else(|| ALTER.invalid(subject.clone(), "partition list not created".into()))?;
    for &(topic, partition, offset, metadata) in offsets {
        let part_subject = Subject::GroupPartition {
            group: group.to_owned(),
            topic: topic.to_owned(),
            partition,
        };
        let topic_c = ALTER.cstring(&part_subject, topic)?;
        // SAFETY: the list is live; `topic_c` is NUL-terminated and copied by librdkafka; the
        // returned element belongs to the list and is only written before the next add.
        unsafe {
            let e =
                rd::rd_kafka_topic_partition_list_add(list.as_ptr(), topic_c.as_ptr(), partition);
            if e.is_null() {
                return Err(ALTER.invalid(part_subject, "partition not added".into()));
            }
            (*e).offset = offset;
            if !metadata.is_empty() {
                // The list frees `metadata` with librdkafka's allocator, so it must come
                // from there.
                let buf = rd::rd_kafka_mem_malloc(rk, metadata.len());
                if buf.is_null() {
                    return Err(ALTER.invalid(part_subject, "no memory for metadata".into()));
                }
                std::ptr::copy_nonoverlapping(metadata.as_ptr(), buf.cast::<u8>(), metadata.len());
                (*e).metadata = buf;
                (*e).metadata_size = metadata.len();
            }
        }
    }
    // SAFETY: `group_c` is NUL-terminated and the list is live; both are copied by librdkafka;
    // the request is owned by the guard.
    let request = unsafe {
        Owned::new(
            rd::rd_kafka_AlterConsumerGroupOffsets_new(group_c.as_ptr(), list.as_ptr()),
            rd::rd_kafka_AlterConsumerGroupOffsets_destroy,
        )
    }
    .ok_or_else(|| ALTER.invalid(subject.clone(), "request not created".into()))?;
    let event = raw::run(client, ALTER, &subject, timeout, |rk, options, queue| {
        let mut requests = [request.as_ptr()];
        // SAFETY: `run` passes a live client, options and queue; the one request is live
        // (owned by `request`) and copied by librdkafka.
        unsafe {
            rd::rd_kafka_AlterConsumerGroupOffsets(rk, requests.as_mut_ptr(), 1, options, queue)
        }
    })?;
    let partitions = group_partitions(ALTER, &event, group, |event| {
        // SAFETY: `run` checked the event's type; the result is the event itself.
        unsafe {
            let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(event);
            let mut n = 0;
            let groups = rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut n);
            (result.is_null(), groups, n)
        }
    })?;
    partitions
        .into_iter()
        .map(|p| {
            let topic = p
                .topic
                .ok_or_else(|| ALTER.bad_answer(subject.clone(), "topic name"))?;
            let error = (p.err != ErrorCode::NO_ERROR).then(|| {
                ALTER.err(
                    Subject::GroupPartition {
                        group: group.to_owned(),
                        topic: topic.clone(),
                        partition: p.partition,
                    },
                    p.err,
                    String::new(),
                )
            });
            Ok(OffsetAlterResult {
                topic,
                partition: p.partition,
                offset: p.offset,
                error,
            })
        })
        .collect()
}

/// The partitions of the one group result in a group-offsets result event; fails on a
/// group-level error. `groups_of` returns (result missing, group results array, count).
fn group_partitions(
    call: Call,
    event: &Owned<rd::rd_kafka_event_t>,
    group: &str,
    groups_of: impl FnOnce(
        *mut rd::rd_kafka_event_t,
    ) -> (bool, *mut *const rd::rd_kafka_group_result_t, usize),
) -> Result<Vec<raw::Partition>, AdminError> {
    let subject = Subject::Group(group.to_owned());
    let (missing, groups, n) = groups_of(event.as_ptr());
    if missing {
        return Err(call.bad_answer(subject, "result"));
    }
    // SAFETY: `groups` is null or `n` group results owned by the event, which outlives this
    // block; their errors and partition lists belong to them.
    unsafe {
        let Some(&g) = raw::slice(groups.cast_const(), n)
            .first()
            .filter(|g| !g.is_null())
        else {
            return Err(call.bad_answer(subject, "group result"));
        };
        if let Some((code, message)) = raw::error_of(rd::rd_kafka_group_result_error(g)) {
            return Err(call.err(subject, code, message));
        }
        Ok(raw::partitions(rd::rd_kafka_group_result_partitions(g)))
    }
}
