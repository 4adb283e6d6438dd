//! Waking a thread when a client's main queue receives something (delivery reports, errors,
//! statistics), so that the thread serving them can sleep for as long as there is nothing to
//! serve. `rdkafka`'s own polling loop ends every wait by spinning through its last
//! millisecond (its timeout is truncated to whole milliseconds, and it loops until its
//! deadline): about 1 % of a core per producer, all the time, which made an idle flow with
//! exactly-once and 32 partitions use a third of a core.

use std::ffi::c_void;
use std::thread::Thread;

use rdkafka::bindings as rd;

use super::raw::KafkaHandle;

/// librdkafka calls this on one of its threads when the queue goes from empty to not empty.
/// It must be quick and must not call librdkafka: unparking is both.
unsafe extern "C" fn wake(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Thread` boxed by `QueueWakeup::enable`, which stays allocated
    // until the callback is removed (in `drop`, under the queue's lock, so no call is under
    // way by then).
    let thread = unsafe { &*opaque.cast::<Thread>() };
    thread.unpark();
}

/// While alive, unparks `thread` each time the client's main queue receives an event after
/// being empty, and says how many events wait there.
pub struct QueueWakeup {
    queue: *mut rd::rd_kafka_queue_t,
    thread: *mut Thread,
}

// SAFETY: the queue handle is librdkafka's reference-counted, thread-safe queue handle, and
// `thread` points to a `Thread` (itself `Send` and `Sync`) that only `drop` frees.
unsafe impl Send for QueueWakeup {}
// SAFETY: as above; `pending` only reads the queue's length under librdkafka's lock.
unsafe impl Sync for QueueWakeup {}

impl QueueWakeup {
    /// Starts waking `thread` for `client`'s main queue. Drop it before `client`.
    pub fn enable(client: &impl KafkaHandle, thread: Thread) -> Self {
        let thread = Box::into_raw(Box::new(thread));
        // SAFETY: the handle is valid while `client` is borrowed; the queue handle returned is
        // a new reference that `drop` releases.
        let queue = unsafe { rd::rd_kafka_queue_get_main(client.native_handle()) };
        // SAFETY: `queue` is valid; `thread` stays allocated until the callback is removed.
        unsafe { rd::rd_kafka_queue_cb_event_enable(queue, Some(wake), thread.cast()) };
        Self { queue, thread }
    }

    /// How many events wait in the queue.
    pub fn pending(&self) -> usize {
        // SAFETY: `queue` is valid until `drop`.
        unsafe { rd::rd_kafka_queue_length(self.queue) }
    }
}

impl std::fmt::Debug for QueueWakeup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueWakeup")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Drop for QueueWakeup {
    fn drop(&mut self) {
        // SAFETY: removing the callback takes the queue's lock, which librdkafka holds while
        // calling it: once this returns, no call is under way or to come, and `thread` can be
        // freed. The queue handle is then released, once.
        unsafe {
            rd::rd_kafka_queue_cb_event_enable(self.queue, None, std::ptr::null_mut());
            rd::rd_kafka_queue_destroy(self.queue);
            drop(Box::from_raw(self.thread));
        }
    }
}
