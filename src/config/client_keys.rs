//! The one table from Java client property names to librdkafka's, and what Strait does with
//! each Java key it cannot pass on. Connection and security keys (`bootstrap.servers`,
//! `security.protocol`, `sasl.mechanism`, `sasl.jaas.config`, `ssl.truststore.*`,
//! `ssl.keystore.*`, `ssl.key.password`, `ssl.endpoint.identification.algorithm`) are read into
//! the model by [`super::client_props`] and are not in this table.

/// What becomes of one Java client key.
#[derive(Debug, Clone, Copy)]
pub enum ClientKey {
    /// Passed to librdkafka under this name, value unchanged.
    Rename(&'static str),
    /// Passed to librdkafka under this name, value converted (or rejected with a reason).
    Convert(&'static str, fn(&str) -> Result<String, String>),
    /// Accepted but has no effect in Strait; reported as a warning with this reason.
    Ignore(&'static str),
    /// Cannot be honoured; reported as an error with this reason.
    Reject(&'static str),
}

const BYTES: &str = "Strait copies record bytes unchanged, as MM2's ByteArrayConverter does";
const JAVA_ONLY: &str = "Java-only setting with no librdkafka equivalent";
const NO_CLASSES: &str = "Strait cannot load Java classes";

/// Java key (or prefix ending in `*`) → mapping. First match wins.
const TABLE: &[(&str, ClientKey)] = &[
    // Common to all clients.
    ("client.id", ClientKey::Rename("client.id")),
    ("client.rack", ClientKey::Rename("client.rack")),
    ("client.dns.lookup", ClientKey::Rename("client.dns.lookup")),
    (
        "request.timeout.ms",
        ClientKey::Rename("request.timeout.ms"),
    ),
    (
        "socket.connection.setup.timeout.ms",
        ClientKey::Rename("socket.connection.setup.timeout.ms"),
    ),
    (
        "socket.connection.setup.timeout.max.ms",
        ClientKey::Ignore(JAVA_ONLY),
    ),
    (
        "connections.max.idle.ms",
        ClientKey::Rename("connections.max.idle.ms"),
    ),
    (
        "metadata.max.age.ms",
        ClientKey::Rename("metadata.max.age.ms"),
    ),
    ("metadata.max.idle.ms", ClientKey::Ignore(JAVA_ONLY)),
    (
        "reconnect.backoff.ms",
        ClientKey::Rename("reconnect.backoff.ms"),
    ),
    (
        "reconnect.backoff.max.ms",
        ClientKey::Rename("reconnect.backoff.max.ms"),
    ),
    ("retry.backoff.ms", ClientKey::Rename("retry.backoff.ms")),
    (
        "retry.backoff.max.ms",
        ClientKey::Rename("retry.backoff.max.ms"),
    ),
    (
        "send.buffer.bytes",
        ClientKey::Convert("socket.send.buffer.bytes", socket_buffer),
    ),
    (
        "receive.buffer.bytes",
        ClientKey::Convert("socket.receive.buffer.bytes", socket_buffer),
    ),
    ("default.api.timeout.ms", ClientKey::Ignore(JAVA_ONLY)),
    (
        "metric.reporters",
        ClientKey::Ignore("Strait exposes its own metrics"),
    ),
    (
        "metrics.*",
        ClientKey::Ignore("Strait exposes its own metrics"),
    ),
    (
        "auto.include.jmx.reporter",
        ClientKey::Ignore("Strait exposes its own metrics"),
    ),
    ("enable.metrics.push", ClientKey::Ignore(JAVA_ONLY)),
    ("interceptor.classes", ClientKey::Reject(NO_CLASSES)),
    // Producer.
    ("acks", ClientKey::Convert("acks", acks)),
    ("linger.ms", ClientKey::Rename("linger.ms")),
    ("batch.size", ClientKey::Rename("batch.size")),
    (
        "compression.type",
        ClientKey::Convert("compression.type", compression),
    ),
    (
        "compression.gzip.level",
        ClientKey::Rename("compression.level"),
    ),
    (
        "compression.lz4.level",
        ClientKey::Rename("compression.level"),
    ),
    (
        "compression.zstd.level",
        ClientKey::Rename("compression.level"),
    ),
    (
        "enable.idempotence",
        ClientKey::Rename("enable.idempotence"),
    ),
    (
        "max.in.flight.requests.per.connection",
        ClientKey::Rename("max.in.flight.requests.per.connection"),
    ),
    ("retries", ClientKey::Rename("retries")),
    (
        "delivery.timeout.ms",
        ClientKey::Rename("delivery.timeout.ms"),
    ),
    ("max.request.size", ClientKey::Rename("message.max.bytes")),
    (
        "buffer.memory",
        ClientKey::Convert("queue.buffering.max.kbytes", bytes_to_kbytes),
    ),
    (
        "max.block.ms",
        ClientKey::Ignore("Strait pauses fetching instead of blocking on a full producer buffer"),
    ),
    (
        "transactional.id",
        ClientKey::Reject(
            "Strait derives one transactional id per replicated partition, \
             <prefix>-<topic>-<partition>; set strait.transactional.id.prefix on the source \
             connector to choose how they start",
        ),
    ),
    // The replication producer's is read by the source connector with exactly-once on
    // (`exactly_once`); no other client of Strait's writes in transactions.
    (
        "transaction.timeout.ms",
        ClientKey::Ignore(
            "only the replication producer writes in transactions; set \
             producer.override.transaction.timeout.ms, which applies with exactly-once replication",
        ),
    ),
    (
        "partitioner.*",
        ClientKey::Ignore("replicated records keep their source partition"),
    ),
    ("key.serializer", ClientKey::Ignore(BYTES)),
    ("value.serializer", ClientKey::Ignore(BYTES)),
    // Consumer.
    ("fetch.max.bytes", ClientKey::Rename("fetch.max.bytes")),
    ("fetch.min.bytes", ClientKey::Rename("fetch.min.bytes")),
    ("fetch.max.wait.ms", ClientKey::Rename("fetch.wait.max.ms")),
    (
        "max.partition.fetch.bytes",
        ClientKey::Rename("max.partition.fetch.bytes"),
    ),
    (
        "isolation.level",
        ClientKey::Convert("isolation.level", isolation),
    ),
    (
        "auto.offset.reset",
        ClientKey::Convert("auto.offset.reset", offset_reset),
    ),
    (
        "session.timeout.ms",
        ClientKey::Rename("session.timeout.ms"),
    ),
    (
        "heartbeat.interval.ms",
        ClientKey::Rename("heartbeat.interval.ms"),
    ),
    (
        "max.poll.interval.ms",
        ClientKey::Rename("max.poll.interval.ms"),
    ),
    ("group.instance.id", ClientKey::Rename("group.instance.id")),
    ("check.crcs", ClientKey::Rename("check.crcs")),
    (
        "allow.auto.create.topics",
        ClientKey::Rename("allow.auto.create.topics"),
    ),
    (
        "max.poll.records",
        ClientKey::Ignore(
            "no librdkafka equivalent; fetch sizes are bounded by fetch.max.bytes and max.partition.fetch.bytes",
        ),
    ),
    (
        "enable.auto.commit",
        ClientKey::Ignore("MM2 and Strait never auto-commit"),
    ),
    (
        "auto.commit.interval.ms",
        ClientKey::Ignore("MM2 and Strait never auto-commit"),
    ),
    (
        "group.id",
        ClientKey::Ignore("Strait names its own consumer group"),
    ),
    (
        "group.protocol",
        ClientKey::Ignore("Strait manages partition assignment itself"),
    ),
    (
        "partition.assignment.strategy",
        ClientKey::Ignore("Strait manages partition assignment itself"),
    ),
    (
        "exclude.internal.topics",
        ClientKey::Ignore("topic filters decide what is replicated"),
    ),
    ("key.deserializer", ClientKey::Ignore(BYTES)),
    ("value.deserializer", ClientKey::Ignore(BYTES)),
    // Security keys beyond the ones read into the model.
    ("ssl.engine.factory.class", ClientKey::Reject(NO_CLASSES)),
    (
        "ssl.protocol",
        ClientKey::Ignore("librdkafka negotiates the TLS version"),
    ),
    (
        "ssl.enabled.protocols",
        ClientKey::Ignore("librdkafka negotiates the TLS version"),
    ),
    (
        "ssl.cipher.suites",
        ClientKey::Ignore(
            "Java cipher suite names differ from OpenSSL's; librdkafka's defaults are used",
        ),
    ),
    ("ssl.provider", ClientKey::Ignore(JAVA_ONLY)),
    (
        "ssl.secure.random.implementation",
        ClientKey::Ignore(JAVA_ONLY),
    ),
    ("ssl.trustmanager.algorithm", ClientKey::Ignore(JAVA_ONLY)),
    ("ssl.keymanager.algorithm", ClientKey::Ignore(JAVA_ONLY)),
    ("sasl.login.class", ClientKey::Reject(NO_CLASSES)),
    (
        "sasl.login.callback.handler.class",
        ClientKey::Reject(NO_CLASSES),
    ),
    (
        "sasl.client.callback.handler.class",
        ClientKey::Reject(NO_CLASSES),
    ),
    (
        "sasl.login.*",
        ClientKey::Ignore(
            "only used by Kerberos and OAUTHBEARER logins, which Strait does not support",
        ),
    ),
    (
        "sasl.kerberos.*",
        ClientKey::Ignore("Kerberos (GSSAPI) is not supported"),
    ),
    (
        "sasl.oauthbearer.*",
        ClientKey::Ignore("OAUTHBEARER is not supported yet"),
    ),
];

/// What to do with the Java client key `key`; `None` if Strait does not know it.
pub fn client_key(key: &str) -> Option<ClientKey> {
    TABLE
        .iter()
        .find(|(pattern, _)| match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == *pattern,
        })
        .map(|(_, mapping)| *mapping)
}

/// The Java key that becomes librdkafka's `name`, when it has another name (e.g.
/// `max.request.size` for `message.max.bytes`), so messages name the key as users write it.
pub fn java_name_of(name: &str) -> Option<&'static str> {
    TABLE.iter().find_map(|(java, mapping)| match mapping {
        ClientKey::Rename(to) | ClientKey::Convert(to, _) if *to == name && *java != name => {
            Some(*java)
        }
        _ => None,
    })
}

/// Every Java key named in the table (prefix patterns without their `*`), for suggestions.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(k, _)| k.trim_end_matches('*'))
}

fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    let v = value.trim().to_ascii_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!("'{value}' is not one of {}", allowed.join(", ")))
    }
}

fn acks(value: &str) -> Result<String, String> {
    one_of(value, &["all", "-1", "0", "1"])
}

fn compression(value: &str) -> Result<String, String> {
    one_of(value, &["none", "gzip", "snappy", "lz4", "zstd"])
}

fn isolation(value: &str) -> Result<String, String> {
    one_of(value, &["read_uncommitted", "read_committed"])
}

/// Java's `none` fails when there is no committed offset; librdkafka calls that `error`.
fn offset_reset(value: &str) -> Result<String, String> {
    let v = one_of(value, &["earliest", "latest", "none"])?;
    Ok(if v == "none" { "error".to_owned() } else { v })
}

/// Java uses -1 for "the OS default"; librdkafka uses 0.
fn socket_buffer(value: &str) -> Result<String, String> {
    match value.trim().parse::<i64>() {
        Ok(-1) => Ok("0".to_owned()),
        Ok(n) if n >= 0 => Ok(n.to_string()),
        _ => Err(format!("'{value}' is not a buffer size (bytes, or -1)")),
    }
}

/// Java's `buffer.memory` is in bytes; librdkafka's queue limit is in kilobytes.
fn bytes_to_kbytes(value: &str) -> Result<String, String> {
    match value.trim().parse::<u64>() {
        Ok(n) => Ok((n / 1024).max(1).to_string()),
        Err(_) => Err(format!("'{value}' is not a number of bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(key: &str, value: &str) -> Result<(&'static str, String), String> {
        match client_key(key) {
            Some(ClientKey::Rename(n)) => Ok((n, value.to_owned())),
            Some(ClientKey::Convert(n, f)) => f(value).map(|v| (n, v)),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn renames_and_conversions() {
        assert_eq!(
            mapped("client.id", "x").unwrap(),
            ("client.id", "x".to_owned())
        );
        assert_eq!(mapped("batch.size", "16384").unwrap().0, "batch.size");
        assert_eq!(
            mapped("fetch.max.wait.ms", "500").unwrap().0,
            "fetch.wait.max.ms"
        );
        assert_eq!(
            mapped("max.request.size", "1").unwrap().0,
            "message.max.bytes"
        );
        assert_eq!(mapped("buffer.memory", "33554432").unwrap().1, "32768");
        assert_eq!(mapped("send.buffer.bytes", "-1").unwrap().1, "0");
        assert_eq!(mapped("auto.offset.reset", "none").unwrap().1, "error");
        assert_eq!(mapped("acks", "ALL").unwrap().1, "all");
        assert!(
            mapped("compression.type", "brotli")
                .unwrap_err()
                .contains("not one of")
        );
    }

    #[test]
    fn unsupported_keys_are_classified() {
        assert!(matches!(
            client_key("max.poll.records"),
            Some(ClientKey::Ignore(_))
        ));
        assert!(matches!(
            client_key("ssl.engine.factory.class"),
            Some(ClientKey::Reject(_))
        ));
        // Read into the model, not passed through the table.
        assert!(client_key("ssl.keystore.location").is_none());
        assert!(matches!(
            client_key("sasl.login.refresh.window.factor"),
            Some(ClientKey::Ignore(_))
        ));
        assert!(client_key("no.such.key").is_none());
        assert!(known_keys().any(|k| k == "metrics."));
    }
}
