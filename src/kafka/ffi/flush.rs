//! Flushing a producer whose delivery reports another thread serves: librdkafka's own wait
//! for the last outcome. `rdkafka`'s `flush` calls it with no wait only, then polls in steps
//! that each last their whole 100 ms, and with no wait librdkafka lifts its "send lingering
//! records now" state before its broker threads see it.

use std::time::Duration;

use rdkafka::bindings as rd;

use super::raw::KafkaHandle;

/// Sends what lingers at once and waits up to `timeout` (`None`: without limit) until every
/// record of `producer` has its outcome served; says whether they all have. The outcomes
/// must be served by another thread meanwhile: librdkafka waits for its count of records
/// not yet reported to reach zero.
pub fn flush(producer: &impl KafkaHandle, timeout: Option<Duration>) -> bool {
    let ms = timeout.map_or(-1, |d| {
        // Rounded up: a timeout under a millisecond still waits.
        i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    // SAFETY: the handle is valid while `producer` is borrowed, and librdkafka answers
    // NOT_IMPLEMENTED for a handle that is not a producer.
    let err = unsafe { rd::rd_kafka_flush(producer.native_handle(), ms) };
    err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
}
