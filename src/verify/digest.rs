//! Record fingerprints: what `strait verify` compares instead of the records themselves, so a
//! partition of any size is checked in constant memory.

use rdkafka::Message;
use rdkafka::message::Headers;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// The compared content of one record: its key, value, headers (in order, duplicates kept)
/// and timestamp. Each part is a 64-bit XXH3 hash, so a difference can be named by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Hash of the key; `None` for a null key (distinct from an empty one).
    pub key: Option<u64>,
    /// Hash of the value; `None` for a tombstone (distinct from an empty value).
    pub value: Option<u64>,
    /// Hash of every header's name and value, in order.
    pub headers: u64,
    /// The record's timestamp in milliseconds; `None` when it has none or timestamps are ignored.
    pub timestamp: Option<i64>,
}

impl Fingerprint {
    /// Fingerprints a record from its parts. With `with_timestamp` false the timestamp is left
    /// out (for targets that stamp records with their own append time).
    pub fn of<'a>(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        timestamp: Option<i64>,
        with_timestamp: bool,
    ) -> Self {
        let mut h = Xxh3::new();
        let mut count: u64 = 0;
        for (name, value) in headers {
            // Lengths delimit every part, so ("ab","c") and ("a","bc") hash differently.
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            match value {
                Some(v) => {
                    h.update(&[1]);
                    h.update(&(v.len() as u64).to_le_bytes());
                    h.update(v);
                }
                None => h.update(&[0]),
            }
            count += 1;
        }
        h.update(&count.to_le_bytes());
        Self {
            key: key.map(xxh3_64),
            value: value.map(xxh3_64),
            headers: h.digest(),
            timestamp: timestamp.filter(|_| with_timestamp),
        }
    }

    /// Fingerprints a consumed record.
    pub fn of_message<M: Message>(msg: &M, with_timestamp: bool) -> Self {
        let headers = msg.headers();
        let iter = headers
            .into_iter()
            .flat_map(|hs| hs.iter().map(|h| (h.key, h.value)));
        Self::of(
            msg.key(),
            msg.payload(),
            iter,
            msg.timestamp().to_millis(),
            with_timestamp,
        )
    }

    /// The names of the fields in which `self` and `other` differ: `key`, `value`, `headers`,
    /// `timestamp`.
    pub fn differing_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.key != other.key {
            out.push("key");
        }
        if self.value != other.value {
            out.push("value");
        }
        if self.headers != other.headers {
            out.push("headers");
        }
        if self.timestamp != other.timestamp {
            out.push("timestamp");
        }
        out
    }
}

/// One record as read: where it is, what it holds and how big it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordDigest {
    /// The record's offset in its partition.
    pub offset: i64,
    /// Its content.
    pub fingerprint: Fingerprint,
    /// Key plus value bytes, for throughput figures.
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
        ts: i64,
    ) -> Fingerprint {
        Fingerprint::of(key, value, headers.iter().copied(), Some(ts), true)
    }

    #[test]
    fn null_and_empty_differ() {
        assert_ne!(
            fp(None, Some(b"v"), &[], 1),
            fp(Some(b""), Some(b"v"), &[], 1)
        );
        assert_ne!(fp(None, None, &[], 1), fp(None, Some(b""), &[], 1));
        assert_ne!(
            fp(None, None, &[("h", None)], 1),
            fp(None, None, &[("h", Some(b""))], 1)
        );
    }

    #[test]
    fn header_order_and_boundaries_matter() {
        let a = fp(None, None, &[("a", Some(b"1")), ("b", Some(b"2"))], 1);
        let b = fp(None, None, &[("b", Some(b"2")), ("a", Some(b"1"))], 1);
        assert_ne!(a, b);
        assert_eq!(a.differing_fields(&b), ["headers"]);
        let c = fp(None, None, &[("ab", Some(b"c"))], 1);
        let d = fp(None, None, &[("a", Some(b"bc"))], 1);
        assert_ne!(c, d);
        let e = fp(None, None, &[("h", Some(b"1"))], 1);
        let f = fp(None, None, &[("h", Some(b"1")), ("h", Some(b"1"))], 1);
        assert_ne!(e, f);
    }

    #[test]
    fn names_each_differing_field() {
        let a = fp(Some(b"k"), Some(b"v"), &[], 1);
        assert!(a.differing_fields(&a).is_empty());
        let b = fp(Some(b"k2"), Some(b"v2"), &[], 2);
        assert_eq!(a.differing_fields(&b), ["key", "value", "timestamp"]);
    }

    #[test]
    fn timestamps_can_be_ignored() {
        let a = Fingerprint::of(None, Some(b"v"), [], Some(1), false);
        let b = Fingerprint::of(None, Some(b"v"), [], Some(2), false);
        assert_eq!(a, b);
        assert_eq!(a.timestamp, None);
    }
}
