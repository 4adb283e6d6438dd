//! Kafka's default partitioner for keyed records: MurmurHash2 (Kafka's 32-bit variant) of
//! the serialized key, made non-negative, modulo the partition count.
//!
//! Java Kafka Connect producers place offsets-topic records this way; a reader that wants
//! one key's history must look in the same partition.

/// Kafka's MurmurHash2 of `data`, as a signed 32-bit value like Java's `Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java hashes an int length; keys anywhere near 4 GiB are not Kafka records, so
    // wrapping here only matters for inputs that could never be compared with Java anyway.
    let mut h = SEED ^ (data.len() as u32);

    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }

    // The 1 to 3 leftover bytes are folded in little-endian and mixed once.
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u32::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    // Same 32 bits, read as Java's signed int.
    h as i32
}

/// Partition the Java producer's default partitioner picks for a record with key `key`:
/// `(murmur2(key) & 0x7fffffff) % num_partitions`.
///
/// A `num_partitions` below 1 cannot come from a real topic; it yields partition 0 rather
/// than a division by zero.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    if num_partitions < 1 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from Kafka's UtilsTest.testMurmur2, confirmed against
    /// `org.apache.kafka.common.utils.Utils.murmur2` from kafka-clients 4.1.1 (a one-off
    /// Java program run with `java -cp '~/.cache/strait/kafka-4.1.1/libs/*'`).
    #[test]
    fn matches_kafka_vectors() {
        let vectors: [(&str, i32); 7] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
            ("", 275_646_681),
        ];
        for (input, expected) in vectors {
            assert_eq!(murmur2(input.as_bytes()), expected, "murmur2({input:?})");
        }
    }

    /// Every tail length, with bytes >= 0x80 (where a sign-extension slip would show).
    /// Expected values printed by Kafka 4.1.1's `Utils.murmur2` on prefixes of the same bytes.
    #[test]
    fn matches_java_on_high_bytes_and_all_tail_lengths() {
        let pattern = [0xff, 0x80, 0x01, 0xfe, 0x7f, 0x9a, 0xc3];
        let expected = [
            275_646_681,
            -311_467_685,
            -442_788_720,
            1_034_853_807,
            -248_108_507,
            1_841_135_323,
            -1_542_046_083,
            1_800_494_530,
        ];
        for (n, want) in expected.into_iter().enumerate() {
            assert_eq!(murmur2(&pattern[..n]), want, "prefix of {n} bytes");
        }
    }

    #[test]
    fn partition_is_positive_modulo() {
        // murmur2("21") is negative: the sign bit must be masked, not the value negated.
        let h = murmur2(b"21");
        assert!(h < 0);
        assert_eq!(partition_for_key(b"21", 25), (h & 0x7fff_ffff) % 25);
        for n in 1..64 {
            let p = partition_for_key(b"foobar", n);
            assert!((0..n).contains(&p));
        }
        assert_eq!(partition_for_key(b"anything", 1), 0);
        assert_eq!(partition_for_key(b"anything", 0), 0);
        assert_eq!(partition_for_key(b"anything", -3), 0);
    }
}
