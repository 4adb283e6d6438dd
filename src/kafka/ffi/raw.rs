//! The shared machinery: the client handle, ownership guards for librdkafka objects, C string
//! conversions, and running one admin request on its own queue.

use std::ffi::{CString, c_char, c_int};
use std::ptr::{self, NonNull};
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};

use super::error::{AdminError, ErrorCode, Subject};
// Re-exported: every admin call copies strings out through `raw::string`.
pub(super) use super::strings::string;

// Error codes reach us from brokers unchanged. A code newer than librdkafka's
// `rd_kafka_resp_err_t` would be an invalid value of the Rust enum bindgen generated for it
// (undefined behaviour the moment it is returned), so the functions that return or take error
// codes are declared again here with a plain `c_int`, which has the same ABI.
unsafe extern "C" {
    fn rd_kafka_event_error(rkev: *mut rd::rd_kafka_event_t) -> c_int;
    fn rd_kafka_error_code(error: *const rd::rd_kafka_error_t) -> c_int;
    fn rd_kafka_ConfigResource_error(config: *const rd::rd_kafka_ConfigResource_t) -> c_int;
}

mod sealed {
    /// Keeps [`super::KafkaHandle`] implemented only here: it hands out a raw pointer that the
    /// admin calls trust.
    pub trait Sealed {}
}

/// A client the admin calls can run on: an `rdkafka` [`AdminClient`] or [`Client`].
///
/// Sealed: the calls trust the handle it returns, so no other type may implement it.
pub trait KafkaHandle: sealed::Sealed {
    /// The librdkafka handle, valid while `self` is borrowed.
    #[doc(hidden)]
    fn native_handle(&self) -> *mut rd::rd_kafka_t;
}

impl<C: ClientContext> sealed::Sealed for AdminClient<C> {}
impl<C: ClientContext> KafkaHandle for AdminClient<C> {
    fn native_handle(&self) -> *mut rd::rd_kafka_t {
        self.inner().native_ptr()
    }
}

impl<C: ClientContext> sealed::Sealed for Client<C> {}
impl<C: ClientContext> KafkaHandle for Client<C> {
    fn native_handle(&self) -> *mut rd::rd_kafka_t {
        self.native_ptr()
    }
}

/// Owns one librdkafka object and frees it with its destroy function when dropped, so no path
/// (early return, `?`, panic) leaks it.
pub(super) struct Owned<T> {
    ptr: NonNull<T>,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    /// Takes ownership of `ptr`; `None` when librdkafka returned null.
    ///
    /// # Safety
    /// `ptr` must be null or an object nobody else frees, which `destroy` frees.
    pub(super) unsafe fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Option<Self> {
        NonNull::new(ptr).map(|ptr| Owned { ptr, destroy })
    }

    /// The object, still owned by the guard.
    pub(super) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract: we own the object and `destroy` is its destructor; the
        // guard is not `Clone`, so this runs exactly once.
        unsafe { (self.destroy)(self.ptr.as_ptr()) }
    }
}

/// One admin call: its name (for errors) and librdkafka's identifiers for it.
#[derive(Clone, Copy)]
pub(super) struct Call {
    /// librdkafka's name of the call, used in error messages.
    pub(super) op: &'static str,
    /// Which call the options are for (librdkafka validates options per call).
    pub(super) api: rd::rd_kafka_admin_op_t,
    /// The event type of the call's result.
    pub(super) event: c_int,
}

impl Call {
    /// An error of this call.
    pub(super) fn err(&self, subject: Subject, code: ErrorCode, message: String) -> AdminError {
        AdminError::new(self.op, subject, code, message)
    }

    /// An invalid argument, rejected before sending anything.
    pub(super) fn invalid(&self, subject: Subject, message: String) -> AdminError {
        self.err(subject, ErrorCode::INVALID_ARG, message)
    }

    /// An answer librdkafka handed over without a field it documents as always present.
    pub(super) fn bad_answer(&self, subject: Subject, what: &str) -> AdminError {
        self.err(
            subject,
            ErrorCode::BAD_MSG,
            format!("librdkafka's answer has no {what}"),
        )
    }

    /// `s` as a C string, or an invalid-argument error naming `subject`.
    pub(super) fn cstring(&self, subject: &Subject, s: &str) -> Result<CString, AdminError> {
        CString::new(s)
            .map_err(|_| self.invalid(subject.clone(), format!("{s:?} contains a NUL byte")))
    }
}

/// How long to wait for the result event beyond the request timeout: librdkafka itself posts a
/// `__TIMED_OUT` result when the request timeout elapses, which this leaves room for.
const RESULT_GRACE_MS: c_int = 2_000;
/// librdkafka accepts request timeouts up to one hour.
const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;

/// Runs one admin request and returns its result event, already checked for a call-level error
/// and for being of `call.event`'s type.
///
/// `start` gets the client handle, the options (request timeout set) and a queue of this
/// request's own, and must call the librdkafka admin function with them; the function copies
/// its arguments, so they may be freed once `start` returns.
pub(super) fn run(
    client: &impl KafkaHandle,
    call: Call,
    subject: &Subject,
    timeout: Duration,
    start: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Owned<rd::rd_kafka_event_t>, AdminError> {
    run_with(client, call, subject, timeout, false, start)
}

/// [`run`], optionally asking the broker for the caller's authorized operations on the
/// resources described (KIP-430; DescribeCluster, DescribeTopics, DescribeConsumerGroups).
pub(super) fn run_with(
    client: &impl KafkaHandle,
    call: Call,
    subject: &Subject,
    timeout: Duration,
    include_authorized_operations: bool,
    start: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Owned<rd::rd_kafka_event_t>, AdminError> {
    let rk = client.native_handle();
    // Clamped to librdkafka's range; at least 1 ms because 0 has special meanings there.
    let timeout_ms = timeout.as_millis().clamp(1, MAX_REQUEST_TIMEOUT_MS) as c_int;

    // SAFETY: `rk` is a live client handle for as long as `client` is borrowed (all of this
    // function); the options object is new and owned by the guard.
    let options = unsafe {
        Owned::new(
            rd::rd_kafka_AdminOptions_new(rk, call.api),
            rd::rd_kafka_AdminOptions_destroy,
        )
    }
    .ok_or_else(|| {
        call.err(
            subject.clone(),
            ErrorCode::INVALID_ARG,
            "no admin options".into(),
        )
    })?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: the options are live; `errstr` is a writable buffer of the given size that
    // librdkafka NUL-terminates.
    let set = unsafe {
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.as_ptr(),
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if set != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
        let message = unsafe { string(errstr.as_ptr()) }.unwrap_or_default();
        return Err(call.invalid(subject.clone(), message));
    }

    if include_authorized_operations {
        // SAFETY: the options are live; a returned error object is ours, freed by the guard.
        let error = unsafe {
            Owned::new(
                rd::rd_kafka_AdminOptions_set_include_authorized_operations(options.as_ptr(), 1),
                rd::rd_kafka_error_destroy,
            )
        };
        if let Some(error) = error {
            // SAFETY: the error object is live (owned by the guard).
            let (code, message) = unsafe { error_of(error.as_ptr()) }
                .unwrap_or((ErrorCode::INVALID_ARG, String::new()));
            return Err(call.err(subject.clone(), code, message));
        }
    }

    // SAFETY: `rk` is live (see above); the queue is new and owned by the guard. Destroying it
    // while a request is still in flight is fine: librdkafka then drops the late result.
    let queue = unsafe { Owned::new(rd::rd_kafka_queue_new(rk), rd::rd_kafka_queue_destroy) }
        .ok_or_else(|| call.err(subject.clone(), ErrorCode::INVALID_ARG, "no queue".into()))?;

    start(rk, options.as_ptr(), queue.as_ptr());

    // SAFETY: the queue is live; a returned event is ours to destroy, which the guard does.
    let event = unsafe {
        Owned::new(
            rd::rd_kafka_queue_poll(queue.as_ptr(), timeout_ms.saturating_add(RESULT_GRACE_MS)),
            rd::rd_kafka_event_destroy,
        )
    }
    .ok_or_else(|| {
        call.err(
            subject.clone(),
            ErrorCode::TIMED_OUT,
            format!("no answer within {timeout:?}"),
        )
    })?;

    // SAFETY: the event is live and owned by the guard.
    let event_type = unsafe { rd::rd_kafka_event_type(event.as_ptr()) };
    if event_type != call.event {
        return Err(call.err(
            subject.clone(),
            ErrorCode::BAD_MSG,
            format!("unexpected event type {event_type}"),
        ));
    }
    // SAFETY: the event is live; the error string, if any, belongs to the event and is copied
    // before the event is dropped.
    let (code, message) = unsafe {
        (
            rd_kafka_event_error(event.as_ptr()),
            string(rd::rd_kafka_event_error_string(event.as_ptr())),
        )
    };
    if code != 0 {
        return Err(call.err(
            subject.clone(),
            ErrorCode(code),
            message.unwrap_or_default(),
        ));
    }
    Ok(event)
}

/// The elements of a C array as a slice; empty for null.
///
/// # Safety
/// `p` must be null or point to `n` initialized, valid `T`s that outlive `'a`.
pub(super) unsafe fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(p, n) }
    }
}

/// The code and message of a librdkafka error object; `None` for null (no error).
///
/// # Safety
/// `e` must be null or a live `rd_kafka_error_t`.
pub(super) unsafe fn error_of(e: *const rd::rd_kafka_error_t) -> Option<(ErrorCode, String)> {
    if e.is_null() {
        return None;
    }
    // SAFETY: `e` is live per the contract; the string belongs to it and is copied at once.
    let (code, message) = unsafe { (rd_kafka_error_code(e), string(rd::rd_kafka_error_string(e))) };
    Some((ErrorCode(code), message.unwrap_or_default()))
}

/// The error code and message of a config resource in a result.
///
/// # Safety
/// `c` must be a live `rd_kafka_ConfigResource_t`.
pub(super) unsafe fn config_resource_error(
    c: *const rd::rd_kafka_ConfigResource_t,
) -> (ErrorCode, String) {
    // SAFETY: `c` is live per the contract; the string belongs to it and is copied at once.
    unsafe {
        (
            ErrorCode(rd_kafka_ConfigResource_error(c)),
            string(rd::rd_kafka_ConfigResource_error_string(c)).unwrap_or_default(),
        )
    }
}

/// One element of a librdkafka topic partition list, copied out.
pub(super) struct Partition {
    /// The topic (`None` if librdkafka left it null).
    pub(super) topic: Option<String>,
    /// The partition.
    pub(super) partition: i32,
    /// The offset (negative: none / logical).
    pub(super) offset: i64,
    /// The commit metadata (lossy UTF-8; empty when none).
    pub(super) metadata: String,
    /// The per-partition error code (0: none).
    pub(super) err: ErrorCode,
}

/// Copies every element out of a topic partition list; empty for null.
///
/// # Safety
/// `list` must be null or a live `rd_kafka_topic_partition_list_t`.
pub(super) unsafe fn partitions(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> Vec<Partition> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: `list` is live; `cnt` elements of `elems` are initialized.
    let (cnt, elems) = unsafe { ((*list).cnt, (*list).elems) };
    let cnt = usize::try_from(cnt).unwrap_or(0);
    if elems.is_null() {
        return Vec::new();
    }
    (0..cnt)
        .map(|i| {
            // SAFETY: `i < cnt`, so `e` points to an initialized element. Fields are read
            // through raw pointers, never as a whole `&rd_kafka_topic_partition_t`: its `err`
            // field is typed as the Rust error enum but may hold a code the enum lacks, so it
            // is read as the `c_int` it is in C. `topic` is a NUL-terminated string;
            // `metadata` is null or `metadata_size` readable bytes.
            unsafe {
                let e = elems.add(i);
                let metadata = ptr::addr_of!((*e).metadata).read();
                let metadata_size = ptr::addr_of!((*e).metadata_size).read();
                let metadata = String::from_utf8_lossy(slice(metadata.cast::<u8>(), metadata_size))
                    .into_owned();
                Partition {
                    topic: string(ptr::addr_of!((*e).topic).read()),
                    partition: ptr::addr_of!((*e).partition).read(),
                    offset: ptr::addr_of!((*e).offset).read(),
                    metadata,
                    err: ErrorCode(ptr::addr_of!((*e).err).cast::<c_int>().read()),
                }
            }
        })
        .collect()
}
