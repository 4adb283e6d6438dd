//! Handing a consumed record to a producer with its headers moved, not copied.
//!
//! `rdkafka` 0.39 sends headers only as an `OwnedHeaders` it builds itself, so replicating a
//! record meant parsing its headers, copying them into a new list, and freeing the original
//! list when the consumed message was dropped: 12 % of all CPU replicating 100-byte records
//! with two headers (flamegraph, issue 15). librdkafka can instead detach the parsed list from
//! the consumed message and take it over in `rd_kafka_producev`.

use std::ffi::{CStr, c_int, c_void};
use std::ptr::{self, NonNull};

use rdkafka::Message;
use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::BorrowedMessage;

// Declared again with `c_int` results (see raw.rs: a code outside the generated enum would be
// undefined behaviour the moment it is returned), and with the vararg types spelled as C
// promotes them.
unsafe extern "C" {
    fn rd_kafka_producev(rk: *mut rd::rd_kafka_t, ...) -> c_int;
    fn rd_kafka_message_detach_headers(
        rkmessage: *mut rd::rd_kafka_message_t,
        hdrsp: *mut *mut rd::rd_kafka_headers_t,
    ) -> c_int;
}

/// A header list Strait owns until a producer takes it over; freed if none does.
#[derive(Debug)]
struct HeaderList(NonNull<rd::rd_kafka_headers_t>);

impl Drop for HeaderList {
    fn drop(&mut self) {
        // SAFETY: the list was detached from its message, so nothing else frees it, and a
        // producer that took it over cleared this guard first (`Outgoing::send`).
        unsafe { rd::rd_kafka_headers_destroy(self.0.as_ptr()) }
    }
}

// SAFETY: a detached list is referenced by nothing else; librdkafka's header lists carry no
// thread affinity.
unsafe impl Send for HeaderList {}

/// One record on its way to a producer: the consumed record's key, value and timestamp
/// (borrowed) and its headers (moved out of it).
#[derive(Debug)]
pub struct Outgoing<'a> {
    topic: &'a CStr,
    partition: i32,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    timestamp: Option<i64>,
    headers: Option<HeaderList>,
    opaque: usize,
}

impl<'a> Outgoing<'a> {
    /// `msg`'s key, value, timestamp and headers, to be written to `partition` of `topic`,
    /// its delivery report carrying `opaque`.
    ///
    /// Takes `msg`'s headers: asked again afterwards, `msg` parses them anew. Headers that do
    /// not parse are left behind, as `Message::headers` would have (the broker validated the
    /// batch, so this does not happen with a real broker).
    pub fn take_from(
        msg: &'a BorrowedMessage<'a>,
        topic: &'a CStr,
        partition: i32,
        opaque: usize,
    ) -> Self {
        let mut hdrs: *mut rd::rd_kafka_headers_t = ptr::null_mut();
        // SAFETY: `msg.ptr()` is a consumed message alive for `'a`. Detaching parses its
        // headers (once) and clears the message's pointer to them, so the message's own
        // destruction no longer frees them: the list is ours. Strait holds no reference to the
        // message's parsed headers across this call (they are only read here).
        let err = unsafe { rd_kafka_message_detach_headers(msg.ptr(), &raw mut hdrs) };
        let headers = if err == 0 {
            NonNull::new(hdrs).map(HeaderList)
        } else {
            None
        };
        Outgoing {
            topic,
            partition,
            key: msg.key(),
            value: msg.payload(),
            timestamp: msg.timestamp().to_millis(),
            headers,
            opaque,
        }
    }

    /// Enqueues the record in `producer`; on success the producer owns the headers. On failure
    /// the record is intact and can be sent again.
    pub fn send<C: ClientContext>(&mut self, producer: &Client<C>) -> Result<(), RDKafkaErrorCode> {
        fn bytes(b: Option<&[u8]>) -> (*mut c_void, usize) {
            b.map_or((ptr::null_mut(), 0), |b| {
                (b.as_ptr().cast_mut().cast(), b.len())
            })
        }
        let (value_ptr, value_len) = bytes(self.value);
        let (key_ptr, key_len) = bytes(self.key);
        let headers = self
            .headers
            .as_ref()
            .map_or(ptr::null_mut(), |h| h.0.as_ptr());
        let vt = |t: rd::rd_kafka_vtype_t| t as c_int;
        use rd::rd_kafka_vtype_t as V;
        // SAFETY: the handle is alive while `producer` is borrowed; every argument has the
        // type librdkafka reads for its tag (int for tags, partition and flags, int64 for the
        // timestamp, size_t for lengths, pointers otherwise), and the list ends with END. With
        // RD_KAFKA_MSG_F_COPY librdkafka copies key and value before returning. The opaque is
        // the `usize` the producer context's `DeliveryOpaque` reads back (rdkafka's
        // `IntoOpaque` for `usize` is the same cast).
        let err = unsafe {
            rd_kafka_producev(
                producer.native_ptr(),
                vt(V::RD_KAFKA_VTYPE_TOPIC),
                self.topic.as_ptr(),
                vt(V::RD_KAFKA_VTYPE_PARTITION),
                self.partition as c_int,
                vt(V::RD_KAFKA_VTYPE_MSGFLAGS),
                rd::RD_KAFKA_MSG_F_COPY as c_int,
                vt(V::RD_KAFKA_VTYPE_VALUE),
                value_ptr,
                value_len,
                vt(V::RD_KAFKA_VTYPE_KEY),
                key_ptr,
                key_len,
                vt(V::RD_KAFKA_VTYPE_OPAQUE),
                self.opaque as *mut c_void,
                vt(V::RD_KAFKA_VTYPE_TIMESTAMP),
                self.timestamp.unwrap_or(0),
                vt(V::RD_KAFKA_VTYPE_HEADERS),
                headers,
                vt(V::RD_KAFKA_VTYPE_END),
            )
        };
        if err == 0 {
            // librdkafka owns the list now and frees it with the message.
            if let Some(h) = self.headers.take() {
                std::mem::forget(h);
            }
            return Ok(());
        }
        // librdkafka leaves an application's header list with it when producev fails.
        Err(error_code(err))
    }
}

/// librdkafka's error for `code`, through its own table: codes it does not know come back as
/// `Unknown` instead of an invalid enum value.
fn error_code(code: c_int) -> RDKafkaErrorCode {
    // SAFETY: `rd_kafka_get_err_descs` returns a static table that lives as long as the
    // library; entries are checked against the count it reports.
    let known = unsafe {
        let mut descs: *const rd::rd_kafka_err_desc = ptr::null();
        let mut count: usize = 0;
        rd::rd_kafka_get_err_descs(&raw mut descs, &raw mut count);
        (0..count).any(|i| !descs.is_null() && (*descs.add(i)).code as c_int == code)
    };
    if !known {
        return RDKafkaErrorCode::Unknown;
    }
    // SAFETY: `code` is a value of librdkafka's own error table, so it is a valid value of the
    // enum generated from the same header.
    let err: rd::rd_kafka_resp_err_t = unsafe { std::mem::transmute::<c_int, _>(code) };
    RDKafkaErrorCode::from(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_error_codes_map_to_librdkafkas_and_unknown_ones_do_not_become_enum_values() {
        assert_eq!(error_code(-184), RDKafkaErrorCode::QueueFull);
        assert_eq!(error_code(-190), RDKafkaErrorCode::UnknownPartition);
        assert_eq!(error_code(10), RDKafkaErrorCode::MessageSizeTooLarge);
        assert_eq!(error_code(29), RDKafkaErrorCode::TopicAuthorizationFailed);
        // Codes outside librdkafka's table: past either end, and in its gap between the
        // local codes (down to -100) and the broker's (from -1).
        assert_eq!(error_code(-50), RDKafkaErrorCode::Unknown);
        assert_eq!(error_code(1_000_000), RDKafkaErrorCode::Unknown);
        assert_eq!(error_code(-1_000_000), RDKafkaErrorCode::Unknown);
    }
}
