//! Changing single topic config entries (`rd_kafka_IncrementalAlterConfigs`), leaving the
//! others alone, unlike the whole-resource `AlterConfigs` that `rdkafka` offers.

use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::bindings::rd_kafka_AlterConfigOpType_t as RdOp;

use super::error::{AdminError, ErrorCode, Subject};
use super::raw::{self, Call, KafkaHandle, Owned};

/// One change to a config entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOp<'a> {
    /// Sets `name` to `value`.
    Set(&'a str, &'a str),
    /// Removes the topic's own value of `name`, so the broker default applies again.
    Delete(&'a str),
}

const ALTER: Call = Call {
    op: "IncrementalAlterConfigs",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
    event: rd::RD_KAFKA_EVENT_INCREMENTALALTERCONFIGS_RESULT,
};

/// Applies `ops` to `topic`'s configuration in one request (all or nothing, as the broker
/// validates the whole request before applying it).
pub fn incremental_alter_configs(
    client: &impl KafkaHandle,
    topic: &str,
    ops: &[ConfigOp<'_>],
    timeout: Duration,
) -> Result<(), AdminError> {
    if ops.is_empty() {
        return Ok(());
    }
    let subject = Subject::Topic(topic.to_owned());
    let topic_c = ALTER.cstring(&subject, topic)?;
    // SAFETY: `topic_c` is NUL-terminated and copied; the resource is owned by the guard.
    let resource = unsafe {
        Owned::new(
            rd::rd_kafka_ConfigResource_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                topic_c.as_ptr(),
            ),
            rd::rd_kafka_ConfigResource_destroy,
        )
    }
    .ok_or_else(|| ALTER.invalid(subject.clone(), "config resource not created".into()))?;
    for op in ops {
        let (name, value, op_type) = match *op {
            ConfigOp::Set(name, value) => {
                (name, Some(value), RdOp::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET)
            }
            ConfigOp::Delete(name) => (name, None, RdOp::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE),
        };
        let name_c = ALTER.cstring(&subject, name)?;
        let value_c = value.map(|v| ALTER.cstring(&subject, v)).transpose()?;
        // SAFETY: the resource is live; the strings are NUL-terminated (or null for a delete)
        // and copied; a returned error object is ours, and the guard destroys it after it is
        // read.
        let error = unsafe {
            Owned::new(
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    resource.as_ptr(),
                    name_c.as_ptr(),
                    op_type,
                    value_c.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
                ),
                rd::rd_kafka_error_destroy,
            )
        };
        if let Some(error) = error {
            // SAFETY: the error object is live (owned by `error`).
            let (code, message) = unsafe { raw::error_of(error.as_ptr()) }
                .unwrap_or((ErrorCode::INVALID_ARG, String::new()));
            return Err(ALTER.err(subject, code, format!("{name}: {message}")));
        }
    }
    let event = raw::run(client, ALTER, &subject, timeout, |rk, options, queue| {
        let mut resources = [resource.as_ptr()];
        // SAFETY: `run` passes a live client, options and queue; the one resource is live
        // (owned by `resource`) and copied by librdkafka.
        unsafe {
            rd::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), 1, options, queue)
        }
    })?;
    // SAFETY: `run` checked the event's type; the resources belong to the event, which
    // outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_IncrementalAlterConfigs_result(event.as_ptr());
        if result.is_null() {
            return Err(ALTER.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let resources = rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n);
        let resources = raw::slice(resources.cast_const(), n);
        if resources.is_empty() {
            return Err(ALTER.bad_answer(subject, "resource result"));
        }
        for &r in resources.iter().filter(|r| !r.is_null()) {
            let (code, message) = raw::config_resource_error(r);
            if code != ErrorCode::NO_ERROR {
                return Err(ALTER.err(subject, code, message));
            }
        }
    }
    Ok(())
}
