//! Text librdkafka hands out: C strings copied into Rust, and the names and descriptions of
//! error codes. The bottom of the FFI layer: the error type and the call machinery both use it.

use std::ffi::{CStr, c_char, c_int};

// Declared with a plain `c_int` (same ABI) rather than bindgen's enum: a code librdkafka does
// not know would be an invalid enum value (see raw.rs).
unsafe extern "C" {
    fn rd_kafka_err2name(err: c_int) -> *const c_char;
    fn rd_kafka_err2str(err: c_int) -> *const c_char;
}

/// Copies a C string (invalid UTF-8 replaced); `None` for null.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string valid for the duration of the call.
pub(super) unsafe fn string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// librdkafka's name of an error code.
pub(super) fn err_name(code: i32) -> String {
    // SAFETY: `rd_kafka_err2name` accepts any value (unknown ones get a generated name) and
    // returns a static or thread-local string, copied at once.
    unsafe { string(rd_kafka_err2name(code)) }.unwrap_or_else(|| format!("ERR_{code}"))
}

/// librdkafka's description of an error code.
pub(super) fn err_description(code: i32) -> String {
    // SAFETY: as in `err_name`.
    unsafe { string(rd_kafka_err2str(code)) }.unwrap_or_else(|| format!("error {code}"))
}
