//! A consumed record's headers read as bytes, as the Kafka protocol carries them.
//!
//! `rdkafka` 0.39 reads a header's name with `str::to_str().unwrap()`, so a record whose
//! header name is not UTF-8 (legal on the wire; librdkafka and Go producers write any bytes)
//! would panic the thread reading it, again on every restart. Strait's own target writer reads
//! names here instead.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ptr;

use rdkafka::bindings as rd;
use rdkafka::message::BorrowedMessage;

// Declared again with `c_int` results (see raw.rs: a code outside the generated enum would be
// undefined behaviour the moment it is returned).
unsafe extern "C" {
    fn rd_kafka_message_headers(
        rkmessage: *const rd::rd_kafka_message_t,
        hdrsp: *mut *mut rd::rd_kafka_headers_t,
    ) -> c_int;
    fn rd_kafka_header_get_all(
        hdrs: *const rd::rd_kafka_headers_t,
        idx: usize,
        namep: *mut *const c_char,
        valuep: *mut *const c_void,
        sizep: *mut usize,
    ) -> c_int;
}

/// The headers of a consumed record, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct MessageHeaders<'a> {
    list: *const rd::rd_kafka_headers_t,
    count: usize,
    _message: PhantomData<&'a ()>,
}

impl<'a> MessageHeaders<'a> {
    /// The headers of `msg` (parsed by librdkafka once, then cached with the message).
    pub fn of(msg: &'a BorrowedMessage<'_>) -> Self {
        let mut list: *mut rd::rd_kafka_headers_t = ptr::null_mut();
        // SAFETY: `msg.ptr()` is a consumed message alive for `'a`; librdkafka parses its
        // headers into a list the message owns and keeps until it is destroyed, which cannot
        // happen while `msg` is borrowed. Strait never detaches the list of a message it reads
        // this way.
        let err = unsafe { rd_kafka_message_headers(msg.ptr(), &raw mut list) };
        let count = if err == 0 && !list.is_null() {
            // SAFETY: `list` is the message's valid header list (above).
            unsafe { rd::rd_kafka_header_cnt(list) }
        } else {
            0
        };
        MessageHeaders {
            list,
            count,
            _message: PhantomData,
        }
    }

    /// How many headers.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `i`-th header's name and value (`None`: a null value), in the record's order.
    pub fn get(&self, i: usize) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        if i >= self.count {
            return None;
        }
        let mut name: *const c_char = ptr::null();
        let mut value: *const c_void = ptr::null();
        let mut size: usize = 0;
        // SAFETY: `i` is below the list's count and the list is alive for `'a` (see `of`);
        // librdkafka writes pointers into the list's own storage.
        let err = unsafe {
            rd_kafka_header_get_all(self.list, i, &raw mut name, &raw mut value, &raw mut size)
        };
        if err != 0 || name.is_null() {
            return None;
        }
        // SAFETY: librdkafka keeps each name NUL-terminated in the list, alive for `'a`.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let value = if value.is_null() {
            None
        } else {
            // SAFETY: `value` points at `size` bytes of the list, alive for `'a`.
            Some(unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) })
        };
        Some((name, value))
    }
}
