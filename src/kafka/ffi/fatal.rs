//! Raising a fatal error on a producer by hand, the way librdkafka raises it when it gives up on
//! one: its error callback hears it, queued records are purged, `fatal_error()` names the code,
//! and a transactional producer's transaction state turns fatal, so that no transactional call
//! succeeds on it again. Real causes (sequence numbers out of step with a broker after requests
//! timed out) come only by timing; tests need the state on demand.

use std::ffi::{CString, c_char, c_int};

use super::raw::KafkaHandle;

/// librdkafka's `RD_DO_LOCK`: the callee takes the client's lock itself.
const RD_DO_LOCK: c_int = 1;

// Plain `c_int` codes, as in `raw.rs`: the caller's code need not be one bindgen's enum knows.
unsafe extern "C" {
    /// librdkafka's public test hook: the fatal state of an idempotent producer.
    fn rd_kafka_test_fatal_error(
        rk: *mut rdkafka::bindings::rd_kafka_t,
        err: c_int,
        reason: *const c_char,
    ) -> c_int;
    /// What librdkafka itself calls for a transactional producer it gives up on (the sequence
    /// desynchronization path in `rdkafka_idempotence.h`). Not in the public header, but an
    /// external symbol of the librdkafka that `rdkafka-sys` links in statically (rdkafka's
    /// `dynamic-linking` feature would not find it).
    fn rd_kafka_txn_set_fatal_error(
        rk: *mut rdkafka::bindings::rd_kafka_t,
        do_lock: c_int,
        err: c_int,
        fmt: *const c_char,
        ...
    );
}

/// Puts `client`, a producer, in librdkafka's fatal-error state with Kafka error `code` and
/// `reason`, through the path librdkafka takes for a transactional producer or an idempotent
/// one (whichever `client` is). The first fatal error of a client stays its error.
pub fn raise_fatal_error(client: &impl KafkaHandle, code: i32, reason: &str) {
    let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
    let rk = client.native_handle();
    if is_transactional(client) {
        // SAFETY: the handle is valid while `client` is borrowed and is a transactional
        // producer (its transactional state is initialised, which the callee's result lock
        // needs); the format is a literal "%s" and its one argument a NUL-terminated string
        // that outlives the call, which formats it into its own buffer. With RD_DO_LOCK the
        // callee takes the client's lock, as it does on librdkafka's own threads.
        unsafe {
            rd_kafka_txn_set_fatal_error(rk, RD_DO_LOCK, code, c"%s".as_ptr(), reason.as_ptr())
        }
    } else {
        // SAFETY: the handle is valid while `client` is borrowed; `reason` is a NUL-terminated
        // string that outlives the call, which copies it; librdkafka takes its own locks.
        // Its answer only says whether the client already had a fatal error.
        let _ = unsafe { rd_kafka_test_fatal_error(rk, code, reason.as_ptr()) };
    }
}

/// Whether `client` was made with a `transactional.id` (librdkafka's own test).
fn is_transactional(client: &impl KafkaHandle) -> bool {
    let mut size: usize = 0;
    // SAFETY: the handle is valid while `client` is borrowed and its configuration lives as
    // long as it; the name is a NUL-terminated literal; with a null `dest` librdkafka only
    // writes the size the value needs to `size`. An unset transactional.id is "invalid".
    let res = unsafe {
        let conf = rdkafka::bindings::rd_kafka_conf(client.native_handle());
        rdkafka::bindings::rd_kafka_conf_get(
            conf,
            c"transactional.id".as_ptr(),
            std::ptr::null_mut(),
            &mut size,
        )
    };
    res == rdkafka::bindings::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK && size > 1
}
