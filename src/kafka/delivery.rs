//! A producer context that counts delivery outcomes, for producers whose records are few and
//! whose success must be known (progress, offset syncs), not per-record tracked.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::client::ClientContext;
use rdkafka::producer::{DeliveryResult, ProducerContext};

/// Counts acknowledged and failed deliveries and keeps the last failure.
#[derive(Debug, Default)]
pub struct CountingContext {
    acked: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl CountingContext {
    /// Deliveries acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    /// Deliveries failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Acquire)
    }

    /// The last delivery error.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|g| g.clone())
    }
}

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::AcqRel);
            }
            Err((e, _)) => {
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.to_string());
                }
                self.failed.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}
