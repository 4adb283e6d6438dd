//! SHA-1 (FIPS 180-4), only for the JKS integrity digest.
//!
//! JKS protects its contents with a SHA-1 digest, so reading one needs SHA-1. The `sha1` crate is
//! in `Cargo.lock` (p12-keystore pulls it in) but is not a direct dependency, and this crate does
//! not add dependencies for one 20-byte check; `openssl-sys` is there too, but calling it would
//! need `unsafe`, which this crate keeps to `src/kafka/ffi/`. SHA-1 is small, so it lives here.
//! SHA-1 is broken for collision resistance; that is fine here, because the JKS digest is a
//! keyed integrity check that Java itself performs, not a signature anyone relies on.

/// Incremental SHA-1.
#[derive(Debug, Clone)]
pub(super) struct Sha1 {
    state: [u32; 5],
    /// Bytes waiting for a full 64-byte block.
    block: [u8; 64],
    block_len: usize,
    /// Total message length in bytes (the padding encodes it in bits, modulo 2^64).
    length: u64,
}

impl Sha1 {
    /// A hasher with the standard initial state.
    pub(super) fn new() -> Self {
        Self {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            block_len: 0,
            length: 0,
        }
    }

    /// Feeds `data` into the hash.
    pub(super) fn update(&mut self, data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        let mut data = data;
        if self.block_len > 0 {
            let take = (64 - self.block_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.block.get_mut(self.block_len..self.block_len + take) {
                dst.copy_from_slice(head);
            }
            self.block_len += take;
            data = rest;
            if self.block_len < 64 {
                return;
            }
            let block = self.block;
            compress(&mut self.state, &block);
            self.block_len = 0;
        }
        let mut chunks = data.chunks_exact(64);
        for chunk in &mut chunks {
            let mut block = [0u8; 64];
            block.copy_from_slice(chunk);
            compress(&mut self.state, &block);
        }
        let rest = chunks.remainder();
        if let Some(dst) = self.block.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        self.block_len = rest.len();
    }

    /// Pads the message and returns the 20-byte digest.
    pub(super) fn finish(mut self) -> [u8; 20] {
        let bit_length = self.length.wrapping_mul(8);
        self.update(&[0x80]);
        while self.block_len != 56 {
            self.update(&[0]);
        }
        self.update(&bit_length.to_be_bytes());
        let mut out = [0u8; 20];
        for (dst, word) in out.chunks_exact_mut(4).zip(self.state) {
            dst.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// One SHA-1 compression round over a 64-byte block.
fn compress(state: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 80];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for t in 16..80 {
        w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for (t, &wt) in w.iter().enumerate() {
        let (f, k) = match t {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let temp = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(wt);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = temp;
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::Sha1;

    fn hex(data: &[u8]) -> String {
        data.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sha1(data: &[u8]) -> String {
        let mut h = Sha1::new();
        h.update(data);
        hex(&h.finish())
    }

    #[test]
    fn standard_vectors() {
        assert_eq!(sha1(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha1(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            sha1(&[b'a'; 1_000_000]),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn split_updates_match_one_shot() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let whole = sha1(&data);
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 999, 1000] {
            let (a, b) = data.split_at(split);
            let mut h = Sha1::new();
            h.update(a);
            h.update(b);
            assert_eq!(hex(&h.finish()), whole, "split at {split}");
        }
        let mut h = Sha1::new();
        for byte in &data {
            h.update(std::slice::from_ref(byte));
        }
        assert_eq!(hex(&h.finish()), whole);
    }
}
