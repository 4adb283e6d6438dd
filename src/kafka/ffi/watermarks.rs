//! A consumer's cached watermarks: the log start and end offsets of a partition as its last
//! fetch response reported them, read without a request.

use std::ffi::{CString, c_int};

use super::raw::KafkaHandle;

// Declared with a plain `c_int` return for the same reason as the error-code functions in
// `raw.rs`: bindgen's enum cannot hold a code librdkafka does not know.
unsafe extern "C" {
    fn rd_kafka_get_watermark_offsets(
        rk: *mut rdkafka::bindings::rd_kafka_t,
        topic: *const std::ffi::c_char,
        partition: i32,
        low: *mut i64,
        high: *mut i64,
    ) -> c_int;
}

/// `(log start, end)` of `topic`/`partition` as the consumer last saw them, if it has fetched
/// from the partition (`-1` entries are unknown).
pub fn cached_watermarks(
    consumer: &impl KafkaHandle,
    topic: &str,
    partition: i32,
) -> Option<(i64, i64)> {
    let topic = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the handle is valid while `consumer` is borrowed; `topic` is a NUL-terminated
    // string that outlives the call; `low` and `high` are valid for writes. The call only
    // reads librdkafka's cached partition state under its own lock.
    let err = unsafe {
        rd_kafka_get_watermark_offsets(
            consumer.native_handle(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == 0).then_some((low, high))
}
