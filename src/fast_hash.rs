//! Maps keyed by topic names and partition numbers, looked up several times for every record
//! replicated (the replication loop finds the record's partition, the writer its queue, the
//! offset-sync emitter its state).
//!
//! The standard library's SipHash resists keys chosen to collide, at about 2 % of a catch-up's
//! CPU here. These keys are the clusters' own topic names, which only their administrators
//! create, and partition numbers, so a multiply-and-rotate hash (the kind compilers use for
//! their symbol tables) is enough; each process still seeds it differently, so the layout of
//! a map cannot be planned from outside.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A `HashMap` with [`FastHash`].
pub type FastMap<K, V> = HashMap<K, V, FastHash>;
/// A `HashSet` with [`FastHash`].
pub type FastSet<K> = HashSet<K, FastHash>;

/// Builds [`FastHasher`]s from this process's seed.
#[derive(Debug, Clone, Copy)]
pub struct FastHash {
    seed: u64,
}

impl Default for FastHash {
    fn default() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        let seed = *SEED.get_or_init(|| RandomState::new().hash_one(0x5354_5241_4954_u64));
        Self { seed }
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher { hash: self.seed }
    }
}

/// Mixes each word in with a rotate, an xor and a multiply by an odd constant.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

/// Odd, with its bits spread (the fractional part of the golden ratio).
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length too, so that "ab" and "ab\0" differ.
            self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the best bits at the top; a map picks its bucket from the bottom.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn maps_find_what_they_hold_by_name_and_partition() {
        let mut map: FastMap<Arc<str>, FastMap<i32, usize>> = FastMap::default();
        let names: Vec<String> = (0..500).map(|i| format!("orders.region-{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            let partitions = map.entry(Arc::from(name.as_str())).or_default();
            for p in 0..8 {
                partitions.insert(p, i * 8 + usize::try_from(p).unwrap_or(0));
            }
        }
        for (i, name) in names.iter().enumerate() {
            let partitions = map.get(name.as_str()).expect("the topic");
            assert_eq!(partitions.get(&7), Some(&(i * 8 + 7)));
        }
        assert!(!map.contains_key("orders.region-500"));
        let set: FastSet<(Arc<str>, i32)> = [(Arc::from("a"), 1), (Arc::from("a"), 2)]
            .into_iter()
            .collect();
        assert!(set.contains(&(Arc::from("a"), 2)));
        assert!(!set.contains(&(Arc::from("a"), 3)));
    }

    #[test]
    fn names_differing_only_in_length_or_late_bytes_hash_apart() {
        let hash = |s: &[u8]| FastHash::default().hash_one(s);
        assert_ne!(hash(b"ab"), hash(b"ab\0"));
        assert_ne!(hash(b"topic-000000001"), hash(b"topic-000000002"));
        assert_eq!(hash(b"topic"), hash(b"topic"));
    }

    /// Small partition numbers spread over a small table's buckets (its low bits).
    #[test]
    fn partitions_spread_over_the_low_bits() {
        let buckets: FastSet<u64> = (0..64i32)
            .map(|p| FastHash::default().hash_one(p) & 63)
            .collect();
        assert!(buckets.len() > 32, "{} of 64 buckets used", buckets.len());
    }
}
