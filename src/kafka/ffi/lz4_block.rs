//! LZ4's block compressor, called straight into the batch being built. The `lz4` crate's
//! frame encoder buffers its input and copies its output through a writer, and keeps a
//! checksum per block; a frame of Strait's own (`writer/batch.rs`) needs only the blocks.

use bytes::BytesMut;
use lz4::liblz4::LZ4_compress_fast;

/// LZ4's fast mode at its default speed, as librdkafka and the Java client compress.
const ACCELERATION: i32 = 1;

/// Appends `block` compressed to `out` and says how many bytes that took, or appends nothing
/// and says `None` when compressing would not make it smaller (the frame then holds the block
/// as it is). A block longer than `i32::MAX` bytes is never compressed.
pub fn compress_block(block: &[u8], out: &mut BytesMut) -> Option<usize> {
    let len = i32::try_from(block.len()).ok()?;
    // Room for one byte less than the block: LZ4 gives up (answers 0) as soon as its output
    // would not be smaller, which costs less than compressing into a worst-case bound.
    let room = len.checked_sub(1).filter(|r| *r > 0)?;
    out.reserve(block.len());
    let spare = out.spare_capacity_mut();
    if spare.len() < block.len() {
        return None;
    }
    // SAFETY: the source is `len` readable bytes; the destination is `room` bytes of `out`'s
    // spare capacity (checked above), which LZ4 only writes, never reads; LZ4 writes nothing
    // past `room` and returns how many bytes it wrote (0 when they would not fit).
    let written = unsafe {
        LZ4_compress_fast(
            block.as_ptr().cast(),
            spare.as_mut_ptr().cast(),
            len,
            room,
            ACCELERATION,
        )
    };
    let written = usize::try_from(written).ok().filter(|n| *n > 0)?;
    // SAFETY: LZ4 initialised exactly `written` bytes of the spare capacity, and `written` is
    // at most `room`, which is within it.
    unsafe { out.set_len(out.len() + written) };
    Some(written)
}
