//! What reads the source for replication (`strait.source.reader`): librdkafka's consumer, or
//! Strait's own fetcher (`wire`), which reads record batches as the broker stored them so
//! that the wire writer can pass them to the target without decompressing them (compressed
//! batch passthrough, `docs/performance.md`). librdkafka's consumer stays the member of the
//! flow's group either way: assignments, revocations and the group's committed offsets. As
//! with the writer, a setting the fetcher would not honour is never dropped silently: `auto`
//! falls back on librdkafka, and an explicit `wire` refuses it.

use super::error::ConfigError;
use super::key_reader::KeyReader;
use super::{ClusterConnection, SourceConnectorConfig, SourceReader, TargetWriter};

/// The configuration key.
pub const KEY: &str = "strait.source.reader";

/// Source consumer settings (librdkafka names) the fetcher applies as librdkafka would.
pub const APPLIED: &[&str] = &[
    "client.id",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "fetch.min.bytes",
    "fetch.wait.max.ms",
    "isolation.level",
    "max.partition.fetch.bytes",
    "socket.timeout.ms",
];

/// Source consumer settings that concern only the group member, which librdkafka's consumer
/// stays with the fetcher reading (assignments, offsets, its own queue and statistics).
const MEMBER_ONLY: &[&str] = &[
    "allow.auto.create.topics",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "coordinator.query.interval.ms",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "fetch.error.backoff.ms",
    "fetch.queue.backoff.ms",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.protocol.type",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "metadata.max.age.ms",
    "partition.assignment.strategy",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "session.timeout.ms",
    "statistics.interval.ms",
    "topic.metadata.refresh.interval.ms",
];

/// `strait.source.reader` as written: `auto` (or absent), `librdkafka` or `wire`. `wire` needs
/// Strait's own writer, which is what writes passed batches.
pub(crate) fn parse(
    r: &KeyReader<'_>,
    exactly_once: bool,
    writer: TargetWriter,
) -> Result<SourceReader, ConfigError> {
    match r.non_blank(KEY).map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto") => Ok(SourceReader::Auto),
        Some("librdkafka") => Ok(SourceReader::Librdkafka),
        Some("wire") if exactly_once => Err(r.error(
            KEY,
            "'wire' cannot be used with exactly-once (its transactions are read and written \
             by librdkafka): remove the key or set it to auto or librdkafka",
        )),
        Some("wire") if writer == TargetWriter::Librdkafka => Err(r.error(
            KEY,
            "'wire' needs Strait's own target writer, which writes the batches it reads, but \
             strait.target.writer is librdkafka: set strait.target.writer to wire or auto, or \
             this key to auto or librdkafka",
        )),
        Some("wire") => Ok(SourceReader::Wire),
        Some(_) => Err(r.error(
            KEY,
            format!(
                "'{}' is not valid (expected auto, librdkafka or wire)",
                r.shown(KEY)
            ),
        )),
    }
}

/// The reader a flow's source connector replicates with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderChoice {
    /// [`SourceReader::Wire`] or [`SourceReader::Librdkafka`], never `Auto`.
    pub reader: SourceReader,
    /// Why, for the log and `strait validate`.
    pub why: String,
}

/// The first source consumer setting (the connector's, or the source cluster's client
/// settings) that the fetcher would not apply: anything it neither applies nor leaves to the
/// group member (a TLS cipher list, `client.rack`, `check.crcs`, ...) is librdkafka's.
pub fn not_applied_by_wire(
    source: &ClusterConnection,
    consumer_overrides: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    consumer_overrides
        .keys()
        .chain(source.client_overrides.keys())
        .find(|k| !APPLIED.contains(&k.as_str()) && !MEMBER_ONLY.contains(&k.as_str()))
        .cloned()
}

impl SourceConnectorConfig {
    /// The reader this connector replicates from `source` to `target` with. `Auto` becomes
    /// `Wire` where the flow writes with the wire writer and no consumer setting would be
    /// left unapplied; `Librdkafka` otherwise.
    pub fn reader_choice(
        &self,
        source: &ClusterConnection,
        target: &ClusterConnection,
    ) -> ReaderChoice {
        let choice = |reader, why: String| ReaderChoice { reader, why };
        match self.source_reader {
            SourceReader::Wire => choice(SourceReader::Wire, format!("{KEY}=wire")),
            SourceReader::Librdkafka => {
                choice(SourceReader::Librdkafka, format!("{KEY}=librdkafka"))
            }
            SourceReader::Auto => {
                let writer = self.writer_choice(target);
                if writer.writer != TargetWriter::Wire {
                    return choice(
                        SourceReader::Librdkafka,
                        format!("the flow writes with librdkafka ({})", writer.why),
                    );
                }
                match not_applied_by_wire(source, &self.consumer_overrides) {
                    Some(k) => choice(
                        SourceReader::Librdkafka,
                        format!("{k} is set, which only librdkafka's consumer applies"),
                    ),
                    None => choice(SourceReader::Wire, "the default".to_owned()),
                }
            }
        }
    }
}
