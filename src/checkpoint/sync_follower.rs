//! Follows the offset-syncs topic on a thread of its own, feeding every sync (with Strait's
//! run-start header, when present) into a shared [`Translator`]: read once to the end (only
//! then does translation start, as in MM2), then kept up to date.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{ClientConfig, Message, Offset};
use tokio::sync::watch;

use crate::wire::OffsetSync;

use super::log_reader::{PartitionZeroReader, ReadError};
use super::sync_runs::{RUN_START_HEADER, RunStart};
use super::translator::Translator;

/// Locks the translator; a poisoned lock (a panic elsewhere) still holds the best data.
pub fn lock(translator: &Mutex<Translator>) -> MutexGuard<'_, Translator> {
    translator.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running follower; stops (within a poll interval) when dropped.
#[derive(Debug)]
pub struct SyncFollower {
    translator: Arc<Mutex<Translator>>,
    stop: Arc<AtomicBool>,
    loaded: watch::Receiver<bool>,
}

impl SyncFollower {
    /// Starts following `topic` with the client settings `config`. `reset_on_initial_load` is
    /// MM2's `mustReadToEnd`: true when earlier checkpoints could not be loaded.
    pub fn spawn(
        config: ClientConfig,
        topic: String,
        reset_on_initial_load: bool,
    ) -> std::io::Result<Self> {
        let translator = Arc::new(Mutex::new(Translator::new(reset_on_initial_load)));
        let stop = Arc::new(AtomicBool::new(false));
        let (loaded_tx, loaded) = watch::channel(false);
        let (t, s) = (translator.clone(), stop.clone());
        // The flow's span, so the follower's log lines name the flow.
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("strait-offset-syncs".to_owned())
            .spawn(move || {
                let _flow = span.enter();
                follow(&config, &topic, &t, &s, &loaded_tx)
            })?;
        Ok(Self {
            translator,
            stop,
            loaded,
        })
    }

    /// The translator being fed.
    pub fn translator(&self) -> &Arc<Mutex<Translator>> {
        &self.translator
    }

    /// Whether the topic has been read to its end once.
    pub fn is_loaded(&self) -> bool {
        lock(&self.translator).is_loaded()
    }

    /// Turns true when the topic has been read to its end once (the translator is loaded by
    /// then), so waiting for it takes no polling.
    pub fn loaded_signal(&self) -> watch::Receiver<bool> {
        self.loaded.clone()
    }
}

impl Drop for SyncFollower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// One decoded sync.
pub(crate) type Decoded = (OffsetSync, Option<RunStart>);

/// Decodes an offset-sync record and its run-start header; `None` when it is not a sync.
pub(crate) fn decode(m: &BorrowedMessage<'_>) -> Option<Decoded> {
    let sync = OffsetSync::decode(m.key()?, m.payload()?).ok()?;
    let run = m.headers().and_then(|hs| {
        hs.iter()
            .find(|h| h.key == RUN_START_HEADER)
            .and_then(|h| h.value)
            .and_then(RunStart::decode)
    });
    Some((sync, run))
}

fn follow(
    config: &ClientConfig,
    topic: &str,
    translator: &Mutex<Translator>,
    stop: &AtomicBool,
    loaded_signal: &watch::Sender<bool>,
) {
    let mut reader: Option<PartitionZeroReader> = None;
    let mut warned = false;
    let mut loaded = false;
    // Where to resume after reopening: re-reading older syncs would look like a rewind.
    let mut next = Offset::Beginning;
    while !stop.load(Ordering::Acquire) {
        let Some(r) = reader.as_mut() else {
            match PartitionZeroReader::open_at(config, topic, next) {
                Ok(r) => reader = Some(r),
                Err(e) => {
                    if !warned {
                        // The source side creates the topic; until then nothing translates.
                        let level_info = matches!(e, ReadError::Missing(_));
                        if level_info {
                            tracing::info!(topic, "offset-syncs topic not there yet; waiting");
                        } else {
                            tracing::warn!(topic, error = %e, "cannot read offset syncs; retrying");
                        }
                        warned = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            continue;
        };
        let mut batch: Vec<Decoded> = Vec::new();
        let polled = r.poll(Duration::from_millis(200), |m| {
            next = Offset::Offset(m.offset() + 1);
            if let Some(d) = decode(m) {
                batch.push(d);
            } else {
                tracing::debug!(
                    topic,
                    offset = m.offset(),
                    "skipping an undecodable offset sync"
                );
            }
        });
        {
            let mut t = lock(translator);
            for (s, run) in &batch {
                t.update(
                    &s.topic,
                    s.partition,
                    s.upstream_offset,
                    s.downstream_offset,
                    *run,
                );
            }
            if !loaded && r.reached_end() {
                t.finish_initial_load();
                loaded = true;
                loaded_signal.send_replace(true);
                tracing::info!(topic, "offset syncs loaded; translating");
            }
        }
        if let Err(e) = polled {
            tracing::warn!(topic, error = %e, "reading offset syncs failed; reopening");
            reader = None;
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}
